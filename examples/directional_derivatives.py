"""Directional derivatives on scattered points (PA-DGN, Seo, Meng & Liu, ICLR 2020, sec. 3.1).

On 200 uniformly random points in [0, 2pi]^2 with a symmetric 4-NN graph, estimate for every edge
(i, j) the directional derivative of f at node i along the edge,
    d_ij = grad f(p_i) . (p_j - p_i) / |p_j - p_i|,
for f1 = 0.1 x^2 + 0.5 y^2 and f2 = sin(x) + cos(y). Methods, all compiled from specs by pde2gnn
(each returns the per-edge estimate as the probed edge value ``gradf``; specs in :data:`SPECS`):

- FinGrad: (f_j - f_i) / |p_j - p_i| (no learning; ``dgrad`` under a domain);
- MLP: a per-edge MLP on [f_i, f_j, p_j - p_i];
- GN: the edge graph network's output itself (2 GN blocks, hidden 64, node inputs [f, p], edge
  features [p_j - p_i, 1/|p_j - p_i|]);
- One-w: w1_ij (f_j - f_i), w1 = (1 + c_ij) / |p_j - p_i|, c from the same graph network;
- SDL: w1_ij (f_j - w2_ij f_i) (PA-DGN eq. 3, the operator of ``library/padgn.pde``'s gradf),
  with w1 = (1 + c1_ij) / |p_j - p_i| and w2 = 1 + c2_ij, c from the same graph network.

SDL and One-w are parametrised as corrections of the finite difference: the GN's last layer
starts at zero, so at initialisation they equal FinGrad and training only learns the
correction (per unit length, like the target). Without this (w = GN output directly, no 1/|p|),
SDL on f1 was unstable: an error in w2 is multiplied by f_i.

Protocol: per seed and function, the learned methods are trained (full-batch Adam, lr with
cosine decay, MSE against d_ij, f standardised by its mean and standard deviation over the
domain, d_ij scaled alike) on ``--train-sets`` independent random point sets of the function
batched as one disconnected graph; every ``--eval-every`` steps the MSE on ``--val-sets`` other
point sets is measured and the parameters with the lowest validation MSE are kept; the result
is the MSE on ``--test-sets`` further point sets (held out, used once). MSE is reported in units
of 1e-2 like the paper (FinGrad 6.42 / 5.90, SDL 0.97 / 1.26). Results in experiments/padgn/runs/:

    PYTHONPATH=. python examples/directional_derivatives.py --seeds 3 --train-sets 8 \
        --test-sets 8 --val-sets 2 --steps 1000 --methods FinGrad,SDL,One-w,GN,MLP \
        --out experiments/padgn/runs/directional.json
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time

import numpy as np
import torch

from pde2gnn.compiler import pipeline as compiler
from pde2gnn.graph.construction import knn_graph

FUNCTIONS = {
    "f1": (lambda x, y: 0.1 * x ** 2 + 0.5 * y ** 2, lambda x, y: (0.2 * x, 1.0 * y)),
    "f2": (lambda x, y: np.sin(x) + np.cos(y), lambda x, y: (np.cos(x), -np.sin(y))),
}

_HEAD = """input pos : node[2]
field f : node[1]
edge rel = pos_j - pos_i
edge len = norm(rel)
"""
#: the GN-based methods' edge features: p_j - p_i and 1/|p_j - p_i| (the length scaling of a
#: directional derivative, which a ReLU network cannot form from p_j - p_i on its own)
_GN = "net coef : edge_gn(in=3, edge_in=3, out={out}, hidden=64, blocks=2)\n" \
      "edge c = coef(cat(f, pos), cat(rel, 1 / len))\n"
#: method -> spec. SDL and One-w are written as corrections of the finite difference: their
#: coefficients are 1 + c with c the GN's output (last layer zero at initialisation, see
#: :func:`build`), so at initialisation they *are* FinGrad and training learns the correction.
SPECS = {
    "FinGrad": """model fingrad
domain pos : [0, 2*pi] x [0, 2*pi]
field f : node[1]
edge gradf = dgrad(f)
next(f) = f
""",
    "MLP": "model edge_mlp\n" + _HEAD + """net m : mlp(in=4, out=1, hidden=64)
edge gradf = m(cat(f_i, f_j, rel))
next(f) = f
""",
    "GN": "model gn\n" + _HEAD + _GN.format(out=1) + """edge gradf = c
next(f) = f
""",
    "One-w": "model one_w\n" + _HEAD + _GN.format(out=1) + """edge gradf = (1 + c) / len * (f_j - f_i)
next(f) = f
""",
    # PA-DGN eq. 3, w1_ij (f_j - w2_ij f_i), with w1 = (1 + c[0]) / |p_j - p_i|, w2 = 1 + c[1]:
    # the operator of library/padgn.pde (gradf there), reparametrised around FinGrad
    "SDL": "model sdl\n" + _HEAD + _GN.format(out=2) + """edge w1 = (1 + c[0]) / len
edge w2 = 1 + c[1]
edge gradf = w1 * (f_j - w2 * f_i)
next(f) = f
""",
}
#: methods whose GN's last layer starts at zero (coefficients exactly 1: FinGrad)
RESIDUAL = ("One-w", "SDL")


def _moments(fname: str):
    """Mean and standard deviation of f over [0, 2pi]^2 (a fixed 400 x 400 grid)."""
    x, y = np.meshgrid(*(np.linspace(0, 2 * math.pi, 400),) * 2)
    v = FUNCTIONS[fname][0](x, y)
    return float(v.mean()), float(v.std())


SCALE = {fn: _moments(fn) for fn in FUNCTIONS}


def point_sets(rng, count: int, n: int, k: int):
    """``count`` random point sets as one disconnected graph: (pos [count*n, 2], edge_index)."""
    pos, edges = [], []
    for s in range(count):
        p = rng.uniform(0.0, 2 * math.pi, size=(n, 2))
        edges.append(knn_graph(p, k) + s * n)
        pos.append(p)
    return np.concatenate(pos), torch.cat(edges, dim=1)


def build(method: str, pos: np.ndarray, edge_index, seed: int):
    torch.manual_seed(seed)
    st = compiler.compile_stepper(SPECS[method], edge_index, len(pos),
                                  inputs={"pos": torch.tensor(pos, dtype=torch.float32)},
                                  probes=("gradf",))
    if method in RESIDUAL:   # zero last layer: the coefficients start at exactly 1 (FinGrad)
        last = st.update.nets.coef.edge_mlps[-1][-1]
        with torch.no_grad():
            last.weight.zero_()
            last.bias.zero_()
    return st


def targets(st, pos: np.ndarray, fname: str):
    """f at the nodes [1, N, 1] and the exact directional derivative per edge [1, E, 1], both
    divided by the scale of f (:data:`SCALE`: standard deviation of f over the domain) so the
    networks see inputs of order 1; errors are reported back in the units of f."""
    f, grad = FUNCTIONS[fname]
    G = st.update.graph
    i, j = G.i.numpy(), G.j.numpy()
    gx, gy = grad(pos[:, 0], pos[:, 1])
    d = pos[j] - pos[i]
    d = d / np.linalg.norm(d, axis=1, keepdims=True)
    target = gx[i] * d[:, 0] + gy[i] * d[:, 1]
    fv = f(pos[:, 0], pos[:, 1])
    mean, scale = SCALE[fname]
    return (torch.tensor((fv - mean) / scale, dtype=torch.float32).reshape(1, -1, 1),
            torch.tensor(target / scale, dtype=torch.float32).reshape(1, -1, 1))


def estimate(st, f):
    st(f)
    return st.update.probed["gradf"]


def _mse(st, f, target) -> float:
    with torch.no_grad():
        return float((estimate(st, f) - target).square().mean())


def _copy_params(dst, src) -> None:
    """The trained parameters into another graph's stepper (not the buffers: they hold the
    points and the graph)."""
    with torch.no_grad():
        for p, q in zip(dst.parameters(), src.parameters()):
            p.copy_(q)


def run(method: str, fname: str, seed: int, args) -> float:
    """Test MSE (units of f squared) of ``method`` on ``fname``. Learned methods: Adam with cosine
    decay on the training point sets; every ``--eval-every`` steps the MSE on the validation
    point sets is measured and the parameters with the lowest one are kept (model selection on
    the validation sets only; the test sets are touched once, at the end)."""
    rng = np.random.default_rng(1000 * seed + (0 if fname == "f1" else 1))
    train_pos, train_ei = point_sets(rng, args.train_sets, args.points, args.k)
    test_pos, test_ei = point_sets(rng, args.test_sets, args.points, args.k)
    val_pos, val_ei = point_sets(rng, args.val_sets, args.points, args.k)
    st = build(method, train_pos, train_ei, seed)
    params = list(st.parameters())
    run.train_loss = run.val_loss = run.best_step = None
    if params:
        f, target = targets(st, train_pos, fname)
        val = build(method, val_pos, val_ei, seed)
        vf, vtarget = targets(val, val_pos, fname)
        opt = torch.optim.Adam(params, lr=args.lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.steps)
        best = (math.inf, 0, [q.detach().clone() for q in params])
        for step in range(1, args.steps + 1):
            opt.zero_grad()
            loss = (estimate(st, f) - target).square().mean()
            loss.backward()
            opt.step()
            sched.step()
            if step % args.eval_every == 0 or step == args.steps:
                _copy_params(val, st)
                v = _mse(val, vf, vtarget)
                if v < best[0]:
                    best = (v, step, [q.detach().clone() for q in params])
        run.train_loss = _mse(st, f, target) * SCALE[fname][1] ** 2   # final parameters
        run.val_loss, run.best_step = best[0] * SCALE[fname][1] ** 2, best[1]
        with torch.no_grad():
            for q, b in zip(params, best[2]):
                q.copy_(b)
    test = build(method, test_pos, test_ei, seed)
    _copy_params(test, st)
    f, target = targets(test, test_pos, fname)
    return _mse(test, f, target) * SCALE[fname][1] ** 2


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--points", type=int, default=200)
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--train-sets", type=int, default=8)
    ap.add_argument("--test-sets", type=int, default=8)
    ap.add_argument("--val-sets", type=int, default=2)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--eval-every", type=int, default=50)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--methods", default=",".join(SPECS))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None, help="write the results JSON here")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    methods = args.methods.split(",")
    results = {m: {fn: [] for fn in FUNCTIONS} for m in methods}
    t0 = time.time()
    for seed in range(args.seeds):
        for fname in FUNCTIONS:
            for m in methods:
                t1 = time.time()
                mse = run(m, fname, seed, args)
                results[m][fname].append(mse)
                extra = "" if run.train_loss is None else (
                    f" (train {100 * run.train_loss:.3f}, best val {100 * run.val_loss:.3f}"
                    f" at step {run.best_step})")
                print(f"seed {seed} {fname} {m:8s} MSE = {100 * mse:.3f} x1e-2{extra} "
                      f"[{time.time() - t1:.0f} s]", flush=True)
                write(args, argv, results, t0)     # after every run: partial results survive
    print(f"\nMSE (x1e-2), mean +- std over {args.seeds} seeds; test point sets held out")
    print(f"| method | f1 | f2 |\n| --- | --- | --- |")
    for m, row in write(args, argv, results, t0).items():
        print(f"| {m} | " + " | ".join(f"{v['mean_x1e-2']:.2f} +- {v['std_x1e-2']:.2f}"
                                       for v in row.values()) + " |")
    return 0


def write(args, argv, results, t0) -> dict:
    """Summary (mean, std x1e-2 per method and function); the JSON to ``--out`` if given."""
    summary = {m: {fn: {"mean_x1e-2": 100 * float(np.mean(v)) if v else None,
                        "std_x1e-2": 100 * float(np.std(v)) if v else None, "runs": len(v)}
                   for fn, v in r.items()} for m, r in results.items()}
    if args.out:
        from pathlib import Path
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({
            "command": "python " + " ".join(sys.argv if argv is None else
                                            ["examples/directional_derivatives.py", *argv]),
            "config": vars(args), "mse": results, "summary_x1e-2": summary,
            "paper_x1e-2": {"FinGrad": [6.42, 5.90], "SDL": [0.97, 1.26]},
            "seconds": time.time() - t0}, indent=2))
    return summary


if __name__ == "__main__":
    raise SystemExit(main())
