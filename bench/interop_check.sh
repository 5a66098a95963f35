#!/usr/bin/env bash
# Runs a backprop model in onnxruntime and in PyTorch (not in CI: it needs both from PyPI).
# Installs onnxruntime, torch, safetensors and numpy into a virtualenv outside the repository
# if missing (the one bench/compare.sh uses), trains a small tanh model on synthetic
# MNIST-shaped data with a validation share, exports it as ONNX and as a PyTorch module,
# saves the PyTorch module's state dict and evaluates it with backprop again, and prints
# the largest difference of all from backprop's own outputs (`eval --json` on
# the validation split, `predict` on a few images); it fails when one is 1e-5 or more.
#
#   bench/interop_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${TORCH_VENV:-$HOME/.cache/backprop/torch-venv}"
if ! "$venv/bin/python" -c "import torch, numpy, onnxruntime, safetensors" 2>/dev/null; then
    echo "installing onnxruntime, torch, safetensors and numpy into $venv ..." >&2
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet onnxruntime torch safetensors numpy
fi

cargo build --release --quiet --bin backprop --example synthetic_idx
work="$(mktemp -d "${TMPDIR:-/tmp}/backprop-interop.XXXXXX")"
trap 'rm -rf "$work"' EXIT
target/release/examples/synthetic_idx "$work/data" 2000 >&2
bin="$PWD/target/release/backprop"
"$bin" train --dataset "$work/data" --val-fraction 0.2 --hidden 32,16 --activation tanh \
    --epochs 2 --batch-size 64 --quiet --out "$work/m.safetensors" >&2
"$bin" export --model "$work/m.safetensors" --format onnx --out "$work/m.onnx" >&2
"$bin" export --model "$work/m.safetensors" --format pytorch --out "$work/m_torch.py" >&2
exec "$venv/bin/python" bench/interop_check.py --backprop "$bin" --work "$work"
