#!/usr/bin/env bash
# Ahead/behind against git on benchmark repositories (made by prepare.sh): the best of RUNS
# runs of `git for-each-ref --format='%(ahead-behind:BASE)'` and of `trellis scan` with the
# graph facts only (no diffstat, squash or conflicts; no cache), the peak RSS of Trellis' best
# run, and the ratio. Also checks that both give the same numbers for every branch.
#
#   bench/real/ahead-behind.sh TRELLIS_BINARY REPO [REPO...]
#
# Environment: RUNS (default 5).
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 TRELLIS_BINARY REPO [REPO...]" >&2
    exit 2
fi
trellis=$1
shift
runs=${RUNS:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

now() { date +%s.%N; }

for repo in "$@"; do
    base=$(git -C "$repo" symbolic-ref --short HEAD)
    best_git=999999
    best_trellis=999999
    rss=0
    for _ in $(seq "$runs"); do
        start=$(now)
        git -C "$repo" for-each-ref --format="%(refname:short) %(ahead-behind:$base)" refs/heads \
            >"$tmp/git.txt"
        took=$(echo "$(now) - $start" | bc)
        best_git=$(echo "if ($took < $best_git) $took else $best_git" | bc)

        start=$(now)
        /usr/bin/time -f "%M" -o "$tmp/rss" "$trellis" scan "$repo" --base "$base" --no-diffstat \
            --no-squash --no-conflicts --no-cache --format json --quiet >"$tmp/trellis.json"
        took=$(echo "$(now) - $start" | bc)
        if [ "$(echo "$took < $best_trellis" | bc)" = 1 ]; then
            best_trellis=$took
            rss=$(cat "$tmp/rss")
        fi
    done
    # Same answers: "name ahead behind" from both, sorted.
    python3 - "$tmp/git.txt" "$tmp/trellis.json" "$base" <<'EOF'
import json, sys
git_txt, trellis_json, base = sys.argv[1:]
git = {}
for line in open(git_txt):
    name, ahead, behind = line.split()
    if name != base:
        git[name] = (int(ahead), int(behind))
report = json.load(open(trellis_json))
ours = {b["name"]: (b["ahead"], b["behind"]) for b in report["repositories"][0]["branches"]}
differ = [n for n in git if git[n] != ours.get(n)]
print(f"  {len(git)} branches, {len(git) - len(differ)} agree, {len(differ)} differ {differ[:5]}")
EOF
    echo "$repo: git for-each-ref %(ahead-behind) ${best_git}s, trellis ${best_trellis}s" \
        "(peak RSS $((rss / 1024)) MiB), ratio $(echo "scale=1; $best_git / $best_trellis" | bc)x"
done
