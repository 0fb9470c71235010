#!/usr/bin/env bash
# Compares Trellis with git on a real repository's pull-request heads.
#
#   bench/real/run.sh SNAPSHOT_GIT_DIR TRELLIS_BINARY [WORK_DIR]
#
# Makes the benchmark repository in WORK_DIR/repo (once; see prepare.sh), computes git's
# answers once (cached in WORK_DIR/git.json, with the timings of git's loops), then runs
# `trellis scan --conflicts` and prints the agreement per fact, the timings and every
# difference (details in WORK_DIR/out/diffs.json). Exits 1 when a fact differs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
snapshot=$1
trellis=$2
work=${3:-$(mktemp -d)}
mkdir -p "$work"
if [ ! -d "$work/repo" ]; then
    "$here/prepare.sh" "$snapshot" "$work/repo" >/dev/null
fi
base=$(git -C "$work/repo" symbolic-ref --short HEAD)
exec python3 "$here/compare.py" "$work/repo" --trellis "$trellis" --base "$base" \
    --git-cache "$work/git.json" --out "$work/out"
