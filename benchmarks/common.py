"""Helpers shared by the benchmark scripts (run as ``python benchmarks/<script>.py``)."""
from __future__ import annotations

import argparse
import time

from torch_geometric.utils import add_self_loops, remove_self_loops

from pde2gnn.data.datasets import load_dataset


def parser(repeats: int) -> argparse.ArgumentParser:
    """The options every timing benchmark has: ``--data-root``, ``--device`` (cuda when there
    is one) and ``--repeats`` (timed calls per measurement, default ``repeats``)."""
    import torch
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--repeats", type=int, default=repeats)
    return ap


def timeit(fn, repeats, device, clock=time.perf_counter):
    """Mean time of ``fn()`` in seconds over ``repeats`` calls, after one warm-up call (CUDA
    synchronised before and after). ``clock``: wall time (default) or e.g.
    ``time.process_time``, this process's CPU time, which a shared machine's other jobs do not
    inflate (for one-thread CPU runs)."""
    import torch
    fn()
    if device == "cuda":
        torch.cuda.synchronize()
    t0 = clock()
    for _ in range(repeats):
        fn()
    if device == "cuda":
        torch.cuda.synchronize()
    return (clock() - t0) / repeats


def interleaved(fns: dict, blocks: int, repeats: int, device: str,
                clock=time.perf_counter) -> dict:
    """:func:`timeit` of each named function in ``blocks`` interleaved rounds (every round
    times each function once in turn, so a change of machine load falls on all of them
    alike). Returns ``{name: [seconds per call, one per round]}``; take their medians."""
    times = {k: [] for k in fns}
    for _ in range(blocks):
        for k, fn in fns.items():
            times[k].append(timeit(fn, repeats, device, clock))
    return times


def step_fn(model, forward, y, mask, opt):
    """One training step of a node classifier as a call: ``forward()`` (logits ``[N, C]``),
    cross-entropy on the ``mask`` rows, backward, optimiser step."""
    from torch import nn

    def step():
        model.train()
        opt.zero_grad()
        nn.functional.cross_entropy(forward()[mask], y[mask]).backward()
        opt.step()
    return step


def graph_with_self_loops(dataset, data_root=None):
    """``(data, edge_index)``: a data set and its graph with exactly one self-loop per node."""
    data = load_dataset(dataset, data_root)
    ei, _ = remove_self_loops(data.edge_index)
    ei, _ = add_self_loops(ei, num_nodes=data.num_nodes)
    return data, ei
