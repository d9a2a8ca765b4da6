"""Forward + backward time of one compiled EGNN layer (library/egnn.pde) against a plain
hand-written torch EGNN layer (index_add_ message passing, Satorras et al. 2021 eqs. 3-6) with
the same weights, on the same graph, measured in the same run; prints the ratio.

    OMP_NUM_THREADS=1 python benchmarks/egnn.py --threads 1

Two graphs: the N-body setting (batches of 100 systems of 5 particles, complete graph) and a
point cloud (N random points in the unit cube, symmetric kNN, one system). Then what the user
waits for: one training epoch of the N-body task (``tasks/nbody.py``: 4 compiled
``library/egnn_vel.pde`` layers, 3000 systems in batches of 100, Adam) against the same model
with hand-written layers (same weights, same batches).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import parser, timeit  # noqa: E402

from pde2gnn.compiler.pipeline import compile_stepper  # noqa: E402
from pde2gnn.graph.construction import knn_graph  # noqa: E402
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
    rounds = [(timeit(compiled, repeats, device), timeit(hand, repeats, device))
              for _ in range(3)]                      # interleaved, the fastest round of each
    t_c, t_h = min(r[0] for r in rounds), min(r[1] for r in rounds)
    return {"nodes": n, "edges": int(edge_index.shape[1]), "batch": batch, "hidden": hidden,
            "compiled_ms": 1e3 * t_c, "handwritten_ms": 1e3 * t_h, "ratio": t_c / t_h,
            "max_abs_difference": agree}


def handwritten_vel_layer(nets, C, edge_index, p, hidden):
    """``library/egnn_vel.pde`` by hand (EGNN eq. 7 with charges): p [B, N, 3] and (v0, q, h)."""
    v0, q, h = hidden
    j, i = edge_index
    r = p[:, i] - p[:, j]
    m = torch.relu(nets["phi_e"](torch.cat([h[:, i], h[:, j], (r * r).sum(-1, keepdim=True),
                                            q[:, i] * q[:, j]], -1)))
    dp = torch.zeros_like(p).index_add_(1, i, r * nets["phi_x"](m))
    agg = torch.zeros_like(h).index_add_(1, i, m)
    p = p + nets["phi_v"](h) * v0 + C * dp
    return p, (v0, q, h + nets["phi_h"](torch.cat([h, agg], -1)))


def bench_epoch(systems: int, batch: int, hidden: int, device: str, repeats: int = 3):
    """Seconds per training epoch of the N-body model, compiled layers vs hand-written ones."""
    from pde2gnn.models.egnn import EGNN
    torch.manual_seed(0)
    model = EGNN("library/egnn_vel.pde", 4, hidden, 5).to(device)
    ei = complete_graph(5).to(device)
    C = 1.0 / 4

    def hand_forward(p, v, q):
        hidden_ = (v, q, model.embed(v.norm(dim=-1, keepdim=True)))
        for layer in model.layers:
            p, hidden_ = handwritten_vel_layer(layer.update.nets.as_dict(), C, ei, p, hidden_)
        return p

    g = torch.Generator().manual_seed(0)
    p, v, target = (torch.randn(systems, 5, 3, generator=g).to(device) for _ in range(3))
    q = (torch.randint(0, 2, (systems, 5, 1), generator=g) * 2 - 1).float().to(device)
    with torch.no_grad():
        agree = (model(p[:batch], v[:batch], q[:batch]) -
                 hand_forward(p[:batch], v[:batch], q[:batch])).abs().max().item()
    opt = torch.optim.Adam(model.parameters(), lr=5e-4)

    def epoch(forward):
        for k in range(0, systems, batch):
            opt.zero_grad()
            s = slice(k, k + batch)
            ((forward(p[s], v[s], q[s]) - target[s]) ** 2).mean().backward()
            opt.step()
    times = {"compiled": [], "handwritten": []}
    for _ in range(repeats):                          # interleaved
        times["compiled"].append(timeit(lambda: epoch(model), 1, device))
        times["handwritten"].append(timeit(lambda: epoch(hand_forward), 1, device))
    t_c, t_h = min(times["compiled"]), min(times["handwritten"])
    return {"systems": systems, "batch": batch, "layers": 4, "hidden": hidden,
            "compiled_s_per_epoch": t_c, "handwritten_s_per_epoch": t_h, "ratio": t_c / t_h,
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
    r = bench_epoch(3000, 100, args.hidden, args.device)
    out["nbody_training_epoch"] = r
    print(f"N-body training epoch (3000 systems, batches of 100, 4 layers): compiled "
          f"{r['compiled_s_per_epoch']:.2f} s, hand-written {r['handwritten_s_per_epoch']:.2f} s, "
          f"ratio {r['ratio']:.2f} (outputs agree to {r['max_abs_difference']:.1e})")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
