"""Graph construction and rewiring (the spec's ``graph`` clause).

``graph knn(u, k=16)`` (BLEND-kNN, Chamberlain et al. 2021, §3.3): node i's neighbourhood
N(i) is its k nearest nodes in the positional coordinates u (itself included, at distance 0).
"""
from __future__ import annotations

import torch
from torch import Tensor

from .errors import OptionError


def knn_graph(pos: Tensor, k: int, block: int = 2048, loop: bool = True) -> Tensor:
    """k-nearest-neighbour graph of the rows of ``pos`` ``[N, c]``, in Euclidean distance.

    Computed with blocked ``torch.cdist`` + ``topk`` (memory O(block * N), no compiled
    extensions). Ties are broken by ``topk``.

    Args:
        pos: node coordinates ``[N, c]``.
        k: neighbours per node (including the node itself when ``loop``).
        block: rows of the distance matrix computed at once.
        loop: count the node itself among its neighbours (distance 0).

    Returns:
        ``edge_index [2, N * k]`` in torch_geometric convention: row 0 the neighbour j,
        row 1 the receiving node i; each i has exactly k incoming edges.
    """
    n = pos.shape[0]
    kk = k if loop else k + 1
    if k < 1 or kk > n:
        raise OptionError(f"knn needs 1 <= k <= {n - (0 if loop else 1)} for {n} nodes, got k = {k}")
    pos = pos.detach()
    cols = []
    for b0 in range(0, n, block):
        d = torch.cdist(pos[b0:b0 + block], pos)
        if not loop:
            r = torch.arange(d.shape[0], device=d.device)
            d[r, r + b0] = float("inf")
        cols.append(d.topk(k, dim=1, largest=False).indices)
    j = torch.cat(cols).reshape(-1)
    i = torch.arange(n, device=pos.device).repeat_interleave(k)
    return torch.stack([j, i])


def build_graph(method: str, edge_index: Tensor, num_nodes: int, coords: Tensor = None,
                **options) -> Tensor:
    """The diffusion graph for a spec's ``graph`` clause: ``input`` (unchanged) or ``knn``."""
    if method == "input":
        return edge_index
    if method == "knn":
        if coords is None:
            raise OptionError("graph knn(...) needs node coordinates (a positional encoding)")
        return knn_graph(coords, int(options.get("k", 16)))
    raise OptionError(f"unknown graph construction '{method}'")
