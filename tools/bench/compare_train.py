#!/usr/bin/env python3
"""Runs bihash (bihash-lab bench-train) and PyTorch (train_torch.py) on the same inputs and thread count,
alternating the two, and prints a table plus RESULT lines. Medians over epochs; ratios = bihash / PyTorch."""
import argparse
import json
import os
import statistics
import subprocess
import sys

CASES = [
    # name, recipe, input, bits, batch
    ("autoencoder.k16.b128", "autoencoder", "ae.npy", 16, 128),
    ("features.d512.k64.b256", "features", "feat512.npy", 64, 256),
    ("features.d4096.k64.b256", "features", "feat4096.npy", 64, 256),
]


def run(cmd, threads):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return statistics.median(json.loads(out.strip().splitlines()[-1])["samples_per_s"])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--work", required=True)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--lab", required=True)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    rows = []
    for name, recipe, data, bits, batch in CASES:
        path = os.path.join(a.work, data)
        common = ["--recipe", recipe, "--input", path, "--bits", str(bits), "--batch-size", str(batch),
                  "--epochs", str(a.epochs), "--threads", str(a.threads)]
        ours = run([a.lab, "bench-train"] + common, a.threads)
        torch = run([sys.executable, os.path.join(here, "train_torch.py")] + common, a.threads)
        rows.append((name, ours, torch))
    print(f"training throughput, {a.threads} thread(s), median samples/s over {a.epochs} epoch(s)")
    print(f"{'recipe':<28}{'bihash':>12}{'pytorch':>12}{'ratio':>8}")
    for name, ours, torch in rows:
        print(f"{name:<28}{ours:>12.0f}{torch:>12.0f}{ours / torch:>8.2f}")
    for name, ours, torch in rows:
        print(f"RESULT train.{name}.t{a.threads}.samples_per_s {ours:.0f}")
        print(f"RESULT train.{name}.t{a.threads}.vs_torch {ours / torch:.3f}")


if __name__ == "__main__":
    main()
