#!/usr/bin/env bash
# Makes a benchmark repository from a git snapshot (a bare git directory), without network:
# a bare repository whose local branches are the snapshot's pull-request heads
# (`refs/pull/N/head` as `pr/N`) plus its default branch, with a commit-graph and packed
# references.
# Prints the number of branches.
#
#   bench/real/prepare.sh SNAPSHOT_GIT_DIR OUT_DIR
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 SNAPSHOT_GIT_DIR OUT_DIR" >&2
    exit 2
fi
src=$(cd "$1" && pwd)
out=$2
if [ -e "$out" ]; then
    echo "$out exists; remove it first" >&2
    exit 2
fi
git -C "$src" rev-parse --git-dir >/dev/null
# A partial clone (promisor pack) cannot be fetched from (git refuses: "possible repository
# corruption"); its objects are borrowed through objects/info/alternates instead. Branches whose
# objects it lacks are reported by both git (compare.py: "git could not answer") and Trellis
# (unknown, with the reason).
partial=
if compgen -G "$src/objects/pack/*.promisor" >/dev/null; then
    echo "$src is a partial clone: borrowing its objects through alternates; some may be missing" >&2
    partial=1
fi

# The default branch: what the snapshot's HEAD names, else main, else master.
default=$(git -C "$src" symbolic-ref --quiet --short HEAD || true)
if [ -z "$default" ] || ! git -C "$src" rev-parse --verify --quiet "refs/heads/$default^{commit}" >/dev/null; then
    for b in main master; do
        if git -C "$src" rev-parse --verify --quiet "refs/heads/$b^{commit}" >/dev/null; then
            default=$b
            break
        fi
    done
fi
[ -n "$default" ] || { echo "no default branch in $src" >&2; exit 1; }

git init --quiet --bare "$out"
# Wanted refs as "<sha> <new branch name>", skipping names git would not accept as branches
# and refs that do not point at commits.
wanted=$(mktemp)
trap 'rm -f "$wanted"' EXIT
{
    printf '%s %s\n' "$(git -C "$src" rev-parse "refs/heads/$default^{commit}")" "$default"
    git -C "$src" for-each-ref --format='%(objectname) %(objecttype) %(refname)' 'refs/pull/' |
        while read -r sha type ref; do
            [ "$type" = commit ] || continue
            case $ref in
                refs/pull/*/head) ;;
                *) continue ;;
            esac
            n=${ref#refs/pull/}
            n=${n%/head}
            case $n in
                */*|'') continue ;;
            esac
            git check-ref-format "refs/heads/pr/$n" 2>/dev/null || continue
            printf '%s pr/%s\n' "$sha" "$n"
        done
} >"$wanted"

# Objects: fetch the wanted commits by id from the local snapshot (no network involved), or
# borrow them all from a partial clone.
if [ -n "$partial" ]; then
    echo "$src/objects" >"$out/objects/info/alternates"
else
cut -d' ' -f1 "$wanted" | sort -u |
    git -C "$out" -c protocol.file.allow=always -c uploadpack.allowAnySHA1InWant=true \
        fetch --quiet --no-tags --no-write-fetch-head --stdin "$src" 2>/dev/null ||
    {
        # Older git without `fetch --stdin` of ids: fetch every ref, then drop the extra ones.
        git -C "$out" fetch --quiet --no-tags --no-write-fetch-head "$src" \
            "+refs/heads/$default:refs/heads/$default" '+refs/pull/*:refs/trellis-bench-tmp/*'
        git -C "$out" for-each-ref --format='delete %(refname)' refs/trellis-bench-tmp/ |
            git -C "$out" update-ref --stdin
    }
fi
awk '{print "create refs/heads/" $2 " " $1}' "$wanted" | git -C "$out" update-ref --stdin
git -C "$out" symbolic-ref HEAD "refs/heads/$default"
[ -n "$partial" ] || git -C "$out" gc --quiet --prune=now
# References packed as a clone leaves them (gc does it for the full snapshot; a partial one is
# not gc'd), so both kinds of snapshot give the same shape. Loose references are a shape of
# their own: bench/real/unpack-refs.sh makes them.
git -C "$out" pack-refs --all
git -C "$out" commit-graph write --reachable 2>/dev/null
git -C "$out" for-each-ref refs/heads/ | wc -l
