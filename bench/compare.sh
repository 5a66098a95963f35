#!/usr/bin/env bash
# The speed comparison with PyTorch on this machine: builds backprop, installs PyTorch into a
# virtualenv outside the repository if it is missing (about 5 GB, from PyPI), generates
# 60,000 synthetic MNIST-shaped samples, measures the machine's matrix-product peak (the better
# of backprop's and PyTorch's 2048^3 product), then
# runs both programs alternately and prints a table (see bench/compare.py).
#
#   bench/compare.sh [--threads N] [--epochs N] [--rounds N] [--only NAME]
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${TORCH_VENV:-$HOME/.cache/backprop/torch-venv}"
if ! "$venv/bin/python" -c "import torch, numpy" 2>/dev/null; then
    echo "installing PyTorch into $venv ..." >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet torch numpy
fi

cargo build --release --quiet --bin backprop --example synthetic_idx --example gemm_peak
data="${BENCH_DATA:-${TMPDIR:-/tmp}/backprop-bench-data}"
if [ ! -f "$data/train-labels-idx1-ubyte" ]; then
    target/release/examples/synthetic_idx "$data" 60000 >&2
fi

threads="$(nproc)"
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    if [ "${args[$i]}" = "--threads" ]; then threads="${args[$((i + 1))]}"; fi
done
# The peak is the better of this crate's and PyTorch's 2048^3 product on the same threads.
own_peak="$(target/release/examples/gemm_peak "$threads" 2048)"
torch_peak="$("$venv/bin/python" bench/sgemm_peak.py "$threads" 2048)"
peak="$(python3 -c "print(max($own_peak, $torch_peak))")"
echo "single-precision peak (2048^3, $threads threads): backprop $own_peak GFLOP/s, PyTorch $torch_peak GFLOP/s" >&2

exec "$venv/bin/python" bench/compare.py --backprop target/release/backprop --python "$venv/bin/python" \
    --data "$data" --peak "$peak" --threads "$threads" "$@"
