"""The machine's single-precision matrix-product peak as PyTorch (oneDNN/MKL) reaches it: the
median GFLOP/s of a 2048^3 product on THREADS threads (python bench/sgemm_peak.py THREADS)."""

import sys
import time

import torch


def main() -> None:
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else torch.get_num_threads()
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 2048
    torch.set_num_threads(threads)
    a = torch.rand(size, size)
    b = torch.rand(size, size)
    for _ in range(3):
        a @ b
    rates = []
    for _ in range(7):
        start = time.perf_counter()
        a @ b
        rates.append(2 * size**3 / (time.perf_counter() - start) / 1e9)
    rates.sort()
    print(f"{rates[len(rates) // 2]:.1f}")


if __name__ == "__main__":
    main()
