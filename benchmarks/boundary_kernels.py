"""The scatter of a boundary source's rows (``backend/source_rows.py``): ``index_add_`` of n_b
rows into an ``[N, c]`` tensor with a contiguous ``[n_b, c]`` source (the form ``stack``
keeps), against a broadcast ``[n_b, 1]`` source and an ``alpha``, which leave torch's fast
path; ratios to the contiguous source, thread CPU time, medians over interleaved rounds.

    python benchmarks/boundary_kernels.py [--n 256] [--channels 4] [--rows 600] [--rounds 15]
"""
from __future__ import annotations

import argparse
import random
import statistics
import time

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--channels", type=int, default=4)
    ap.add_argument("--rows", type=int, default=600)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--repeats", type=int, default=300)
    args = ap.parse_args()
    N, c = args.n * args.n, args.channels
    g = torch.Generator().manual_seed(0)
    out = torch.randn(N, c, generator=g)
    rows = torch.randperm(N, generator=g)[:args.rows].sort().values
    full = torch.randn(args.rows, c, generator=g)
    one = torch.randn(args.rows, 1, generator=g)
    cases = {
        "contiguous [n_b, c]": lambda: out.index_add_(0, rows, full),
        "broadcast [n_b, 1] -> [n_b, c]": lambda: out.index_add_(0, rows, one.expand(-1, c)),
        "contiguous, alpha=0.5": lambda: out.index_add_(0, rows, full, alpha=0.5),
        "index_copy_ contiguous": lambda: out.index_copy_(0, rows, full),
        "index_copy_ broadcast": lambda: out.index_copy_(0, rows, one.expand(-1, c)),
    }
    times = {k: [] for k in cases}
    order = random.Random(0)
    with torch.no_grad():
        for _ in range(args.rounds):
            for k in order.sample(list(cases), len(cases)):
                fn = cases[k]
                fn()
                t0 = time.thread_time()
                for _ in range(args.repeats):
                    fn()
                times[k].append((time.thread_time() - t0) / args.repeats)
    base = statistics.median(times["contiguous [n_b, c]"])
    print(f"N={N}, c={c}, {args.rows} rows, torch threads {torch.get_num_threads()}, cpu time")
    for k, v in times.items():
        m = statistics.median(v)
        print(f"  {k:34s} {m * 1e6:8.1f} us   ratio {m / base:5.2f}")


if __name__ == "__main__":
    main()
