"""The direct stage solve of a multi-channel field: one SuperLU of the whole N D system against
the channel-block factorisation of :mod:`pde2gnn.integrate.blocklu`, in one run (medians of
``--repeats`` interleaved repetitions, CPU time of one thread).

Cases: ``heat`` (``lap`` of a ``node[d]`` field, scalar diffusivity: all blocks equal, one
shared LU) and ``rates`` (``sigmoid(alpha) * sum_j(x_j - x_i)``, alpha ``[d]`` distinct: one LU
per channel) on an n x n periodic grid; g = 0.5 (I - g L).

    OMP_NUM_THREADS=1 python benchmarks/channel_blocks.py [--n 64] [--channels 4,16] [--repeats 3]
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import scipy.sparse as sps
import torch
from scipy.sparse.linalg import splu

from pde2gnn.compiler import pipeline as compiler
from pde2gnn.graph import construction as graphs
from pde2gnn.integrate.blocklu import factorise

RATES = """model rates
field x : node[d]
learn alpha : [d]
dt(x) = sigmoid(alpha) * sum_j(x_j - x_i)
"""


def matrix(case: str, n: int, d: int) -> sps.csr_matrix:
    _, ei = graphs.grid_graph((n, n), (0, 0), (1, 1), periodic=True)
    f = compiler.compile("heat" if case == "heat" else RATES, torch.as_tensor(ei), n * n,
                         dims={"d": d}).double()
    if case == "rates":
        with torch.no_grad():
            f.learnables.alpha.value.copy_(torch.linspace(-2, 2, d, dtype=torch.float64))
    f.prepare(torch.zeros(n * n, d, dtype=torch.float64))
    return f.split_operator().matrix()


def timed(fn):
    c0 = time.process_time()
    out = fn()
    return time.process_time() - c0, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--channels", default="4,16")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    print(f"{'case':<8}{'D':>4}{'whole LU s':>12}{'block LU s':>12}{'LUs':>5}{'ratio':>8}"
          f"{'max rel diff':>14}")
    for case in ("heat", "rates"):
        for d in (int(c) for c in args.channels.split(",")):
            m = matrix(case, args.n, d)
            a = (sps.identity(m.shape[0], format="csc") - 0.5 * m).tocsc()
            b = np.random.default_rng(0).standard_normal((m.shape[0], 1))
            whole, block = [], []
            for _ in range(args.repeats):        # interleaved
                t, lu = timed(lambda: splu(a, permc_spec="MMD_AT_PLUS_A"))
                whole.append(t)
                x_whole = lu.solve(b)
                t, blu = timed(lambda: factorise(
                    a, d, lambda blk: splu(blk.tocsc(), permc_spec="MMD_AT_PLUS_A")))
                block.append(t)
                x_block = blu.solve(b)
            diff = float(np.abs(x_block - x_whole).max() / np.abs(x_whole).max())
            tw, tb = statistics.median(whole), statistics.median(block)
            print(f"{case:<8}{d:>4}{tw:>12.3f}{tb:>12.3f}{blu.factorizations:>5}"
                  f"{tw / tb:>7.1f}x{diff:>14.1e}", flush=True)


if __name__ == "__main__":
    main()
