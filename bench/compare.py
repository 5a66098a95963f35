#!/usr/bin/env python3
"""Side-by-side speed and memory of backprop and the same network in PyTorch: training
(`backprop train` against bench/pytorch_mlp.py) and inference (`backprop eval` against
bench/pytorch_eval.py, the same model file's forward pass under torch.no_grad()).

Runs both programs alternately on the same synthetic MNIST-shaped IDX data, with the same
threads, for each workload, and prints a markdown table per part.

Training: epoch times come from each program's own per-epoch timings (`epoch_seconds` in its
metrics file, training only), the first epoch is left out as warm-up, and the median over the
remaining epochs of all rounds is reported.

Inference: a model per network is written by `backprop train --steps 1`; each round runs
`backprop eval --split train --timing --json` and the PyTorch script on all samples, in file
order, at the same batch size. Each program reports its inference time (the loop of batches:
byte/255 features, forward pass, per-sample loss, predicted class), wall and CPU (all its
threads; on a machine shared with other work the CPU time shows the cost, however long the
program waited for a core), and its loading time (data and model) itself; the wall time of
the whole process (start-up included) is measured here. Medians over the rounds are reported, and the two programs' accuracies are compared
(they score the same model on the same samples).

Peak RSS is the child process's maximum resident set size (wait4).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
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


# name, hidden, batch, activation: the inference workloads (the batch is eval's --batch-size).
INFERENCE_WORKLOADS = [
    ("default 784-256-10", "256", 256, "relu"),
    ("hidden 1024", "1024", 256, "relu"),
    ("hidden 512,256", "512,256", 256, "relu"),
    ("batch 64", "256", 64, "relu"),
    ("batch 1024", "256", 1024, "relu"),
    ("batch 4096", "256", 4096, "relu"),
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


def run_json(command):
    """Runs `command`, returns its stdout parsed as JSON, and the wall seconds and peak RSS
    bytes of the whole process."""
    began = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - began
    stdout = process.stdout.read().decode() if process.stdout else ""
    stderr = process.stderr.read().decode() if process.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(command)} failed:\n{stderr}")
    return json.loads(stdout), wall, usage.ru_maxrss * 1024


def forward_flops(samples: int, sizes: list) -> float:
    """Matrix-product FLOP of one forward pass over `samples`: X W_k^T for every layer."""
    return sum(2 * samples * i * o for i, o in zip(sizes[:-1], sizes[1:]))


def training_table(args, work: Path) -> None:
    """The training comparison: epoch times of `backprop train` and bench/pytorch_mlp.py."""
    script = Path(__file__).with_name("pytorch_mlp.py")
    print(f"### Training\n\nthreads {args.threads}, {args.samples} samples, {args.epochs} epochs x "
          f"{args.rounds} rounds, alternating; FMA peak (register loop) {args.peak:.0f} GFLOP/s\n")
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
    print()


def inference_table(args, work: Path) -> None:
    """The inference comparison: `backprop eval` and bench/pytorch_eval.py on one model file."""
    script = Path(__file__).with_name("pytorch_eval.py")
    print(f"### Inference\n\nthreads {args.threads}, {args.samples} samples, {args.inference_rounds} "
          f"rounds, alternating; FMA peak (register loop) {args.peak:.0f} GFLOP/s; \"inference s\" is "
          f"each program's own time of its loop over the batches (\"inference CPU s\": its CPU time, all "
          f"threads), \"process s\" the wall time of "
          f"the whole process (start-up, reading the data and the model included), \"load s\" each "
          f"program's own time of reading the data and the model\n")
    print("| workload | program | inference s | samples/s | GFLOP/s | % of FMA peak | inference CPU s | "
          "process s | load s | peak RSS | inference vs PyTorch | CPU vs PyTorch | process vs PyTorch | accuracy |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, hidden, batch, activation in INFERENCE_WORKLOADS:
        if args.only and args.only not in name:
            continue
        sizes = [784] + [int(h) for h in hidden.split(",")] + [10]
        flops = forward_flops(args.samples, sizes)
        model = work / f"infer-{hidden.replace(',', '_')}-{activation}.safetensors"
        if not model.exists():
            subprocess.run([args.backprop, "train", "--dataset", str(args.data), "--quiet", "--steps", "1",
                            "--hidden", hidden, "--activation", activation, "--threads", str(args.threads),
                            "--out", str(model)], check=True, stdout=subprocess.DEVNULL)
        figures = {p: {"inference": [], "cpu": [], "load": [], "wall": []} for p in ("backprop", "pytorch")}
        rss = {"backprop": 0, "pytorch": 0}
        accuracy = {}
        for _ in range(args.inference_rounds):
            for program in ("backprop", "pytorch"):
                if program == "backprop":
                    command = [args.backprop, "eval", "--model", str(model), "--dataset", str(args.data),
                               "--split", "train", "--batch-size", str(batch), "--threads", str(args.threads),
                               "--json", "--timing"]
                else:
                    command = [args.python, str(script), "--dataset", str(args.data), "--model", str(model),
                               "--batch-size", str(batch), "--threads", str(args.threads)]
                report, wall, peak = run_json(command)
                timing = report.get("timing", report)
                figures[program]["inference"].append(timing["inference_seconds"])
                figures[program]["cpu"].append(timing["inference_cpu_seconds"])
                figures[program]["load"].append(timing["load_seconds"])
                figures[program]["wall"].append(wall)
                rss[program] = max(rss[program], peak)
                accuracy[program] = report["accuracy"]
        medians = {p: {k: statistics.median(v) for k, v in f.items()} for p, f in figures.items()}
        agree = "same" if accuracy["backprop"] == accuracy["pytorch"] else (
            f"differs by {abs(accuracy['backprop'] - accuracy['pytorch']) * args.samples:.0f} samples")
        for program in ("backprop", "pytorch"):
            m = medians[program]
            gflops = flops / m["inference"] / 1e9
            print(f"| {name} (batch {batch}) | {program} | {m['inference']:.3f} | {args.samples / m['inference']:,.0f} | "
                  f"{gflops:.0f} | {100 * gflops / args.peak:.0f} % | {m['cpu']:.3f} | {m['wall']:.3f} | "
                  f"{m['load']:.3f} | {rss[program] / 1e6:.0f} MB | "
                  f"{medians['pytorch']['inference'] / m['inference']:.2f}x | "
                  f"{medians['pytorch']['cpu'] / m['cpu']:.2f}x | "
                  f"{medians['pytorch']['wall'] / m['wall']:.2f}x | {agree} |", flush=True)
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backprop", required=True)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--samples", type=int, default=60000)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2, help="training rounds per workload")
    parser.add_argument("--inference-rounds", type=int, default=5, help="inference rounds per workload")
    parser.add_argument("--peak", type=float, required=True, help="the FMA peak in GFLOP/s (register loop, same threads)")
    parser.add_argument("--only", help="run only the workloads whose name contains this")
    parser.add_argument("--part", choices=["both", "training", "inference"], default="both",
                        help="which comparison to run (default: both, training first)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="backprop-compare-"))
    if args.part in ("both", "training"):
        training_table(args, work)
    if args.part in ("both", "inference"):
        inference_table(args, work)


if __name__ == "__main__":
    main()
