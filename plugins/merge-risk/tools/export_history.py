#!/usr/bin/env python3
"""Exports a repository's past merges as merge-risk `PastMerge` JSON lines, with the git CLI.

A stand-in for the host's queries, to evaluate the engine on real history natively:

    python3 export_history.py REPO [--ref master] [--limit 2000] > merges.jsonl
    cargo run --release -p merge-risk --example evaluate -- merges.jsonl

For each two-parent merge on REF's first-parent history (newest first, up to --limit), the two
parents are re-merged with `git merge-tree --write-tree` (exit 1 = conflict; anything else =
undecided), and each side since the merge base is summarised: commits, distinct author e-mails,
files with added/deleted lines (`git diff --numstat --no-renames`), the oldest commit's and the
tip's committer times. Files are truncated at --max-files per side, as the host may do.
"""

import argparse
import json
import subprocess
import sys


def git(repo, *args, check=True):
    p = subprocess.run(["git", "-C", repo, *args], capture_output=True)
    if check and p.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {p.stderr.decode(errors='replace')}")
    return p


def side(repo, base, tip, base_time, max_files):
    log = git(repo, "log", "--format=%ct %aE", f"{base}..{tip}").stdout.decode(errors="replace")
    lines = [l.split(" ", 1) for l in log.splitlines() if l]
    times = [int(t) for t, _ in lines]
    authors = {a for _, a in lines}
    tip_time = int(git(repo, "log", "-1", "--format=%ct", tip).stdout.decode().strip())
    numstat = git(repo, "diff", "--numstat", "--no-renames", "-z", base, tip).stdout
    files = []
    for entry in numstat.split(b"\0"):
        if not entry:
            continue
        parts = entry.split(b"\t", 2)
        if len(parts) != 3:
            continue
        added, deleted, path = parts
        files.append({
            "path": path.decode(errors="replace"),
            "added": int(added) if added.isdigit() else 0,
            "deleted": int(deleted) if deleted.isdigit() else 0,
        })
    truncated = len(files) > max_files
    return {
        "commits": len(lines),
        "authors": len(authors),
        "files": files[:max_files],
        "files_truncated": truncated,
        "first_time": min(times) if times else base_time,
        "last_time": tip_time,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("repo")
    ap.add_argument("--ref", default="HEAD")
    ap.add_argument("--limit", type=int, default=2000)
    ap.add_argument("--max-files", type=int, default=5000)
    a = ap.parse_args()
    out = git(a.repo, "log", "--first-parent", "--merges", "--format=%H %ct %P", a.ref).stdout
    merges = []
    for line in out.decode().splitlines():
        fields = line.split()
        if len(fields) != 4:  # octopus merges: not a two-sided trial
            continue
        merges.append(fields)
        if len(merges) >= a.limit:
            break
    for i, (mid, mtime, p1, p2) in enumerate(merges):
        mb = git(a.repo, "merge-base", p1, p2, check=False)
        base = mb.stdout.decode().strip().split("\n")[0] if mb.returncode == 0 else None
        if base:
            base_time = int(git(a.repo, "log", "-1", "--format=%ct", base).stdout.decode().strip())
            rng = base
        else:
            base_time, rng = None, None
        mt = git(a.repo, "merge-tree", "--write-tree", "--name-only", "--no-messages", p1, p2,
                 check=False)
        if mt.returncode == 0:
            conflicted, paths = False, []
        elif mt.returncode == 1:
            names = mt.stdout.decode(errors="replace").splitlines()[1:]
            conflicted, paths = True, sorted({n for n in names if n})
        else:
            conflicted, paths = None, []
        if rng is None:
            # Unrelated histories: each side is its whole history (expensive); keep it small.
            empty = {"commits": 0, "authors": 0, "files": [], "files_truncated": True,
                     "first_time": int(mtime), "last_time": int(mtime)}
            ours, theirs = empty, dict(empty)
        else:
            ours = side(a.repo, rng, p1, base_time, a.max_files)
            theirs = side(a.repo, rng, p2, base_time, a.max_files)
        record = {
            "id": mid,
            "time": int(mtime),
            "trial": {
                "merge_base_time": base_time,
                "ours": ours,
                "theirs": theirs,
                "conflicted": conflicted,
                "conflict_paths": paths,
            },
        }
        print(json.dumps(record), flush=True)
        if i % 100 == 99:
            print(f"{i + 1} merges", file=sys.stderr)


if __name__ == "__main__":
    main()
