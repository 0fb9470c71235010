#!/usr/bin/env python3
"""Builds corpus.json: real commit messages harvested from three public repositories (bare git
directories given as arguments: git, tokio, ripgrep) plus the hand-written edge cases of
edge_cases.json. Deterministic: evenly spaced samples of each history, and every message whose
header looks like a Conventional Commit up to a cap. Run once; the corpus is committed.

    python3 harvest.py /path/git.git /path/tokio.git /path/ripgrep.git > corpus.json
"""
import json
import re
import subprocess
import sys
from pathlib import Path

CONVENTIONAL = re.compile(r"^\w+(\([^)]*\))?!?: ")


def messages(git_dir, limit):
    out = subprocess.run(
        ["git", "--git-dir", git_dir, "log", "--all", f"-n{limit}", "--format=%H%x00%B%x1e"],
        check=True, capture_output=True,
    ).stdout.decode("utf-8", "replace")
    for record in out.split("\x1e"):
        record = record.lstrip("\n")
        if "\x00" not in record:
            continue
        sha, body = record.split("\x00", 1)
        if body.strip():
            yield sha, body


def sample(git_dir, name, limit, spaced, conventional):
    msgs = list(messages(git_dir, limit))
    step = max(1, len(msgs) // spaced)
    picked = {sha: body for sha, body in msgs[::step][:spaced]}
    conv = [(s, b) for s, b in msgs if CONVENTIONAL.match(b) and s not in picked]
    for sha, body in conv[:conventional]:
        picked[sha] = body
    return [{"source": f"{name}:{sha[:12]}", "message": body} for sha, body in picked.items()]


def main():
    git, tokio, ripgrep = sys.argv[1:4]
    corpus = []
    corpus += sample(git, "git", 30000, 170, 30)
    corpus += sample(tokio, "tokio", 30000, 150, 60)
    corpus += sample(ripgrep, "ripgrep", 10000, 100, 40)
    edge = json.loads((Path(__file__).parent / "edge_cases.json").read_text())
    corpus += [{"source": "edge", "message": m} for m in edge]
    json.dump(corpus, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
