#!/usr/bin/env bash
# Ahead/behind against git on benchmark repositories (made by prepare.sh): the best of RUNS
# runs of `git for-each-ref --format='%(ahead-behind:BASE)'` and of `trellis scan` with the
# graph facts only (no diffstat, squash or conflicts; no cache), the ratio, and the peak RSS of
# each (measured in one more run under /usr/bin/time, so the timed runs pay for no wrapper).
# Also checks that both give the same numbers for every branch.
#
# Trellis's report also carries each tip's author, committer and summary, which
# `%(ahead-behind)` alone does not read; a third timing asks git for those fields too
# (`%(authorname)`, `%(committerdate)`, `%(subject)`, ...), so the cost of the same answer
# can be compared as well as the goal's command.
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

# best_of BEST OUT CMD...: runs CMD once with its output in OUT, prints the smaller of BEST and
# its wall time in seconds.
best_of() {
    local best=$1 out=$2 start end
    shift 2
    start=$EPOCHREALTIME
    "$@" >"$out"
    end=$EPOCHREALTIME
    echo "if ($end - $start < $best) $end - $start else $best" | bc
}

for repo in "$@"; do
    base=$(git -C "$repo" symbolic-ref --short HEAD)
    git_cmd=(git -C "$repo" for-each-ref --format="%(refname:short) %(ahead-behind:$base)"
        refs/heads)
    git_tips_cmd=(git -C "$repo" for-each-ref
        --format="%(refname:short) %(ahead-behind:$base) %(authorname) %(authoremail) %(authordate:unix) %(committername) %(committeremail) %(committerdate:unix) %(subject)"
        refs/heads)
    trellis_cmd=("$trellis" scan "$repo" --base "$base" --no-diffstat --no-squash --no-conflicts
        --no-cache --format json --quiet)
    best_git=999999
    best_trellis=999999
    best_git_tips=999999
    for _ in $(seq "$runs"); do
        best_git=$(best_of "$best_git" "$tmp/git.txt" "${git_cmd[@]}")
        best_trellis=$(best_of "$best_trellis" "$tmp/trellis.json" "${trellis_cmd[@]}")
        best_git_tips=$(best_of "$best_git_tips" /dev/null "${git_tips_cmd[@]}")
    done
    /usr/bin/time -f "%M" -o "$tmp/git-rss" "${git_cmd[@]}" >/dev/null
    /usr/bin/time -f "%M" -o "$tmp/rss" "${trellis_cmd[@]}" >/dev/null
    git_rss=$(cat "$tmp/git-rss")
    rss=$(cat "$tmp/rss")
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
    echo "$repo: git for-each-ref %(ahead-behind) ${best_git}s (peak RSS $((git_rss / 1024)) MiB)," \
        "trellis ${best_trellis}s (peak RSS $((rss / 1024)) MiB)," \
        "ratio $(echo "scale=1; $best_git / $best_trellis" | bc)x;" \
        "git with the tip fields Trellis reports ${best_git_tips}s," \
        "ratio $(echo "scale=1; $best_git_tips / $best_trellis" | bc)x"
done
