#!/usr/bin/env bash
# Benchmark: Trellis against the git CLI on a generated repository (default 80k+ commits,
# 2,000 branches), with and without a commit-graph, in one run. Prints times, ratios,
# agreement counts and peak RSS. Extra arguments go to `cargo xtask bench`, e.g.
#   bench/run.sh --commits 20000 --branches 500 --jobs 2
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p trellis
cargo xtask bench "$@"
