#!/usr/bin/env python3
"""The PyTorch side of the speed comparison: D2L's MLP trained on IDX data exactly as
`backprop train` does (same layers, loss, optimiser, weight decay on weights only, byte/255
features converted per batch, last partial batch used), with per-epoch training times.

Writes one JSON object per epoch to --metrics with `epoch_seconds` (training time only) and
`samples_per_second`, and prints the peak resident memory of the process at the end.
"""
import argparse
import gzip
import json
import resource
import struct
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn


def read_idx(path: Path) -> np.ndarray:
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4 : 4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def find(folder: Path, name: str) -> Path:
    for candidate in (folder / name, folder / (name + ".gz")):
        if candidate.exists():
            return candidate
    raise SystemExit(f"{folder}: no {name}[.gz]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--hidden", default="256")
    parser.add_argument("--activation", default="relu", choices=["relu", "sigmoid", "tanh"])
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--metrics", type=Path, required=True)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    images = torch.from_numpy(read_idx(find(args.dataset, "train-images-idx3-ubyte")).copy())
    images = images.reshape(images.shape[0], -1)
    labels = torch.from_numpy(read_idx(find(args.dataset, "train-labels-idx1-ubyte")).astype(np.int64))
    n, d = images.shape
    q = int(labels.max()) + 1
    sizes = [d] + [int(h) for h in args.hidden.split(",")] + [q]
    phi = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}[args.activation]
    layers = []
    for k in range(1, len(sizes)):
        layers.append(nn.Linear(sizes[k - 1], sizes[k]))
        if k < len(sizes) - 1:
            layers.append(phi())
    model = nn.Sequential(*layers)
    weights = [p for name, p in model.named_parameters() if name.endswith("weight")]
    biases = [p for name, p in model.named_parameters() if name.endswith("bias")]
    optimizer = torch.optim.SGD(
        [{"params": weights, "weight_decay": args.weight_decay}, {"params": biases, "weight_decay": 0.0}],
        lr=args.lr,
    )
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(args.seed)
    with args.metrics.open("w") as metrics:
        for epoch in range(1, args.epochs + 1):
            order = torch.randperm(n, generator=generator)
            loss_sum = 0.0
            start = time.perf_counter()
            for begin in range(0, n, args.batch_size):
                index = order[begin : begin + args.batch_size]
                x = images[index].to(torch.float32).div_(255.0)
                y = labels[index]
                optimizer.zero_grad(set_to_none=True)
                loss = loss_fn(model(x), y)
                loss.backward()
                optimizer.step()
                loss_sum += loss.item() * len(index)
            seconds = time.perf_counter() - start
            record = {
                "epoch": epoch,
                "train_loss": loss_sum / n,
                "epoch_seconds": seconds,
                "samples_per_second": n / seconds,
            }
            metrics.write(json.dumps(record) + "\n")
            metrics.flush()
            print(json.dumps(record), flush=True)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"peak_rss_bytes": peak_kib * 1024}), flush=True)


if __name__ == "__main__":
    main()
