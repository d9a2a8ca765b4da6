"""Batching the per-stage SDDMMs of a solve's backward pass (issue 40, docs/guide/large-graphs.md
"The per-stage SDDMMs"): the gradient of A's values over k products A x_s is
sum_s SDDMM(g_s, x_s) on A's pattern; the same sum is one SDDMM of the stages concatenated along
the channels, [g_1 .. g_k] and [x_1 .. x_k] ([N, k c]). CPU ns per edge and stage of each form
(``torch.sparse.sampled_addmm``, int32 CSR indices, c = 64, float32, one thread, random graph of
mean degree 10), and of one CSR product ``A @ x`` for scale; medians of 3 interleaved rounds;
the concatenated form timed with and without its two ``torch.cat``.

    nice -n 10 python benchmarks/sddmm_batch.py --nodes 100000 --stages 4 16
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings

import torch

warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")


def one(n: int, k: int, c: int = 64, rounds: int = 3) -> dict:
    g = torch.Generator().manual_seed(0)
    e = 10 * n
    key = torch.unique(torch.randint(0, n, (e,), generator=g) * n
                       + torch.randint(0, n, (e,), generator=g))
    i, j = key // n, key % n
    crow = torch.zeros(n + 1, dtype=torch.int32)
    crow[1:] = torch.bincount(i, minlength=n).cumsum(0)
    a = torch.sparse_csr_tensor(crow, j.to(torch.int32), torch.rand(key.numel()), (n, n),
                                check_invariants=False)
    xs = [torch.randn(n, c, generator=g) for _ in range(k)]
    gs = [torch.randn(n, c, generator=g) for _ in range(k)]

    def separate():
        out = None
        for gi, xi in zip(gs, xs):
            v = torch.sparse.sampled_addmm(a, gi, xi.t(), beta=0.0).values()
            out = v if out is None else out.add_(v)
        return out

    cat = (torch.cat(gs, 1), torch.cat(xs, 1))

    def concatenated():
        return torch.sparse.sampled_addmm(a, torch.cat(gs, 1), torch.cat(xs, 1).t(),
                                          beta=0.0).values()

    def concatenated_kernel():
        return torch.sparse.sampled_addmm(a, cat[0], cat[1].t(), beta=0.0).values()

    def product():
        for xi in xs:
            out = xi.new_empty(n, c)
            torch.addmm(out, a, xi, beta=0.0, out=out)

    ref = separate()
    err = float((concatenated() - ref).abs().max() / ref.abs().max())
    forms = {"separate": separate, "concatenated": concatenated,
             "concatenated_kernel_only": concatenated_kernel, "csr_product": product}
    times = {f: [] for f in forms}
    for _ in range(rounds):
        for name, f in forms.items():
            t = time.process_time()
            f()
            times[name].append(time.process_time() - t)
    nnz = key.numel()
    ns = {f: statistics.median(v) / nnz / k * 1e9 for f, v in times.items()}
    return {"nodes": n, "nnz": nnz, "stages": k, "rel_diff": err,
            "ns_per_edge_stage": {f: round(v, 1) for f, v in ns.items()},
            "concatenated_over_separate": round(ns["concatenated"] / ns["separate"], 2)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nodes", type=int, default=100_000)
    ap.add_argument("--stages", type=int, nargs="+", default=[4, 16])
    a = ap.parse_args()
    torch.set_num_threads(1)
    for k in a.stages:
        print(json.dumps(one(a.nodes, k)))


if __name__ == "__main__":
    main()
