"""The kernels of a GRAND-l epoch on large graphs (issue 40), per edge, with and without
transparent huge pages: the CSR product ``A @ x`` (int64 and int32 indices), the sampled
dense-dense product ``(x x^T)`` on A's pattern (SDDMM: the values' gradient and ``dot_ij``) and
one fresh ``[N, 64]`` state written once, on the stochastic block model of benchmarks/scale.py
(mean degree 10, random order), 64 float32 channels, one thread. Each (size, THP setting) runs
in its own process (torch reads ``THP_MEM_ALLOC_ENABLE`` at its first allocation), the settings
interleaved and repeated; medians of 5 calls per process (CPU seconds: a shared machine's load
distorts them less than wall time), medians over the repeats.

    nice -n 10 python benchmarks/scale_kernels.py --nodes 100000 1000000 --repeats 2
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def one(n: int) -> dict:
    import torch
    sys.path.insert(0, str(ROOT))
    from pde2gnn.graph import construction as graphs
    from pde2gnn.compiler.backend.csr import csr_structure
    torch.set_num_threads(1)
    ei, _ = graphs.stochastic_block_model(n, 10, 10, seed=0)
    src, dst = ei
    order = torch.argsort(dst * n + src)
    i, j = dst[order], src[order]
    s = csr_structure(i, j, n)
    v = torch.rand(i.numel())
    x = torch.randn(n, 64)
    a = torch.sparse_csr_tensor(s["crow"], s["col"], v, (n, n), check_invariants=False)
    a32 = torch.sparse_csr_tensor(s["crow"].int(), s["col"].int(), v, (n, n),
                                  check_invariants=False)

    def cpu(f):
        f()
        ts = []
        for _ in range(5):
            t0 = time.process_time()
            f()
            ts.append(time.process_time() - t0)
        return float(np.median(ts)) * 1e9 / i.numel()
    return {"nodes": n, "edges": int(i.numel()), "spmm": cpu(lambda: a @ x),
            "spmm_int32": cpu(lambda: a32 @ x),
            "sddmm": cpu(lambda: torch.sparse.sampled_addmm(a, x, x.t(), beta=0.0)),
            "new_state": cpu(lambda: torch.empty(n, 64).fill_(1.0))}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nodes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        print(json.dumps(one(a.one)))
        return
    rows = []
    for _ in range(a.repeats):
        for n in a.nodes:
            for thp in ("off", "on"):
                env = {**os.environ, "THP_MEM_ALLOC_ENABLE": "1" if thp == "on" else "0",
                       "OMP_NUM_THREADS": "1"}
                p = subprocess.run([sys.executable, __file__, "--one", str(n)], env=env,
                                   capture_output=True, text=True, check=True)
                r = json.loads(p.stdout.strip().splitlines()[-1])
                r["thp"] = thp
                rows.append(r)
                print(json.dumps(r), flush=True)
    kernels = ("spmm", "spmm_int32", "sddmm", "new_state")
    print("CPU ns per edge, medians over repeats; 'off/on': the huge pages' speed-up")
    print(f"{'nodes':>9}{'thp':>5}" + "".join(f"{k:>12}" for k in kernels))
    med = {}
    for n in a.nodes:
        for thp in ("off", "on"):
            rs = [r for r in rows if r["nodes"] == n and r["thp"] == thp]
            med[n, thp] = {k: float(np.median([r[k] for r in rs])) for k in kernels}
            print(f"{n:>9}{thp:>5}" + "".join(f"{med[n, thp][k]:>12.1f}" for k in kernels))
        print(f"{n:>9}{'off/on':>5}" + "".join(
            f"{med[n, 'off'][k] / med[n, 'on'][k]:>12.2f}" for k in kernels))


if __name__ == "__main__":
    main()
