#!/usr/bin/env python3
"""Side-by-side speed and memory of `backprop train` and the same network in PyTorch.

Runs both programs alternately on the same synthetic MNIST-shaped IDX data, with the same
threads, for each workload, and prints a markdown table. Epoch times come from each
program's own per-epoch timings (`epoch_seconds` in its metrics file, training only), the
first epoch is left out as warm-up, and the median over the remaining epochs of all rounds is
reported. Peak RSS is the child process's maximum resident set size (wait4).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

WORKLOADS = [
    # name, hidden, batch, activation
    ("default 784-256-10", "256", 256, "relu"),
    ("hidden 1024", "1024", 256, "relu"),
    ("hidden 512,256", "512,256", 256, "relu"),
    ("batch 64", "256", 64, "relu"),
    ("batch 1024", "256", 1024, "relu"),
    ("sigmoid", "256", 256, "sigmoid"),
]


def run(command, metrics: Path):
    """Runs `command`, returns (steady-state epoch seconds list, peak RSS bytes)."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    stderr = process.stderr.read().decode() if process.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(command)} failed:\n{stderr}")
    records = [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()]
    seconds = [r["epoch_seconds"] for r in records[1:]] or [records[0]["epoch_seconds"]]
    return seconds, usage.ru_maxrss * 1024


def epoch_flops(samples: int, sizes: list) -> float:
    """Matrix-product FLOP of one epoch: forward X W^T and backward dW for every layer, and
    dH for every layer but the first (no gradient for the input)."""
    pairs = list(zip(sizes[:-1], sizes[1:]))
    forward = sum(2 * samples * i * o for i, o in pairs)
    weight_grads = forward
    input_grads = sum(2 * samples * i * o for i, o in pairs[1:])
    return forward + weight_grads + input_grads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backprop", required=True)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--samples", type=int, default=60000)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--peak", type=float, required=True, help="the FMA peak in GFLOP/s (register loop, same threads)")
    parser.add_argument("--only", help="run only the workloads whose name contains this")
    args = parser.parse_args()
    script = Path(__file__).with_name("pytorch_mlp.py")
    work = Path(tempfile.mkdtemp(prefix="backprop-compare-"))

    print(f"threads {args.threads}, {args.samples} samples, {args.epochs} epochs x {args.rounds} rounds, "
          f"alternating; FMA peak (register loop) {args.peak:.0f} GFLOP/s\n")
    print("| workload | program | epoch s | samples/s | GFLOP/s | % of FMA peak | peak RSS | speed vs PyTorch | RSS vs PyTorch |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, hidden, batch, activation in WORKLOADS:
        if args.only and args.only not in name:
            continue
        sizes = [784] + [int(h) for h in hidden.split(",")] + [10]
        flops = epoch_flops(args.samples, sizes)
        times = {"backprop": [], "pytorch": []}
        rss = {"backprop": 0, "pytorch": 0}
        for round_index in range(args.rounds):
            for program in ("backprop", "pytorch"):
                metrics = work / f"{program}-{round_index}.jsonl"
                common = ["--epochs", str(args.epochs), "--batch-size", str(batch), "--lr", "0.1",
                          "--weight-decay", "1e-4", "--hidden", hidden, "--activation", activation,
                          "--threads", str(args.threads), "--metrics", str(metrics)]
                if program == "backprop":
                    command = [args.backprop, "train", "--dataset", str(args.data), "--quiet",
                               "--out", str(work / "model.safetensors")] + common
                else:
                    command = [args.python, str(script), "--dataset", str(args.data)] + common
                seconds, peak = run(command, metrics)
                times[program] += seconds
                rss[program] = max(rss[program], peak)
        medians = {p: statistics.median(t) for p, t in times.items()}
        for program in ("backprop", "pytorch"):
            seconds = medians[program]
            gflops = flops / seconds / 1e9
            speed = medians["pytorch"] / seconds
            memory = rss[program] / rss["pytorch"]
            print(f"| {name} | {program} | {seconds:.3f} | {args.samples / seconds:,.0f} | {gflops:.0f} | "
                  f"{100 * gflops / args.peak:.0f} % | {rss[program] / 1e6:.0f} MB | "
                  f"{speed:.2f}x | {memory:.2f} |", flush=True)


if __name__ == "__main__":
    main()
