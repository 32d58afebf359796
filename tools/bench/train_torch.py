#!/usr/bin/env python3
"""PyTorch CPU peer for tools/bench/train: the same recipes as bihash, timed the same way.

Recipes (ALGORITHMS.md §1.4):
  autoencoder  784-256-K encoder, bi-half (γ=1), K-256-784 sigmoid decoder, BCE, Adam 1e-3 wd 1e-5
  features     Linear(D→K), bi-half (γ=6), cosine-similarity preservation, Adam 1e-3

Prints one JSON line: {"samples_per_s": [per-epoch values...]}.
"""
import argparse
import json
import time

import numpy as np
import torch


class BiHalf(torch.autograd.Function):
    @staticmethod
    def forward(ctx, u, gamma):
        _, index = u.sort(0, descending=True)
        n = u.size(0)
        b = torch.zeros_like(u).scatter_(0, index, torch.cat((torch.ones(n // 2, u.size(1)), -torch.ones(n - n // 2, u.size(1)))))
        ctx.save_for_backward(u, b)
        ctx.gamma = gamma
        return b

    @staticmethod
    def backward(ctx, g):
        u, b = ctx.saved_tensors
        return g + ctx.gamma * (u - b) / b.numel(), None


def autoencoder(x, bits, batch, epochs):
    d = x.shape[1]
    enc = torch.nn.Sequential(torch.nn.Linear(d, 256), torch.nn.ReLU(), torch.nn.Linear(256, bits))
    dec = torch.nn.Sequential(torch.nn.Linear(bits, 256), torch.nn.ReLU(), torch.nn.Linear(256, d), torch.nn.Sigmoid())
    opt = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()), lr=1e-3, weight_decay=1e-5)
    bce = torch.nn.BCELoss()

    def step(xb):
        b = BiHalf.apply(enc(xb), 1.0)
        loss = bce(dec(b), xb)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return run(x, batch, epochs, step)


def features(x, bits, batch, epochs):
    head = torch.nn.Linear(x.shape[1], bits)
    opt = torch.optim.Adam(head.parameters(), lr=1e-3)

    def step(xb):
        b = BiHalf.apply(head(xb), 6.0)
        h = xb.size(0) // 2
        target = torch.nn.functional.cosine_similarity(xb[:h], xb[h:2 * h])
        loss = torch.nn.functional.mse_loss(torch.nn.functional.cosine_similarity(b[:h], b[h:2 * h]), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return run(x, batch, epochs, step)


def run(x, batch, epochs, step):
    rates = []
    g = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        perm = torch.randperm(x.shape[0], generator=g)
        start = time.perf_counter()
        n = 0
        for i in range(0, x.shape[0] - 1, batch):
            idx = perm[i:i + batch]
            if len(idx) < 2:
                continue
            step(x[idx])
            n += len(idx)
        rates.append(n / (time.perf_counter() - start))
    return rates


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--recipe", choices=["autoencoder", "features"], required=True)
    p.add_argument("--input", required=True, help="float32 .npy feature matrix")
    p.add_argument("--bits", type=int, default=16)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    x = torch.from_numpy(np.load(a.input).astype(np.float32))
    fn = autoencoder if a.recipe == "autoencoder" else features
    print(json.dumps({"samples_per_s": fn(x, a.bits, a.batch_size, a.epochs)}))


if __name__ == "__main__":
    main()
