"""Sheaf (connection) Laplacian kernels: stalks on nodes, restriction maps on edge ends.

A cellular sheaf on an undirected graph G = (V, E) gives each node v a stalk R^d and each edge
end v ⊴ e a restriction map F_{v⊴e} : R^d -> R^d (Hansen & Ghrist 2019; Bodnar, Di Giovanni,
Chamberlain, Liò, Bronstein, "Neural Sheaf Diffusion", NeurIPS 2022). For an edge e = (u, v),
stored once with u the *tail* and v the *head*:

    (grad_F x)_e = F_{v⊴e} x_v - F_{u⊴e} x_u                               [E, d, k]
    (div_F y)_w  = sum_{e: w = tail} F_{w⊴e}^T y_e - sum_{e: w = head} F_{w⊴e}^T y_e
    L_F = -div_F grad_F = grad_F^T grad_F                                   (PSD)

so <grad_F x, y>_E = -<x, div_F y>_V, L_vv = sum_e F_{v⊴e}^T F_{v⊴e} and L_vu = -F_{v⊴e}^T F_{u⊴e}.
The normalised Laplacian is Delta_F = D^-1/2 L_F D^-1/2 with D the block diagonal of L_F.

For a frozen sheaf :meth:`SheafLaplacian.assemble` writes the blocks once into one sparse CSR
matrix of size Nd x Nd holding only the (2E + N) nonzero d x d blocks (d entries each for
diagonal maps); each evaluation is then one sparse product with the state viewed as [N d, k].
Nothing dense of size Nd x Nd is formed.

Node states are ``[N, d, k]`` (stalk dimension d, k channels); edge values ``[E, d, k]``;
restriction maps ``[E, d, d]`` (or ``[E, d]`` for diagonal maps).
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import Tensor, nn

from ..errors import DataError

KINDS = ("diag", "orthogonal", "general", "identity")


def undirected_edges(edge_index: Tensor, num_nodes: int) -> Tensor:
    """Each undirected edge of ``edge_index`` ([2, E'], both directions or one) once, as
    ``[2, E]`` with tail < head; self-loops dropped. Raises :class:`DataError` on bad indices."""
    if edge_index.dim() != 2 or edge_index.shape[0] != 2:
        raise DataError(f"edge_index must be [2, E], got {tuple(edge_index.shape)}")
    if edge_index.numel() and (int(edge_index.min()) < 0 or int(edge_index.max()) >= num_nodes):
        raise DataError(f"edge_index refers to nodes outside 0..{num_nodes - 1}")
    a, b = edge_index[0], edge_index[1]
    u, v = torch.minimum(a, b), torch.maximum(a, b)
    keep = u != v
    key = torch.unique(u[keep] * num_nodes + v[keep])
    return torch.stack([key // num_nodes, key % num_nodes])


def skew_exp(params: Tensor, d: int) -> Tensor:
    """Orthogonal matrices exp(S) from ``params`` [..., d(d-1)/2] filling the strict upper
    triangle of a skew-symmetric S (the matrix exponential maps so(d) onto SO(d))."""
    iu = torch.triu_indices(d, d, 1, device=params.device)
    S = params.new_zeros(params.shape[:-1] + (d, d))
    S[..., iu[0], iu[1]] = params
    return torch.linalg.matrix_exp(S - S.transpose(-1, -2))


class SheafLaplacian(nn.Module):
    """Sheaf gradient, divergence and (normalised) Laplacian on a fixed undirected graph.

    Args:
        edge_index: ``[2, E']`` edges (either orientation; duplicates and self-loops dropped).
        num_nodes: N.
        d: stalk dimension.
    Raises:
        DataError: for malformed edges or maps of the wrong shape.
    """

    def __init__(self, edge_index: Tensor, num_nodes: int, d: int):
        super().__init__()
        self.num_nodes, self.d = int(num_nodes), int(d)
        ed = undirected_edges(edge_index, num_nodes)
        self.register_buffer("tail", ed[0], persistent=False)
        self.register_buffer("head", ed[1], persistent=False)

    @property
    def num_edges(self) -> int:
        return int(self.tail.numel())

    def _full(self, F: Tensor) -> Tensor:
        if F.dim() == 2:
            return torch.diag_embed(F)
        return F

    def _check_maps(self, Ft: Tensor, Fh: Tensor) -> None:
        E, d = self.num_edges, self.d
        for name, F in (("tail", Ft), ("head", Fh)):
            ok = (F.dim() == 2 and tuple(F.shape) == (E, d)) or \
                 (F.dim() == 3 and tuple(F.shape) == (E, d, d))
            if not ok:
                raise DataError(f"{name} restriction maps must be [E={E}, d={d}] or "
                                f"[E, d, d], got {tuple(F.shape)}")

    def grad(self, x: Tensor, Ft: Tensor, Fh: Tensor) -> Tensor:
        """(grad_F x)_e = F_{head} x_head - F_{tail} x_tail: [N, d, k] -> [E, d, k]."""
        self._check_maps(Ft, Fh)
        return self._full(Fh) @ x[self.head] - self._full(Ft) @ x[self.tail]

    def div(self, y: Tensor, Ft: Tensor, Fh: Tensor) -> Tensor:
        """(div_F y)_w: [E, d, k] -> [N, d, k], the negative adjoint of :meth:`grad`."""
        self._check_maps(Ft, Fh)
        out = y.new_zeros((self.num_nodes,) + tuple(y.shape[1:]))
        out.index_add_(0, self.tail, self._full(Ft).transpose(-1, -2) @ y)
        out.index_add_(0, self.head, -(self._full(Fh).transpose(-1, -2) @ y))
        return out

    def degree_blocks(self, Ft: Tensor, Fh: Tensor) -> Tensor:
        """D_v = sum_e F_{v⊴e}^T F_{v⊴e}: ``[N, d, d]``."""
        Ft, Fh = self._full(Ft), self._full(Fh)
        D = Ft.new_zeros(self.num_nodes, self.d, self.d)
        D.index_add_(0, self.tail, Ft.transpose(-1, -2) @ Ft)
        D.index_add_(0, self.head, Fh.transpose(-1, -2) @ Fh)
        return D

    def _inv_sqrt(self, D: Tensor, augmented: bool, diagonal: bool = False) -> Tensor:
        if augmented:
            D = D + torch.eye(self.d, dtype=D.dtype, device=D.device)
        dg = D.diagonal(dim1=-2, dim2=-1)
        if diagonal or torch.equal(D, torch.diag_embed(dg)):
            # diagonal and orthogonal maps give diagonal degree blocks (d_v I for O(d));
            # eigh's backward is undefined at repeated eigenvalues, so take the diagonal
            s = torch.where(dg > 1e-12, dg.clamp_min(1e-12).rsqrt(), torch.zeros_like(dg))
            return torch.diag_embed(s)
        lam, U = torch.linalg.eigh(D)
        s = torch.where(lam > 1e-12, lam.clamp_min(1e-12).rsqrt(), torch.zeros_like(lam))
        return (U * s.unsqueeze(-2)) @ U.transpose(-1, -2)

    def blocks(self, Ft: Tensor, Fh: Tensor, normalise: bool = True,
               augmented: bool = True, orthogonal: bool = False) -> Tuple[Tensor, Tensor, Tensor]:
        """The nonzero blocks of L_F (or of D^-1/2 L_F D^-1/2): diagonal ``[N, d, d]``, the
        (head, tail) off-diagonal ``[E, d, d]`` = -F_h^T F_t, and its transpose (tail, head).
        ``augmented`` normalises by (D + I) as the NSD reference does, keeping isolated nodes
        and near-zero maps finite. ``orthogonal`` (maps in O(d)): D_v = deg_v I exactly, so its
        diagonal is used (eigh's backward is NaN at the repeated eigenvalue, and rounding makes
        F^T F only nearly diagonal)."""
        self._check_maps(Ft, Fh)
        Ft, Fh = self._full(Ft), self._full(Fh)
        diag = self.degree_blocks(Ft, Fh)
        off = -(Fh.transpose(-1, -2) @ Ft)          # block (head, tail)
        if normalise:
            S = self._inv_sqrt(diag, augmented, orthogonal)
            diag = S @ diag @ S
            off = S[self.head] @ off @ S[self.tail]
        return diag, off, off.transpose(-1, -2)

    def assemble(self, Ft: Tensor, Fh: Tensor, normalise: bool = True,
                 augmented: bool = True, orthogonal: bool = False) -> Tensor:
        """The (normalised) sheaf Laplacian as one sparse CSR matrix [N d, N d] with the
        (2E + N) d x d blocks only (no dense Nd x Nd); differentiable in its values."""
        diag, off, offT = self.blocks(Ft, Fh, normalise, augmented, orthogonal)
        n, d = self.num_nodes, self.d
        ar = torch.arange(n, device=diag.device)
        bi = torch.cat([ar, self.head, self.tail])
        bj = torch.cat([ar, self.tail, self.head])
        vals = torch.cat([diag, off, offT])          # [B, d, d]
        r = torch.arange(d, device=diag.device)
        rows = (bi[:, None, None] * d + r[None, :, None]).expand(-1, d, d)
        cols = (bj[:, None, None] * d + r[None, None, :]).expand(-1, d, d)
        if Ft.dim() == 2 and Fh.dim() == 2:          # diagonal maps: keep only the diagonals
            m = torch.eye(d, dtype=torch.bool, device=diag.device).expand_as(rows)
            rows, cols, vals = rows[m], cols[m], vals[m]
        else:
            rows, cols, vals = rows.reshape(-1), cols.reshape(-1), vals.reshape(-1)
        order = torch.argsort(rows * (n * d) + cols)
        rows, cols, vals = rows[order], cols[order], vals[order]
        crow = torch.zeros(n * d + 1, dtype=torch.long, device=diag.device)
        crow[1:] = torch.bincount(rows, minlength=n * d).cumsum(0)
        return torch.sparse_csr_tensor(crow, cols, vals, (n * d, n * d), check_invariants=False)

    def apply(self, L: Tensor, x: Tensor) -> Tensor:
        """L x for an assembled L: [N, d, k] -> [N, d, k], one sparse product."""
        n, d = self.num_nodes, self.d
        return (L @ x.reshape(n * d, -1)).reshape(n, d, -1)

    def laplacian(self, x: Tensor, Ft: Tensor, Fh: Tensor, normalise: bool = True,
                  augmented: bool = True) -> Tensor:
        """Delta_F x without assembling: block gathers and scatter sums, [N, d, k]."""
        diag, off, offT = self.blocks(Ft, Fh, normalise, augmented)
        out = diag @ x
        out = out.index_add(0, self.head, off @ x[self.tail])
        return out.index_add(0, self.tail, offT @ x[self.head])


class Restriction(nn.Module):
    """NSD's restriction-map network: F_{v⊴e} = Phi([x_v, x_u]) for each edge end.

    Phi is one linear layer on the concatenated flattened stalks (2 d k inputs) followed by
    ``tanh`` for ``diag``/``general`` maps (as the reference's default), and for ``orthogonal``
    maps the d(d-1)/2 outputs parametrise exp(skew) in SO(d) (:func:`skew_exp`).
    ``identity`` gives F = I (the ablation without a learned sheaf).

    Input x ``[N, d, k]``; returns (F_tail, F_head), each ``[E, d]`` (diag) or ``[E, d, d]``.
    """

    def __init__(self, d: int, k: int, kind: str = "diag"):
        super().__init__()
        if kind not in KINDS:
            raise DataError(f"restriction kind must be one of {', '.join(KINDS)}, got {kind!r}")
        self.d, self.k, self.kind = d, k, kind
        n_out = {"diag": d, "orthogonal": d * (d - 1) // 2, "general": d * d, "identity": 0}[kind]
        self.lin = nn.Linear(2 * d * k, n_out, bias=False) if n_out else None

    def on_pairs(self, xa: Tensor, xb: Tensor) -> Tensor:
        """The map at the a end of each edge (a, b), F_{a⊴e} = Phi([x_a, x_b]), from the
        endpoint stalks ``xa``, ``xb`` ``[E, d, k]``: ``[E, d]`` (diag; identity: ones, the
        diagonal of I) or ``[E, d, d]``."""
        if self.kind == "identity":
            return xa.new_ones(xa.shape[0], self.d)
        return self._maps(xa, xb)

    def _maps(self, xa: Tensor, xb: Tensor) -> Tensor:
        if self.lin is None:        # orthogonal with d = 1: SO(1) = {1}, nothing to learn
            return xa.new_ones(xa.shape[0], 1, 1)
        z = self.lin(torch.cat([xa.flatten(1), xb.flatten(1)], dim=-1))
        if self.kind == "diag":
            return torch.tanh(z)
        if self.kind == "general":
            return torch.tanh(z).reshape(-1, self.d, self.d)
        return skew_exp(z, self.d)

    def forward(self, x: Tensor, lap: SheafLaplacian) -> Tuple[Tensor, Tensor]:
        t, h = lap.tail, lap.head
        if self.kind == "identity":
            eye = torch.eye(self.d, dtype=x.dtype, device=x.device).expand(t.numel(), -1, -1)
            return eye, eye
        return self._maps(x[t], x[h]), self._maps(x[h], x[t])


class NSDLayer(nn.Module):
    """One discrete Neural Sheaf Diffusion step (Bodnar et al. 2022, eq. 9):

        X_{t+1} = (1 + tanh eps) X_t - sigma(Delta_F (I ⊗ W1) X_t W2)

    W1 [d, d] mixes within each stalk, W2 [k, k] mixes channels, eps [d] is per stalk
    coordinate, sigma = ELU. The sheaf is recomputed from X_t by ``restriction`` (or frozen
    when ``maps`` are given). x: ``[N, d, k]`` -> ``[N, d, k]``.
    """

    def __init__(self, d: int, k: int):
        super().__init__()
        self.W1 = nn.Parameter(torch.eye(d))
        self.W2 = nn.Parameter(torch.eye(k))
        self.eps = nn.Parameter(torch.zeros(d))

    def forward(self, x: Tensor, lap: SheafLaplacian, Ft: Tensor, Fh: Tensor,
                L: Optional[Tensor] = None) -> Tensor:
        y = (self.W1 @ x) @ self.W2
        Ly = lap.apply(L, y) if L is not None else lap.laplacian(y, Ft, Fh)
        return (1 + torch.tanh(self.eps))[:, None] * x - torch.nn.functional.elu(Ly)
