"""Where a training epoch's time goes: the whole epoch against the same epoch without the
solve (encoder, per-solve attention, decoder, loss, optimiser), and the CSR product's
backward by gather-multiply-sum against SDDMM (``torch.sparse.sampled_addmm``), in one run.

    python benchmarks/epoch_breakdown.py [--spec grand] [--dataset Cora] [--threads 1]
"""
from __future__ import annotations

import time

import torch

from pde2gnn.train.config import load_defaults, make_config
from pde2gnn.data.datasets import load_dataset
from pde2gnn.resources import resolve_spec
from pde2gnn.models.continuous_gnn import ContinuousGNN, as_model_input

from common import graph_with_self_loops, parser, timeit  # benchmarks/common.py


def main():
    ap = parser(repeats=20)
    ap.add_argument("--spec", default="grand")
    ap.add_argument("--dataset", default="Cora")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    data = load_dataset(args.dataset, args.data_root)
    cfg = make_config(load_defaults(resolve_spec(args.spec), args.dataset))
    torch.manual_seed(0)
    model = ContinuousGNN(args.spec, data, int(data.y.max()) + 1, cfg)
    x, y, m = as_model_input(data.x), data.y, data.train_mask
    opt = torch.optim.Adamax(model.parameters(), lr=cfg.lr)
    model.train()

    def epoch():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x)[m], y[m]).backward()
        opt.step()

    def without_solve():        # the same epoch with x(T) replaced by x(0)
        opt.zero_grad()
        z = model.encode(x)
        model.field.prepare(z)
        keep = sum(v.sum() for v in model.field._solve_cache.values() if torch.is_tensor(v))
        out = model.decode(z + 0 * keep)
        torch.nn.functional.cross_entropy(out[m], y[m]).backward()
        opt.step()

    full = timeit(epoch, args.repeats, "cpu")
    rest = timeit(without_solve, args.repeats, "cpu")
    print(f"{args.spec} on {args.dataset}: epoch {1e3 * full:.1f} ms at "
          f"{model.ode.nfe_forward} NFE; without the solve {1e3 * rest:.1f} ms; solve "
          f"{1e3 * (full - rest):.1f} ms = {1e3 * (full - rest) / model.ode.nfe_forward:.2f} "
          "ms per evaluation (forward + backward)")

    _, ei = graph_with_self_loops(args.dataset, args.data_root)
    from pde2gnn.compiler.backend.graph_ops import GraphOps
    g = GraphOps(ei, data.num_nodes)
    v = torch.rand(g.num_edges)
    G, X = torch.randn(data.num_nodes, cfg.hidden), torch.randn(data.num_nodes, cfg.hidden)
    A = torch.sparse_csr_tensor(g.crow, g.col, v, (data.num_nodes,) * 2)
    gather = timeit(lambda: (G.index_select(0, g.i) * X.index_select(0, g.j)).sum(-1),
                    args.repeats, "cpu")
    sddmm = timeit(lambda: torch.sparse.sampled_addmm(A, G, X.t(), beta=0.0).values(),
                   args.repeats, "cpu")
    print(f"d/d(edge values) of A @ x, E = {g.num_edges}, c = {cfg.hidden}: gather-multiply-sum "
          f"{1e3 * gather:.2f} ms, SDDMM {1e3 * sddmm:.2f} ms (ratio {gather / sddmm:.1f})")


if __name__ == "__main__":
    main()
