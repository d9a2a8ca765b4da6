"""What a GRAND-l training epoch keeps for its backward pass, per node (issue 40,
docs/guide/large-graphs.md "Memory per node"): every tensor autograd saves during the forward
pass (``torch.autograd.graph.saved_tensors_hooks``), counted once per storage, grouped by shape
(``[N, c]`` node states, ``[nnz]`` edge arrays, the rest), in bytes per node; beside the peak
resident memory of the epoch. Same model as ``benchmarks/csr_epoch.py`` (64 channels, rk4 with
4 steps, float32, one thread, ``auto_memory``); one JSON line.

    nice -n 10 python benchmarks/memory_account.py --nodes 100000
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
from collections import defaultdict
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nodes", type=int, default=100_000)
    ap.add_argument("--memory", default="auto",
                    help="auto (auto_memory), direct, checkpoint or adjoint")
    a = ap.parse_args()
    torch.set_num_threads(1)
    from benchmarks.scale import _graph, compile_spec
    from pde2gnn.integrate.solve import ODEBlock, SolverConfig
    n = a.nodes
    torch.manual_seed(0)
    ei, x, block, _, _ = _graph(n, "random")
    nnz = int(ei.shape[1]) + n
    field = compile_spec("grand", ei, n, {"d": 64})
    del ei
    kw = {"auto": {"auto_memory": True}, "direct": {}, "checkpoint": {"checkpoint": True},
          "adjoint": {"adjoint": True}}[a.memory]
    ode = ODEBlock(field, 1.0, SolverConfig("rk4", step_size=0.25, **kw))
    enc, dec = torch.nn.Linear(32, 64), torch.nn.Linear(64, 10)
    seen, groups = set(), defaultdict(lambda: [0, 0])

    def pack(t):
        s = t.untyped_storage()
        key = (s.data_ptr(), s.nbytes())
        if key not in seen and s.nbytes() > 0:
            seen.add(key)
            shape = tuple(t.shape)
            kind = ("[N, c] node state" if len(shape) >= 2 and shape[-2] == n else
                    "[nnz] edge array" if shape and shape[-1] in (nnz, nnz - n) else
                    "[N] node array" if shape == (n,) else "other")
            groups[f"{kind} {t.dtype}"][0] += 1
            groups[f"{kind} {t.dtype}"][1] += s.nbytes()
        return t

    train = torch.rand(n, generator=torch.Generator().manual_seed(1)) < 0.5
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = dec(ode(enc(x)))
        loss = torch.nn.functional.cross_entropy(out[train], block[train])
    loss.backward()
    total = sum(b for _, b in groups.values())
    est = ode.memory_estimate
    estimate = None if est is None else {
        k: getattr(est, k) / n for k in ("state", "shared", "per_eval", "direct", "checkpoint",
                                         "adjoint") if getattr(est, k) is not None}
    print(json.dumps({"n": n, "nnz": nnz, "memory": getattr(ode.memory_estimate, "choice", a.memory),
                      "saved_bytes_per_node": total / n,
                      "groups": {k: {"tensors": c, "bytes_per_node": b / n}
                                 for k, (c, b) in sorted(groups.items(), key=lambda i: -i[1][1])},
                      "estimate_bytes_per_node": estimate,
                      "peak_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20}))


if __name__ == "__main__":
    main()
