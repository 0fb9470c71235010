#!/usr/bin/env bash
# Cold start of `trellis plugin list` on a store with 10 installed plugins: each run is a new
# process (no warm state), timed end to end; `git --version` is timed the same way as a baseline.
# Usage: bench/plugin-list.sh [RUNS]   (PROFILE=dev to use the dev build instead of release)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-100}
profile=${PROFILE:-release}
if [ "$profile" = release ]; then
  cargo build --release -q -p trellis
  bin=target/release/trellis
else
  cargo build -q -p trellis
  bin=target/debug/trellis
fi
cargo xtask plugins >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export TRELLIS_HOME="$work/home" TRELLIS_CACHE_DIR="$work/cache"
for i in $(seq 1 10); do
  dir="$work/src/p$i"
  mkdir -p "$dir"
  cp target/plugins/stale-branches/* "$dir/"
  sed -i "s/^id = \"stale-branches\"/id = \"stale-branches-$i\"/" "$dir/plugin.toml"
  "$bin" plugin install "$dir" >/dev/null
done
"$bin" plugin list | head -3

python3 - "$bin" "$runs" <<'PY'
import statistics, subprocess, sys, time
binary, runs = sys.argv[1], int(sys.argv[2])
def timed(cmd):
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples), max(samples)
list_med, list_max = timed([binary, "plugin", "list"])
git_med, git_max = timed(["git", "--version"])
print(f"trellis plugin list (10 plugins): median {list_med:.2f} ms, max {list_max:.2f} ms over {runs} runs")
print(f"git --version (process baseline):  median {git_med:.2f} ms, max {git_max:.2f} ms")
print(f"ratio trellis/git: {list_med / git_med:.2f}; target <= 20 ms: {'met' if list_med <= 20 else 'NOT met'}")
PY
