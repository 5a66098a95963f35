#!/usr/bin/env bash
# The benchmarks' training data: 60,000 synthetic MNIST-shaped samples (examples/synthetic_idx.rs)
# in $BENCH_DATA (default: $TMPDIR/backprop-bench-data), generated the first time. Prints the
# folder. Used by bench/compare.sh and bench/ab.sh, so that both measure on the same files.
set -euo pipefail
cd "$(dirname "$0")/.."
data="${BENCH_DATA:-${TMPDIR:-/tmp}/backprop-bench-data}"
if [ ! -f "$data/train-labels-idx1-ubyte" ]; then
    cargo build --release --quiet --example synthetic_idx
    target/release/examples/synthetic_idx "$data" 60000 >&2
fi
echo "$data"
