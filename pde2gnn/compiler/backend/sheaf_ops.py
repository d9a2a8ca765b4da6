"""Kernels the generated code of sheaf specs calls (``_sheaf.<name>``): restriction maps on
directed edges, the assembled sheaf Laplacian, sheaf gradient / divergence, stalk mixing.

Node values of a ``node[d, k]`` field are ``[..., N, d*k]`` (stalk-major: channel a*k + b is
stalk coordinate a, channel b), i.e. ``[..., N, d, k]`` after a reshape. Edges are the
directed edges (i, j) of :class:`~pde2gnn.compiler.backend.graph_ops.GraphOps` in its CSR order; the
restriction map F_ij is the map at the i end of the undirected edge {i, j}, and the Laplacian
is :class:`~pde2gnn.compiler.backend.sheaf.SheafLaplacian`'s, on the undirected edges (one CSR product
per evaluation, built from the ``(2E + N)`` nonzero blocks; nothing of size Nd x Nd is dense).

The graph must be symmetric (every (i, j) with its (j, i)) and without repeated edges; then
``div(F, grad(F, x)) = lap(F, x) = -L_F x`` (Bodnar et al. 2022, eq. 2-4; Hansen & Ghrist 2019).
"""
from __future__ import annotations

from typing import Dict, Mapping, NamedTuple

import torch
from torch import Tensor, nn

from pde2gnn.errors import DataError
from pde2gnn.compiler.backend.sheaf import BlockLaplacian, Restriction, SheafLaplacian


class _Structure(NamedTuple):
    lap: SheafLaplacian      # undirected edges (tail < head)
    pos_tail: Tensor         # [E_u]: directed edge (i = tail, j = head)
    pos_head: Tensor         # [E_u]: directed edge (i = head, j = tail)
    rev: Tensor              # [E]: the reverse (j, i) of every directed edge (i, j)
    end_i: Tensor            # [E]: the directed edges in the order of Maps.ends (i, then j)
    end_j: Tensor
    end_of: Tensor           # [E]: position of directed edge (i, j) among the ends


class Maps(NamedTuple):
    """Restriction maps of one sheaf, stored by edge end: ``ends`` ``[E, d]`` (diagonal) or
    ``[E, d, d]``, first the map at the tail of each of the E_u undirected edges of
    ``structure.lap`` (F_{tail⊴e}, the directed edge (tail, head)), then the map at its head
    (the order the Laplacian's blocks take them in), then those of the graph's self-loops;
    :attr:`directed` gives them per directed edge (i, j) of the graph (the map at i), for the
    gradient and divergence."""

    ends: Tensor
    d: int
    structure: _Structure
    orthogonal: bool = False

    @classmethod
    def from_directed(cls, directed: Tensor, d: int, structure: _Structure,
                      orthogonal: bool = False) -> "Maps":
        """The maps given per directed edge (``[E, d]`` or ``[E, d, d]``, the graph's order)."""
        s = structure
        return cls(directed.index_select(0, torch.argsort(s.end_of)), d, s, orthogonal)

    @property
    def directed(self) -> Tensor:
        """``[E, d]`` or ``[E, d, d]``: F_ij, the map at the i end, per directed edge (i, j)."""
        return self.ends.index_select(0, self.structure.end_of)


class Operator(NamedTuple):
    """An assembled sheaf Laplacian (:class:`~pde2gnn.compiler.backend.sheaf.BlockLaplacian`,
    ``[N d, N d]``) and its stalk dimension."""

    matrix: BlockLaplacian
    d: int


def _structure(G, d: int) -> _Structure:
    """The undirected edges of ``G`` and the directed <-> undirected index maps, cached per
    (d, device). Raises :class:`DataError` for a graph that is not symmetric or repeats edges."""
    cache = G.__dict__.setdefault("_sheaf_structures", {})
    key = (int(d), str(G.i.device))
    if key not in cache:
        n = G.num_nodes
        keys = G.i * n + G.j                       # ascending (CSR order sorted by (i, j))
        if keys.numel() > 1 and bool((keys[1:] == keys[:-1]).any()):
            raise DataError("sheaf operators need a graph without repeated edges (coalesce "
                            "edge_index, e.g. torch_geometric.utils.coalesce)")
        lap = SheafLaplacian(G.edge_index.cpu(), n, d).to(G.i.device)

        def find(a, b, what):
            want = a * n + b
            if want.numel() == 0:              # no edges (an empty graph): nothing to find
                return want
            pos = torch.searchsorted(keys, want).clamp(max=max(keys.numel() - 1, 0))
            if keys.numel() == 0 or bool((keys[pos] != want).any()):
                raise DataError(f"sheaf operators need a symmetric graph: the {what} of some "
                                "edge is missing (make it undirected, e.g. "
                                "torch_geometric.utils.to_undirected)")
            return pos
        pos_tail = find(lap.tail, lap.head, "direction tail -> head")
        pos_head = find(lap.head, lap.tail, "direction head -> tail")
        loops = (G.i == G.j).nonzero().flatten()
        ends = torch.cat([pos_tail, pos_head, loops])   # a permutation of the directed edges
        end_of = torch.empty_like(ends)
        end_of[ends] = torch.arange(ends.numel(), device=ends.device)
        cache[key] = _Structure(lap, pos_tail, pos_head, find(G.j, G.i, "reverse"), G.i[ends],
                                G.j[ends], end_of)
    return cache[key]


def _stalks(u: Tensor, d: int) -> Tensor:
    return u.reshape(*u.shape[:-1], d, u.shape[-1] // d)


def _flat(u: Tensor) -> Tensor:
    return u.reshape(*u.shape[:-2], u.shape[-2] * u.shape[-1])


def restriction_maps(G, net: Restriction, u: Tensor, d: int) -> Maps:
    """``restriction(u_i, u_j, kind=...)``: F_ij = Phi([u_i, u_j]) for every directed edge.

    u ``[N, d*k]`` (one graph; a batched ``[B, N, d*k]`` u is refused with a DataError, since
    each trajectory would need its own Laplacian)."""
    if u.dim() != 2:
        raise DataError("restriction maps are computed from one state [N, d*k]; a batch of "
                        f"states {list(u.shape)} would need one sheaf each: solve them one by one")
    s = _structure(G, d)
    ends = net.on_edges(_stalks(u, d), s.end_i, s.end_j)
    return Maps(ends, int(d), s, net.kind == "orthogonal")


def operator(G, maps: Maps, normalise: bool) -> Operator:
    """L_F (or (D + I)^-1/2 L_F (D + I)^-1/2) as block values on the graph's cached CSR
    pattern, differentiable in the maps."""
    s = maps.structure
    e = s.lap.num_edges
    Ft, Fh = maps.ends[:e], maps.ends[e:2 * e]
    return Operator(s.lap.operator(Ft, Fh, normalise=normalise, augmented=True,
                                    orthogonal=maps.orthogonal), maps.d)


def apply(G, op: Operator, x: Tensor) -> Tensor:
    """``-L x`` for x ``[N, d*k]`` or ``[B, N, d*k]`` (the batch shares the operator): one
    sparse product on ``[N d, B k]``."""
    n, d = G.num_nodes, op.d
    if x.dim() == 2:
        return -(op.matrix @ x.reshape(n * d, -1)).reshape(n, -1)
    b = x.shape[0]
    y = x.reshape(b, n * d, -1).transpose(0, 1).reshape(n * d, -1)
    return -(op.matrix @ y).reshape(n * d, b, -1).transpose(0, 1).reshape(b, n, -1)


def _act(F: Tensor, y: Tensor, transpose: bool = False) -> Tensor:
    """F_e y_e (or F_e^T y_e) for maps ``[E, d]`` / ``[E, d, d]`` and y ``[..., E, d, k]``."""
    if F.dim() == 2:
        return F.unsqueeze(-1) * y
    return (F.transpose(-1, -2) if transpose else F) @ y


def grad(G, maps: Maps, x: Tensor) -> Tensor:
    """(grad_F x)_ij = F_ji x_j - F_ij x_i: ``[..., N, d*k]`` -> ``[..., E, d*k]``."""
    xs = _stalks(x, maps.d)
    F = maps.directed
    xi, xj = xs.index_select(xs.dim() - 3, G.i), xs.index_select(xs.dim() - 3, G.j)
    return _flat(_act(F[maps.structure.rev], xj) - _act(F, xi))


def div(G, maps: Maps, y: Tensor) -> Tensor:
    """(div_F y)_i = sum_j F_ij^T y_ij: ``[..., E, d*k]`` -> ``[..., N, d*k]``."""
    v = _flat(_act(maps.directed, _stalks(y, maps.d), transpose=True))
    return G.sum_j(v)


def stalk_left(W: Tensor, u: Tensor, d: int) -> Tensor:
    """(I ⊗ W) u: W ``[d', d]`` on the stalks of u ``[..., R, d*k]`` -> ``[..., R, d'*k]``."""
    return _flat(W @ _stalks(u, d))


def stalk_right(u: Tensor, W: Tensor, d: int) -> Tensor:
    """u W per stalk coordinate: W ``[k, k']``, u ``[..., R, d*k]`` -> ``[..., R, d*k']``."""
    return _flat(_stalks(u, d) @ W)


def per_stalk(v: Tensor, k: int) -> Tensor:
    """A ``[d]`` coefficient as ``[d*k]`` (each entry repeated k times)."""
    return torch.as_tensor(v).reshape(-1).repeat_interleave(int(k))


def sheaf_nets(sheaves: Mapping[str, object]) -> Dict[str, nn.Module]:
    """The restriction networks of a spec's ``edge F = restriction(...)`` declarations, their
    stalk sizes d, k bound to ints (``ir.constants.sheaves``)."""
    return {name: Restriction(info.d, info.k, info.kind, info.weights, info.lowpass)
            for name, info in sheaves.items()}
