"""Compiled BLEND (library/beltrami.pde) vs a hand-written PyTorch / torch_geometric BLEND.

Both integrate dz/dt = sigmoid(alpha) (A(z(0)) - I) z + beta z(0), z = [u, x] (Chamberlain et al.
2021) with the attention (scaled dot product over z(0) in h heads, squareplus over the edges
leaving j (column-normalised), the heads averaged) computed once per solve, the same encoders (features -> 64, PPR positional encoding -> 16), decoder, optimizer,
solver (dopri5) and hyperparameters (library/beltrami.toml, Cora). Prints the mean time of a
training epoch (forward + backward + step), the forward NFE, and the ratio compiled / hand-written.

    PYTHONPATH=$PWD python benchmarks/blend_vs_pyg.py --data-root /work/shared/data --threads 1
"""
from __future__ import annotations

import argparse
import time

import torch
from torch import nn
from torch_geometric.utils import add_self_loops, remove_self_loops, scatter
from torchdiffeq import odeint

from pde2gnn.train.config import load_defaults, make_config
from pde2gnn.data.datasets import load_dataset
from pde2gnn.resources import resolve_spec
from pde2gnn.models.continuous_gnn import ContinuousGNN
from pde2gnn.train.tasks.node_classification import positional_input


class HandBLEND(nn.Module):
    """BLEND by hand: encoders -> odeint(frozen-attention Beltrami field) -> decoder."""

    def __init__(self, num_features, pos_dim, num_classes, edge_index, n, cfg):
        super().__init__()
        self.p, self.d, self.k, self.h = cfg.dims["p"], cfg.hidden, cfg.dims["k"], cfg.dims["h"]
        width = self.p + self.d
        self.enc_x = nn.Linear(num_features, self.d)
        self.enc_u = nn.Linear(pos_dim, self.p)
        self.w_q = nn.Parameter(torch.empty(width, self.k).uniform_(-width ** -0.5, width ** -0.5))
        self.w_k = nn.Parameter(torch.empty(width, self.k).uniform_(-width ** -0.5, width ** -0.5))
        self.alpha = nn.Parameter(torch.zeros(()))
        self.beta = nn.Parameter(torch.zeros(()))
        self.drop_in, self.drop = nn.Dropout(cfg.input_dropout), nn.Dropout(cfg.dropout)
        self.dec = nn.Linear(width, num_classes)
        self.ei, self.n, self.cfg = edge_index, n, cfg
        self.nfe = 0

    def attention(self, z0):
        j, i = self.ei
        width = self.k // self.h
        q = (z0 @ self.w_q)[i].view(-1, self.h, width)
        k = (z0 @ self.w_k)[j].view(-1, self.h, width)
        s = (q * k).sum(-1) / width ** 0.5                                  # [E, h]
        sp = 0.5 * (s + torch.sqrt(s * s + 4))
        return (sp / scatter(sp, j, 0, dim_size=self.n, reduce="sum")[j]).mean(-1)  # [E]

    def forward(self, x, pos):
        z0 = torch.cat([self.enc_u(self.drop_in(pos)), self.enc_x(self.drop_in(x))], dim=1)
        a = self.attention(z0)[:, None]
        j, i = self.ei
        scale = torch.sigmoid(self.alpha)
        self.nfe = 0

        def f(t, z):  # message passing as in torch_geometric: gather at j, weight, sum into i
            self.nfe += 1
            az = scatter(a * z[j], i, 0, dim_size=self.n, reduce="sum")
            return scale * (az - z) + self.beta * z0
        s = self.cfg.solver
        zt = odeint(f, z0, torch.tensor([0.0, self.cfg.time]), method=s.method, rtol=s.rtol,
                    atol=s.atol)[-1]
        return self.dec(self.drop(torch.relu(zt)))


def time_epochs(model, step, epochs):
    opt = torch.optim.Adamax(model.parameters(), lr=0.01, weight_decay=0.05)
    times, nfes = [], []
    for e in range(epochs + 1):
        t0 = time.perf_counter()
        opt.zero_grad()
        loss, nfe = step()
        loss.backward()
        opt.step()
        if e:  # the first epoch warms up
            times.append(time.perf_counter() - t0)
            nfes.append(nfe)
    return sum(times) / len(times), sum(nfes) / len(nfes)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--dataset", default="Cora")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = make_config(load_defaults(resolve_spec("beltrami"), args.dataset))
    data = load_dataset(args.dataset, args.data_root)
    pos = positional_input(data, cfg)
    y, m = data.y, data.train_mask
    ce = nn.functional.cross_entropy

    torch.manual_seed(0)
    compiled = ContinuousGNN("beltrami", data, int(y.max()) + 1, cfg, pos=pos).train()
    tc, nc = time_epochs(compiled, lambda: (ce(compiled(data.x)[m], y[m]),
                                            compiled.ode.nfe_forward), args.epochs)
    ei, _ = remove_self_loops(data.edge_index)
    ei, _ = add_self_loops(ei, num_nodes=data.num_nodes)
    torch.manual_seed(0)
    hand = HandBLEND(data.num_features, pos.shape[1], int(y.max()) + 1, ei, data.num_nodes,
                     cfg).train()
    th, nh = time_epochs(hand, lambda: (ce(hand(data.x, pos)[m], y[m]), hand.nfe), args.epochs)
    print(f"{args.dataset}, {args.epochs} epochs, {args.threads} thread(s), T = {cfg.time}, "
          f"{cfg.solver.method} rtol {cfg.solver.rtol} atol {cfg.solver.atol}")
    print(f"compiled BLEND     : {tc:.3f} s/epoch, NFE forward {nc:.1f}")
    print(f"hand-written BLEND : {th:.3f} s/epoch, NFE forward {nh:.1f}")
    print(f"ratio compiled / hand-written: {tc / th:.2f} (per evaluation: "
          f"{(tc / nc) / (th / nh):.2f})")


if __name__ == "__main__":
    main()
