"""``auto_memory``'s estimate against the peak of an epoch's live tensors (issue 40 item 4;
docs/guide/performance.md "auto_memory's estimate against an epoch's peak"): a small epoch
(linear encoder from 8 features -> ODEBlock -> linear decoder to 3 classes -> cross-entropy ->
backward) of heat and GRAND-l on a stochastic block model (3 blocks, mean degree 10), float32,
step 0.25 to T = 1, with ``auto_memory`` given a budget that makes it choose direct
backpropagation (100 GiB) or checkpointing (half-way between the two estimates); the peak of
live tensor bytes after the estimate from ``torch.profiler``'s memory timeline
(``integrate.memory.peak_after_plan``), in states of N x d x 4 bytes, beside the estimate.

    nice -n 10 python benchmarks/memory_peak.py --nodes 3000 --channels 16
    nice -n 10 python benchmarks/memory_peak.py --nodes 20000 --channels 64
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pde2gnn import compiler  # noqa: E402
from pde2gnn.graph import construction  # noqa: E402
from pde2gnn.integrate import memory as M  # noqa: E402
from pde2gnn.integrate.solve import ODEBlock, SolverConfig  # noqa: E402


def one(spec: str, method: str, n: int, d: int, choice: str) -> str:
    ei, block = construction.stochastic_block_model(n, 3, 10, seed=0)
    vf = compiler.compile(spec, ei, n, {"d": d})
    enc, dec = torch.nn.Linear(8, d), torch.nn.Linear(d, 3)
    x = torch.randn(n, 8, generator=torch.Generator().manual_seed(0))
    ode = ODEBlock(vf, 1.0, SolverConfig(method, step_size=0.25, auto_memory=True,
                                         memory_limit=100.0))

    def run():
        torch.nn.functional.cross_entropy(dec(ode(enc(x))), block).backward()
    if choice == "checkpoint":
        run()
        e = ode.memory_estimate
        if e.checkpoint is None or e.checkpoint >= e.direct:
            return f"{spec:6} {method:9} {choice:10} (checkpointing is not smaller here)"
        ode.config = SolverConfig(method, step_size=0.25, auto_memory=True,
                                  memory_limit=(e.direct + e.checkpoint) / 2 / 2 ** 30)
    peak = M.peak_after_plan(run)
    e = ode.memory_estimate
    s = e.state
    est = e.direct if e.choice == "direct" else e.checkpoint
    saved = est - (e.work if e.choice == "direct" else
                   M.working_set(e.stages, s, e.shared, checkpoint=True))
    return (f"{spec:6} {method:9} {e.choice:10} peak {peak / s:6.2f} states  saved "
            f"{saved / s:6.2f}  estimate {est / s:6.2f}  (shared {e.shared / s:.2f})  "
            f"peak - saved {(peak - saved) / s:5.2f}  estimate / peak {est / peak:.3f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nodes", type=int, default=3000)
    ap.add_argument("--channels", type=int, default=16)
    a = ap.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    for spec in ("heat", "grand"):
        for method in ("euler", "midpoint", "rk4"):
            for choice in ("direct", "checkpoint"):
                print(one(spec, method, a.nodes, a.channels, choice), flush=True)


if __name__ == "__main__":
    main()
