#!/usr/bin/env bash
# A/B of two builds of backprop on whole training runs: runs `A train` and `B train` in turn,
# ROUNDS times each, on the same synthetic MNIST-shaped data as bench/compare.sh, and prints
# the median epoch time of each (first epoch of every run left out as warm-up) and their ratio.
# The way docs/decisions.md and docs/history.md measure a change to the training path:
#
#   git stash; cargo build --release; cp target/release/backprop /tmp/backprop-before
#   git stash pop; cargo build --release
#   bench/ab.sh /tmp/backprop-before target/release/backprop --threads 2 --rounds 5 \
#       -- --batch-size 256 --hidden 256
#
#   bench/ab.sh A B [--threads N] [--rounds N] [--epochs N] [-- TRAIN ARGS...]
#
# "A/B" above 1 means B is faster. Only ratios from one such run mean anything on a shared VM,
# and only when the round-by-round ratios it prints next to it mostly fall on the same side
# of 1: on these VMs two runs of the same pair have differed by 0.9x – 1.2x.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
    echo "usage: bench/ab.sh A B [--threads N] [--rounds N] [--epochs N] [-- TRAIN ARGS...]" >&2
    exit 2
}
[ $# -ge 2 ] || usage
a="$1"
b="$2"
shift 2
for bin in "$a" "$b"; do
    if [ ! -x "$bin" ]; then
        echo "error: $bin is not an executable" >&2
        exit 2
    fi
done
threads="$(nproc)"
rounds=5
epochs=4
while [ $# -gt 0 ]; do
    case "$1" in
        --threads) [ $# -ge 2 ] || usage; threads="$2"; shift 2 ;;
        --rounds) [ $# -ge 2 ] || usage; rounds="$2"; shift 2 ;;
        --epochs) [ $# -ge 2 ] || usage; epochs="$2"; shift 2 ;;
        --) shift; break ;;
        *) usage ;;
    esac
done
for value in "$threads" "$rounds" "$epochs"; do
    [[ "$value" =~ ^[1-9][0-9]{0,3}$ ]] || usage
done
[ "$epochs" -ge 2 ] || { echo "error: --epochs must be at least 2 (the first is warm-up)" >&2; exit 2; }

data="$(bench/synthetic_data.sh)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

for ((round = 0; round < rounds; round++)); do
    for side in A B; do
        if [ "$side" = A ]; then bin="$a"; else bin="$b"; fi
        "$bin" train --dataset "$data" --quiet --out "$work/model.safetensors" \
            --epochs "$epochs" --lr 0.1 --weight-decay 1e-4 --threads "$threads" \
            --metrics "$work/$side-$round.jsonl" "$@" > /dev/null 2> "$work/stderr" ||
            { echo "error: $bin train failed:" >&2; cat "$work/stderr" >&2; exit 1; }
    done
done

python3 - "$work" "$rounds" <<'PY'
import json, statistics, sys
from pathlib import Path
work, rounds = Path(sys.argv[1]), int(sys.argv[2])

def steady_epochs(side, r):
    """The epoch times of one run, the first (warm-up) left out."""
    lines = (work / f"{side}-{r}.jsonl").read_text().splitlines()
    return [json.loads(line)["epoch_seconds"] for line in lines if line.strip()][1:]

medians = {}
for side in "AB":
    epochs = [e for r in range(rounds) for e in steady_epochs(side, r)]
    medians[side] = statistics.median(epochs)
    print(f"{side}: median epoch {medians[side]:.4f} s over {len(epochs)} epochs")
# Each round's A and B ran back to back: the spread of their ratios says how much of the
# overall ratio the machine's noise could account for.
ratios = sorted(statistics.median(steady_epochs("A", r)) / statistics.median(steady_epochs("B", r))
                for r in range(rounds))
faster = sum(ratio > 1 for ratio in ratios)
print(f"A/B: {medians['A'] / medians['B']:.3f} (round by round {ratios[0]:.3f} - {ratios[-1]:.3f}, "
      f"B faster in {faster} of {rounds})")
PY
