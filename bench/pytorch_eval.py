#!/usr/bin/env python3
"""The PyTorch side of the inference comparison: what `backprop eval --split train` does,
with the same model file, in PyTorch under torch.no_grad().

Reads a backprop model file (safetensors: W1 .. Wk, optional b1 .. bk, the activation in its
metadata) into nn.Linear layers, reads the IDX training file as `backprop eval` does, and
scores every sample in file order, --batch-size at a time: features byte/255 converted per
batch, the forward pass, the per-sample cross-entropy summed in float64, the predicted class
(first largest output) counted in a confusion matrix.

Prints one JSON object: loss, accuracy, samples, and the seconds of the process's parts:
`load_seconds` (reading the data and the model), `inference_seconds` (the loop above) and
`inference_cpu_seconds` (its CPU time, all threads), as `backprop eval --timing --json` does.
"""
import argparse
import json
import struct
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from pytorch_mlp import find, read_idx


def read_model(path: Path) -> nn.Sequential:
    """The backprop model file at `path` as nn.Linear layers with its activation between."""
    data = path.read_bytes()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + header_len])
    metadata = header.pop("__metadata__", {})
    body = data[8 + header_len :]

    def tensor(name: str) -> torch.Tensor:
        entry = header[name]
        if entry["dtype"] != "F32":
            raise SystemExit(f"{path}: {name} is {entry['dtype']}, expected F32")
        begin, end = entry["data_offsets"]
        array = np.frombuffer(body, dtype="<f4", count=(end - begin) // 4, offset=begin)
        return torch.from_numpy(array.reshape(entry["shape"]).copy())

    depth = sum(1 for name in header if name.startswith("W"))
    phi = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}[metadata.get("activation", "relu")]
    layers = []
    for k in range(1, depth + 1):
        weight = tensor(f"W{k}")
        linear = nn.Linear(weight.shape[1], weight.shape[0], bias=f"b{k}" in header)
        with torch.no_grad():
            linear.weight.copy_(weight)
            if linear.bias is not None:
                linear.bias.copy_(tensor(f"b{k}").reshape(-1))
        layers.append(linear)
        if k < depth:
            layers.append(phi())
    return nn.Sequential(*layers).eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    images = torch.from_numpy(read_idx(find(args.dataset, "train-images-idx3-ubyte")).copy())
    images = images.reshape(images.shape[0], -1)
    labels = torch.from_numpy(read_idx(find(args.dataset, "train-labels-idx1-ubyte")).astype(np.int64))
    model = read_model(args.model)
    load_seconds = time.perf_counter() - start

    n = images.shape[0]
    q = model[-1].out_features
    start, cpu_start = time.perf_counter(), time.process_time()
    with torch.no_grad():
        loss_sum = torch.zeros((), dtype=torch.float64)
        confusion = torch.zeros(q * q, dtype=torch.int64)
        for begin in range(0, n, args.batch_size):
            x = images[begin : begin + args.batch_size].to(torch.float32).div_(255.0)
            y = labels[begin : begin + args.batch_size]
            o = model(x)
            loss_sum += nn.functional.cross_entropy(o, y, reduction="none").to(torch.float64).sum()
            confusion += torch.bincount(y * q + o.argmax(dim=1), minlength=q * q)
        loss = loss_sum.item() / n
        correct = int(confusion.reshape(q, q).diagonal().sum())
    inference_seconds = time.perf_counter() - start
    inference_cpu_seconds = time.process_time() - cpu_start
    print(json.dumps({
        "samples": n,
        "loss": loss,
        "accuracy": correct / n,
        "load_seconds": load_seconds,
        "inference_seconds": inference_seconds,
        "inference_cpu_seconds": inference_cpu_seconds,
    }), flush=True)


if __name__ == "__main__":
    main()
