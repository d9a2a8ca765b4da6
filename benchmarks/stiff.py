"""Stiff graph PDEs: explicit dopri5 against the implicit / IMEX methods on the compiler's split
and against scipy's BDF with the sparse Jacobian pattern, at equal final error, in one run.

For each case and each solver the tolerance is lowered (rtol 1e-3, 1e-4, ... 1e-9; atol =
rtol / 100) until the relative L2 error of y(T) against a tight reference (dopri5 at rtol 1e-9,
atol 1e-11: explicit, so independent of the split and the linear solvers) is at most
``--target`` (default 1e-5);
that run is reported: evaluations of N (ark3 / ark4: of the compiler's N; ark3j / ark4j: of
f; dopri5 and BDF: of f, BDF's finite-difference Jacobian columns included), products with L
(or with the Jacobian J), Jacobians (ark3j / ark4j: exact, by coloured vector-Jacobian
products, whose number is printed as "probes"; BDF: finite-difference Jacobians), sparse LU
factorisations, linear-solver iterations, CPU time and wall time of that run only (one thread:
CPU time is the wall time the run would take on an idle machine; on a shared machine the wall
time is also printed), error. Ratios: dopri5 / best implicit-or-IMEX for evaluations (N alone,
and N plus probes) and CPU time, BDF / best for CPU time. A solver that has not reached the
target when one run exceeds ``--budget`` CPU seconds (BDF: ``--bdf-max-evals`` evaluations)
is reported at its last tolerance, marked ``*``.

Cases (float64, periodic grids with ``scheme=grid``):
- ``ch64``, ``ch128``: Cahn-Hilliard dt(c) = lap(c^3 - c - g lap(c)), g = 1e-3, [0, 2]^2,
  T = 0.02, from c = tanh(3 phi), phi a random field of Fourier modes |k| <= 3 scaled to
  max |phi| = 1 (phases already separated: the slow coarsening regime);
- ``ks64``, ``ks128``: Kuramoto-Sivashinsky dt(u) = -lap(u) - lap(lap(u)) - |grad u|^2 / 2,
  written |grad u|^2 = lap(u^2) / 2 - u lap(u), [0, 40]^2, T = 2, modes |k| <= 6 (amplitude 1);
- ``heat``: dt(x) = lap(x) (the unnormalised Laplacian sum_j (x_j - x_i)) on a 10^5-node
  Barabasi-Albert graph (m = 2), T = 10, random normal x(0);
- ``allen_cahn``: dt(f) = eps^2 lap(f) + f - f^3, eps = 0.05, on the Delaunay mesh of 20,000
  random points of [0, 1]^2 (``scheme=mesh``), T = 10, random f(0) in +-0.1.

    OMP_NUM_THREADS=1 python benchmarks/stiff.py [--cases ch64,ch128,ks64,ks128,heat,allen_cahn]
        [--threads 1] [--target 1e-5] [--methods ark4j,ark3j,ark4,ark3] [--device cpu]
        [--per-decade 1]
"""
from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch

from pde2gnn.compiler import pipeline as compiler
from pde2gnn.graph import construction as graphs
from pde2gnn.compiler.backend.split import node_pattern
from pde2gnn.errors import OptionError
from pde2gnn.integrate.imex import imex_solve
from pde2gnn.integrate.solve import ODEBlock, SolverConfig

CH = """model cahn_hilliard
domain pos : [0, 2] x [0, 2] periodic scheme=grid
field c : node
param g = 0.001
dt(c) = lap(c^3 - c - g*lap(c))
"""
KS = """model kuramoto_sivashinsky
domain pos : [0, 40] x [0, 40] periodic scheme=grid
field u : node
dt(u) = -lap(u) - lap(lap(u)) - 0.25*lap(u^2) + 0.5*u*lap(u)
"""
AC = """model allen_cahn_mesh
domain pos : [0, 1] x [0, 1] scheme=mesh
field f : node
param eps = 0.05
dt(f) = eps^2*lap(f) + f - f^3
"""
RTOLS = [10.0 ** -k for k in range(3, 10)]


def fourier_field(pos, side, kmax, amp, seed):
    rng = np.random.default_rng(seed)
    out = np.zeros(len(pos))
    for kx in range(-kmax, kmax + 1):
        for ky in range(-kmax, kmax + 1):
            if 0 < kx * kx + ky * ky <= kmax * kmax:
                ph = 2 * np.pi * (kx * pos[:, 0] + ky * pos[:, 1]) / side
                out += rng.standard_normal() * np.cos(ph) + rng.standard_normal() * np.sin(ph)
    return amp * out / np.abs(out).max()


def build(case, device):
    """(field, y0, T, name)."""
    if case.startswith(("ch", "ks")):
        n = int(case[2:])
        side, spec = (2.0, CH) if case.startswith("ch") else (40.0, KS)
        pos, ei = graphs.grid_graph((n, n), (0, 0), (side, side), periodic=True)
        f = compiler.compile(spec, torch.as_tensor(ei), n * n, inputs={"pos": torch.tensor(pos)})
        y0 = np.tanh(3 * fourier_field(pos, side, 3, 1.0, 0)) if case.startswith("ch") \
            else fourier_field(pos, side, 6, 1.0, 0)
        T = 0.02 if case.startswith("ch") else 2.0
        name = f"{'Cahn-Hilliard' if case.startswith('ch') else 'Kuramoto-Sivashinsky'} {n}x{n}"
    elif case == "heat":
        import networkx as nx
        g = nx.barabasi_albert_graph(100_000, 2, seed=0)
        e = np.array(g.edges()).T
        ei = torch.as_tensor(np.hstack([e, e[::-1]]))
        f = compiler.compile("heat", ei, 100_000, dims={"d": 1})
        y0 = np.random.default_rng(0).standard_normal(100_000)
        T, name = 10.0, f"heat, BA graph 1e5 nodes (max degree {max(d for _, d in g.degree())})"
    else:
        pos = np.random.default_rng(0).uniform(0, 1, (20_000, 2))
        ei = graphs.delaunay_graph(pos)
        f = compiler.compile(AC, torch.as_tensor(ei), len(pos), inputs={"pos": torch.tensor(pos)},
                             scheme="mesh")
        y0 = np.random.default_rng(1).uniform(-0.1, 0.1, len(pos))
        T, name = 10.0, "Allen-Cahn, Delaunay mesh 20,000 points"
    f = f.to(device)
    return f, torch.as_tensor(y0, dtype=torch.float64, device=device).reshape(-1, 1), T, name


def run_pde2gnn(f, y0, T, method, rtol):
    """dopri5 through ODEBlock; implicit / IMEX methods through imex_solve (for its counts),
    on the same prepared field, as ODEBlock calls it."""
    t0, c0 = time.perf_counter(), time.process_time()
    if method == "dopri5":
        block = ODEBlock(f, T, SolverConfig(method, rtol=rtol, atol=rtol / 100,
                                            max_nfe=3_000_000))
        with torch.no_grad():
            y = block(y0)
        st = dict(N=block.nfe_forward, L=0, jac=0, probes=0, lu=0, its=0)
    else:
        with torch.no_grad():
            f.prepare(y0)
            sol = imex_solve(f.split_operator(), f.rest, y0, [0.0, T], method=method,
                             rtol=rtol, atol=rtol / 100, max_nfe=3_000_000, field=f)
        y = sol.ys[-1]
        st = dict(N=sol.nfe, L=sol.products, jac=sol.jacobians, probes=sol.probes,
                  lu=sol.factorizations, its=sol.iterations)
    st.update(wall=time.perf_counter() - t0, cpu=time.process_time() - c0)
    return y, st


class _TooMany(Exception):
    pass


def run_bdf(f, y0, T, rtol, max_evals):
    from scipy.integrate import solve_ivp
    f.prepare(y0)
    calls = [0]
    shape = y0.shape

    def fun(t, y):
        calls[0] += 1
        if calls[0] > max_evals:
            raise _TooMany
        with torch.no_grad():
            return f(torch.tensor(t, dtype=torch.float64),
                     torch.as_tensor(y, dtype=torch.float64).reshape(shape)).reshape(-1).numpy()
    g = f.graph
    pattern = node_pattern(g.i.numpy(), g.j.numpy(), g.num_nodes, f._split_depth)
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        sol = solve_ivp(fun, (0.0, T), y0.reshape(-1).numpy(), method="BDF", rtol=rtol,
                        atol=rtol / 100, jac_sparsity=pattern, t_eval=[T])
    except _TooMany:
        return torch.full(shape, float("nan")), dict(
            N=calls[0], L=0, jac=0, probes=0, lu=0, its=0, wall=time.perf_counter() - t0,
            cpu=time.process_time() - c0, stopped=True)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if sol.status != 0:
        raise RuntimeError(sol.message)
    return torch.tensor(sol.y[:, -1]).reshape(shape), dict(
        N=calls[0], L=0, jac=sol.njev, probes=0, lu=sol.nlu, its=0, wall=wall, cpu=cpu)


def rel(y, ref):
    return float((y - ref).norm() / ref.norm())


def at_target(solve, ref, target, budget_s):
    """The first rtol of RTOLS whose error is <= target: (rtol, y, stats, err)."""
    last = None
    for rtol in RTOLS:
        y, st = solve(rtol)
        err = rel(y.cpu(), ref)
        last = (rtol, st, err)
        if err <= target or st["cpu"] > budget_s or st.get("stopped"):
            return last
    return last


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", default="ch64,ch128,ks64,ks128,heat,allen_cahn")
    ap.add_argument("--methods", default="ros34pw2,ark4j,ark4",
                    help="implicit / IMEX methods tried (the fastest at the target is 'best')")
    ap.add_argument("--target", type=float, default=1e-5)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--budget", type=float, default=300.0,
                    help="stop lowering rtol for a solver once one run takes this much CPU (s)")
    ap.add_argument("--no-bdf", action="store_true")
    ap.add_argument("--bdf-max-evals", type=int, default=200_000,
                    help="stop a BDF run after this many evaluations of f")
    ap.add_argument("--per-decade", type=int, default=1,
                    help="tolerances tried per decade of rtol (2: 1e-3, 3.2e-4, 1e-4, ...), "
                         "the same for every solver (printed to one digit)")
    args = ap.parse_args()
    global RTOLS
    RTOLS = [10.0 ** (-3 - k / args.per_decade) for k in range(6 * args.per_decade + 1)]
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.set_default_dtype(torch.float64)
    print(f"target relative L2 error {args.target:g}; threads {torch.get_num_threads()}; "
          f"device {args.device}")
    head = f"{'solver':<12}{'rtol':>7}{'N evals':>9}{'L prods':>9}{'Jacs':>6}{'probes':>8}" \
           f"{'LUs':>6}{'lin its':>9}{'CPU s':>9}{'wall s':>9}{'error':>10}"
    for case in args.cases.split(","):
        f, y0, T, name = build(case, args.device)
        t0 = time.perf_counter()
        ref, st = run_pde2gnn(f, y0, T, "dopri5", 1e-9)
        ref = ref.cpu()
        print(f"\n== {name}, T = {T:g}  (reference dopri5 rtol 1e-9, atol 1e-11: "
              f"{st['N']} evaluations, {st['cpu']:.1f} s CPU)\n{head}", flush=True)
        rows = {}
        best = None
        for m in args.methods.split(","):
            try:
                r = at_target(lambda rt: run_pde2gnn(f, y0, T, m, rt), ref, args.target,
                              args.budget)
            except OptionError as e:       # e.g. a Jacobian too costly to probe (hubs)
                print(f"{m}: not run: {e}")
                continue
            rows[m] = r
            if r[2] <= args.target and (best is None or r[1]["cpu"] < rows[best][1]["cpu"]):
                best = m
        rows["dopri5"] = at_target(lambda rt: run_pde2gnn(f, y0, T, "dopri5", rt), ref,
                                   args.target, args.budget)
        if not args.no_bdf and args.device == "cpu":
            rows["scipy BDF"] = at_target(
                lambda rt: run_bdf(f, y0.cpu(), T, rt, args.bdf_max_evals), ref, args.target,
                args.budget)
        for k, (rtol, st, err) in rows.items():
            mark = "*" if not err <= args.target else ""
            print(f"{k + mark:<12}{rtol:>7.0e}{st['N']:>9}{st['L']:>9}{st['jac']:>6}"
                  f"{st['probes']:>8}{st['lu']:>6}{st['its']:>9}{st['cpu']:>9.2f}"
                  f"{st['wall']:>9.2f}{err:>10.1e}", flush=True)
        if best is not None:
            b = rows[best][1]
            d = rows["dopri5"][1]
            print(f"best: {best}; dopri5 / {best}: N evaluations "
                  f"{d['N'] / max(b['N'], 1):.1f}x (N + probes "
                  f"{d['N'] / max(b['N'] + b['probes'], 1):.1f}x), CPU time "
                  f"{d['cpu'] / b['cpu']:.1f}x, wall time {d['wall'] / b['wall']:.1f}x", end="")
            if "scipy BDF" in rows:
                print(f"; BDF / {best}: CPU time {rows['scipy BDF'][1]['cpu'] / b['cpu']:.1f}x",
                      end="")
            print()


if __name__ == "__main__":
    main()
