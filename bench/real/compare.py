#!/usr/bin/env python3
"""Compares `trellis scan --format json --conflicts` with git, branch by branch, on one repository.

    bench/real/compare.py REPO --trellis BIN [--base master] [--out DIR] [--git-cache FILE]

git's answers, per branch (sequential loops, each timed):
  ahead/behind  git rev-list --left-right --count BASE...B
  merge_bases   git merge-base --all BASE B
  merged        ahead == 0
  diffstat      git diff --no-renames --shortstat BASE...B
  conflicts     git merge-tree --write-tree --name-only BASE B (exit 1: conflicts, the paths)
  squash        merge-tree exits 0, its tree is BASE^{tree}, and BASE...B has changes
Prints agreement per fact, timings and every difference; writes details to OUT/.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time


def git(repo, *args, ok=(0,)):
    p = subprocess.run(["git", "-C", repo, *args], capture_output=True)
    if p.returncode not in ok:
        raise RuntimeError(f"git {' '.join(args)}: {p.returncode}: {p.stderr.decode(errors='replace')}")
    return p.returncode, p.stdout


def branches(repo, base):
    _, out = git(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads/")
    return [b for b in out.decode().split("\n") if b and b != base]


def shortstat(text):
    files = ins = dels = 0
    for n, what in re.findall(r"(\d+) (file|insertion|deletion)", text):
        if what == "file":
            files = int(n)
        elif what == "insertion":
            ins = int(n)
        else:
            dels = int(n)
    return [files, ins, dels]


def git_facts(repo, base, names):
    timings = {}
    facts = {b: {} for b in names}
    base_tree = git(repo, "rev-parse", f"{base}^{{tree}}")[1].decode().strip()

    def loop(label, fn):
        t = time.monotonic()
        for b in names:
            fn(b, facts[b])
        timings[label] = time.monotonic() - t

    def ahead_behind(b, f):
        behind, ahead = git(repo, "rev-list", "--left-right", "--count", f"{base}...{b}")[1].split()
        f["ahead"], f["behind"] = int(ahead), int(behind)
        f["merged"] = f["ahead"] == 0

    def merge_bases(b, f):
        _, out = git(repo, "merge-base", "--all", base, b, ok=(0, 1))
        f["merge_bases"] = sorted(out.decode().split())

    def diffstat(b, f):
        if not f["merge_bases"]:
            f["diffstat"] = None
            return
        # 128: git cannot read the objects (a snapshot that is a partial clone lacks a few).
        rc, out = git(repo, "diff", "--no-renames", "--shortstat", f"{base}...{b}", ok=(0, 128))
        if rc == 128:
            f["git_error"] = True
        f["diffstat"] = None if rc else shortstat(out.decode())

    def merge_tree(b, f):
        if not f["merge_bases"]:
            f["conflicts"] = None
            f["squash"] = False
            return
        rc, out = git(repo, "merge-tree", "--write-tree", "--name-only", "-z", "--no-messages",
                      base, b, ok=(0, 1, 128))
        if rc == 128 or f.get("git_error"):
            f["git_error"] = True
            f["conflicts"], f["squash"] = None, None
            return
        parts = out.decode(errors="surrogateescape").split("\0")
        tree, paths = parts[0], sorted({p for p in parts[1:] if p})
        f["conflicts"] = ["conflicts", paths] if rc == 1 else ["clean", []]
        f["merge_tree"] = tree
        f["squash"] = rc == 0 and tree == base_tree and f["diffstat"] != [0, 0, 0]

    loop("rev-list --left-right --count", ahead_behind)
    loop("merge-base --all", merge_bases)
    loop("diff --no-renames --shortstat", diffstat)
    loop("merge-tree --write-tree --name-only", merge_tree)
    return facts, timings


def trellis_facts(trellis, repo, base, jobs):
    cmd = [trellis, "scan", "--format", "json", "--conflicts", "--diffstat", "--squash",
           "--quiet", "--no-cache", "--base", base, repo]
    if jobs:
        cmd[2:2] = ["--jobs", str(jobs)]
    t = time.monotonic()
    # wait4 gives this one process's CPU time and peak RSS.
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.Popen(cmd, stdout=out, stderr=err)
        _, status, usage = os.wait4(p.pid, 0)
        elapsed = time.monotonic() - t
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    usage = {"cpu_seconds": usage.ru_utime + usage.ru_stime, "peak_rss_mib": usage.ru_maxrss / 1024}
    if p.returncode != 0:
        sys.exit(f"trellis failed ({p.returncode}): {stderr.decode(errors='replace')[:2000]}")
    report = json.loads(stdout)
    repo_report = report["repositories"][0]
    facts = {}
    for b in repo_report["branches"]:
        d = b.get("diffstat")
        c = b.get("conflicts")
        if c is None:
            conflicts = None
        elif c["verdict"] == "conflicts":
            conflicts = ["conflicts", sorted(c["paths"])]
        else:
            conflicts = [c["verdict"], sorted(c.get("paths") or []) if c["verdict"] != "clean" else []]
        facts[b["name"]] = {
            "ahead": b["ahead"],
            "behind": b["behind"],
            "merge_bases": sorted(b["merge_bases"]),
            "merged": b["merged"],
            "diffstat": None if d is None else [d["files_changed"], d["insertions"], d["deletions"]],
            "conflicts": conflicts,
            "squash": b.get("squash_merged"),
        }
    errors = {e["name"]: e["error"] for e in repo_report.get("branch_errors", [])}
    return facts, elapsed, usage, errors, stderr.decode(errors="replace")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("repo")
    ap.add_argument("--trellis", required=True)
    ap.add_argument("--base", default="master")
    ap.add_argument("--jobs", type=int, default=0)
    ap.add_argument("--out", default=None)
    ap.add_argument("--git-cache", default=None,
                    help="reuse (or write) git's answers in this JSON file; timings then come from it")
    args = ap.parse_args()
    repo = os.path.abspath(args.repo)
    names = branches(repo, args.base)

    if args.git_cache and os.path.exists(args.git_cache):
        with open(args.git_cache) as f:
            cached = json.load(f)
        gfacts, gtimes = cached["facts"], cached["timings"]
    else:
        gfacts, gtimes = git_facts(repo, args.base, names)
        if args.git_cache:
            with open(args.git_cache, "w") as f:
                json.dump({"facts": gfacts, "timings": gtimes}, f)

    tfacts, ttime, tusage, terrors, tstderr = trellis_facts(
        args.trellis, repo, args.base, args.jobs)

    fields = ["ahead", "behind", "merge_bases", "merged", "diffstat", "squash",
              "conflicts.verdict", "conflicts.paths"]
    tree_fields = {"diffstat", "squash", "conflicts.verdict", "conflicts.paths"}
    agree = {k: 0 for k in fields}
    unknown = {k: 0 for k in fields}
    # Branches git itself could not answer for (objects missing): not compared.
    git_failed = {k: 0 for k in fields}
    diffs = []
    for b in names:
        g, t = gfacts.get(b), tfacts.get(b)
        if g is None or t is None:
            diffs.append({"branch": b, "field": "missing", "git": g is not None,
                          "trellis": t is not None, "error": terrors.get(b)})
            continue
        for k in fields:
            if k == "conflicts.verdict":
                gv = g["conflicts"] and g["conflicts"][0]
                tv = t["conflicts"] and t["conflicts"][0]
            elif k == "conflicts.paths":
                gv = g["conflicts"] and g["conflicts"][1]
                tv = t["conflicts"] and t["conflicts"][1]
            else:
                gv, tv = g[k], t[k]
            if g.get("git_error") and k in tree_fields:
                git_failed[k] += 1
                continue
            # Trellis left the fact out and said why (a branch error): unknown, not wrong.
            if tv is None and gv is not None and k in tree_fields and b in terrors:
                unknown[k] += 1
                continue
            if gv == tv:
                agree[k] += 1
            else:
                diffs.append({"branch": b, "field": k, "git": gv, "trellis": tv})

    print(f"repository {repo}: {len(names)} branches besides {args.base}, "
          f"{len(tfacts)} in Trellis' report, {len(terrors)} branch errors")
    for k in fields:
        extra = f" ({unknown[k]} unknown, with the reason)" if unknown[k] else ""
        if git_failed[k]:
            extra += f" ({git_failed[k]} git could not answer: objects missing)"
        differ = len(names) - agree[k] - unknown[k] - git_failed[k]
        print(f"  {k:20} {agree[k]}/{len(names)} agree, {differ} differ{extra}")
    gs = lambda f: sum(1 for v in gfacts.values() if v.get("squash"))
    ts = lambda f: sum(1 for v in tfacts.values() if v.get("squash"))
    gc = sum(1 for v in gfacts.values() if v.get("conflicts") and v["conflicts"][0] == "conflicts")
    tc = sum(1 for v in tfacts.values() if v.get("conflicts") and v["conflicts"][0] == "conflicts")
    tu = sum(1 for v in tfacts.values() if v.get("conflicts") and v["conflicts"][0] not in ("clean", "conflicts"))
    print(f"  squash-merged: git {gs(0)}, trellis {ts(0)}; conflicting: git {gc}, trellis {tc}"
          f"{f', trellis unknown {tu}' if tu else ''}")
    print("timings (s):")
    print(f"  trellis scan --conflicts (all facts): {ttime:.2f} wall, "
          f"{tusage['cpu_seconds']:.2f} CPU, peak RSS {tusage['peak_rss_mib']:.0f} MiB")
    for k, v in gtimes.items():
        print(f"  git {k} loop: {v:.2f}")
    print(f"  git total: {sum(gtimes.values()):.2f}")
    for d in diffs:
        print("DIFF", json.dumps(d))
    for name, err in terrors.items():
        print("UNKNOWN", name, err)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "diffs.json"), "w") as f:
            json.dump({"diffs": diffs, "agree": agree, "unknown": unknown, "branches": len(names),
                       "trellis_seconds": ttime, "trellis_usage": tusage, "git_seconds": gtimes,
                       "trellis_stderr": tstderr}, f, indent=1)
    return 0 if not diffs else 1


if __name__ == "__main__":
    sys.exit(main())
