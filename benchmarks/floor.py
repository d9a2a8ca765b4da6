"""The floor of a GRAND-l epoch's per-edge cost (issue 40; docs/guide/performance.md "Large
graphs: the floor"): the bare kernels every epoch runs, on the same graphs and node orders,
timed per edge at several sizes in one process (the sizes interleaved round by round, so the
ratios between sizes come from the same run), 64 float32 channels, one thread, CPU time,
medians over the rounds.

Kernels (``[N, 64]`` float32 states, A the graph's adjacency with random float32 values, int32
CSR indices as ``compiler/backend/csr.py`` keeps them):

- ``spmm``: ``A x`` by ``torch.addmm(out, A, x, beta=0, out=out)`` into a fresh output (the
  product of ``csr._mm``, the one an evaluation makes); ``spmm_kept``: the same into an output
  kept from call to call (no page faults: the gathers alone); ``spmm_t``: ``A^T x`` the same way on
  the transpose's CSR (the backward pass's product);
- ``gs``: the same product as gather / scatter, ``out.index_add_(0, i, w * x.index_select(0, j))``
  over the edges in CSR order (random reads, ordered writes), in chunks of 2^20 edges (an
  ``[E, 64]`` temporary at 10^8 edges would be 25.6 GB); ``gs_t``: the transpose, reading
  ``x[i]`` and adding into row j (ordered reads, random writes);
- ``sddmm``: ``torch.sparse.sampled_addmm`` on A's pattern (the gradient of A's values);
- ``stream``: ``torch.add(x, y, out=z)`` into a fresh z, a pass over three states: the memory
  bandwidth
  (reported per edge, and in GB/s).

Graphs: ``sbm`` is benchmarks/scale.py's stochastic block model (10 blocks, mean degree 10,
blocks assigned at random); ``mesh`` is a 2-D grid of round(sqrt(N))^2 nodes joined to the
neighbours at offsets (+-1, 0), (0, +-1), (+-1, +-1), (+-2, 0) (mean degree just under 10: a
graph with geometry that METIS can recover). Orders: ``random`` (sbm as generated; mesh
relabelled by a random permutation, as data that arrive in no particular order), ``metis``
(``graph.construction.metis_order``, parts of 16,384 nodes, applied to the random order) and
``natural`` (mesh only: row by row, the best case).

``--part stream``: the streaming pass alone, into a fresh output against a kept one, at
``--nodes`` (no graph).

``--part cache``: random rows gathered from an ``[R, 64]`` float32 table (``index_select`` of
2^20 random rows) against a streaming read of the same table, per row, for tables of 1 MiB to
2.5 GB: where the random gathers leave the caches on this machine.

    nice -n 10 python benchmarks/floor.py --graph sbm --order random \\
        --nodes 10000 100000 1000000 10000000 --rounds 5 --out /tmp/floor_sbm.json
    nice -n 10 python benchmarks/floor.py --part cache
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pde2gnn.graph import construction as graphs  # noqa: E402

CHANNELS = 64
CHUNK = 2 ** 20
PART = 16384
KERNELS = ("spmm", "spmm_kept", "spmm_t", "gs", "gs_t", "sddmm", "stream")
MESH_OFFSETS = ((1, 0), (0, 1), (1, 1), (1, -1), (2, 0))


def mesh(n: int) -> torch.Tensor:
    """``[2, E]`` edges of the 2-D grid of ``round(sqrt(n))^2`` nodes (row-major numbering) and
    the neighbours at :data:`MESH_OFFSETS` and their negatives, undirected, no boundary wrap."""
    m = max(2, int(round(n ** 0.5)))
    r, c = np.divmod(np.arange(m * m, dtype=np.int64), m)
    src, dst = [], []
    for dr, dc in MESH_OFFSETS:
        ok = (r + dr < m) & (c + dc >= 0) & (c + dc < m)
        a = np.flatnonzero(ok)
        b = a + dr * m + dc
        src += [a, b]
        dst += [b, a]
    ei = torch.as_tensor(np.stack([np.concatenate(dst), np.concatenate(src)]))
    return ei[:, torch.argsort(ei[0] * (m * m) + ei[1])]


def graph(kind: str, n: int, order: str, seed: int = 0, part_size: int = PART):
    """``(edge_index [2, E], N, labels [N], seconds of the relabelling)`` of graph ``kind``
    (``sbm``, ``mesh``) in ``order`` (module docstring). Labels: the SBM's blocks; the mesh's
    ten vertical strips."""
    if kind == "sbm":
        ei, label = graphs.stochastic_block_model(n, 10, 10, seed=seed)
        if order == "natural":
            raise SystemExit("the SBM has no natural order (its generator's is random)")
    else:
        ei = mesh(n)
        m = max(2, int(round(n ** 0.5)))
        n = m * m
        label = torch.arange(n) % m * 10 // m
        if order != "natural":
            perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
            new = torch.empty_like(perm)
            new[perm] = torch.arange(n)
            ei, label = new[ei], label[perm]
    t0 = time.perf_counter()
    if order == "metis":
        ei, perm = graphs.metis_order(ei, n, part_size)
        label = label[perm]
    return ei, n, label, time.perf_counter() - t0


class Kernels:
    """The operands of :data:`KERNELS` for one graph (int32 CSR of A and A^T, int32 edge
    arrays in CSR order, a state x and a kept output, the second operand of ``sddmm`` and
    ``stream``) and one call of each (``run``)."""

    def __init__(self, ei: torch.Tensor, n: int, seed: int = 0):
        gen = torch.Generator().manual_seed(seed)
        i32 = torch.int32
        key = torch.argsort(ei[0] * n + ei[1])
        self.i, self.j = ei[0][key].to(i32), ei[1][key].to(i32)
        del key
        self.n, self.E = n, int(self.i.numel())
        self.w = torch.rand(self.E, generator=gen)
        crow = torch.zeros(n + 1, dtype=i32)
        crow[1:] = torch.cumsum(torch.bincount(self.i, minlength=n), 0)
        tkey = torch.argsort(self.j.long() * n + self.i)
        tcrow = torch.zeros(n + 1, dtype=i32)
        tcrow[1:] = torch.cumsum(torch.bincount(self.j, minlength=n), 0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.A = torch.sparse_csr_tensor(crow, self.j, self.w, (n, n))
            self.AT = torch.sparse_csr_tensor(tcrow, self.i[tkey], self.w[tkey], (n, n))
        self.x = torch.randn(n, CHANNELS, generator=gen)
        self.out = torch.zeros(n, CHANNELS)

    def run(self, name: str) -> torch.Tensor:
        x = self.x
        if name == "spmm_kept":
            return torch.addmm(self.out, self.A, x, beta=0.0, out=self.out)
        if name in ("spmm", "spmm_t"):
            out = x.new_empty(self.n, CHANNELS)
            return torch.addmm(out, self.A if name == "spmm" else self.AT, x, beta=0.0, out=out)
        if name in ("gs", "gs_t"):
            read, write = (self.j, self.i) if name == "gs" else (self.i, self.j)
            out = x.new_zeros(self.n, CHANNELS)
            for s in range(0, self.E, CHUNK):
                sl = slice(s, s + CHUNK)
                out.index_add_(0, write[sl], x.index_select(0, read[sl]) * self.w[sl, None])
            return out
        if name == "sddmm":
            return torch.sparse.sampled_addmm(self.A, self.out, x.t(), beta=0.0)  # A's unread
        return torch.add(x, self.out, out=x.new_empty(self.n, CHANNELS))


def _cpu(fn) -> float:
    c = time.process_time()
    fn()
    return time.process_time() - c


def floor_run(kind: str, order: str, sizes, rounds: int, kernels) -> list:
    """Per size: ns per edge of every kernel (medians over ``rounds`` rounds, every round
    running all sizes and kernels in turn), edges, build seconds."""
    built = []
    for n in sizes:
        t0 = time.perf_counter()
        ei, N, _, reorder_s = graph(kind, n, order)
        k = Kernels(ei, N)
        del ei
        built.append((k, time.perf_counter() - t0, reorder_s))
        print(f"# built {kind}/{order} N={N} E={k.E} in {built[-1][1]:.1f} s "
              f"(relabelling {reorder_s:.1f} s), peak {_peak():.2f} GiB", flush=True)
    times = [{name: [] for name in kernels} for _ in sizes]
    for r in range(rounds):
        for s, (k, _, _) in enumerate(built):
            for name in kernels:
                if r == 0:
                    k.run(name)                 # warm: first touch of the output, caches
                times[s][name].append(_cpu(lambda: k.run(name)))
    rows = []
    for s, (k, build_s, reorder_s) in enumerate(built):
        ns = {name: statistics.median(t) / k.E * 1e9 for name, t in times[s].items()}
        row = {"graph": kind, "order": order, "n": k.n, "edges": k.E, "ns_edge": ns,
               "build_s": build_s, "reorder_s": reorder_s, "rounds": rounds}
        if "stream" in ns:
            row["stream_gbs"] = 3 * k.n * CHANNELS * 4 / (ns["stream"] * k.E)
        rows.append(row)
    return rows


def _peak() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20


def cache_probe(rounds: int) -> list:
    """ns per row of a random-row gather and of a streaming read of ``[R, 64]`` float32 tables
    from 1 MiB to 2.5 GB (module docstring), medians over ``rounds``."""
    gen = torch.Generator().manual_seed(0)
    rows = []
    for mib in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2442):
        R = mib * 2 ** 20 // (CHANNELS * 4)
        table = torch.randn(R, CHANNELS, generator=gen)
        idx = torch.randint(R, (2 ** 20,), generator=gen)
        out = torch.empty(2 ** 20, CHANNELS)
        g, st = [], []
        for _ in range(rounds):
            torch.index_select(table, 0, idx, out=out)
            g.append(_cpu(lambda: torch.index_select(table, 0, idx, out=out)))
            st.append(_cpu(lambda: table.sum(0)))
        rows.append({"table_mib": mib, "rows": R,
                     "gather_ns_row": statistics.median(g) / 2 ** 20 * 1e9,
                     "stream_ns_row": statistics.median(st) / R * 1e9})
        r = rows[-1]
        print(f"{mib:>6} MiB {R:>10} rows  gather {r['gather_ns_row']:7.2f} ns/row  "
              f"stream {r['stream_ns_row']:6.2f} ns/row  ratio "
              f"{r['gather_ns_row'] / r['stream_ns_row']:6.1f}", flush=True)
        del table
    return rows


def stream_probe(sizes, rounds: int) -> list:
    """ns per node of ``torch.add(x, y, out=z)`` on ``[N, 64]`` float32 states into a fresh
    ``z`` (as every operation of an epoch allocates its output: above glibc's mmap threshold a
    new mapping that the kernel faults in and zeroes) and into a kept ``z`` (the bandwidth
    alone), the sizes interleaved, medians over ``rounds``."""
    gen = torch.Generator().manual_seed(0)
    st = [(torch.randn(n, CHANNELS, generator=gen), torch.randn(n, CHANNELS, generator=gen),
           torch.empty(n, CHANNELS)) for n in sizes]
    t = [([], []) for _ in sizes]
    for r in range(rounds + 1):
        for k, (x, y, z) in enumerate(st):
            fresh = _cpu(lambda: torch.add(x, y, out=torch.empty_like(x)))
            kept = _cpu(lambda: torch.add(x, y, out=z))
            if r:                               # round 0 warms
                t[k][0].append(fresh)
                t[k][1].append(kept)
    rows = []
    for n, (fresh, kept) in zip(sizes, t):
        f, k = statistics.median(fresh) / n * 1e9, statistics.median(kept) / n * 1e9
        rows.append({"n": n, "fresh_ns_node": f, "kept_ns_node": k,
                     "kept_gbs": 3 * CHANNELS * 4 / k})
        print(f"{n:>9} nodes  add into a fresh state {f:6.2f} ns/node  into a kept state "
              f"{k:6.2f} ns/node ({3 * CHANNELS * 4 / k:5.1f} GB/s)", flush=True)
    return rows


def print_rows(rows: list, epochs: dict, base: int) -> None:
    """The table: ns per edge per kernel and size, and each kernel's ratio to size ``base``
    (the size nearest 10^5) beside the epoch's (``epochs``: nodes -> ns per edge)."""
    ref = min(rows, key=lambda r: abs(r["n"] - base))
    for r in rows:
        ns = r["ns_edge"]
        cells = "  ".join(f"{k} {v:7.1f} ({v / ref['ns_edge'][k]:.2f}x)" for k, v in ns.items())
        ep = epochs.get(r["n"])
        ep_s = "" if ep is None or ref["n"] not in epochs else \
            f"  epoch {ep:7.0f} ({ep / epochs[ref['n']]:.2f}x)"
        print(f"{r['graph']:>5} {r['order']:>7} {r['n']:>9} {r['edges']:>10}  {cells}{ep_s}",
              flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", choices=("floor", "cache", "stream"), default="floor")
    ap.add_argument("--graph", choices=("sbm", "mesh"), default="sbm")
    ap.add_argument("--order", choices=("random", "metis", "natural"), default="random")
    ap.add_argument("--nodes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--kernels", nargs="+", choices=KERNELS, default=list(KERNELS))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--epochs", nargs="*", default=[],
                    help="JSON lines of benchmarks/csr_epoch.py to print the epoch's ratios "
                         "beside (same graph and order)")
    ap.add_argument("--out", help="append the rows here as JSON lines")
    a = ap.parse_args()
    torch.set_num_threads(1)
    if a.part == "cache":
        rows = cache_probe(a.rounds)
    elif a.part == "stream":
        rows = stream_probe(a.nodes, a.rounds)
    else:
        rows = floor_run(a.graph, a.order, a.nodes, a.rounds, a.kernels)
        epochs = {}
        for f in a.epochs:
            for line in Path(f).read_text().splitlines():
                e = json.loads(line)
                if e.get("graph", "sbm") == a.graph and e["order"] == a.order:
                    epochs.setdefault(e["n"], e["ns_edge"])
        print_rows(rows, epochs, 100_000)
    print(f"# peak {_peak():.2f} GiB", flush=True)
    if a.out:
        with open(a.out, "a") as fh:
            for r in rows:
                fh.write(json.dumps({"part": a.part, **r, "peak_gib": _peak()}) + "\n")


if __name__ == "__main__":
    main()
