"""Performance at every scale (issue 40): small grids against a hand-written stencil loop, large
graphs per training epoch. Every ratio is against a baseline measured in the same run.

Part 1, ``--part stencil``: one evaluation of heat (combinatorial Laplacian) and Cahn-Hilliard
(dc/dt = lap(c^3 - c - g lap c), Cahn & Hilliard 1958; 5-point Laplacians on a periodic grid) on
n x n grids, float64, one state channel: the eager field; rk4 steps compiled whole by
``torch.compile`` (:mod:`pde2gnn.integrate.compiled`, inductor, called ahead of time) divided
by their evaluations: one step a call with the sparse products in ELL form (``ell``), one step
a call in the shifted grid form (``grid``, :mod:`pde2gnn.compiler.backend.grid`) and
``--block`` steps a call in the grid form (``CompiledStep.steps``), the same block as the generated C loop nest
(``loop``, :mod:`pde2gnn.compiler.backend.grid_loop`); beside the eager rk4 step
likewise; and the same right-hand side as a hand-written numba loop (numpy where numba is
missing); medians of interleaved rounds, CPU and wall time. The compiled values are checked
against the loop's, and the block against its steps one at a time. First, the floor of one
compiled call (``x + 1``).

``--part eager-forms``: the shifted grid form of a product run eagerly (last axis padded, and
every axis rolled) against the CSR product (whether the eager path should use it too).

Part 2, ``--part grand``: one training epoch (forward, cross-entropy, backward, Adam step) of
GRAND-l (``library/grand.pde``: linear encoder to 64 channels, rk4 with 4 steps to T = 1,
``auto_memory``, linear decoder) on stochastic-block-model graphs (10 blocks, mean degree 10,
32 features), and (``--task simulate``) its forward solve without autograd; each run in its
own process so that the peak resident memory (``ru_maxrss``) is that run's; the nodes in
random order, reverse Cuthill-McKee order and METIS part order (``--order``); wall and CPU
seconds (CPU time is what a shared machine's load distorts least; ratios use it).

Part 3, ``--part partition``: the partitioned solve on 2 gloo processes against one process,
halo bytes, compute / exchange time per evaluation, and the cost model predicting 8 and 64
ranks (benchmarks/scale_partition.py; docs/guide/large-graphs.md).

    nice -n 10 python benchmarks/scale.py --part stencil --sizes 32 64 128 256
    nice -n 10 python benchmarks/scale.py --part grand --nodes 10000 100000 1000000 \
        --task train simulate --order random rcm metis --out /tmp/grand.json
    nice -n 10 python benchmarks/scale.py --part partition --nodes 100000 --channels 16 \
        --report /tmp/partition.json
    python benchmarks/scale.py --part partition-model --report /tmp/partition.json \
        --model-nodes 4000000 [--model-c-ns C --model-alpha-us A --model-beta-gbs B]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pde2gnn.graph import construction as graphs  # noqa: E402
from pde2gnn.compiler.pipeline import compile as compile_spec  # noqa: E402

CAHN_HILLIARD = """model cahn_hilliard
domain pos : [0, 2*pi] x [0, 2*pi] periodic
field c : node[1]
param g = 0.01
dt(c) = lap(c^3 - c - g*lap(c))
"""
HEAT = "heat"
L = 2 * math.pi
G = 0.01


def _loops():
    """The hand-written right-hand sides on an [n, n] periodic array (numba if present)."""
    try:
        from numba import njit
        kind = "numba"
    except ImportError:                      # numpy: the same stencils with np.roll
        def lap(u, w):
            return w * (np.roll(u, 1, 0) + np.roll(u, -1, 0) + np.roll(u, 1, 1)
                        + np.roll(u, -1, 1) - 4 * u)

        def heat(u, out):
            out[:] = lap(u, 1.0)

        def ch(c, out, mu, h2):
            mu[:] = c ** 3 - c - G * lap(c, 1.0 / h2)
            out[:] = lap(mu, 1.0 / h2)
        return "numpy", heat, ch

    @njit(cache=False)
    def heat(u, out):
        n = u.shape[0]
        for i in range(n):
            for j in range(n):
                out[i, j] = (u[i - 1, j] + u[(i + 1) % n, j] + u[i, j - 1] + u[i, (j + 1) % n]
                             - 4.0 * u[i, j])

    @njit(cache=False)
    def ch(c, out, mu, h2):
        n = c.shape[0]
        for i in range(n):
            for j in range(n):
                lc = (c[i - 1, j] + c[(i + 1) % n, j] + c[i, j - 1] + c[i, (j + 1) % n]
                      - 4.0 * c[i, j]) / h2
                mu[i, j] = c[i, j] ** 3 - c[i, j] - G * lc
        for i in range(n):
            for j in range(n):
                out[i, j] = (mu[i - 1, j] + mu[(i + 1) % n, j] + mu[i, j - 1]
                             + mu[i, (j + 1) % n] - 4.0 * mu[i, j]) / h2
    return kind, heat, ch


def _interleaved(fns: dict, rounds: int = 7, seconds: float = 0.05) -> dict:
    """Median time per call of each ``fns[name]()``, the variants interleaved round by round
    (so a change of the machine's load hits all of them): ``{name: (cpu s, wall s)}``. CPU is
    this thread's CPU time (``time.thread_time``), which waiting for a core shared with other
    jobs does not inflate; wall is ``time.perf_counter``."""
    reps = {}
    for name, fn in fns.items():
        fn()
        t0 = time.perf_counter()
        fn()
        reps[name] = max(1, int(seconds / max(time.perf_counter() - t0, 1e-7)))
    cpu = {k: [] for k in fns}
    wall = {k: [] for k in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            c0, w0 = time.thread_time(), time.perf_counter()
            for _ in range(reps[name]):
                fn()
            cpu[name].append((time.thread_time() - c0) / reps[name])
            wall[name].append((time.perf_counter() - w0) / reps[name])
    return {k: (float(np.median(cpu[k])), float(np.median(wall[k]))) for k in fns}


def call_floor(n: int = 64, rounds: int = 7) -> dict:
    """The cost of one compiled torch call here: ``x + 1`` on an [n * n, 1] float64 tensor
    eagerly, through ``torch.compile`` (dynamo's frame evaluation and guards per call) and
    compiled ahead of time (``aot_compile``, guards not checked): ``{variant: (cpu, wall)}``."""
    x = torch.randn(n * n, 1, dtype=torch.float64)

    def plus_one(x):
        return x + 1

    def plus_one_aot(x):          # its own code object: dynamo's cache is per code object
        return x + 1
    dyn = torch.compile(plus_one, fullgraph=True, dynamic=False)
    aot = torch.compile(plus_one_aot, fullgraph=True, dynamic=False).aot_compile(((x,), {}))
    aot.disable_guard_check()
    with torch.no_grad():
        dyn(x)
        return _interleaved({"eager": lambda: x + 1, "torch.compile": lambda: dyn(x),
                             "ahead of time": lambda: aot(x)}, rounds, seconds=0.02)


def stencil(sizes, block: int = 4, specs=("heat", "cahn_hilliard")):
    from pde2gnn.integrate.compiled import CompiledStep
    from pde2gnn.integrate.rk import rk_solve
    kind, heat_loop, ch_loop = _loops()
    print(f"one evaluation, float64, 1 channel, {torch.get_num_threads()} thread(s); "
          f"hand-written loop: {kind}; compiled = rk4 steps compiled whole, ahead of time, / 4 "
          f"evaluations: sparse products in ELL form one step a call (ell), as shifted grid "
          f"copies one step a call (grid) and {block} steps a call (grid x{block}), inductor; "
          f"{block} steps a call as the generated C loop (loop x{block}); eager rk4 = "
          "one step of the eager loop / 4; times in microseconds of CPU (thread_time), medians "
          "of 7 interleaved rounds; wall-clock ratios in brackets")
    floor = call_floor()
    print("floor of one call, x + 1 on 64x64 float64: " + ", ".join(
        f"{k} {c * 1e6:.1f} (wall {w * 1e6:.1f})" for k, (c, w) in floor.items()))
    blk, cl = f"grid x{block}", f"loop x{block}"
    print(f"{'spec':<14}{'grid':>8}{'eager':>9}{'eager rk4':>10}{'ell':>8}{'grid':>8}"
          f"{blk:>9}{cl:>9}{'loop':>7}{'best/loop':>14}{'best/eager rk4':>16}"
          f"{'inductor/loop':>14}{'ell/best':>14}{'compile s':>19}{'max rel err':>12}")
    for name, spec in (("heat", HEAT), ("cahn_hilliard", CAHN_HILLIARD)):
        if name not in specs:
            continue
        for n in sizes:
            pos, ei = graphs.grid_graph((n, n), (0.0, 0.0), (L, L), periodic=True)
            h2 = (L / n) ** 2
            inputs = {} if spec == HEAT else {"pos": torch.tensor(pos)}
            dims = {"d": 1} if spec == HEAT else None
            f = compile_spec(spec, ei, n * n, dims, inputs=inputs).double()
            f_ell = compile_spec(spec, ei, n * n, dims, inputs=inputs).double()
            rng = np.random.default_rng(n)
            u = rng.standard_normal((n, n))
            y = torch.tensor(u.reshape(n * n, 1))
            t = torch.tensor(0.0, dtype=torch.float64)
            dt = torch.tensor(1e-4, dtype=torch.float64)
            t0s = torch.arange(block, dtype=torch.float64) * 1e-4
            dts = torch.full((block,), 1e-4, dtype=torch.float64)
            out, mu = np.empty_like(u), np.empty_like(u)
            loop = (lambda: heat_loop(u, out)) if spec == HEAT \
                else (lambda: ch_loop(u, out, mu, h2))
            torch._dynamo.reset()           # one code object per step kind: its recompile limit
            with torch.no_grad():
                f.prepare(y)
                f_ell.prepare(y)
                ell = CompiledStep(f_ell, "rk4", log=None, shifted=False, loop=False)
                one = CompiledStep(f, "rk4", log=None, loop=False)
                many = CompiledStep(f, "rk4", log=None, loop=False)
                cloop = CompiledStep(f, "rk4", log=None, loop=True)
                y1, ks = one(t, dt, y)                    # traces and compiles
                ell(t, dt, y)
                ys = many.steps(t0s, dts, y)
                yl = cloop.steps(t0s, dts, y)
                if not cloop._loops:
                    print(f"  (no C loop: {cloop.how})")
                comp_s = (ell.compile_seconds, one.compile_seconds, many.compile_seconds,
                          cloop.compile_seconds)
                if not one.products.startswith("edges + diagonal: shifted") and \
                        "shifted" not in one.products:
                    print(f"  (no shifted form: {one.products})")
                r = _interleaved({
                    "eager": lambda: f(t, y),
                    "eager rk4": lambda: rk_solve(f, y, [0.0, 1e-4], method="rk4"),
                    "ell": lambda: ell(t, dt, y), "grid": lambda: one(t, dt, y),
                    blk: lambda: many.steps(t0s, dts, y), cl: lambda: cloop.steps(t0s, dts, y),
                    "loop": loop})
                # the block equals its steps one by one, and the ELL form the grid form
                yb = y
                for m in range(block):
                    yb, _ = one(t0s[m], dts[m], yb)
                step_err = max(float((ys[-1] - yb).abs().max() / yb.abs().max()),
                               float((yl[-1] - yb).abs().max() / yb.abs().max()))
            per = {k: (c / 4, w / 4) if k in ("eager rk4", "ell", "grid") else
                   (c / (4 * block), w / (4 * block)) if k in (blk, cl) else (c, w)
                   for k, (c, w) in r.items()}
            best = min(("grid", blk, cl), key=lambda k: per[k][0])
            ind = min(("grid", blk), key=lambda k: per[k][0])
            want = torch.tensor(out.reshape(n * n, 1))
            err = max(float((ks[0] - want).abs().max() / want.abs().max()), step_err)

            def ratio(p, q):
                return f"{per[p][0] / per[q][0]:.2f} [{per[p][1] / per[q][1]:.2f}]"
            print(f"{name:<14}{f'{n}x{n}':>8}" + "".join(
                f"{per[k][0] * 1e6:>{w}.1f}" for k, w in
                (("eager", 9), ("eager rk4", 10), ("ell", 8), ("grid", 8), (blk, 9), (cl, 9),
                 ("loop", 7)))
                + f"{ratio(best, 'loop'):>14}{ratio(best, 'eager rk4'):>16}"
                f"{ratio(ind, 'loop'):>14}"
                f"{ratio('ell', best):>14} {'/'.join(f'{c:.1f}' for c in comp_s):>18}"
                f"{err:>12.1e}", flush=True)


def eager_forms(sizes):
    """The shifted grid form run eagerly against the eager path's CSR product: the 5-point
    operator of heat (edges plus diagonal, constant weights) on n x n periodic grids, one
    float64 channel, one product per call; CPU microseconds, medians of interleaved rounds."""
    from pde2gnn.compiler.backend import grid
    from pde2gnn.compiler.backend.csr import csr_product
    from pde2gnn.compiler.backend.graph_ops import GraphOps
    print("eager, one product A @ x (5-point periodic operator, float64, 1 channel); CPU us")
    print(f"{'grid':>10}{'csr':>9}{'shifted':>9}{'rolled':>9}{'shifted/csr':>13}"
          f"{'rolled/csr':>12}")
    for n in sizes:
        _, ei = graphs.grid_graph((n, n), (0.0, 0.0), (L, L), periodic=True)
        ops = GraphOps(ei, n * n).double()
        values = ops.with_diagonal(torch.ones(ops.num_edges, dtype=torch.float64), -4.0)
        form = grid.detect(ops._loops.crow, ops._loops.col)
        weights = grid.constants(form, values)
        x = torch.randn(n * n, 1, dtype=torch.float64)
        with torch.no_grad():
            r = _interleaved({"csr": lambda: csr_product(values, x, ops._loops),
                              "shifted": lambda: grid.grid_product(form, weights, x),
                              "rolled": lambda: grid.grid_product(form, weights, x, "roll")})
        print(f"{f'{n}x{n}':>10}{r['csr'][0] * 1e6:>9.1f}{r['shifted'][0] * 1e6:>9.1f}"
              f"{r['rolled'][0] * 1e6:>9.1f}{r['shifted'][0] / r['csr'][0]:>13.2f}"
              f"{r['rolled'][0] / r['csr'][0]:>12.2f}", flush=True)


def _rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20   # KiB on Linux


def _graph(n: int, order: str):
    """The stochastic block model of size n in ``order`` (random: as generated; ``rcm``,
    ``metis``: relabelled once), its features [n, 32] and blocks, the half-bandwidths before /
    after and the seconds the reordering took."""
    ei, block = graphs.stochastic_block_model(n, 10, 10, seed=0)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(n, 32, generator=gen) + torch.randn(10, 32, generator=gen)[block]
    bw, t0 = graphs.bandwidth(ei), time.perf_counter()
    if order != "random":
        reorder = graphs.reverse_cuthill_mckee if order == "rcm" else graphs.metis_order
        ei, perm = reorder(ei, n)
        x, block = x[perm], block[perm]
    return ei, x, block, bw, time.perf_counter() - t0


def grand_one(n: int, order: str, epochs: int, task: str = "train") -> dict:
    """One size, one order, in this process: wall and CPU seconds per epoch (``train``) or per
    forward solve without autograd (``simulate``) and the peak resident memory. The field is
    compiled from the graph once; the COO edge list is dropped after (the field's CSR
    structure is all the solve reads). ``auto_memory`` picks direct / checkpoint / adjoint."""
    from pde2gnn.integrate.solve import ODEBlock, SolverConfig
    torch.manual_seed(0)
    t0 = time.perf_counter()
    ei, x, block, bw_before, reorder_s = _graph(n, order)
    edges, bw = int(ei.shape[1]), graphs.bandwidth(ei)
    field = compile_spec("grand", ei, n, {"d": 64})
    del ei
    build = time.perf_counter() - t0
    rss_graph = _rss_gib()
    ode = ODEBlock(field, 1.0, SolverConfig("rk4", step_size=0.25, auto_memory=True))
    model = torch.nn.ModuleDict({"enc": torch.nn.Linear(32, 64), "dec": torch.nn.Linear(64, 10),
                                 "ode": ode})
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    gen = torch.Generator().manual_seed(1)
    train = torch.rand(n, generator=gen) < 0.5
    times, cpu, loss = [], [], math.nan
    for _ in range(epochs):
        t1, c1 = time.perf_counter(), time.process_time()
        if task == "train":
            opt.zero_grad()
            out = model["dec"](model["ode"](model["enc"](x)))
            loss = torch.nn.functional.cross_entropy(out[train], block[train])
            loss.backward()
            opt.step()
            loss = float(loss.detach())
        else:
            with torch.no_grad():
                out = model["ode"](model["enc"](x))
            loss = float(out.norm())
        del out
        times.append(time.perf_counter() - t1)
        cpu.append(time.process_time() - c1)
    est = ode.memory_estimate
    return {"nodes": n, "edges": edges, "order": order, "task": task, "build_s": build,
            "reorder_s": reorder_s, "bandwidth_before": bw_before, "bandwidth": bw,
            "first_epoch_s": times[0], "epoch_s": min(times[1:] or times),
            "epoch_cpu_s": min(cpu[1:] or cpu), "rss_graph_gib": rss_graph,
            "peak_gib": _rss_gib(), "memory": est.choice if est is not None else "none",
            "loss": loss}


def grand(nodes, epochs: int, orders, tasks=("train",), repeats: int = 1, out=None,
          thps=("on",)):
    """Every (size, order, task) in its own process, the orders interleaved and the whole
    sweep repeated ``repeats`` times (the medians are printed at the end); per-edge CPU time
    against the 10^5-node random-order run (or the smallest size) of the same task and the same
    ``thps`` setting: ``on`` runs the process with ``THP_MEM_ALLOC_ENABLE=1`` (torch's CPU
    allocator asks for transparent huge pages on allocations of 2 MiB and more, so a random
    gather over a state of hundreds of MiB misses the TLB far less), ``off`` without."""
    print(f"GRAND-l (rk4, 4 steps, 64 channels, float32, {torch.get_num_threads()} thread(s)); "
          f"stochastic block model, mean degree 10; train: one epoch (forward, cross-entropy, "
          f"backward, Adam); simulate: one forward solve without autograd; best of epochs "
          f"2..{epochs}, wall and CPU (process) seconds; peak = ru_maxrss of the run's process")
    rows = []
    for rep in range(repeats):
        for task in tasks:
            for n in nodes:
                for order, thp in [(o, t) for o in orders for t in thps]:
                    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
                           "THP_MEM_ALLOC_ENABLE": "1" if thp == "on" else "0"}
                    cmd = [sys.executable, __file__, "--part", "grand-one", "--nodes", str(n),
                           "--order", order, "--epochs", str(epochs), "--task", task]
                    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
                    if p.returncode != 0:
                        print(f"{n:>9} {order} {task}: failed ({p.returncode}): "
                              f"{p.stderr.strip()[-300:]}", flush=True)
                        continue
                    r = json.loads(p.stdout.strip().splitlines()[-1])
                    r["repeat"], r["order"] = rep, order if len(thps) == 1 else f"{order}/{thp}"
                    rows.append(r)
                    print(json.dumps(r), flush=True)
                    if out:
                        Path(out).write_text(json.dumps(rows, indent=1))
    _table(rows)


def _table(rows):
    """Medians over repeats of each (task, nodes, order)."""
    keys = sorted({(r["task"], r["nodes"], r["order"]) for r in rows})
    med = {}
    for k in keys:
        rs = [r for r in rows if (r["task"], r["nodes"], r["order"]) == k]
        med[k] = {f: float(np.median([r[f] for r in rs])) for f in
                  ("first_epoch_s", "epoch_s", "epoch_cpu_s", "peak_gib", "reorder_s")}
        med[k].update(edges=rs[0]["edges"], memory=rs[0]["memory"], runs=len(rs))
    print(f"{'task':<9}{'nodes':>9}{'edges':>11}{'order':>11}{'1st s':>9}{'wall s':>9}"
          f"{'cpu s':>9}{'cpu ns/edge':>12}{'vs 1e5':>8}{'vs rand':>8}{'peak GiB':>9}"
          f"{'memory':>11}{'runs':>5}")
    for task, n, order in keys:
        m = med[(task, n, order)]
        per = m["epoch_cpu_s"] / m["edges"]
        suffix = order[order.index("/"):] if "/" in order else ""     # the THP setting
        ref_n = 100_000 if any(k[:2] == (task, 100_000) for k in keys) else min(k[1] for k in keys)
        ref = med.get((task, ref_n, "random" + suffix))
        rnd = med.get((task, n, "random" + suffix))
        vs = f"{per / (ref['epoch_cpu_s'] / ref['edges']):.2f}" if ref else "-"
        vr = f"{m['epoch_cpu_s'] / rnd['epoch_cpu_s']:.2f}" if rnd else "-"
        print(f"{task:<9}{n:>9}{m['edges']:>11}{order:>11}{m['first_epoch_s']:>9.2f}"
              f"{m['epoch_s']:>9.2f}{m['epoch_cpu_s']:>9.2f}{per * 1e9:>12.1f}{vs:>8}{vr:>8}"
              f"{m['peak_gib']:>9.2f}{m['memory']:>11}{m['runs']:>5}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", choices=["stencil", "eager-forms", "floor", "grand", "grand-one", "partition",
                                           "partition-model"], required=True)
    ap.add_argument("--sizes", type=int, nargs="+", default=[32, 64, 128, 256])
    ap.add_argument("--nodes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--order", nargs="+", default=["random", "rcm", "metis"],
                    choices=["random", "rcm", "metis"])
    ap.add_argument("--task", nargs="+", default=["train"], choices=["train", "simulate"],
                    help="grand: a training epoch and / or a forward solve (simulate)")
    ap.add_argument("--grand-repeats", type=int, default=1, help="grand: sweeps, interleaved")
    ap.add_argument("--out", help="grand: write every run (JSON) here as it completes")
    ap.add_argument("--thp", nargs="+", default=["on"], choices=["on", "off"],
                    help="grand: run with THP_MEM_ALLOC_ENABLE=1 (on) and / or without")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--block", type=int, default=4, help="stencil: rk4 steps per compiled call")
    ap.add_argument("--specs", nargs="+", default=["heat", "cahn_hilliard"],
                    choices=["heat", "cahn_hilliard"], help="stencil: the specs timed")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--channels", type=int, default=16, help="partition: state channels")
    ap.add_argument("--repeats", type=int, default=15, help="partition: timed repeats")
    ap.add_argument("--report", help="partition: write the reports (JSON) here; "
                    "partition-model: read them")
    ap.add_argument("--model-nodes", type=int, help="partition-model: graph size to predict")
    ap.add_argument("--model-c-ns", type=float, help="partition-model: compute ns per entry "
                    "x channel (default: measured)")
    ap.add_argument("--model-alpha-us", type=float, help="partition-model: message latency")
    ap.add_argument("--model-beta-gbs", type=float, help="partition-model: link GB/s")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.part == "stencil":
        stencil(a.sizes, a.block, a.specs)
    elif a.part == "eager-forms":
        eager_forms(a.sizes)
    elif a.part == "floor":
        for n in a.sizes:
            print(f"x + 1 on [{n * n}, 1] float64, us: " + ", ".join(
                f"{k} {c * 1e6:.1f} (wall {w * 1e6:.1f})"
                for k, (c, w) in call_floor(n, 15).items()), flush=True)
    elif a.part == "partition":
        from benchmarks.scale_partition import run
        run(a.nodes[0], a.channels, a.repeats, report=a.report)
    elif a.part == "partition-model":
        from benchmarks.scale_partition import print_model
        for rep in json.load(open(a.report)):
            print_model(rep, (2, 8, 64), nodes=a.model_nodes,
                        c=a.model_c_ns and a.model_c_ns * 1e-9,
                        alpha=None if a.model_alpha_us is None else a.model_alpha_us * 1e-6,
                        beta=a.model_beta_gbs and a.model_beta_gbs * 1e9)
    elif a.part == "grand":
        grand(a.nodes, a.epochs, a.order, a.task, a.grand_repeats, a.out, a.thp)
    else:
        print(json.dumps(grand_one(a.nodes[0], a.order[0], a.epochs, a.task[0])))


if __name__ == "__main__":
    main()
