#!/usr/bin/env bash
# Turns a benchmark repository's packed references into loose files, the shape of a repository
# that fetched its branches since its last `git gc` (git itself has no command for it; git's
# next `pack-refs` undoes it). Used to measure reading thousands of loose references.
#
#   bench/real/unpack-refs.sh REPO
set -euo pipefail
if [ $# -ne 1 ]; then
    echo "usage: $0 REPO" >&2
    exit 2
fi
git_dir=$(git -C "$1" rev-parse --absolute-git-dir)
git -C "$1" for-each-ref --format='%(objectname) %(refname) %(symref)' |
    python3 -c '
import os, sys
git_dir = sys.argv[1]
for line in sys.stdin:
    fields = line.split()
    if len(fields) != 2:
        continue  # a symbolic reference is loose already
    oid, ref = fields
    path = os.path.join(git_dir, ref)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(oid + "\n")
' "$git_dir"
rm -f "$git_dir/packed-refs"
find "$git_dir/refs" -type f | wc -l
