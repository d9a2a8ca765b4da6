"""Stiff graph PDEs: explicit dopri5 against the implicit / IMEX methods on the compiler's split
and against scipy's BDF with the sparse Jacobian pattern, at equal final error, in one run.

For each case and each solver the tolerance is lowered (rtol 1e-3, 1e-4, ... 1e-9; atol =
rtol / 100) until the relative L2 error of y(T) against a tight reference is at most
``--target`` (default 1e-5). The references do not use the split or our linear solvers: grids,
dopri5 at rtol 1e-9, atol 1e-11; heat, exp(T L) y0 by scipy's ``expm_multiply`` on the
Laplacian built from the edge list (checked against three products with exp(T/3 L));
Allen-Cahn, scipy's Radau at rtol 1e-10, atol 1e-12 (checked against the tolerance halved).
That run is reported: evaluations of N (ark3 / ark4: of the compiler's N; ark3j / ark4j: of
f; dopri5 and BDF: of f, BDF's finite-difference Jacobian columns included), products with L
(or with the Jacobian J), Jacobians (ark3j / ark4j: exact, by coloured vector-Jacobian
products, whose number is printed as "probes"; BDF: finite-difference Jacobians), sparse LU
factorisations, linear-solver iterations, CPU time and wall time of that run only (one thread:
CPU time is the wall time the run would take on an idle machine; on a shared machine the wall
time is also printed), error. Ratios: dopri5 / best implicit-or-IMEX for evaluations (N alone,
and N plus probes) and CPU time, BDF / best for CPU time. A solver that has not reached the
target when one run exceeds ``--budget`` CPU seconds (BDF: ``--bdf-max-evals`` evaluations)
is reported at its last tolerance, marked ``*``. Two guards keep a case from running for
hours, and say so: dopri5 first runs on a fraction of the span (``--pilot-span``, 1%); where
that extrapolates (linearly: its step is set by stability) to more than
``--dopri5-max-evals`` evaluations, the extrapolated row is printed, marked ``~``, instead of
a run. On a heat graph of more than 8,000 nodes, one
sparse LU as scipy's BDF does it (``splu``, COLAMD) is timed on Barabasi-Albert graphs of
2,000 / 4,000 / 8,000 nodes and extrapolated as a fitted power of n; BDF is not run where that
exceeds ``--bdf-max-lu-s`` (a hub couples everything: the fill grows as ~n^2).

Cases (float64):
- ``ch64``, ``ch128``: Cahn-Hilliard dt(c) = lap(c^3 - c - g lap(c)), g = 1e-3, [0, 2]^2
  periodic grid, T = 0.02, from c = tanh(3 phi), phi a random field of Fourier modes
  |k| <= 3 scaled to max |phi| = 1 (phases already separated: the slow coarsening regime);
- ``ks64``, ``ks128``: Kuramoto-Sivashinsky dt(u) = -lap(u) - lap(lap(u)) - |grad u|^2 / 2,
  written |grad u|^2 = lap(u^2) / 2 - u lap(u), [0, 40]^2, T = 2, modes |k| <= 6 (amplitude 1);
- ``heat<n>`` (``heat`` = ``heat100000``): dt(x) = lap(x) (the unnormalised Laplacian
  sum_j (x_j - x_i), symmetric on this undirected graph) on a seeded n-node Barabasi-Albert
  graph (networkx, m = 2), T = 10, random normal x(0);
- ``ac<n>`` (``allen_cahn`` = ``ac20000``): dt(f) = eps^2 lap(f) + f - f^3, eps = 0.05, on the
  Delaunay mesh of n uniformly random points of [0, 1]^2 (``scheme=mesh``), T = 3 (the phases
  of a random f(0) in +-0.1 separate), reference Radau.

    OMP_NUM_THREADS=1 python benchmarks/stiff.py [--cases ch64,ch128,ks64,ks128,heat,ac2000]
        [--threads 1] [--target 1e-5] [--methods ros34pw2,rodas5p,ark4j,ark4] [--device cpu]
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
AC_T = 3.0     # f(0) in +-0.1 grows at rate 1: the phases separate by t ~ 2.3


def fourier_field(pos, side, kmax, amp, seed):
    rng = np.random.default_rng(seed)
    out = np.zeros(len(pos))
    for kx in range(-kmax, kmax + 1):
        for ky in range(-kmax, kmax + 1):
            if 0 < kx * kx + ky * ky <= kmax * kmax:
                ph = 2 * np.pi * (kx * pos[:, 0] + ky * pos[:, 1]) / side
                out += rng.standard_normal() * np.cos(ph) + rng.standard_normal() * np.sin(ph)
    return amp * out / np.abs(out).max()


def parse(case):
    """(kind, size): ``heat`` = heat100000, ``allen_cahn`` = ac20000, ``ch64``, ``ac2000``..."""
    case = {"heat": "heat100000", "allen_cahn": "ac20000"}.get(case, case)
    for kind in ("heat", "ac", "ch", "ks"):
        if case.startswith(kind) and case[len(kind):].isdigit():
            return kind, int(case[len(kind):])
    raise SystemExit(f"unknown case '{case}'")


def ba_laplacian(n):
    """The unnormalised Laplacian sum_j (x_j - x_i) of the seeded Barabasi-Albert graph (m = 2)
    as a scipy CSR matrix [n, n], built from the edge list (independent of the compiler), and
    the edge index [2, 2E] (both directions)."""
    import networkx as nx
    import scipy.sparse as sps
    e = np.array(nx.barabasi_albert_graph(n, 2, seed=0).edges()).T
    ei = np.hstack([e, e[::-1]])
    a = sps.csr_matrix((np.ones(ei.shape[1]), (ei[0], ei[1])), shape=(n, n))
    return (a - sps.diags(np.asarray(a.sum(1)).ravel())).tocsr(), ei


def build(case, device):
    """(field, y0, T, name, reference): ``reference()`` gives (y(T) [N, 1], how it was got)."""
    kind, n = parse(case)
    ref = None
    if kind in ("ch", "ks"):
        side, spec = (2.0, CH) if kind == "ch" else (40.0, KS)
        pos, ei = graphs.grid_graph((n, n), (0, 0), (side, side), periodic=True)
        f = compiler.compile(spec, torch.as_tensor(ei), n * n, inputs={"pos": torch.tensor(pos)})
        y0 = np.tanh(3 * fourier_field(pos, side, 3, 1.0, 0)) if kind == "ch" \
            else fourier_field(pos, side, 6, 1.0, 0)
        T = 0.02 if kind == "ch" else 2.0
        name = f"{'Cahn-Hilliard' if kind == 'ch' else 'Kuramoto-Sivashinsky'} {n}x{n}"
    elif kind == "heat":
        lap, ei = ba_laplacian(n)
        f = compiler.compile("heat", torch.as_tensor(ei), n, dims={"d": 1})
        y0 = np.random.default_rng(0).standard_normal(n)
        deg = -lap.diagonal()
        T = 10.0
        name = (f"heat, Barabasi-Albert graph (m = 2) {n} nodes, degree min {deg.min():.0f} / "
                f"median {np.median(deg):.0f} / max {deg.max():.0f}")
        ref = lambda: heat_reference(lap, y0, T)      # noqa: E731
    else:
        pos = np.random.default_rng(0).uniform(0, 1, (n, 2))
        ei = graphs.delaunay_graph(pos)
        f = compiler.compile(AC, torch.as_tensor(ei), len(pos), inputs={"pos": torch.tensor(pos)},
                             scheme="mesh")
        y0 = np.random.default_rng(1).uniform(-0.1, 0.1, len(pos))
        T, name = AC_T, f"Allen-Cahn, Delaunay mesh of {n} random points"
        ref = lambda: radau_reference(f, y0t, T)      # noqa: E731
    f = f.to(device)
    y0t = torch.as_tensor(y0, dtype=torch.float64, device=device).reshape(-1, 1)
    if ref is None:
        def ref():
            y, st = run_pde2gnn(f, y0t, T, "dopri5", 1e-9)
            return y.cpu(), f"dopri5 rtol 1e-9, atol 1e-11: {st['N']} evaluations, " \
                            f"{st['cpu']:.1f} s CPU"
    return f, y0t, T, name, ref


def heat_reference(lap, y0, T):
    """exp(T L) y0 by scipy's expm_multiply (Al-Mohy & Higham 2011, to double precision),
    checked against three products with exp(T/3 L) (another number of Taylor steps)."""
    from scipy.sparse.linalg import expm_multiply
    c0 = time.process_time()
    y = expm_multiply(T * lap, y0)
    cpu = time.process_time() - c0
    y3 = y0
    for _ in range(3):
        y3 = expm_multiply(T / 3 * lap, y3)
    check = np.linalg.norm(y - y3) / np.linalg.norm(y)
    return torch.tensor(y).reshape(-1, 1), (f"expm_multiply, {cpu:.1f} s CPU; against three "
                                            f"steps of T/3: {check:.1e}")


def radau_reference(f, y0, T):
    """scipy's Radau IIA (order 5) with the sparse Jacobian pattern at rtol 1e-10, atol 1e-12,
    checked against rtol 5e-11, atol 5e-13 (the tolerance halved)."""
    out = []
    for rtol in (1e-10, 5e-11):
        y, st = run_scipy(f, y0, T, rtol, 10 ** 8, "Radau")
        out.append((y, st))
    (y, st), (y2, _) = out
    return y, (f"scipy Radau rtol 1e-10, atol 1e-12: {st['N']} evaluations, {st['cpu']:.1f} s "
               f"CPU; against rtol 5e-11: {rel(y, y2):.1e}")


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
                  lu=sol.factorizations, its=sol.iterations, solver=sol.linear_solver)
    st.update(wall=time.perf_counter() - t0, cpu=time.process_time() - c0)
    return y, st


class _TooMany(Exception):
    pass


def run_scipy(f, y0, T, rtol, max_evals, method="BDF"):
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
        sol = solve_ivp(fun, (0.0, T), y0.reshape(-1).numpy(), method=method, rtol=rtol,
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


def dopri5_pilot(f, y0, T, span):
    """dopri5 at rtol 1e-3 on [0, span T]: its evaluations and CPU time scaled by 1 / span.
    A stiff problem's explicit steps are set by stability (h rho(L) ~ 3.3), so the cost
    grows linearly with the time span: an extrapolation, not a run."""
    _, st = run_pde2gnn(f, y0, span * T, "dopri5", 1e-3)
    return dict(st, N=int(st["N"] / span), cpu=st["cpu"] / span, wall=st["wall"] / span,
                extrapolated=True)


def bdf_lu_probe(n, sizes=(2000, 4000, 8000)):
    """CPU time and fill of one sparse LU of I - 0.05 L as scipy's BDF factorises it (splu,
    COLAMD ordering) on seeded Barabasi-Albert graphs of ``sizes`` nodes, and both fitted as
    powers of n and extrapolated to ``n`` nodes; our direct solver's ordering (MMD on
    A^T + A) beside it. Returns (lines, extrapolated CPU s of one COLAMD LU)."""
    import scipy.sparse as sps
    from scipy.sparse.linalg import splu
    lines, fits = [], {}
    for spec in ("COLAMD", "MMD_AT_PLUS_A"):
        ts, fill = [], []
        for m in sizes:
            lap, _ = ba_laplacian(m)
            a = (sps.identity(m) - 0.05 * lap).tocsc()
            c0 = time.process_time()
            lu = splu(a, permc_spec=spec)
            ts.append(time.process_time() - c0)
            fill.append(lu.L.nnz + lu.U.nnz)
        pt, pf = (np.polyfit(np.log(sizes), np.log(v), 1) for v in (ts, fill))
        fits[spec] = math.exp(np.polyval(pt, math.log(n)))
        lines.append(f"  splu {spec:<13} n = {', '.join(map(str, sizes))}: CPU s "
                     f"{', '.join(f'{t:.3f}' for t in ts)}, nnz(L+U) "
                     f"{', '.join(map(str, fill))}; fitted n^{pt[0]:.2f} (time), "
                     f"n^{pf[0]:.2f} (fill); extrapolated to n = {n}: {fits[spec]:.3g} s, "
                     f"{math.exp(np.polyval(pf, math.log(n))):.3g} entries")
    return lines, fits["COLAMD"]


def rel(y, ref):
    return float((y - ref).norm() / ref.norm())


def at_target(solve, ref, target, budget_s, rtols=None):
    """The first rtol of ``rtols`` (default RTOLS, as set by --per-decade) whose error is
    <= target: (rtol, y, stats, err)."""
    last = None
    for rtol in RTOLS if rtols is None else rtols:
        y, st = solve(rtol)
        err = rel(y.cpu(), ref)
        last = (rtol, st, err)
        if err <= target or st["cpu"] > budget_s or st.get("stopped"):
            return last
    return last


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", default="ch64,ch128,ks64,ks128,heat,allen_cahn",
                    help="ch<n>, ks<n> (n x n grid), heat<n> (n nodes; heat = heat100000), "
                         "ac<n> (n points; allen_cahn = ac20000)")
    ap.add_argument("--methods", default="ros34pw2,rodas5p,ark4j,ark4",
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
    ap.add_argument("--bdf-max-lu-s", type=float, default=600.0,
                    help="heat: BDF is not run where one of its sparse LUs (COLAMD), "
                         "extrapolated from smaller graphs, would take more CPU seconds")
    ap.add_argument("--dopri5-max-evals", type=int, default=2_000_000,
                    help="dopri5 is not run where a pilot on --pilot-span of the span "
                         "extrapolates to more evaluations; the extrapolated row is printed, "
                         "marked ~")
    ap.add_argument("--dopri5-rtols", default=None,
                    help="the tolerances tried for dopri5 (comma-separated; default 1e-3 ... "
                         "1e-9, as for the others): its cost on a stiff case is set by "
                         "stability, so the loose ones, which miss the target, only cost time")
    ap.add_argument("--pilot-span", type=float, default=0.01,
                    help="the fraction of the span dopri5's pilot run covers")
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
        f, y0, T, name, reference = build(case, args.device)
        ref, how = reference()
        ref = ref.cpu()
        print(f"\n== {name}, T = {T:g}  (reference {how})", flush=True)
        rows, notes = {}, []
        best = None
        for m in args.methods.split(","):
            try:
                r = at_target(lambda rt: run_pde2gnn(f, y0, T, m, rt), ref, args.target,
                              args.budget)
            except OptionError as e:       # e.g. a Jacobian too costly to probe (hubs)
                notes.append(f"{m}: not run: {e}")
                continue
            rows[m] = r
            if r[1].get("solver"):
                notes.append(f"{m}: linear solver {r[1]['solver']}")
            if r[2] <= args.target and (best is None or r[1]["cpu"] < rows[best][1]["cpu"]):
                best = m
        pilot = dopri5_pilot(f, y0, T, args.pilot_span)
        if pilot["N"] > args.dopri5_max_evals:
            rows["dopri5"] = (1e-3, pilot, float("nan"))
            notes.append(f"dopri5~: not run; extrapolated from a run on [0, "
                         f"{args.pilot_span * T:g}] (x{1 / args.pilot_span:g}: the explicit "
                         "step is set by stability)")
        else:
            rtols = RTOLS if args.dopri5_rtols is None else \
                [float(v) for v in args.dopri5_rtols.split(",")]
            rows["dopri5"] = at_target(lambda rt: run_pde2gnn(f, y0, T, "dopri5", rt), ref,
                                       args.target, args.budget, rtols)
        if not args.no_bdf and args.device == "cpu":
            lu_s = None
            if parse(case)[0] == "heat" and parse(case)[1] > 8000:
                lines, lu_s = bdf_lu_probe(parse(case)[1])
                notes += ["scipy BDF's sparse LU on smaller graphs of the same family:"] + lines
            if lu_s is not None and lu_s > args.bdf_max_lu_s:
                notes.append(f"scipy BDF: not run: one of its sparse LUs extrapolates to "
                             f"{lu_s:.3g} s CPU (> --bdf-max-lu-s {args.bdf_max_lu_s:g})")
            else:
                rows["scipy BDF"] = at_target(
                    lambda rt: run_scipy(f, y0.cpu(), T, rt, args.bdf_max_evals), ref,
                    args.target, args.budget)
        print(head)
        for k, (rtol, st, err) in rows.items():
            mark = "~" if st.get("extrapolated") else "*" if not err <= args.target else ""
            print(f"{k + mark:<12}{rtol:>7.0e}{st['N']:>9}{st['L']:>9}{st['jac']:>6}"
                  f"{st['probes']:>8}{st['lu']:>6}{st['its']:>9}{st['cpu']:>9.2f}"
                  f"{st['wall']:>9.2f}{err:>10.1e}", flush=True)
        for line in notes:
            print(line)
        if best is not None:
            b = rows[best][1]
            d = rows["dopri5"][1]
            x = " (extrapolated)" if d.get("extrapolated") else ""
            print(f"best: {best}; dopri5{x} / {best}: N evaluations "
                  f"{d['N'] / max(b['N'], 1):.1f}x (N + probes "
                  f"{d['N'] / max(b['N'] + b['probes'], 1):.1f}x), CPU time "
                  f"{d['cpu'] / b['cpu']:.1f}x, wall time {d['wall'] / b['wall']:.1f}x", end="")
            if "scipy BDF" in rows:
                print(f"; BDF / {best}: CPU time {rows['scipy BDF'][1]['cpu'] / b['cpu']:.1f}x",
                      end="")
            print()


if __name__ == "__main__":
    main()
