#!/usr/bin/env python3
"""PyTorch CPU reference for GreedyHash on fixed features (ALGORITHMS.md §2.5), independent of the Swift code.

    x → Linear(D→K) = h → B = sign(h) (sign(0) = +1), pure straight-through estimator (∂L/∂h = ∂L/∂B)
    L = mean_p ( cos(B_a[p], B_b[p]) − cos(x_a[p], x_b[p]) )² + 0.1 · mean | |h| − 1 |³
    a = first half, b = second half of the batch (an odd batch drops its last row); cos as torch (eps 1e-8),
    the feature cosines detached. Default PyTorch init for the Linear layer.

Recipe (RECIPE below): GreedyHash is the SDC repo's `models/{arch,loss}/gh.py`, trained by that repo's default
trainer (ALGORITHMS.md §2.3, §2.5): Adam lr 1e-4, betas (0.9, 0.999), weight decay 1e-5, batch 64,
StepLR(step = int(0.8·epochs), γ = 0.1) stepped per epoch. TARGETS.md's row runs it for 20 epochs. (The SDC
trainer also drops the last incomplete batch; this reference keeps it, as bihash does: 20,000 = 312·64 + 32.)

Two modes:

  train (command line): trains with RECIPE (flags override it) on `.npy` features and labels and prints mAP@1000
    per width, e.g.

      nice -n 19 python3 tools/reference/greedyhash_reference.py train --dir ~/.cache/bihash --bits 16,32,64

    reads DIR/fashion-mnist-20k-{database,query}-efficientnet-lite0-96.npy and
    DIR/fashion-mnist-20k-{database,query}-labels.npy (written by `bihash-lab backbone-demo --cache DIR`).
    Train = database. mAP@R: ranking by Hamming distance, ties by database index (stable), AP@R =
    Σ_{k≤R} P@k·rel_k ÷ (relevant items in the top R), 0 when there is none.

  JSON on stdin → JSON on stdout, for the Swift tests:
    {"op": "train", "x": [[N×D]], "w": [[K×D]], "b": [K], "permutations": [[N] per epoch]} → {"w", "b", "losses"}:
      trains from the given initial head with RECIPE in float32 (torch's default), the epochs' sample orders
      given (cut into batches of RECIPE's size), and returns the final head and each epoch's mean loss.
"""
import argparse
import json
import sys

import numpy as np
import torch
import torch.nn.functional as F


RECIPE = {"lr": 1e-4, "betas": (0.9, 0.999), "weight_decay": 1e-5, "batch_size": 64, "step_fraction": 0.8,
          "lr_decay": 0.1, "q": 0.1}


class SignSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, h):
        return torch.where(h >= 0, torch.ones_like(h), -torch.ones_like(h))

    @staticmethod
    def backward(ctx, g):
        return g


def greedy_loss(x, h, q_weight):
    """The GreedyHash loss on a batch of features x [N, D] and head outputs h [N, K]; returns (loss, codes)."""
    b = SignSTE.apply(h)
    n = x.shape[0] // 2 * 2
    p = n // 2
    target = F.cosine_similarity(x[:p], x[p:n], dim=1, eps=1e-8).detach()
    s = F.cosine_similarity(b[:p], b[p:n], dim=1, eps=1e-8)
    loss = F.mse_loss(s, target)
    loss = loss + q_weight * torch.mean(torch.abs(torch.abs(h) - 1) ** 3)
    return loss, b


def map_at(query_codes, query_labels, db_codes, db_labels, cutoff):
    """mAP@cutoff with Hamming ranking, ties by database index."""
    k = query_codes.shape[1]
    dist = 0.5 * (k - query_codes @ db_codes.T)  # exact integers in float64
    total = 0.0
    for i in range(query_codes.shape[0]):
        order = np.argsort(dist[i], kind="stable")[:cutoff]
        rel = (db_labels[order] == query_labels[i]).astype(np.float64)
        hits = rel.sum()
        if hits > 0:
            precision = np.cumsum(rel) / np.arange(1, len(rel) + 1)
            total += float((precision * rel).sum() / hits)
    return total / query_codes.shape[0]


def make_optimizer(head, lr, weight_decay, epochs, optimizer="adam", milestones=None):
    if optimizer == "adam":
        opt = torch.optim.Adam(head.parameters(), lr=lr, betas=RECIPE["betas"], weight_decay=weight_decay)
    else:
        opt = torch.optim.SGD(head.parameters(), lr=lr, momentum=0.9, weight_decay=weight_decay)
    if milestones is None:  # the SDC repo's StepLR(step = int(0.8·epochs))
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=max(1, int(RECIPE["step_fraction"] * epochs)),
                                                gamma=RECIPE["lr_decay"])
    else:
        sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=milestones, gamma=RECIPE["lr_decay"])
    return opt, sched


def run_epoch(head, opt, x, order, batch_size, q):
    """One epoch over the samples in `order`, cut into consecutive batches (a 1-sample remainder is skipped)."""
    total, batches = 0.0, 0
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        if len(idx) < 2:
            continue
        xb = x[idx]
        loss, _ = greedy_loss(xb, head(xb), q)
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item()
        batches += 1
    return total / max(1, batches)


def train(args):
    torch.set_num_threads(1)
    d = args.dir
    tag = f"{args.backbone}-{args.image_size}"
    xdb = np.load(f"{d}/fashion-mnist-20k-database-{tag}.npy").astype(np.float32)
    xq = np.load(f"{d}/fashion-mnist-20k-query-{tag}.npy").astype(np.float32)
    ydb = np.load(f"{d}/fashion-mnist-20k-database-labels.npy")
    yq = np.load(f"{d}/fashion-mnist-20k-query-labels.npy")
    if args.center:
        mu = xdb.mean(axis=0, keepdims=True)
        xdb, xq = xdb - mu, xq - mu
    x = torch.from_numpy(xdb)
    milestones = None if args.milestones is None else [int(m) for m in args.milestones.split(",") if m]
    results = {}
    for k in [int(v) for v in args.bits.split(",")]:
        torch.manual_seed(args.seed)
        head = torch.nn.Linear(x.shape[1], k)
        opt, sched = make_optimizer(head, args.lr, args.weight_decay, args.epochs, args.optimizer, milestones)
        gen = torch.Generator().manual_seed(args.seed + 1)
        for epoch in range(args.epochs):
            loss = run_epoch(head, opt, x, torch.randperm(x.shape[0], generator=gen), args.batch_size, args.q)
            sched.step()
            if args.verbose:
                with torch.no_grad():
                    h = head(x)
                    frac = (h >= 0).float().mean(0)
                print(f"  K={k} epoch {epoch + 1}: loss {loss:.5f}, mean |h| {h.abs().mean():.3f}, "
                      f"bit balance min/max {frac.min():.3f}/{frac.max():.3f}", file=sys.stderr)
        with torch.no_grad():
            hq = head(torch.from_numpy(xq)).numpy().astype(np.float64)
            hdb = head(x).numpy().astype(np.float64)
        cq = np.where(hq >= 0, 1.0, -1.0)
        cdb = np.where(hdb >= 0, 1.0, -1.0)
        m = map_at(cq, yq, cdb, ydb, 1000)
        results[k] = m
        print(f"GreedyHash reference K={k}: mAP@1000 {m:.4f}", flush=True)
    return results


def train_from(req):
    """The "train" op: RECIPE from a given initial head and given per-epoch sample orders, in float32."""
    torch.set_num_threads(1)
    x = torch.tensor(req["x"], dtype=torch.float32)
    w = torch.tensor(req["w"], dtype=torch.float32)
    head = torch.nn.Linear(w.shape[1], w.shape[0])
    with torch.no_grad():
        head.weight.copy_(w)
        head.bias.copy_(torch.tensor(req["b"], dtype=torch.float32))
    epochs = len(req["permutations"])
    opt, sched = make_optimizer(head, RECIPE["lr"], RECIPE["weight_decay"], epochs)
    losses = []
    for order in req["permutations"]:
        losses.append(run_epoch(head, opt, x, torch.tensor(order), RECIPE["batch_size"], RECIPE["q"]))
        sched.step()
    return {"w": head.weight.detach().tolist(), "b": head.bias.detach().tolist(), "losses": losses}


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "train":
        ap = argparse.ArgumentParser()
        ap.add_argument("mode")
        ap.add_argument("--dir", required=True)
        ap.add_argument("--backbone", default="efficientnet-lite0")
        ap.add_argument("--image-size", type=int, default=96)
        ap.add_argument("--bits", default="16,32,64")
        ap.add_argument("--epochs", type=int, default=20)
        ap.add_argument("--batch-size", type=int, default=RECIPE["batch_size"])
        ap.add_argument("--optimizer", default="adam", choices=["adam", "sgd"])
        ap.add_argument("--lr", type=float, default=RECIPE["lr"])
        ap.add_argument("--weight-decay", type=float, default=RECIPE["weight_decay"])
        ap.add_argument("--milestones", default=None,
                        help="comma-separated epochs of ×0.1 (default: StepLR at int(0.8·epochs); '' for none)")
        ap.add_argument("--q", type=float, default=RECIPE["q"], help="weight of the cubic penalty")
        ap.add_argument("--center", action="store_true", help="subtract the training mean from the features")
        ap.add_argument("--seed", type=int, default=0)
        ap.add_argument("--verbose", action="store_true")
        train(ap.parse_args())
        return
    req = json.load(sys.stdin)
    if req["op"] == "train":
        json.dump(train_from(req), sys.stdout)
    else:
        raise SystemExit(f"unknown op {req['op']}")


if __name__ == "__main__":
    main()
