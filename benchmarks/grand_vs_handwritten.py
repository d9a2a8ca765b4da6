"""Compiled GRAND-l vs a hand-written PyTorch / torch_geometric GRAND-l, measured in one process.

Prints, for one evaluation of the vector field and for one training epoch (forward + backward
through dopri5), the time of each implementation and the ratio compiled / hand-written, plus
the memory-bandwidth bound of one evaluation (bytes it must move / measured copy bandwidth).

    python benchmarks/grand_vs_handwritten.py [--dataset Cora] [--device cpu] [--repeats 50]
"""
from __future__ import annotations

import torch
from torch import nn
from torch_geometric.utils import softmax
from torchdiffeq import odeint

from pde2gnn.compiler import pipeline as compiler
from pde2gnn.integrate.solve import ODEBlock, SolverConfig

from common import graph_with_self_loops, parser, timeit  # benchmarks/common.py


class HandGrand(nn.Module):
    """GRAND-l as one would write it by hand: attention once per solve, message passing per step."""

    def __init__(self, edge_index, n, d, k):
        super().__init__()
        self.ei, self.n, self.k = edge_index, n, k
        self.W_K = nn.Parameter(torch.randn(d, k) / d ** 0.5)
        self.W_Q = nn.Parameter(torch.randn(d, k) / d ** 0.5)
        self.alpha = nn.Parameter(torch.zeros(()))
        self.beta = nn.Parameter(torch.zeros(()))

    def prepare(self, x0):
        src, dst = self.ei
        s = ((x0 @ self.W_K)[dst] * (x0 @ self.W_Q)[src]).sum(-1) / self.k ** 0.5
        a = softmax(s, dst, num_nodes=self.n)
        self.adj = torch.sparse_coo_tensor(torch.stack([dst, src]), a, (self.n, self.n)).coalesce()
        self.x0 = x0

    def forward(self, t, x):
        return torch.sigmoid(self.alpha) * (torch.sparse.mm(self.adj, x) - x) + self.beta * self.x0


def main():
    ap = parser(repeats=50)
    ap.add_argument("--dataset", default="Cora")
    ap.add_argument("--hidden", type=int, default=80)
    ap.add_argument("--k", type=int, default=64)
    args = ap.parse_args()
    dev = args.device
    data, ei = graph_with_self_loops(args.dataset, args.data_root)
    n, d = data.num_nodes, args.hidden
    torch.manual_seed(0)
    field = compiler.compile("grand", ei, n, dims={"d": d, "k": args.k}).to(dev)
    hand = HandGrand(ei.to(dev), n, d, args.k).to(dev)
    with torch.no_grad():
        hand.W_K.copy_(field.learned()["W_K"])
        hand.W_Q.copy_(field.learned()["W_Q"])
    x0 = torch.randn(n, d, device=dev)
    field.prepare(x0)
    hand.prepare(x0)
    t = torch.tensor(0.0, device=dev)
    err = (field(t, x0) - hand(t, x0)).abs().max().item()
    with torch.no_grad():
        t_c = timeit(lambda: field(t, x0), args.repeats, dev)
        t_h = timeit(lambda: hand(t, x0), args.repeats, dev)
    # bytes one evaluation must move: CSR values + column indices + row pointers, x read, out write
    e = ei.shape[1]
    nbytes = e * (4 + 8) + (n + 1) * 8 + 2 * n * d * 4 + n * d * 4
    big = torch.empty(64 * 2 ** 20 // 4, device=dev)
    t_copy = timeit(lambda: big.clone(), 20, dev)
    bw = 2 * big.numel() * 4 / t_copy
    print(f"{args.dataset}: N={n} E={e} d={d} device={dev}; max |compiled - hand| = {err:.2e}")
    print(f"one evaluation:  compiled {1e3 * t_c:.3f} ms   hand-written {1e3 * t_h:.3f} ms   "
          f"ratio {t_c / t_h:.2f}")
    print(f"bandwidth bound: {nbytes / 1e6:.2f} MB / {bw / 1e9:.1f} GB/s = "
          f"{1e3 * nbytes / bw:.3f} ms  (compiled at {nbytes / bw / t_c:.0%} of the bound)")

    def epoch(block_fn, params):
        opt = torch.optim.Adam(params, lr=1e-3)

        def run():
            opt.zero_grad()
            y = block_fn(x0)
            y.pow(2).mean().backward()
            opt.step()
        return run

    block = ODEBlock(field, 18.3, SolverConfig("dopri5", rtol=1e-3, atol=1e-3))

    def hand_block(x):
        hand.prepare(x)
        return odeint(hand, x, torch.tensor([0.0, 18.3], device=dev), rtol=1e-3, atol=1e-3)[-1]
    reps = max(3, args.repeats // 10)
    e_c = timeit(epoch(block, list(field.parameters())), reps, dev)
    nfe = block.nfe_forward
    e_h = timeit(epoch(hand_block, list(hand.parameters())), reps, dev)
    print(f"one epoch (dopri5, T=18.3, NFE {nfe}): compiled {1e3 * e_c:.1f} ms   hand-written "
          f"{1e3 * e_h:.1f} ms   ratio {e_c / e_h:.2f}")


if __name__ == "__main__":
    main()
