"""Learnable networks declared in specs (``net NAME : TYPE(sizes)``), as ``nn.Module`` s.

The generated code calls them like functions; inputs may carry leading batch axes
(``[B, N, c]`` node values, ``[B, E, c]`` edge values) and unbatched static values (e.g. edge
features ``pos_j - pos_i`` ``[E, 2]``) are broadcast. Plain torch only (``index_add`` for the
scatter-sums), no compiled extensions.

==========  ========================================================================================
type        what it computes
==========  ========================================================================================
mlp         row-wise MLP: ``layers`` Linear layers, ReLU between them, hidden width ``hidden``
gru         row-wise GRU cell, ``layers`` stacked cells; the state is the layers' hidden states
            side by side ``[..., layers*hidden]`` (a layer's input is the new state of the one below)
edge_gn     graph network (Battaglia et al. 2018) over node inputs v and optional edge features e:
            ``blocks`` GN blocks, each an edge update e' = MLP([e, v_i, v_j]) and a node update
            v' = MLP([v, sum_j e']); the last block's edge MLP gives the ``out`` channels per edge.
            PA-DGN (Seo, Meng & Liu, ICLR 2020, sec. 3.2): 2 blocks, 2-layer MLPs, hidden 64,
            the per-edge coefficients w1..w4 of the spatial difference layer.
==========  ========================================================================================
"""
from __future__ import annotations

from typing import Dict, Mapping, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from pde2gnn.compiler.check import NetInfo


def mlp(n_in: int, n_out: int, hidden: int = 64, layers: int = 2) -> nn.Sequential:
    """``layers`` Linear layers with ReLU between them: ``[..., n_in] -> [..., n_out]``."""
    widths = [n_in] + [hidden] * (layers - 1) + [n_out]
    mods = []
    for k in range(layers):
        mods.append(nn.Linear(widths[k], widths[k + 1]))
        if k < layers - 1:
            mods.append(nn.ReLU())
    return nn.Sequential(*mods)


def edge_linear(G, linear: nn.Linear, parts: Sequence[Tuple[str, Tensor]]) -> Tensor:
    """``linear`` of the per-edge concatenation of ``parts``, computed block by block:
    ``W [p_1, ..., p_k] + b = sum_k W_k p_k + b``.

    A part is ``("i", v)`` or ``("j", v)``, a node value ``v [..., N, c]`` read at the
    receiving / neighbour end of each edge, or ``("e", u)``, an edge value ``u [..., E, c]``.
    A node part's product ``v @ W_k^T`` is taken once per node (N rows) and then gathered,
    instead of once per edge (E rows) on the concatenation: about E / N times less work in the
    first layer of a message MLP. Returns ``[..., E, linear.out_features]``.
    """
    blocks = linear.weight.split([u.shape[-1] for _, u in parts], dim=1)
    gather = {"i": G.gather_i, "j": G.gather_j, "e": lambda u: u}
    out = linear.bias
    for (where, u), w in zip(parts, blocks):
        out = out + gather[where](u @ w.T)
    return out


class MLP(nn.Module):
    """Row-wise MLP (``net NAME : mlp(in=, out=, hidden=64, layers=2)``).

    Shapes: ``[..., R, in] -> [..., R, out]`` (R nodes or edges, any leading batch axes).
    """

    def __init__(self, n_in: int, n_out: int, hidden: int = 64, layers: int = 2):
        super().__init__()
        self.net = mlp(n_in, n_out, hidden, layers)

    def forward(self, u: Tensor) -> Tensor:
        return self.net(u)

    def on_edges(self, G, *parts: Tuple[str, Tensor]) -> Tensor:
        """The MLP of the concatenation of ``parts`` per edge, ``[..., E, out]``, with the first
        layer taken block by block (:func:`edge_linear`): the code generator calls this for
        ``net(cat(u_i, v_j, e, ...))`` instead of building the ``[..., E, in]`` concatenation."""
        return self.net[1:](edge_linear(G, self.net[0], parts))


class GRU(nn.Module):
    """Row-wise GRU cell (``net NAME : gru(in=, hidden=, layers=1)``; Cho et al. 2014).

    ``forward(u [..., R, in], h [..., R, layers*hidden]) -> new h [..., R, layers*hidden]``;
    layer k reads the new hidden state of layer k - 1 (a stacked GRU, one time step). The top
    layer's state is ``h[(layers-1)*hidden : layers*hidden]``.
    """

    def __init__(self, n_in: int, hidden: int, layers: int = 1):
        super().__init__()
        self.hidden = hidden
        self.cells = nn.ModuleList([nn.GRUCell(n_in if k == 0 else hidden, hidden)
                                    for k in range(layers)])

    def forward(self, u: Tensor, h: Tensor) -> Tensor:
        lead = torch.broadcast_shapes(u.shape[:-1], h.shape[:-1])
        u = u.expand(*lead, u.shape[-1]).reshape(-1, u.shape[-1])
        h = h.expand(*lead, h.shape[-1]).reshape(-1, h.shape[-1])
        out, x = [], u
        for k, cell in enumerate(self.cells):
            x = cell(x, h[:, k * self.hidden:(k + 1) * self.hidden])
            out.append(x)
        return torch.cat(out, dim=-1).reshape(*lead, -1)


class EdgeGN(nn.Module):
    """Graph network producing one value per edge (``net NAME : edge_gn(in=, out=, edge_in=0,
    hidden=64, blocks=2)``).

    ``forward(G, v [..., N, in], e [..., E, edge_in] (optional)) -> [..., E, out]`` with ``G`` the
    :class:`~pde2gnn.compiler.backend.graph_ops.GraphOps` of the graph (edge order as everywhere: CSR,
    i receiving, j neighbour). Block k: ``e <- MLP_e([e, v_i, v_j])``, then (except after the
    last block) ``v <- MLP_v([v, sum_j e])``; all MLPs have 2 layers and width ``hidden``.
    """

    def __init__(self, n_in: int, n_out: int, edge_in: int = 0, hidden: int = 64,
                 blocks: int = 2):
        super().__init__()
        self.edge_mlps, self.node_mlps = nn.ModuleList(), nn.ModuleList()
        nv, ne = n_in, edge_in
        for k in range(blocks):
            last = k == blocks - 1
            self.edge_mlps.append(mlp(ne + 2 * nv, n_out if last else hidden, hidden))
            if not last:
                self.node_mlps.append(mlp(nv + hidden, hidden, hidden))
                nv, ne = hidden, hidden

    def forward(self, G, v: Tensor, e: Tensor = None) -> Tensor:
        for k, edge_mlp in enumerate(self.edge_mlps):
            e = self._edge_mlp(G, edge_mlp, v, e)
            if k < len(self.node_mlps):
                v = self.node_mlps[k](G.cat([v, G.sum_j(e)]))
        return e

    @staticmethod
    def _edge_mlp(G, edge_mlp: nn.Sequential, v: Tensor, e: Optional[Tensor]) -> Tensor:
        """``edge_mlp([e, v_i, v_j])``, first layer by input block (:func:`edge_linear`)."""
        parts = ([] if e is None else [("e", e)]) + [("i", v), ("j", v)]
        return edge_mlp[1:](edge_linear(G, edge_mlp[0], parts))


class NetDict(nn.Module):
    """The ``net`` modules of a spec by name (any spec name, even one like ``update`` that
    ``nn.ModuleDict`` reserves for its methods); parameters are ``<name>.<param>``."""

    def __init__(self, nets: Mapping[str, nn.Module]):
        super().__init__()
        for k, v in nets.items():
            self._modules[k] = v

    def as_dict(self) -> Dict[str, nn.Module]:
        return dict(self._modules)


def build_nets(nets: Mapping[str, NetInfo]) -> Dict[str, nn.Module]:
    """The modules of a spec's ``net`` declarations, their sizes bound to ints
    (``ir.constants.nets``, :class:`pde2gnn.compiler.symbolic.constants.Constants`)."""
    return {name: BUILD[info.kind](info.sizes) for name, info in nets.items()}


#: the module of each network type of the language (lang/builtins.py NET_TYPES), from its sizes
BUILD = {"mlp": lambda s: MLP(s["in"], s["out"], s["hidden"], s["layers"]),
         "gru": lambda s: GRU(s["in"], s["hidden"], s["layers"]),
         "edge_gn": lambda s: EdgeGN(s["in"], s["out"], s["edge_in"], s["hidden"], s["blocks"])}
