#!/usr/bin/env python3
"""NumPy re-computation of bihash's BihashNN layers, losses and optimizers (no torch).

Reads one JSON object on stdin, writes one JSON object on stdout. The object has an "op" and the op's
inputs as flat float lists plus shapes; the answer has the outputs as flat lists. Every formula here is
written independently of the Swift code (from the PyTorch documentation and kernels' definitions) and
evaluated in float64, so the Swift tests can compare against numbers they did not produce.

Shape legend: N = batch, D = features, K = bits, P = pairs (N // 2).

ops:
  relu | gelu | tanh | sigmoid   x[shape], dy                      -> y, dx
  linear                          x[N,I], weight[O,I], bias[O], dy  -> y, dx, dweight, dbias
  batchnorm_train                 x[N,D], gamma, beta, running_mean, running_var, momentum, eps, dy
                                                                    -> y, dx, dgamma, dbeta, running_mean, running_var
  batchnorm_eval                  x[N,D], gamma, beta, running_mean, running_var, eps -> y
  dropout                         x, mask (0 or 1/(1-p)), dy        -> y, dx
  mse | bce                       prediction, target                -> loss, grad
  row_cosine                      a[P,D], b[P,D], dcos[P], eps      -> cos, da, db
  cosine_preservation             codes[N,K], features[N,D], eps    -> loss, grad (w.r.t. codes), target
  sgd | adam | rmsprop            params: [[...]], grads: [[[...]] per step], hyper-parameters
                                                                    -> params: [[[...]] after each step]
"""
import json
import math
import sys

import numpy as np


def arr(d, key, shape_key="shape"):
    a = np.asarray(d[key], dtype=np.float64)
    if shape_key in d:
        a = a.reshape(d[shape_key])
    return a


def flat(a):
    return np.asarray(a, dtype=np.float64).ravel().tolist()


def activation(d):
    x = arr(d, "x")
    dy = arr(d, "dy")
    op = d["op"]
    if op == "relu":
        y = np.where(x > 0, x, 0.0)
        dx = dy * (x > 0)
    elif op == "gelu":
        erf = np.vectorize(math.erf)
        cdf = 0.5 * (1.0 + erf(x / math.sqrt(2.0)))
        y = x * cdf
        pdf = np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
        dx = dy * (cdf + x * pdf)
    elif op == "tanh":
        y = np.tanh(x)
        dx = dy / np.cosh(x) ** 2  # sech²(x), a different route than 1 − tanh²
    else:  # sigmoid
        y = 1.0 / (1.0 + np.exp(-x))
        dx = dy * np.exp(-x) / (1.0 + np.exp(-x)) ** 2
    return {"y": flat(y), "dx": flat(dx)}


def linear(d):
    n, i = d["shape"]
    x = np.asarray(d["x"]).reshape(n, i)
    w = np.asarray(d["weight"]).reshape(-1, i)
    b = np.asarray(d["bias"])
    dy = np.asarray(d["dy"]).reshape(n, -1)
    return {"y": flat(x @ w.T + b), "dx": flat(dy @ w), "dweight": flat(dy.T @ x), "dbias": flat(dy.sum(0))}


def batchnorm_train(d):
    x = arr(d, "x")
    n = x.shape[0]
    gamma, beta = np.asarray(d["gamma"]), np.asarray(d["beta"])
    eps, m = d["eps"], d["momentum"]
    dy = arr(d, "dy")
    mu = x.mean(0)
    var = x.var(0)  # biased, for normalisation
    xc = x - mu
    std = np.sqrt(var + eps)
    xhat = xc / std
    y = gamma * xhat + beta
    # Backward by the chain rule through mean and variance (the long form).
    dxhat = dy * gamma
    dvar = np.sum(dxhat * xc, 0) * -0.5 * (var + eps) ** -1.5
    dmu = np.sum(-dxhat / std, 0) + dvar * np.mean(-2.0 * xc, 0)
    dx = dxhat / std + dvar * 2.0 * xc / n + dmu / n
    rm = (1 - m) * np.asarray(d["running_mean"]) + m * mu
    rv = (1 - m) * np.asarray(d["running_var"]) + m * x.var(0, ddof=1)  # unbiased for the running estimate
    return {"y": flat(y), "dx": flat(dx), "dgamma": flat(np.sum(dy * xhat, 0)), "dbeta": flat(dy.sum(0)),
            "running_mean": flat(rm), "running_var": flat(rv)}


def batchnorm_eval(d):
    x = arr(d, "x")
    y = (x - np.asarray(d["running_mean"])) / np.sqrt(np.asarray(d["running_var"]) + d["eps"])
    return {"y": flat(np.asarray(d["gamma"]) * y + np.asarray(d["beta"]))}


def dropout(d):
    x, mask, dy = arr(d, "x"), arr(d, "mask"), arr(d, "dy")
    return {"y": flat(x * mask), "dx": flat(dy * mask)}


def mse(d):
    p, t = arr(d, "prediction"), arr(d, "target")
    return {"loss": float(np.mean((p - t) ** 2)), "grad": flat(2.0 * (p - t) / p.size)}


def bce(d):
    p, t = arr(d, "prediction"), arr(d, "target")
    with np.errstate(divide="ignore"):
        logp = np.maximum(np.log(p), -100.0)
        log1mp = np.maximum(np.log(1.0 - p), -100.0)
    loss = -np.mean(t * logp + (1.0 - t) * log1mp)
    grad = (p - t) / np.maximum(p * (1.0 - p), 1e-12) / p.size  # PyTorch's binary_cross_entropy_backward
    return {"loss": float(loss), "grad": flat(grad)}


def cosine_rows(a, b, eps):
    """PyTorch cosine_similarity(dim=1): each norm clamped at eps, then the dot of the normalised rows."""
    na_raw = np.linalg.norm(a, axis=1)
    nb_raw = np.linalg.norm(b, axis=1)
    na = np.maximum(na_raw, eps)
    nb = np.maximum(nb_raw, eps)
    return np.sum((a / na[:, None]) * (b / nb[:, None]), axis=1), na_raw, nb_raw, na, nb


def cosine_rows_backward(a, b, dcos, eps):
    """Quotient rule on cos = dot / (n_a n_b); a clamped norm is a constant."""
    cos, na_raw, nb_raw, na, nb = cosine_rows(a, b, eps)
    dot = np.sum(a * b, axis=1)
    dna_da = np.where((na_raw > eps)[:, None], a / np.where(na_raw > 0, na_raw, 1.0)[:, None], 0.0)
    dnb_db = np.where((nb_raw > eps)[:, None], b / np.where(nb_raw > 0, nb_raw, 1.0)[:, None], 0.0)
    denom = (na * nb)[:, None]
    da = (b * denom - dot[:, None] * nb[:, None] * dna_da) / denom ** 2
    db = (a * denom - dot[:, None] * na[:, None] * dnb_db) / denom ** 2
    return cos, da * dcos[:, None], db * dcos[:, None]


def row_cosine(d):
    a, b = arr(d, "a"), arr(d, "b")
    cos, da, db = cosine_rows_backward(a, b, np.asarray(d["dcos"], dtype=np.float64), d["eps"])
    return {"cos": flat(cos), "da": flat(da), "db": flat(db)}


def cosine_preservation(d):
    codes = np.asarray(d["codes"], dtype=np.float64).reshape(d["codes_shape"])
    feats = np.asarray(d["features"], dtype=np.float64).reshape(d["features_shape"])
    eps = d["eps"]
    n = codes.shape[0]
    p = n // 2
    target, *_ = cosine_rows(feats[:p], feats[p:2 * p], eps)
    cos, *_ = cosine_rows(codes[:p], codes[p:2 * p], eps)
    loss = np.mean((cos - target) ** 2)
    _, da, db = cosine_rows_backward(codes[:p], codes[p:2 * p], 2.0 * (cos - target) / p, eps)
    grad = np.zeros_like(codes)
    grad[:p] = da
    grad[p:2 * p] = db
    return {"loss": float(loss), "grad": flat(grad), "target": flat(target)}


def optimizer(d):
    params = [np.asarray(p, dtype=np.float64) for p in d["params"]]
    lr, wd = d["lr"], d.get("weight_decay", 0.0)
    state = [dict() for _ in params]
    history = []
    for t, grads in enumerate(d["grads"], start=1):
        for i, (theta, g0) in enumerate(zip(params, grads)):
            g = np.asarray(g0, dtype=np.float64) + wd * theta
            s = state[i]
            if d["op"] == "sgd":
                mu, damp = d.get("momentum", 0.0), d.get("dampening", 0.0)
                if mu != 0:
                    s["buf"] = g.copy() if "buf" not in s else mu * s["buf"] + (1 - damp) * g
                    g = g + mu * s["buf"] if d.get("nesterov", False) else s["buf"]
                params[i] = theta - lr * g
            elif d["op"] == "adam":
                b1, b2, eps = d["beta1"], d["beta2"], d["eps"]
                s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
                s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
                mhat = s["m"] / (1 - b1 ** t)
                vhat = s["v"] / (1 - b2 ** t)
                params[i] = theta - lr * mhat / (np.sqrt(vhat) + eps)
            else:  # rmsprop
                alpha, eps, mu = d["alpha"], d["eps"], d.get("momentum", 0.0)
                s["v"] = alpha * s.get("v", 0.0) + (1 - alpha) * g * g
                if d.get("centered", False):
                    s["g"] = alpha * s.get("g", 0.0) + (1 - alpha) * g
                    denom = np.sqrt(s["v"] - s["g"] ** 2) + eps
                else:
                    denom = np.sqrt(s["v"]) + eps
                if mu > 0:
                    s["buf"] = mu * s.get("buf", 0.0) + g / denom
                    params[i] = theta - lr * s["buf"]
                else:
                    params[i] = theta - lr * g / denom
        history.append([flat(p) for p in params])
    return {"params": history}


OPS = {
    "relu": activation, "gelu": activation, "tanh": activation, "sigmoid": activation,
    "linear": linear, "batchnorm_train": batchnorm_train, "batchnorm_eval": batchnorm_eval,
    "dropout": dropout, "mse": mse, "bce": bce, "row_cosine": row_cosine,
    "cosine_preservation": cosine_preservation, "sgd": optimizer, "adam": optimizer, "rmsprop": optimizer,
}


def main():
    request = json.load(sys.stdin)
    op = request.get("op")
    if op not in OPS:
        sys.exit(f"nn_reference.py: unknown op {op!r}; expected one of {sorted(OPS)}")
    json.dump(OPS[op](request), sys.stdout)


if __name__ == "__main__":
    main()
