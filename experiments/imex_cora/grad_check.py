"""Gradients and costs of one solve on Cora: the IMEX path (ark3, ark4; direct backpropagation
and the discrete adjoint) against the explicit path (dopri5), for the GREAD-style
reaction-diffusion of specs/gread_fisher_lap.pde (issue 35).

    PDE2GNN_DATA=/path/to/data python experiments/imex_cora/grad_check.py [--out FILE]

1. Small diffusion (kappa = 0.01, float64, rtol 1e-10 / atol 1e-12): the gradients of a
   cross-entropy loss on the training nodes with respect to the encoder, alpha and Beta
   through ark3 / ark4 against those through dopri5; relative differences
   ||g_imex - g_dopri5|| / ||g_dopri5|| per parameter (the issue asks for 1e-5).
2. Large diffusion (kappa = 8, float32, the training tolerances rtol 1e-3 / atol 1e-4): per
   solve, evaluations of N (NFE), products with L, linear-solver iterations, and the wall time
   of forward + backward, each method timed three times interleaved (medians; ratios to
   dopri5 in the same run).
3. dLoss/dalpha at kappa = 8 in float64 against central differences of tight solves
   (:func:`alpha_reference`): the explicit path's gradient at the training tolerance is
   dominated by the stiff modes that dopri5 holds at its stability limit.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import torch
from torch_geometric.datasets import Planetoid

from pde2gnn.compiler import pipeline as compiler
from pde2gnn.integrate.solve import ODEBlock, SolverConfig

HERE = Path(__file__).resolve().parent
SPEC = (HERE / "specs" / "gread_fisher_lap.pde").read_text()
HIDDEN = 16


def setup(data, kappa: float, dtype):
    """The field on Cora's graph, a seeded encoder W ``[F, HIDDEN]`` and decoder
    ``[HIDDEN, C]``: H(0) = sigmoid(X W), logits = H(T) V."""
    field = compiler.compile(SPEC, data.edge_index, data.num_nodes, dims={"d": HIDDEN},
                             params={"kappa": kappa}).to(dtype)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in field.parameters():
            p.copy_(0.1 * torch.randn(p.shape, generator=g, dtype=dtype))
    W = (torch.randn(data.num_features, HIDDEN, generator=g, dtype=dtype) * 0.1).requires_grad_()
    V = torch.randn(HIDDEN, int(data.y.max()) + 1, generator=g, dtype=dtype)
    return field, W, V


def loss_and_grads(field, W, V, data, config):
    """The loss, the gradients of (W, alpha, Beta) flattened per parameter, and the counts."""
    field.zero_grad()
    W.grad = None
    block = ODEBlock(field, 1.0, config)
    x = data.x.to(W.dtype)
    t0 = time.perf_counter()
    h = block(torch.sigmoid(x @ W))
    loss = torch.nn.functional.cross_entropy(h[data.train_mask] @ V, data.y[data.train_mask])
    loss.backward()
    wall = time.perf_counter() - t0
    grads = {"W": W.grad.clone()}
    grads.update({n: p.grad.clone() for n, p in field.named_parameters()})
    counts = {"nfe": block.nfe_forward, "nfe_backward": block.nfe_backward,
              "products": block.nfe_linear, "iterations": block.linear_iterations}
    if block.adjoint_report:
        counts["backward"] = block.adjoint_report["backward"]
        counts["checkpoints"] = block.adjoint_report["checkpoints"]
    return float(loss), grads, counts, wall


def relative(a: dict, b: dict) -> dict:
    return {k: float((a[k] - b[k]).norm() / b[k].norm()) for k in b}


def alpha_reference(data) -> dict:
    """dLoss/dalpha at kappa = 8 in float64: central differences (eps = 1e-4) of tight solves
    (ark4 at rtol 1e-9, dopri5 at rtol 1e-7), against the autograd gradients of ark4 (rtol
    1e-9) and of ark3 and dopri5 at the training tolerances (rtol 1e-3, atol 1e-4)."""
    field, W, V = setup(data, 8.0, torch.float64)
    alpha = dict(field.named_parameters())["learnables.alpha.value"]
    tight = {"ark4": SolverConfig("ark4", rtol=1e-9, atol=1e-11, linear_solver="cg",
                                  max_nfe=10 ** 6),
             "dopri5": SolverConfig("dopri5", rtol=1e-7, atol=1e-9, max_nfe=10 ** 6)}
    out = {}

    def J(cfg):
        with torch.no_grad():
            h = ODEBlock(field, 1.0, cfg)(torch.sigmoid(data.x.to(W.dtype) @ W))
            return float(torch.nn.functional.cross_entropy(h[data.train_mask] @ V,
                                                           data.y[data.train_mask]))
    for name, cfg in tight.items():
        eps = 1e-4
        with torch.no_grad():
            alpha += eps
        jp = J(cfg)
        with torch.no_grad():
            alpha -= 2 * eps
        jm = J(cfg)
        with torch.no_grad():
            alpha += eps
        out[f"finite differences, {name} rtol {cfg.rtol:g}"] = (jp - jm) / (2 * eps)
    loose = dict(rtol=1e-3, atol=1e-4, max_nfe=10 ** 6)
    for name, cfg in [("ark4 rtol 1e-09", tight["ark4"]),
                      ("ark3 rtol 0.001", SolverConfig("ark3", linear_solver="cg", **loose)),
                      ("dopri5 rtol 0.001", SolverConfig("dopri5", **loose))]:
        _, g, counts, _ = loss_and_grads(field, W, V, data, cfg)
        out[f"autograd, {name} ({counts['nfe']} NFE)"] = float(
            g["learnables.alpha.value"].reshape(-1)[0])
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(HERE / "runs" / "grad_check.json"))
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    root = os.path.join(os.environ.get("PDE2GNN_DATA", "data"), "Planetoid")
    data = Planetoid(root, "Cora")[0]
    out = {"small": {}, "large": {}}

    # 1. small diffusion: gradients against dopri5
    field, W, V = setup(data, 0.01, torch.float64)
    tight = dict(rtol=1e-10, atol=1e-12, max_nfe=10 ** 6, linear_solver="cg")
    _, ref, ref_counts = loss_and_grads(field, W, V, data, SolverConfig("dopri5", **tight))[:3]
    out["small"]["dopri5"] = {"counts": ref_counts}
    for method in ("ark3", "ark4"):
        for adjoint in (False, True):
            _, g, counts, _ = loss_and_grads(field, W, V, data,
                                             SolverConfig(method, adjoint=adjoint, **tight))
            key = method + (" adjoint" if adjoint else "")
            out["small"][key] = {"relative_difference": relative(g, ref), "counts": counts}
            print("kappa 0.01", key, out["small"][key], flush=True)

    # 2. large diffusion: costs per solve, interleaved repeats
    field, W, V = setup(data, 8.0, torch.float32)
    loose = dict(rtol=1e-3, atol=1e-4, max_nfe=10 ** 5, linear_solver="cg")
    variants = {"dopri5": SolverConfig("dopri5", **loose),
                "ark3": SolverConfig("ark3", **loose), "ark4": SolverConfig("ark4", **loose),
                "ark3 adjoint": SolverConfig("ark3", adjoint=True, **loose)}
    walls = {k: [] for k in variants}
    grads = {}
    for _ in range(args.repeats):
        for k, cfg in variants.items():
            _, g, counts, wall = loss_and_grads(field, W, V, data, cfg)
            walls[k].append(wall)
            grads[k] = g
            out["large"][k] = {"counts": counts,
                               "gradient_norms": {n: float(v.norm()) for n, v in g.items()}}
    for k in variants:
        med = statistics.median(walls[k])
        out["large"][k].update(wall_s=med, wall_ratio_to_dopri5=med / statistics.median(
            walls["dopri5"]), relative_difference_to_dopri5=relative(grads[k], grads["dopri5"]))
        print("kappa 8", k, out["large"][k], flush=True)
    out["alpha_reference"] = alpha_reference(data)
    print("kappa 8 dLoss/dalpha", out["alpha_reference"], flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
