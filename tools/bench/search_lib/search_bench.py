#!/usr/bin/env python3
"""Driver of tools/bench/search: generates the codes, runs bihash (bihash-bench-search) and FAISS on the same
files, prints a table of queries/s (medians of --reps runs, wall clock) and the RESULT lines of TARGETS.md.

Workload (TARGETS.md "Search"): N database codes, 1,000 queries, k = 100, K = 64, 128, 256; random codes
(independent fair bits) and clustered codes (1,000 random centres, every bit flipped with p = 0.1; queries
drawn the same way from the same centres). Codes are written once as .npy uint8 [N, K/8] (numpy.packbits
layout) and read by both sides.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

# Popcount bound of this machine (TARGETS.md: a small C kernel, XOR + POPCNT + threshold, 1 core, 1M codes).
BOUND_QPS = {64: 1950, 128: 1250, 256: 765}


def make_codes(kind, bits, n, nq, seed):
    rng = np.random.default_rng(seed)
    if kind == "random":
        db = rng.integers(0, 256, size=(n, bits // 8), dtype=np.uint8)
        q = rng.integers(0, 256, size=(nq, bits // 8), dtype=np.uint8)
        return db, q
    centres = rng.integers(0, 2, size=(1000, bits), dtype=np.uint8)

    def draw(count):
        out = np.empty((count, bits // 8), dtype=np.uint8)
        for s in range(0, count, 50_000):
            e = min(count, s + 50_000)
            which = rng.integers(0, 1000, size=e - s)
            flips = (rng.random((e - s, bits)) < 0.1).astype(np.uint8)
            out[s:e] = np.packbits(centres[which] ^ flips, axis=1)
        return out

    return draw(n), draw(nq)


def timed(fn, reps, nq):
    fn()  # warm-up
    rates = []
    for _ in range(reps):
        t0 = time.perf_counter()
        result = fn()
        rates.append(nq / (time.perf_counter() - t0))
    return statistics.median(rates), result


def run_faiss(db, q, bits, k, reps, nflip):
    import faiss

    out = {}
    flat = faiss.IndexBinaryFlat(bits)
    flat.add(db)
    for t in (1, 2):
        faiss.omp_set_num_threads(t)
        out[f"faiss_flat_t{t}_qps"], (dist, _) = timed(lambda: flat.search(q, k), reps, len(q))
        if t == 1:
            out["exact_distances"] = dist
    faiss.omp_set_num_threads(1)
    mih = faiss.IndexBinaryMultiHash(bits, bits // 16, 16)
    mih.nflip = nflip
    mih.add(db)
    out["faiss_mih_t1_qps"], (dm, im) = timed(lambda: mih.search(q, k), max(1, reps // 2), len(q))
    # Tie-aware recall: a returned item counts if its distance is within the exact k-th distance.
    kth = out["exact_distances"][:, k - 1:k]
    good = np.minimum(((dm <= kth) & (im >= 0)).sum(axis=1), k)
    out["faiss_mih_recall"] = float(good.mean() / k)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bin", required=True, help="path of bihash-bench-search (release build)")
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--nq", type=int, default=1000)
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--bits", default="64,128,256")
    ap.add_argument("--kinds", default="random,clustered")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--nflip", type=int, default=2, help="FAISS IndexBinaryMultiHash nflip")
    ap.add_argument("--keep", help="directory for the generated files (default: a temporary one)")
    args = ap.parse_args()

    work = args.keep or tempfile.mkdtemp(prefix="bihash-bench-search-")
    os.makedirs(work, exist_ok=True)
    rows = []
    for bits in [int(b) for b in args.bits.split(",")]:
        for kind in args.kinds.split(","):
            tag = f"{kind}{bits}"
            db, q = make_codes(kind, bits, args.n, args.nq, seed=bits * 10 + (kind == "clustered"))
            dbp, qp, ip, dp = (os.path.join(work, f"{tag}.{ext}") for ext in ("db.npy", "q.npy", "bhidx", "dist.i32"))
            np.save(dbp, db)
            np.save(qp, q)
            subprocess.run([args.bin, "build", "--db", dbp, "--bits", str(bits), "--out", ip], check=True,
                           stdout=subprocess.DEVNULL)
            radius = bits // 8
            res = subprocess.run([args.bin, "search", "--index", ip, "--queries", qp, "--k", str(args.k),
                                  "--radius", str(radius), "--reps", str(args.reps), "--distances", dp],
                                 check=True, capture_output=True, text=True)
            r = json.loads(res.stdout)
            r.update(kind=kind, bits=bits)
            r.update(run_faiss(db, q, bits, args.k, args.reps, args.nflip))
            mine = np.fromfile(dp, dtype=np.int32).reshape(args.nq, args.k)
            r["same_as_faiss"] = bool(np.array_equal(mine, np.sort(r.pop("exact_distances"), axis=1)))
            rows.append(r)
            print(f"# {tag}: done (flat t1 {r['flat_t1_qps']:.0f} q/s, FAISS {r['faiss_flat_t1_qps']:.0f} q/s)",
                  file=sys.stderr, flush=True)
            if not args.keep:
                for p in (dbp, qp, ip, dp):
                    os.remove(p)

    print(f"\nSearch benchmark: N = {args.n:,}, {args.nq:,} queries, k = {args.k}, radius = K/8; "
          f"queries/s, median of {args.reps} runs (wall clock); FAISS {__import__('faiss').__version__}\n")
    head = ("codes", "K", "flat 1t", "flat 2t", "MIH 1t", "MIH 2t", "radius flat", "radius MIH",
            "FAISS flat 1t", "FAISS flat 2t", "FAISS MIH 1t (recall)", "flat/FAISS 1t", "exact")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        exact = r["same_as_faiss"] and r["mih_recall"] == 1.0 and r["radius_identical"] and r["flat_t2_identical"]
        print(f"| {r['kind']} | {r['bits']} | {r['flat_t1_qps']:,.0f} | {r['flat_t2_qps']:,.0f} | "
              f"{r['mih_t1_qps']:,.0f} | {r['mih_t2_qps']:,.0f} | {r['radius_flat_t1_qps']:,.0f} | "
              f"{r['radius_mih_t1_qps']:,.0f} | {r['faiss_flat_t1_qps']:,.0f} | {r['faiss_flat_t2_qps']:,.0f} | "
              f"{r['faiss_mih_t1_qps']:,.0f} ({r['faiss_mih_recall']:.3f}) | "
              f"{r['flat_t1_qps'] / r['faiss_flat_t1_qps']:.2f}x | {'yes' if exact else 'NO'} |")
    print("\nexact = bihash flat distances equal FAISS flat's, MIH lists equal flat's (ids and order), "
          "radius MIH = radius flat, 2 threads = 1 thread.")
    print("MIH m (tables) and table memory: " + ", ".join(
        f"{r['kind']}{r['bits']}: m={r['mih_m']}, {r['mih_table_bytes'] / 2**20:.1f} MiB "
        f"({r['mih_table_bytes'] / (r['count'] * r['bits'] / 8):.2f}x codes)" for r in rows))
    print("Per CPU-second, 1 thread (k-NN flat → MIH; radius flat → MIH): " + ", ".join(
        f"{r['kind']}{r['bits']}: {r['flat_t1_cpu_qps']:,.0f} → {r['mih_t1_cpu_qps']:,.0f} "
        f"({r['mih_t1_cpu_qps'] / r['flat_t1_cpu_qps']:.2f}x); {r['radius_flat_t1_cpu_qps']:,.0f} → "
        f"{r['radius_mih_t1_cpu_qps']:,.0f} ({r['radius_mih_t1_cpu_qps'] / r['radius_flat_t1_cpu_qps']:.2f}x)"
        for r in rows))
    print("Radius search mean results per query: " + ", ".join(
        f"{r['kind']}{r['bits']}: {r['radius_mean_results']:.1f}" for r in rows))
    print("Peak RSS of the search process (index mapped, MIH tables built): " + ", ".join(
        f"{r['kind']}{r['bits']}: {r['peak_rss_kib'] / 1024:.0f} MiB (after flat search {r['rss_after_flat_kib'] / 1024:.0f} MiB)"
        for r in rows))
    print()

    by = {(r["kind"], r["bits"]): r for r in rows}

    def result(name, value, fmt="{:.3f}"):
        print(f"RESULT {name} " + fmt.format(value))

    for bits in (64, 128, 256):
        r = by.get(("random", bits))
        if not r:
            continue
        result(f"search.flat.k{bits}.t1.vs_faiss", r["flat_t1_qps"] / r["faiss_flat_t1_qps"])
        result(f"search.flat.k{bits}.t2.vs_faiss", r["flat_t2_qps"] / r["faiss_flat_t2_qps"])
        result(f"search.flat.k{bits}.t2.vs_t1", r["flat_t2_qps"] / r["flat_t1_qps"])
        result(f"search.flat.k{bits}.t1.vs_bound", r["flat_t1_qps"] / BOUND_QPS[bits])
        result(f"search.flat.k{bits}.t1.qps", r["flat_t1_qps"], "{:.0f}")
        result(f"search.flat.k{bits}.t2.qps", r["flat_t2_qps"], "{:.0f}")
        result(f"search.faiss_flat.k{bits}.t1.qps", r["faiss_flat_t1_qps"], "{:.0f}")
        result(f"search.faiss_flat.k{bits}.t2.qps", r["faiss_flat_t2_qps"], "{:.0f}")
    for bits in (64, 128, 256):
        r = by.get(("clustered", bits))
        if not r:
            continue
        result(f"search.mih.k{bits}.clustered.vs_flat", r["mih_t1_qps"] / r["flat_t1_qps"])
        # The same ratios per CPU-second (1 thread): the wall clock also counts waiting for a core, which a
        # memory-bound MIH and a compute-bound scan suffer unequally on a busy machine.
        result(f"search.mih.k{bits}.clustered.vs_flat_cpu", r["mih_t1_cpu_qps"] / r["flat_t1_cpu_qps"])
        result(f"search.radius.k{bits}.clustered.vs_flat_cpu", r["radius_mih_t1_cpu_qps"] / r["radius_flat_t1_cpu_qps"])
        result(f"search.mih.k{bits}.clustered.recall", r["mih_recall"])
        result(f"search.radius.k{bits}.clustered.vs_flat", r["radius_mih_t1_qps"] / r["radius_flat_t1_qps"])
        result(f"search.mih.k{bits}.clustered.qps", r["mih_t1_qps"], "{:.0f}")
        result(f"search.flat.k{bits}.clustered.t1.qps", r["flat_t1_qps"], "{:.0f}")
        result(f"search.radius.k{bits}.clustered.mih.qps", r["radius_mih_t1_qps"], "{:.0f}")
        result(f"search.radius.k{bits}.clustered.flat.qps", r["radius_flat_t1_qps"], "{:.0f}")
        result(f"search.faiss_mih.k{bits}.clustered.recall", r["faiss_mih_recall"])
        result(f"search.faiss_mih.k{bits}.clustered.qps", r["faiss_mih_t1_qps"], "{:.0f}")
    if ("random", 256) in by:
        r = by[("random", 256)]
        result("search.memory.k256.peak_rss_mib", r["peak_rss_kib"] / 1024, "{:.0f}")
        result("search.memory.k256.rss_after_flat_mib", r["rss_after_flat_kib"] / 1024, "{:.0f}")
    result("search.exact", float(all(r["same_as_faiss"] and r["mih_recall"] == 1.0 and r["radius_identical"]
                                     for r in rows)), "{:.0f}")


if __name__ == "__main__":
    main()
