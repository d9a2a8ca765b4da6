"""Compiled non-linear GRAFF fields vs hand-written torch.sparse versions, in one process.

``graff_nl`` (relu(-X Omega + Abar X W + beta X(0))) and ``graff_dd_bn`` (standardize_i(Abar X W))
wrap a linear flow in a non-linear function; the compiler fuses the linear argument into one
sparse product (a ``_lin`` temporary, pass ``fuse_inside`` in pde2gnn/compiler/passes/).
Prints, per model, the time of one evaluation and of one evaluation with its backward pass, for
the compiled field and for a hand-written torch.sparse CSR field with the same weights, and the
ratio compiled / hand-written.

    python benchmarks/graff_nonlinear.py [--dataset squirrel] [--hidden 128] [--device cpu]
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from pde2gnn.compiler import pipeline as compiler

from common import graph_with_self_loops, parser, timeit  # benchmarks/common.py


def abar_csr(ei, n, device):
    """D^-1/2 A D^-1/2 as a torch sparse CSR matrix (row i = receiving node)."""
    src, dst = ei
    deg = torch.bincount(dst, minlength=n).float()
    w = deg[dst].rsqrt() * deg[src].rsqrt()
    a = torch.sparse_coo_tensor(torch.stack([dst, src]), w, (n, n)).coalesce()
    return a.to_sparse_csr().to(device)


def main():
    ap = parser(repeats=20)
    ap.add_argument("--dataset", default="squirrel")
    ap.add_argument("--hidden", type=int, default=128)
    args = ap.parse_args()
    dev = args.device
    data, ei = graph_with_self_loops(args.dataset, args.data_root)
    n, d = data.num_nodes, args.hidden
    torch.manual_seed(0)
    A = abar_csr(ei, n, dev)
    x0 = torch.randn(n, d, device=dev)
    t = torch.tensor(0.0, device=dev)
    print(f"{args.dataset}: N={n} E={ei.shape[1]} d={d} device={dev}")
    for name in ("graff_nl", "graff_dd_bn"):
        field = compiler.compile(name, ei, n, dims={"d": d}).to(dev)
        L = {k: v.detach() for k, v in field.learned().items()}
        sym = lambda m: 0.5 * (m + m.T)  # noqa: E731  (graff_nl's W is `sym`)
        if name == "graff_nl":
            def hand(x, L=L):
                return torch.relu(-x @ sym(L["Omega"]) + (A @ x) @ sym(L["W"]) + L["beta"] * x0)
        else:
            def hand(x, L=L):
                return F.batch_norm((A @ x) @ L["W"], None, None, training=True, eps=1e-5)
        field.requires_grad_(False)  # gradients w.r.t. x only, in both versions
        field.prepare(x0)
        x = x0.clone().requires_grad_(True)
        err = (field(t, x) - hand(x)).abs().max().item()

        def fwd_bwd(f):
            def run():
                x.grad = None
                f(x).square().sum().backward()
            return run
        compiled = lambda x: field(t, x)  # noqa: E731
        with torch.no_grad():
            e_c = timeit(lambda: compiled(x0), args.repeats, dev)
            e_h = timeit(lambda: hand(x0), args.repeats, dev)
        b_c = timeit(fwd_bwd(compiled), args.repeats, dev)
        b_h = timeit(fwd_bwd(hand), args.repeats, dev)
        print(f"{name}: max |compiled - hand| = {err:.2e}")
        print(f"  one evaluation:        compiled {1e3 * e_c:7.2f} ms   hand-written "
              f"{1e3 * e_h:7.2f} ms   ratio {e_c / e_h:.2f}")
        print(f"  evaluation + backward: compiled {1e3 * b_c:7.2f} ms   hand-written "
              f"{1e3 * b_h:7.2f} ms   ratio {b_c / b_h:.2f}")


if __name__ == "__main__":
    main()
