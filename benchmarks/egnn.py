"""Forward + backward time of one compiled EGNN layer (library/egnn.pde) against a plain
hand-written torch EGNN layer (index_add_ message passing, Satorras et al. 2021 eqs. 3-6) with
the same weights, on the same graph, measured in the same run; prints the ratio.

    OMP_NUM_THREADS=1 python benchmarks/egnn.py --threads 1

Two graphs: the N-body setting (batches of 100 systems of 5 particles, complete graph) and a
point cloud (N random points in the unit cube, symmetric kNN, one system).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import parser, timeit  # noqa: E402

from pde2gnn.compiler import compile_stepper  # noqa: E402
from pde2gnn.graphs import knn_graph  # noqa: E402
from pde2gnn.simulate import complete_graph  # noqa: E402


def handwritten_layer(nets, C, edge_index, p, h):
    """EGNN layer by hand: p [B, N, 3], h [B, N, c] -> (p', h'); edge_index row 0 j, row 1 i."""
    j, i = edge_index
    r = p[:, i] - p[:, j]
    m = nets["phi_e"](torch.cat([h[:, i], h[:, j], (r * r).sum(-1, keepdim=True)], -1))
    dp = torch.zeros_like(p).index_add_(1, i, r * nets["phi_x"](m))
    agg = torch.zeros_like(h).index_add_(1, i, m)
    return p + C * dp, nets["phi_h"](torch.cat([h, agg], -1))


def bench(edge_index, n, batch, hidden, repeats, device, C):
    torch.manual_seed(0)
    step = compile_stepper("library/egnn.pde", edge_index, n, {"c": hidden}, {"C": C}).to(device)
    nets = step.update.nets.as_dict()         # the compiled layer's MLPs, shared
    ei = edge_index.to(device)
    p = torch.randn(batch, n, 3, device=device, requires_grad=True)
    h = torch.randn(batch, n, hidden, device=device, requires_grad=True)

    def compiled():
        p2, (h2,) = step(p, (h,))
        (p2.square().sum() + h2.square().sum()).backward()

    def hand():
        p2, h2 = handwritten_layer(nets, C, ei, p, h)
        (p2.square().sum() + h2.square().sum()).backward()

    with torch.no_grad():
        a, (ah,) = step(p, (h,))
        b, bh = handwritten_layer(nets, C, ei, p, h)
    agree = max((a - b).abs().max().item(), (ah - bh).abs().max().item())
    t_c, t_h = timeit(compiled, repeats, device), timeit(hand, repeats, device)
    return {"nodes": n, "edges": int(edge_index.shape[1]), "batch": batch, "hidden": hidden,
            "compiled_ms": 1e3 * t_c, "handwritten_ms": 1e3 * t_h, "ratio": t_c / t_h,
            "max_abs_difference": agree}


def main():
    ap = parser(repeats=50)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--points", type=int, default=2000)
    ap.add_argument("--k", type=int, default=16)
    ap.add_argument("--out", help="JSON of the figures")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    import numpy as np
    rng = np.random.default_rng(0)
    pos = rng.random((args.points, 3))
    cases = {"nbody (100 x 5 particles, complete)": (complete_graph(5), 5, 100, 0.25),
             f"point cloud ({args.points} points, {args.k}-NN)":
                 (knn_graph(pos, args.k), args.points, 1, 1.0 / args.k)}
    out = {"command": " ".join(sys.argv), "device": args.device, "threads": args.threads,
           "torch": torch.__version__, "cases": {}}
    for name, (ei, n, batch, C) in cases.items():
        r = bench(ei, n, batch, args.hidden, args.repeats, args.device, C)
        out["cases"][name] = r
        print(f"{name}: compiled {r['compiled_ms']:.2f} ms, hand-written {r['handwritten_ms']:.2f}"
              f" ms per forward + backward, ratio {r['ratio']:.2f} (outputs agree to "
              f"{r['max_abs_difference']:.1e})")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
