"""One GRAND-l training epoch on a stochastic block model (issue 40, docs/guide/large-graphs.md
"Per-edge cost"): the CPU seconds of the best epoch of 2..k, the peak resident memory, and with
``--profile`` the operators of the last epoch (torch.profiler, self time, top 14). ``--before
FILE`` runs the epoch with another version of ``pde2gnn/compiler/backend/csr.py`` (the CSR
product) loaded from FILE, for a comparison in the same session; ``--keep-freed`` sets glibc's
``mallopt(M_MMAP_MAX, 0)`` and a 2 GiB trim threshold first (the allocator lever, measured and
rejected: at 10^6 nodes the heap grew past 17 GB); ``--allocator jemalloc`` re-runs it with
libjemalloc preloaded, keeping freed memory (:mod:`pde2gnn.allocator`); ``--integrator
torchdiffeq`` with ``--memory adjoint`` takes torchdiffeq's ``odeint_adjoint`` instead of the
fused loop's continuous adjoint. ``--graph mesh`` runs it on
benchmarks/floor.py's 2-D mesh (random order, or ``--order metis``) instead of the SBM. 64
channels, rk4 with 4 steps, float32, one thread, ``auto_memory``; one JSON line (CPU and wall
seconds and minor page faults of every epoch).

    git show cbf6afc:pde2gnn/compiler/backend/csr.py > /tmp/old_csr.py
    for r in 1 2 3; do for v in before after; do
      nice -n 10 python benchmarks/csr_epoch.py --nodes 100000 --epochs 4 \\
          $([ $v = before ] && echo --before /tmp/old_csr.py); done; done
"""
from __future__ import annotations

import argparse
import ctypes
import importlib.util
import json
import resource
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pde2gnn import allocator  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nodes", type=int, default=100_000)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--before", help="a csr.py to use instead of this checkout's")
    ap.add_argument("--keep-freed", action="store_true", help="glibc keeps freed memory")
    ap.add_argument("--allocator", default="system",
                    help="system, or jemalloc (re-run with libjemalloc preloaded and "
                         "pde2gnn.allocator.RETAIN, as `pde2gnn train --allocator jemalloc`)")
    ap.add_argument("--profile", action="store_true", help="profile the last epoch")
    ap.add_argument("--order", choices=("random", "metis"), default="random",
                    help="node order: as generated, or METIS parts numbered consecutively")
    ap.add_argument("--memory", choices=("auto", "direct", "checkpoint", "adjoint"),
                    default="auto", help="the gradient method (auto: auto_memory)")
    ap.add_argument("--integrator", choices=("pde2gnn", "torchdiffeq"), default="pde2gnn",
                    help="with --memory adjoint: the fused loop's continuous adjoint, or "
                         "torchdiffeq's odeint_adjoint")
    ap.add_argument("--part-size", type=int, default=4096, help="nodes per METIS part")
    ap.add_argument("--graph", choices=("sbm", "mesh"), default="sbm",
                    help="sbm: scale.py's stochastic block model; mesh: benchmarks/floor.py's "
                         "2-D grid of mean degree 10 in random order (--order metis relabels it)")
    a = ap.parse_args()
    if a.allocator != "system" and not allocator.loaded():
        allocator.restart(a.allocator, [sys.executable, *sys.argv])
    torch.set_num_threads(1)
    if a.keep_freed:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-4, 0)               # M_MMAP_MAX
        libc.mallopt(-1, 2 ** 31 - 1)     # M_TRIM_THRESHOLD
    import pde2gnn.compiler.backend.graph_ops as go
    if a.before:
        spec = importlib.util.spec_from_file_location("before_csr", a.before)
        old = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(old)
        go.csr_product, go.sampled_dot = old.csr_product, old.sampled_dot
    from benchmarks.scale import _graph, compile_spec
    from pde2gnn.integrate.solve import ODEBlock, SolverConfig
    n = a.nodes
    torch.manual_seed(0)
    ei, x, block, _, _ = _graph(n, "random") if a.graph == "sbm" else (None,) * 5
    reorder_s = 0.0
    if a.graph == "mesh":
        from benchmarks.floor import graph
        ei, n, block, reorder_s = graph("mesh", n, a.order, part_size=a.part_size)
        gen = torch.Generator().manual_seed(0)
        x = torch.randn(n, 32, generator=gen) + torch.randn(10, 32, generator=gen)[block]
    elif a.order == "metis":
        from pde2gnn.graph.construction import metis_order
        t0 = time.perf_counter()
        ei, perm = metis_order(ei, n, a.part_size)
        x, block = x[perm], block[perm]
        reorder_s = time.perf_counter() - t0
    edges = int(ei.shape[1])
    field = compile_spec("grand", ei, n, {"d": 64})
    del ei
    ode = ODEBlock(field, 1.0, SolverConfig("rk4", step_size=0.25, integrator=a.integrator, **{
        "auto": {"auto_memory": True}, "direct": {}, "checkpoint": {"checkpoint": True},
        "adjoint": {"adjoint": True}}[a.memory]))
    model = torch.nn.ModuleDict({"enc": torch.nn.Linear(32, 64), "dec": torch.nn.Linear(64, 10),
                                 "ode": ode})
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    train = torch.rand(n, generator=torch.Generator().manual_seed(1)) < 0.5
    cpu, wall, faults, prof = [], [], [], None
    for e in range(a.epochs):
        if a.profile and e == a.epochs - 1:
            from torch.profiler import ProfilerActivity, profile
            prof = profile(activities=[ProfilerActivity.CPU])
            prof.__enter__()
        c, w = time.process_time(), time.perf_counter()
        f = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        opt.zero_grad()
        out = model["dec"](model["ode"](model["enc"](x)))
        loss = torch.nn.functional.cross_entropy(out[train], block[train])
        loss.backward()
        opt.step()
        del out
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f)
    if prof is not None:
        prof.__exit__(None, None, None)
        tab = prof.key_averages()
        tot = sum(k.self_cpu_time_total for k in tab)
        for k in sorted(tab, key=lambda k: -k.self_cpu_time_total)[:14]:
            print(f"PROF {k.key:<34}{k.count:>6}{k.self_cpu_time_total / 1e6:>9.3f} s"
                  f"{100 * k.self_cpu_time_total / tot:>7.1f} %")
    best = min(cpu[1:] or cpu)
    print(json.dumps({"n": n, "graph": a.graph, "edges": edges, "order": a.order,
                      "part_size": a.part_size,
                      "reorder_s": reorder_s, "cpu": best, "cpus": cpu, "walls": wall,
                      "minor_faults": faults,
                      "ns_edge": best / edges * 1e9,
                      "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20,
                      "loss": float(loss.detach()), "integrator": a.integrator,
                      "memory": getattr(ode.memory_estimate, "choice", a.memory),
                      "allocator": "jemalloc" if allocator.loaded() else "system"}))


if __name__ == "__main__":
    main()
