"""Time of G^2's gate kernel ``_G.sum_abs_pow_diff(u, p)`` (sum_j |u_j - u_i|^p, Rusch et al.,
ICLR 2023, eq. 5; ``compiler/backend/edge_power.py``), forward and backward, on a data set's
graph with ``--channels`` random ReLU values, in interleaved blocks (median over blocks):

- ``whole``: the whole-tensor form, ``sum_j(abs_pow(u_j - u_i, p))`` (two ``[E, c]`` gathers,
  abs_pow keeping its derivative, a scatter): what the kernel replaced;
- ``blocked``: the kernel on every edge, in cache-sized blocks (a directed graph's path);
- ``pairs``: the kernel as a symmetric graph runs it, each undirected edge once.

Prints the medians and the ratios whole / variant (and that the three agree in float64).

    OMP_NUM_THREADS=1 python benchmarks/g2_gate.py [--dataset chameleon] [--channels 256] \\
        [--clock cpu]
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import interleaved, parser  # noqa: E402

from pde2gnn.compiler.backend.edge_power import _SumAbsPowDiff  # noqa: E402
from pde2gnn.compiler.backend.graph_ops import GraphOps  # noqa: E402
from pde2gnn.data.datasets import load_dataset  # noqa: E402


def main() -> None:
    ap = parser(3)
    ap.add_argument("--dataset", default="chameleon")
    ap.add_argument("--channels", type=int, default=256)
    ap.add_argument("--p", type=float, default=2.5)
    ap.add_argument("--blocks", type=int, default=5)
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                    help="wall time, or this process's CPU time (time.process_time)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    data = load_dataset(args.dataset, args.data_root)
    ops = GraphOps(data.edge_index, data.num_nodes)
    i, j, symmetric = ops._power_pairs()
    print(f"{args.dataset}: {ops.num_nodes} nodes, {ops.num_edges} edges, symmetric "
          f"{symmetric} ({i.numel()} visited), {args.channels} channels, p = {args.p}")
    if not symmetric:
        print("not a symmetric graph: 'pairs' is 'blocked'")
    every = (ops.i, ops.j, False)
    variants = {
        "whole": lambda u: ops.sum_j(ops.abs_pow(ops.gather_j(u) - ops.gather_i(u), args.p)),
        "blocked": lambda u: _SumAbsPowDiff.apply(u, args.p, ops, every),
        "pairs": lambda u: ops.sum_abs_pow_diff(u, args.p)}
    g = torch.Generator().manual_seed(0)

    def run(f, u):
        u = u.detach().requires_grad_()
        s = f(u)
        s.backward(torch.ones_like(s))
        return s.detach(), u.grad

    u = torch.relu(torch.randn(ops.num_nodes, args.channels, generator=g))
    fns = {k: (lambda f: lambda: run(f, u))(f) for k, f in variants.items()}
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    times = interleaved(fns, args.blocks, args.repeats, "cpu", clock)
    base = statistics.median(times["whole"])
    for k, v in times.items():
        print(f"{k:8s} {statistics.median(v) * 1e3:9.2f} ms   whole / {k}: "
              f"{base / statistics.median(v):.2f}")
    ops64, u64 = ops.double(), u.double()
    s0, g0 = run(variants["whole"], u64)
    for k in ("blocked", "pairs"):
        s1, g1 = run(variants[k], u64)
        print(f"{k}: float64 max relative difference, values "
              f"{float((s1 - s0).abs().max() / s0.abs().max()):.1e}, gradients "
              f"{float((g1 - g0).abs().max() / g0.abs().max()):.1e}")


if __name__ == "__main__":
    main()
