#!/usr/bin/env bash
# The speed comparison with PyTorch on this machine: builds backprop, installs PyTorch into a
# virtualenv outside the repository if it is missing (about 5 GB, from PyPI), generates
# 60,000 synthetic MNIST-shaped samples, measures the FMA units' peak on the run's threads with a
# register-only loop (examples/fma_peak.rs) and both programs' 2048^3 products as shares of it,
# each of this crate's product kernels on one thread against its own register loop, then runs
# both programs alternately and prints two tables (see bench/compare.py) whose "% of FMA peak"
# is measured against that loop:
#
# - Training: `backprop train` against bench/pytorch_mlp.py, per-epoch times.
# - Inference: `backprop eval` against bench/pytorch_eval.py (the same model file's forward
#   pass under torch.no_grad(), same batch size and threads), each program's own inference and
#   loading times and the wall time of the whole process.
#
#   bench/compare.sh [--threads N] [--epochs N] [--rounds N] [--inference-rounds N]
#                    [--part both|training|inference] [--only NAME]
#
# Each command prints both tables for its thread count, as docs/performance.md quotes them:
#
#   bench/compare.sh --threads 2 --epochs 4 --rounds 5 --inference-rounds 5
#   bench/compare.sh --threads 1 --epochs 3 --rounds 3 --inference-rounds 5
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${TORCH_VENV:-$HOME/.cache/backprop/torch-venv}"
if ! "$venv/bin/python" -c "import torch, numpy" 2>/dev/null; then
    echo "installing PyTorch into $venv ..." >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet torch numpy
fi

cargo build --release --quiet --bin backprop --example gemm_peak --example fma_peak
data="$(bench/synthetic_data.sh)"

threads="$(nproc)"
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    if [ "${args[$i]}" = "--threads" ]; then threads="${args[$((i + 1))]}"; fi
done
# The reference is the FMA units' own peak on the same threads: a loop of independent FMA chains
# in registers, which no product can beat. The 2048^3 products are reported as shares of it.
# The loop is read three times, around the products, and the highest reading is the peak: on a
# shared VM one reading can land in a moment when a vCPU is taken away (seen: 205 GFLOP/s
# between readings of 336 – 360 on two threads).
peak_readings=("$(target/release/examples/fma_peak "$threads")")
own_product="$(target/release/examples/gemm_peak "$threads" 2048)"
peak_readings+=("$(target/release/examples/fma_peak "$threads")")
torch_product="$("$venv/bin/python" bench/sgemm_peak.py "$threads" 2048)"
peak_readings+=("$(target/release/examples/fma_peak "$threads")")
peak="$(python3 -c 'import sys; print(max(float(r) for r in sys.argv[1:]))' "${peak_readings[@]}")"
python3 - "$peak" "$own_product" "$torch_product" "$threads" "${peak_readings[*]}" >&2 <<'PY'
import sys
peak, own, torch, threads = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
readings = ", ".join(f"{float(r):.0f}" for r in sys.argv[5].split())
print(f"FMA peak (register loop, {threads} threads, the highest of {readings}): {peak:.0f} GFLOP/s; "
      f"2048^3 single-precision product: backprop {own:.0f} GFLOP/s ({100 * own / peak:.0f} % of it), "
      f"PyTorch {torch:.0f} GFLOP/s ({100 * torch / peak:.0f} %)")
PY

# Each product kernel on one thread against its own instruction set's register loop (BACKPROP_ISA
# runs a narrower kernel than the CPU's widest); levels this CPU lacks are skipped.
for isa in avx512 avx2; do
    if ! isa_peak="$(BACKPROP_ISA=$isa target/release/examples/fma_peak 1 2>/dev/null)"; then continue; fi
    isa_product="$(BACKPROP_ISA=$isa target/release/examples/gemm_peak 1 2048)"
    isa_peak="$(python3 -c 'import sys; print(max(map(float, sys.argv[1:])))' "$isa_peak" \
        "$(BACKPROP_ISA=$isa target/release/examples/fma_peak 1 2>/dev/null)")"
    python3 -c 'import sys; p, g = float(sys.argv[2]), float(sys.argv[3]); print(f"one thread, {sys.argv[1]} kernel: 2048^3 product {g:.0f} GFLOP/s, {100 * g / p:.0f} % of its register loop ({p:.0f} GFLOP/s)")' \
        "$isa" "$isa_peak" "$isa_product" >&2
done
if [ "$threads" != 1 ]; then
    torch_one="$("$venv/bin/python" bench/sgemm_peak.py 1 2048)"
    echo "one thread, PyTorch: 2048^3 product $torch_one GFLOP/s" >&2
fi

exec "$venv/bin/python" bench/compare.py --backprop target/release/backprop --python "$venv/bin/python" \
    --data "$data" --peak "$peak" --threads "$threads" "$@"
