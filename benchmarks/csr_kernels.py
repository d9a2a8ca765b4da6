"""The CSR product ``A @ x`` four ways, per edge (issue 40, docs/guide/large-graphs.md
"Per-edge cost"): as torch does it (int64 indices: a zero matrix, its copy, MKL), with int32
indices, int32 into a fresh uninitialised output (``addmm(out, A, x, beta=0, out=out)``, what
pde2gnn's product does), into a kept buffer; and a fresh ``[N, 64]`` written once. Stochastic
block model (mean degree 10, random order), 64 float32 channels, one thread; CPU ns per edge,
medians of 7 calls, then of 3 interleaved rounds. Set ``THP_MEM_ALLOC_ENABLE=1`` before Python
starts for huge pages; ``--keep-freed``: glibc's ``mallopt(M_MMAP_MAX, 0)`` first. Also checks
that beta = 0 ignores a NaN-filled output.

    nice -n 10 python benchmarks/csr_kernels.py --nodes 100000
    THP_MEM_ALLOC_ENABLE=1 nice -n 10 python benchmarks/csr_kernels.py --nodes 1000000
"""
from __future__ import annotations

import argparse
import ctypes
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pde2gnn.compiler.backend.csr import csr_structure  # noqa: E402
from pde2gnn.graph import construction as graphs  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nodes", type=int, default=100_000)
    ap.add_argument("--keep-freed", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(1)
    if a.keep_freed:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-4, 0)
        libc.mallopt(-1, 2 ** 31 - 1)
    n = a.nodes
    ei, _ = graphs.stochastic_block_model(n, 10, 10, seed=0)
    src, dst = ei
    order = torch.argsort(dst * n + src)
    i, j = dst[order], src[order]
    s = csr_structure(i, j, n)
    v, x = torch.rand(i.numel()), torch.randn(n, 64)
    a64 = torch.sparse_csr_tensor(s["crow"], s["col"], v, (n, n), check_invariants=False)
    a32 = torch.sparse_csr_tensor(s["crow"].int(), s["col"].int(), v, (n, n),
                                  check_invariants=False)
    buf = torch.full((n, 64), float("nan"))
    torch.addmm(buf, a32, x, beta=0.0, out=buf)
    print(f"beta = 0 on a NaN output: finite {bool(torch.isfinite(buf).all())}, "
          f"max |difference| to A @ x {float((buf - a64 @ x).abs().max()):.1e}")

    def fresh():
        o = torch.empty(n, 64)
        return torch.addmm(o, a32, x, beta=0.0, out=o)
    kernels = {"A @ x (torch)": lambda: a64 @ x, "int32 A @ x": lambda: a32 @ x,
               "int32 addmm, fresh out": fresh,
               "int32 addmm, kept out": lambda: torch.addmm(buf, a32, x, beta=0.0, out=buf),
               "fresh [N, 64] written": lambda: torch.empty(n, 64).fill_(1.0)}

    def cpu(f):
        f()
        ts = []
        for _ in range(7):
            t0 = time.process_time()
            f()
            ts.append(time.process_time() - t0)
        return float(np.median(ts)) * 1e9 / i.numel()
    res = {k: [] for k in kernels}
    for _ in range(3):
        for k, f in kernels.items():
            res[k].append(cpu(f))
    print(f"{n} nodes, {i.numel()} edges; CPU ns per edge")
    for k in kernels:
        print(f"{k:<26}{np.median(res[k]):8.1f}")


if __name__ == "__main__":
    main()
