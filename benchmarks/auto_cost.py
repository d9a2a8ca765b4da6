"""What ``method = "auto"`` costs before a solve, relative to the solve it chooses for, on
Cora GREAD (library ``gread``, float32, hidden 16, T = 600, attention from a seeded encoder's
output) and on Cahn-Hilliard 64x64 (``ch64`` of benchmarks/stiff.py, float64).

Three ways of choosing, interleaved ``--repeats`` times (medians of wall time, one thread):
- ``vjp20``: the estimate as it was: 20 power iterations with L and 20 with N's Jacobian by
  vector-Jacobian products (one reverse pass each), reimplemented here as the baseline;
- ``auto``: :func:`pde2gnn.integrate.auto.choose` as it is (iterations stopped once settled,
  Jacobian-vector products of N by forward differences);
- the solve itself (``ark3`` for GREAD, ``ros34pw2`` for ch64: what both choose), forward
  only (no gradients), at rtol 1e-3 (GREAD, the training tolerance) / 1e-6 (ch64).
Each row prints the chosen method, the products / evaluations taken and the time as a ratio
to the solve's.

    PDE2GNN_DATA=... OMP_NUM_THREADS=1 python benchmarks/auto_cost.py [--repeats 3]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import stiff  # noqa: E402

from pde2gnn.compiler import pipeline as compiler  # noqa: E402
from pde2gnn.integrate import auto  # noqa: E402
from pde2gnn.integrate.imex import imex_solve  # noqa: E402


def vjp20(field, y0, t0, t1):
    """The former estimate: 20 products with L, 20 vector-Jacobian products of N."""
    span = abs(t1 - t0)
    rho_l = auto.spectral_radius(field.linear, y0, settled=0.0)
    t = torch.full((), t0, dtype=y0.dtype)

    def vjp(v):
        with torch.enable_grad():
            yy = y0.detach().clone().requires_grad_()
            out = field.rest(t, yy)
            if not out.requires_grad:
                return torch.zeros_like(v)
            (g,) = torch.autograd.grad(out, yy, v, allow_unused=True)
        return torch.zeros_like(v) if g is None else g
    rho_n = auto.spectral_radius(vjp, y0, settled=0.0)
    return rho_l * span, rho_n * span


def gread_case():
    from torch_geometric.datasets import Planetoid
    data = Planetoid(os.path.join(os.environ["PDE2GNN_DATA"], "Planetoid"), "Cora")[0]
    field = compiler.compile("gread", data.edge_index, data.num_nodes, dims={"d": 16})
    g = torch.Generator().manual_seed(0)
    W = torch.randn(data.num_features, 16, generator=g) * 0.1
    return "Cora gread (float32, T 600)", field, data.x @ W, 600.0, 1e-3


def ch_case():
    torch.set_default_dtype(torch.float64)
    f, y0, T, name, _ = stiff.build("ch64", "cpu")
    torch.set_default_dtype(torch.float32)
    return name + f" (float64, T {T})", f, y0, T, 1e-6


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    for name, f, y0, T, rtol in (gread_case(), ch_case()):
        with torch.no_grad():
            f.prepare(y0)
        times = {"vjp20": [], "auto": [], "solve": []}
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            old = vjp20(f, y0, 0.0, T)
            times["vjp20"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            c = auto.choose(f, y0, 0.0, T)
            times["auto"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            with torch.no_grad():
                sol = imex_solve(f.split_operator(), f.rest, y0, [0.0, T], method=c.method,
                                 rtol=rtol, atol=rtol / 100, affine=f.affine, field=f,
                                 max_nfe=10 ** 6)
            times["solve"].append(time.perf_counter() - t0)
        med = {k: statistics.median(v) for k, v in times.items()}
        print(f"{name}: choice {c.method} ({c.reason})")
        print(f"  solve {c.method} rtol {rtol:g}: {med['solve']:.2f} s (N {sol.nfe}, "
              f"L products {sol.products}, linear iterations {sol.iterations})")
        print(f"  vjp20: rho(L) T = {old[0]:.3g}, rho(J_N) T = {old[1]:.3g}; 20 L products, "
              f"{0 if f.affine else 20} VJPs: {med['vjp20']:.2f} s = "
              f"{med['vjp20'] / med['solve']:.3f} x the solve")
        print(f"  auto : {c.products} L products, {c.evaluations} evaluations of N: "
              f"{med['auto']:.2f} s = {med['auto'] / med['solve']:.3f} x the solve "
              f"({med['vjp20'] / med['auto']:.1f}x less than vjp20)")
        print(f"  (repeats: {args.repeats}; per repeat s: "
              + ", ".join(f"{k} {[round(x, 2) for x in v]}" for k, v in times.items()) + ")")


if __name__ == "__main__":
    main()
