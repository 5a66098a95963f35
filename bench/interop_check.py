"""The comparison bench/interop_check.sh runs: the exported model in onnxruntime and in the
generated PyTorch module against backprop's own `eval --json` and `predict` outputs."""

import argparse
import importlib.util
import json
import os
import struct
import subprocess
import sys
import zlib

import numpy as np
import onnxruntime
import torch

TOLERANCE = 1e-5


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4 : 4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def write_png(path, pixels):
    """An 8-bit grayscale PNG of `pixels` (rows x cols uint8)."""
    rows, cols = pixels.shape
    raw = b"".join(b"\x00" + pixels[r].tobytes() for r in range(rows))

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", cols, rows, 8, 0, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def loss_and_accuracy(logits, labels):
    logits = logits.astype(np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_softmax[np.arange(len(labels)), labels].mean()
    accuracy = (logits.argmax(axis=1) == labels).mean()
    return loss, accuracy


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--backprop", required=True)
    parser.add_argument("--work", required=True)
    args = parser.parse_args()
    work = args.work
    model_file = os.path.join(work, "m.safetensors")

    images = read_idx(os.path.join(work, "data", "train-images-idx3-ubyte"))
    labels = read_idx(os.path.join(work, "data", "train-labels-idx1-ubyte")).astype(np.int64)
    held_out = int(round(len(labels) * 0.2))
    x = (images[-held_out:].reshape(held_out, -1).astype(np.float32) / 255.0).astype(np.float32)
    y = labels[-held_out:]

    session = onnxruntime.InferenceSession(os.path.join(work, "m.onnx"), providers=["CPUExecutionProvider"])
    onnx_logits, onnx_probabilities = session.run(["logits", "probabilities"], {"input": x})

    spec = importlib.util.spec_from_file_location("m_torch", os.path.join(work, "m_torch.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    net = module.load_model()
    print(net)
    with torch.no_grad():
        torch_logits = net(torch.from_numpy(x)).numpy()

    evaluated = json.loads(
        subprocess.run(
            [args.backprop, "eval", "--model", model_file, "--split", "val", "--json"],
            check=True, capture_output=True, text=True,
        ).stdout
    )
    differences = {}
    for name, logits in [("onnxruntime", onnx_logits), ("pytorch", torch_logits)]:
        loss, accuracy = loss_and_accuracy(logits, y)
        differences[f"{name} val loss vs eval"] = abs(loss - evaluated["loss"])
        differences[f"{name} val accuracy vs eval"] = abs(accuracy - evaluated["accuracy"])
    differences["onnxruntime logits vs pytorch logits"] = float(np.abs(onnx_logits - torch_logits).max())

    # The reverse direction: the PyTorch module's state dict, saved as PyTorch saves it, read
    # back by backprop eval.
    from safetensors.torch import save_file

    state_file = os.path.join(work, "state_dict.safetensors")
    save_file(net.state_dict(), state_file)
    reread = json.loads(
        subprocess.run(
            [args.backprop, "eval", "--model", state_file, "--activation", "tanh", "--loss", "cross-entropy",
             "--dataset", os.path.join(work, "data"), "--split", "val", "--val-fraction", "0.2", "--json"],
            check=True, capture_output=True, text=True,
        ).stdout
    )
    differences["state dict eval loss vs eval"] = abs(reread["loss"] - evaluated["loss"])
    differences["state dict eval accuracy vs eval"] = abs(reread["accuracy"] - evaluated["accuracy"])

    largest_predict = {"onnxruntime": 0.0, "pytorch": 0.0}
    torch_probabilities = torch.softmax(torch.from_numpy(torch_logits), dim=1).numpy()
    for i in range(8):
        png = os.path.join(work, f"sample{i}.png")
        write_png(png, images[-held_out + i])
        printed = subprocess.run(
            [args.backprop, "predict", "--model", model_file, "--image", png],
            check=True, capture_output=True, text=True,
        ).stdout
        probabilities = np.array([float(line.split()[1]) for line in printed.splitlines()[1:]])
        # predict prints six decimals; the difference includes that rounding (at most 5e-7).
        largest_predict["onnxruntime"] = max(largest_predict["onnxruntime"], float(np.abs(probabilities - onnx_probabilities[i]).max()))
        largest_predict["pytorch"] = max(largest_predict["pytorch"], float(np.abs(probabilities - torch_probabilities[i]).max()))
    for name, value in largest_predict.items():
        differences[f"{name} probabilities vs predict (8 images)"] = value

    print(f"backprop eval --split val: loss {evaluated['loss']:.9f}, accuracy {evaluated['accuracy']:.4f}, {evaluated['samples']} samples")
    for name, value in differences.items():
        print(f"{name:<45} {value:.3e}")
    worst = max(differences.values())
    print(f"largest difference {worst:.3e} ({'below' if worst < TOLERANCE else 'NOT below'} {TOLERANCE:g})")
    sys.exit(0 if worst < TOLERANCE else 1)


if __name__ == "__main__":
    main()
