"""``benchmarks/scale.py --part partition``: the partitioned solve on P processes (gloo, CPU),
against one process in the same run, and the cost model that extrapolates it.

For each spec (heat; GRAND-l, whose attention is fixed per solve) on a stochastic-block-model
graph: the largest relative difference of one evaluation and of a dopri5 solve between P ranks
and one process (and whether both took the same steps); halo bytes per evaluation per rank; the
time of one evaluation split into compute and exchange (median of interleaved repeats: one
process, P ranks with the exchange overlapped by the interior rows, P ranks without overlap).

Cost model (docs/guide/large-graphs.md), per evaluation and rank r of P:

    compute_r  = c * d * (E_r + N_r)                 c: s per (edge or node) x channel, fitted
                                                       on the one-process evaluation
    exchange_r = X * (alpha * peers_r + 8 d max(send_r, recv_r) / beta)
                                                      X exchanges per evaluation (1 here),
                                                      alpha, beta: fitted on a ping-pong
    T(P) = max_r (compute_r + exchange_r)            (no overlap)
    T_overlap(P) = max_r (max(c d E_int_r, exchange_r) + c d (E_r - E_int_r + N_r))

E_r, N_r, send_r, recv_r, peers_r come from METIS partitions of the same graph into P parts
(:func:`pde2gnn.graph.partition.halo_plans`, no processes needed), so the model predicts
P = 8 and 64 from quantities measured here; the measured P is its check.
"""
from __future__ import annotations

import json
import os
import statistics
import time

import numpy as np
import torch
import torch.distributed as dist

from pde2gnn.compiler.pipeline import compile as compile_spec
from pde2gnn.graph import construction as graphs
from pde2gnn.graph.partition import halo_plans, metis_parts
from pde2gnn.graph.partitioned import PartitionedField, partitioned_solve
from pde2gnn.integrate.rk import rk_solve
from pde2gnn.integrate.solver_config import SolverConfig

_PLANS: dict = {}
SPECS = [("heat", {"d": None}), ("grand", {"d": None, "k": 16})]


def _ping_pong(rank: int, sizes, repeats: int = 15):
    """One-way time of a message of each size between ranks 0 and 1 (median of round trips
    / 2); returns [(bytes, seconds)] on rank 0."""
    out = []
    for nbytes in sizes:
        buf = torch.zeros(max(nbytes // 8, 1), dtype=torch.float64)
        ts = []
        for _ in range(repeats):
            dist.barrier()
            t0 = time.perf_counter()
            if rank == 0:
                dist.send(buf, 1)
                dist.recv(buf, 1)
            elif rank == 1:
                dist.recv(buf, 0)
                dist.send(buf, 0)
            ts.append((time.perf_counter() - t0) / 2)
        out.append((buf.numel() * 8, statistics.median(ts)))
    return out


def _fit_link(samples):
    """alpha (s): the one-way time of the smallest message; beta (bytes / s): the largest
    message's size over its time beyond alpha (t = alpha + bytes / beta)."""
    (b0, t0), (b1, t1) = samples[0], samples[-1]
    return t0, (b1 - b0) / max(t1 - t0, 1e-12)


def _graph(kind: str, nodes: int):
    """``sbm``: stochastic block model (10 blocks, mean degree 10, random node order), a
    social-network-like expander; ``grid``: the 2-D periodic grid of about ``nodes`` nodes
    (a PDE mesh). Returns (edge_index, N)."""
    if kind == "grid":
        m = int(round(nodes ** 0.5))
        _, ei = graphs.grid_graph((m, m), (0.0, 0.0), (1.0, 1.0), periodic=True)
        return ei, m * m
    return graphs.stochastic_block_model(nodes, 10, 10.0, seed=0)[0], nodes


def _rel(a, b):
    return float((a - b).abs().max() / b.abs().max())


def _time(fn, rank, repeats, stats=None, cpu=None, run=True):
    """Per-repeat wall time of ``fn()`` on this rank (with a barrier before each), and the
    exchange time of each repeat from ``stats``; the thread's CPU time is appended to ``cpu``
    (a list) if given. ``run=False``: this rank only takes part in the barriers (0 s)."""
    walls, exch = [], []
    for _ in range(repeats):
        dist.barrier()
        if stats is not None:
            stats.reset_stats()
        c0, t0 = time.thread_time(), time.perf_counter()
        if run:
            fn()
        walls.append(time.perf_counter() - t0)
        if cpu is not None:
            cpu.append(time.thread_time() - c0)
        exch.append(stats.stats["exchange_s"] if stats is not None else 0.0)
    return walls, exch


def _compute_only(hg, fn):
    """``fn()`` with the halo exchanges of ``hg`` skipped (the rank's compute alone)."""
    hg.exchange, overlap, hg.overlap = (lambda x: x), hg.overlap, False
    try:
        return fn()
    finally:
        del hg.exchange
        hg.overlap = overlap


def worker(rank: int, world: int, store: str, kind: str, nodes: int, channels: int,
           repeats: int, out: str):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank,
                            world_size=world)
    ei, nodes = _graph(kind, nodes)
    report = {"graph": kind, "nodes": nodes, "edges": int(ei.shape[1]), "channels": channels, "ranks": world,
              "specs": {}}
    for spec, dims in SPECS:
        dims = {k: (channels if v is None else v) for k, v in dims.items()}
        torch.manual_seed(0)
        field = compile_spec(spec, ei, nodes, dims).double()
        with torch.no_grad():
            for p in field.parameters():
                p.add_(0.3 * torch.randn_like(p))
        y0 = torch.randn(nodes, field.state_width, dtype=torch.float64,
                         generator=torch.Generator().manual_seed(1))
        g = field.graph
        t_part = time.perf_counter()
        membership = metis_parts(g.i.numpy(), g.j.numpy(), nodes, world)
        part = PartitionedField(field, membership)
        setup_s = time.perf_counter() - t_part
        t = torch.tensor(0.0, dtype=torch.float64)
        own = part.scatter(y0)
        cfg = SolverConfig(method="dopri5", rtol=1e-6, atol=1e-8)
        with torch.no_grad():
            field.prepare(y0)
            part.prepare(own)
            ref = field(t, y0)
            got = part.gather(part(t, own))
            one = rk_solve(field, y0, [0.0, 0.5], method="dopri5", rtol=cfg.rtol, atol=cfg.atol)
            sol = partitioned_solve(part, own, [0.0, 0.5], cfg)
            ys = part.gather(sol.ys)
            hg = part.graph
            hg.reset_stats()
            part(t, own)
            bytes_eval = hg.stats["bytes_sent"] + hg.stats["bytes_received"]
            exchanges = hg.stats["exchanges"]
            rows = {"single": [], "overlap": [], "overlap_x": [], "plain": [], "plain_x": [],
                    "exchange": [], "single_cpu": [], "overlap_cpu": [], "local": [],
                    "half_both": [], "half_alone": []}
            xl = part._pad(own)
            # the plain compiled field on this rank's local graph (no halo code): run by both
            # ranks at once and by rank 0 alone, it tells memory-bandwidth sharing apart
            half = compile_spec(spec, torch.as_tensor(part.plan.edge_index),
                                part.graph.num_nodes, dims).double()
            half.load_state_dict(field.state_dict(), strict=False)
            half.prepare(xl)
            for _ in range(repeats):              # interleaved variants
                w, _ = _time(lambda: field(t, y0), rank, 1, cpu=rows["single_cpu"])
                rows["single"] += w
                hg.overlap = True
                w, x = _time(lambda: part(t, own), rank, 1, hg, cpu=rows["overlap_cpu"])
                rows["overlap"] += w
                rows["overlap_x"] += x
                w, _ = _time(lambda: _compute_only(hg, lambda: part(t, own)), rank, 1)
                rows["local"] += w
                w, _ = _time(lambda: half(t, xl), rank, 1)
                rows["half_both"] += w
                w, _ = _time(lambda: half(t, xl), rank, 1, run=rank == 0)
                rows["half_alone"] += w
                hg.overlap = False
                w, x = _time(lambda: part(t, own), rank, 1, hg)
                rows["plain"] += w
                rows["plain_x"] += x
                hg.overlap = True
                w, _ = _time(lambda: hg._finish(xl, hg._start(xl)), rank, 1)
                rows["exchange"] += w        # the exchange alone, both ranks starting together
        med = {k: statistics.median(v) for k, v in rows.items()}
        per_rank = [None] * world
        dist.all_gather_object(per_rank, {
            "median": med, "bytes_eval": bytes_eval, "exchanges": exchanges,
            "owned": part.plan.num_owned, "halo": part.plan.halo_rows,
            "edges": int(part.plan.edges.size), "interior": part.plan.num_interior,
            "setup_s": setup_s})
        if rank == 0:
            report["specs"][spec] = {
                "field_rel": _rel(got, ref), "solve_rel": _rel(ys, one.ys),
                "steps": [sol.steps, one.steps], "rejected": [sol.rejected, one.rejected],
                "ranks": per_rank}
    link = _ping_pong(rank, [8 * 4 ** k for k in range(11)])
    if rank == 0:
        report["ping_pong"] = link
        with open(out, "w") as fh:
            json.dump(report, fh)
    dist.destroy_process_group()


def model(report, parts_list, spec="heat", calibrated=False, nodes=None, c=None, alpha=None,
          beta=None):
    """The cost model's per-evaluation time for each P of ``parts_list`` (seconds), from the
    report's measured inputs, on METIS partitions of the benchmark's kind of graph with
    ``nodes`` nodes (default: the measured graph); ``c`` (s per entry x channel), ``alpha``
    (s), ``beta`` (bytes / s) override the measured inputs (e.g. with a GPU's)."""
    n, d = nodes or report["nodes"], report["channels"]
    ei, n = _graph(report["graph"], n)
    src, dst = ei[0].numpy(), ei[1].numpy()
    order = np.lexsort((src, dst))
    i, j = dst[order], src[order]
    r0 = report["specs"][spec]["ranks"][0]["median"]
    measured_c = r0["single"] / (d * (report["edges"] + report["nodes"]))
    link = _fit_link(report["ping_pong"])
    c = c or measured_c
    alpha, beta = (alpha if alpha is not None else link[0]), (beta or link[1])
    single = c * d * (len(i) + n)
    X = report["specs"][spec]["ranks"][0]["exchanges"]
    if calibrated:       # alpha from the exchange measured alone on the measured P ranks
        q = report["specs"][spec]["ranks"]
        alpha = max(max(r["median"]["exchange"] - r["bytes_eval"] / 2 / link[1] for r in q),
                    0.0)
    out = {"c_s_per_entry": c, "alpha_s": alpha, "beta_Bps": beta, "exchanges": X,
           "single_s": single, "nodes": n, "edges": len(i), "P": {}}
    for P in parts_list:
        key = (report["graph"], n, P)
        if key not in _PLANS:
            _PLANS[key] = halo_plans(i, j, metis_parts(i, j, n, P))
        plans = _PLANS[key]
        plain, over, comm_bytes = [], [], []
        for p in plans:
            e_int = int(np.sum(p.edge_index[1] < p.num_interior))
            comp = c * d * (p.edges.size + p.nodes.size)
            comm = X * (alpha * len(p.send) + 8 * d * max(p.send_rows, p.halo_rows) / beta)
            plain.append(comp + comm)
            over.append(max(c * d * e_int, comm) + c * d * (p.edges.size - e_int + p.nodes.size))
            comm_bytes.append(8 * d * (p.send_rows + p.halo_rows))
        out["P"][P] = {"plain_s": max(plain), "overlap_s": max(over),
                       "max_bytes_per_rank": max(comm_bytes),
                       "mean_halo_fraction": float(np.mean([p.halo_rows / p.num_owned
                                                            for p in plans])),
                       "speedup": single / max(over)}
    return out


def run(nodes: int, channels: int, repeats: int, world: int = 2, predict=(2, 8, 64),
        kinds=("grid", "sbm"), report=None):
    """For each graph kind, spawn ``world`` gloo processes, print the measured table and the
    model's predictions; the reports go to ``report`` (JSON, a list) if given."""
    reps = [run_one(k, nodes, channels, repeats, world, predict) for k in kinds]
    if report:
        with open(report, "w") as fh:
            json.dump(reps, fh)
    return reps


def print_model(rep, predict=(2, 8, 64), **given):
    """The model's tables for one report: with the measured inputs (alpha from the ping-pong,
    then from the exchange measured alone), or with the ``given`` ones (:func:`model`)."""
    out = {}
    for spec in rep["specs"]:
        out[spec] = []
        for cal in ((False,) if given.get("alpha") is not None else (False, True)):
            m = model(rep, predict, spec, cal, **given)
            out[spec].append(m)
            how = "given" if given.get("alpha") is not None else \
                "from the exchange measured alone" if cal else "from the ping-pong"
            print(f"\ncost model, {spec} on a {rep['graph']} graph of {m['nodes']} nodes / "
                  f"{m['edges']} edges, {rep['channels']} channels: alpha {how} = "
                  f"{m['alpha_s'] * 1e6:.1f} us, beta = {m['beta_Bps'] / 1e9:.2f} GB/s, c = "
                  f"{m['c_s_per_entry'] * 1e9:.3f} ns per (edge or node) x channel, "
                  f"{m['exchanges']} exchange(s) per evaluation; one process "
                  f"{m['single_s'] * 1e3:.3f} ms")
            print(f"{'P':>5}{'halo/owned':>12}{'max KiB/rank':>14}{'T ms':>10}"
                  f"{'T overlap ms':>14}{'speedup':>9}")
            for P, q in m["P"].items():
                print(f"{P:>5}{q['mean_halo_fraction']:>12.3f}"
                      f"{q['max_bytes_per_rank'] / 1024:>14.1f}{q['plain_s'] * 1e3:>10.3f}"
                      f"{q['overlap_s'] * 1e3:>14.3f}{q['speedup']:>9.2f}")
    return out


def run_one(kind, nodes, channels, repeats, world, predict):
    import tempfile
    import torch.multiprocessing as mp
    tmp = tempfile.mkdtemp(prefix="pde2gnn_partition_")
    out = os.path.join(tmp, "report.json")
    mp.spawn(worker, args=(world, os.path.join(tmp, "store"), kind, nodes, channels, repeats,
                           out), nprocs=world)
    rep = json.load(open(out))
    print(f"\n=== partitioned evaluation, {world} gloo processes (CPU, one thread each), "
          f"float64, {kind} graph {rep['nodes']} nodes / {rep['edges']} edges, {channels} channels; medians of "
          f"{repeats} interleaved repeats")
    for spec, r in rep["specs"].items():
        print(f"\n{spec}: max rel diff vs one process: field {r['field_rel']:.2e}, dopri5 "
              f"solve {r['solve_rel']:.2e}; steps {r['steps'][0]} / {r['steps'][1]}, "
              f"rejected {r['rejected'][0]} / {r['rejected'][1]} (partitioned / one)")
        print(f"{'rank':>5}{'owned':>8}{'halo':>7}{'edges':>9}{'halo KiB/eval':>15}"
              f"{'1-proc ms':>11}{'P ms':>8}{'exch ms':>9}{'comp ms':>9}{'no-ovl ms':>11}"
              f"{'exch ms':>9}{'alone ms':>10}{'speedup':>9}")
        for k, q in enumerate(r["ranks"]):
            m = q["median"]
            print(f"{k:>5}{q['owned']:>8}{q['halo']:>7}{q['edges']:>9}"
                  f"{q['bytes_eval'] / 1024:>15.1f}{m['single'] * 1e3:>11.2f}"
                  f"{m['overlap'] * 1e3:>8.2f}{m['overlap_x'] * 1e3:>9.2f}"
                  f"{(m['overlap'] - m['overlap_x']) * 1e3:>9.2f}{m['plain'] * 1e3:>11.2f}"
                  f"{m['plain_x'] * 1e3:>9.2f}{m['exchange'] * 1e3:>10.3f}"
                  f"{r['ranks'][0]['median']['single'] / m['overlap']:>9.2f}")
    print("\nwhere a rank's time goes (medians, ms): 1-proc and P cpu = the thread's CPU time of "
          "one evaluation; local = the rank's evaluation with the exchanges skipped; half = the "
          "plain compiled field on the rank's local graph (no halo code), both ranks at once "
          "and rank 0 alone (their ratio: memory bandwidth shared by the cores)")
    for spec, r in rep["specs"].items():
        print(f"{spec}:\n{'rank':>5}{'1-proc':>9}{'1-proc cpu':>12}{'P':>8}{'P cpu':>8}"
              f"{'local':>8}{'half both':>11}{'half alone':>12}{'local/1-proc':>14}")
        for k, q in enumerate(r["ranks"]):
            m = q["median"]
            alone = f"{m['half_alone'] * 1e3:>12.2f}" if k == 0 else f"{'':>12}"
            print(f"{k:>5}{m['single'] * 1e3:>9.2f}{m['single_cpu'] * 1e3:>12.2f}"
                  f"{m['overlap'] * 1e3:>8.2f}{m['overlap_cpu'] * 1e3:>8.2f}"
                  f"{m['local'] * 1e3:>8.2f}{m['half_both'] * 1e3:>11.2f}{alone}"
                  f"{m['local'] / m['single']:>14.2f}")
    link = _fit_link(rep["ping_pong"])
    print(f"\nlink (gloo ping-pong, 8 B .. 8 MiB): alpha = {link[0] * 1e6:.1f} us, "
          f"beta = {link[1] / 1e9:.2f} GB/s")
    rep["model"] = print_model(rep, predict)
    return rep
