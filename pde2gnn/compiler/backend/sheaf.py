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

from pde2gnn.errors import DataError
from pde2gnn.compiler.backend.sheaf_maps import (KINDS, Restriction,  # noqa: F401 (re-exported)
                                                householder_orthogonal)

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

    def _inv_sqrt(self, D: Tensor, augmented: bool) -> Tensor:
        """(D + I)^-1/2 (``augmented``) or D^-1/2 (pseudo-inverse) of degree blocks D, given
        as their diagonals ``[N, d]`` (diagonal blocks) or ``[N, d, d]``: the diagonal
        ``[N, d]`` when D is diagonal, else ``[N, d, d]`` (by eigh)."""
        if D.dim() == 3 and not torch.equal(D, torch.diag_embed(D.diagonal(dim1=-2, dim2=-1))):
            if augmented:
                D = D + torch.eye(self.d, dtype=D.dtype, device=D.device)
            lam, U = torch.linalg.eigh(D)
            s = torch.where(lam > 1e-12, lam.clamp_min(1e-12).rsqrt(), torch.zeros_like(lam))
            return (U * s.unsqueeze(-2)) @ U.transpose(-1, -2)
        # diagonal blocks (d_v I for O(d)): eigh's backward is undefined at repeated
        # eigenvalues, so the diagonal is taken
        dg = D if D.dim() == 2 else D.diagonal(dim1=-2, dim2=-1)
        if augmented:
            dg = dg + 1.0
        return torch.where(dg > 1e-12, dg.clamp_min(1e-12).rsqrt(), torch.zeros_like(dg))

    def _compact_blocks(self, Ft: Tensor, Fh: Tensor, normalise: bool, augmented: bool,
                        orthogonal: bool) -> Tuple[Tensor, Tensor]:
        """The blocks of :meth:`blocks` as they are stored: the diagonal blocks ``[N, d]``
        (diagonal or ``orthogonal`` maps, whose F^T F is diagonal) or ``[N, d, d]``, the
        (head, tail) blocks ``[E, d]`` (both maps diagonal) or ``[E, d, d]``. Diagonal
        entries are computed as such (squares, column norms, elementwise scaling), with no
        d x d products."""
        self._check_maps(Ft, Fh)
        t, h = self.tail, self.head
        if Ft.dim() == 2 and Fh.dim() == 2:
            D = Ft.new_zeros(self.num_nodes, self.d)
            D.index_add_(0, t, Ft.square()).index_add_(0, h, Fh.square())
            off = -(Fh * Ft)
        else:
            Ft, Fh = self._full(Ft), self._full(Fh)
            if orthogonal:      # orthogonal columns: F^T F = diag(column norms^2)
                D = Ft.new_zeros(self.num_nodes, self.d)
                D.index_add_(0, t, Ft.square().sum(-2)).index_add_(0, h, Fh.square().sum(-2))
            else:
                D = self.degree_blocks(Ft, Fh)
            off = -(Fh.transpose(-1, -2) @ Ft)
        if not normalise:
            return D, off
        S = self._inv_sqrt(D, augmented)
        Sh, St = S.index_select(0, h), S.index_select(0, t)
        if S.dim() == 3:
            return S @ D @ S, Sh @ off @ St
        if D.dim() == 2:
            D = S * D * S
        else:
            D = S[:, :, None] * D * S[:, None, :]
        if off.dim() == 2:
            return D, Sh * off * St
        return D, Sh[:, :, None] * off * St[:, None, :]

    def blocks(self, Ft: Tensor, Fh: Tensor, normalise: bool = True,
               augmented: bool = True, orthogonal: bool = False) -> Tuple[Tensor, Tensor, Tensor]:
        """The nonzero blocks of L_F (or of D^-1/2 L_F D^-1/2): diagonal ``[N, d, d]``, the
        (head, tail) off-diagonal ``[E, d, d]`` = -F_h^T F_t, and its transpose (tail, head).
        ``augmented`` normalises by (D + I) as the NSD reference does, keeping isolated nodes
        and near-zero maps finite. ``orthogonal`` (maps with orthogonal columns, O(d) maps
        times edge weights): D_v = sum_e F^T F is diagonal, so only its diagonal is formed
        (eigh's backward is NaN at the repeated eigenvalue, and rounding makes the products
        F^T F only nearly diagonal)."""
        D, off = self._compact_blocks(Ft, Fh, normalise, augmented, orthogonal)
        D = torch.diag_embed(D) if D.dim() == 2 else D
        off = torch.diag_embed(off) if off.dim() == 2 else off
        return D, off, off.transpose(-1, -2)

    def pattern(self, diagonal: bool) -> "BlockPattern":
        """The CSR sparsity pattern of L_F ((2E + N) blocks, or their diagonals for diagonal
        maps), computed once per (diagonal, device) and reused by every assembly."""
        cache = self.__dict__.setdefault("_patterns", {})
        key = (bool(diagonal), str(self.tail.device))
        if key not in cache:
            cache[key] = BlockPattern(self.tail, self.head, self.num_nodes, self.d, diagonal)
        return cache[key]

    def operator(self, Ft: Tensor, Fh: Tensor, normalise: bool = True, augmented: bool = True,
                 orthogonal: bool = False) -> "BlockLaplacian":
        """L_F (or its normalised form, see :meth:`blocks`) as block values on the cached
        pattern; ``apply`` multiplies by it with one CSR product, and its backward gives the
        block gradients by one batched product (no Nd x Nd intermediate)."""
        D, off = self._compact_blocks(Ft, Fh, normalise, augmented, orthogonal)
        diagonal = off.dim() == 2                             # diagonal maps: diagonal blocks
        if diagonal:
            vals = torch.cat([D, off, off])                   # [2E + N, d]
        else:
            D = torch.diag_embed(D) if D.dim() == 2 else D
            vals = torch.cat([D, off, off.transpose(-1, -2)])  # [2E + N, d, d]
        return BlockLaplacian(self.pattern(diagonal), vals)

    def assemble(self, Ft: Tensor, Fh: Tensor, normalise: bool = True,
                 augmented: bool = True, orthogonal: bool = False) -> Tensor:
        """The (normalised) sheaf Laplacian as one sparse CSR matrix [N d, N d] with the
        (2E + N) d x d blocks only (no dense Nd x Nd); differentiable in its values."""
        return self.operator(Ft, Fh, normalise, augmented, orthogonal).csr()

    def apply(self, L, x: Tensor) -> Tensor:
        """L x for an assembled L (a :class:`BlockLaplacian` or a CSR tensor):
        [N, d, k] -> [N, d, k], one sparse product."""
        n, d = self.num_nodes, self.d
        return (L @ x.reshape(n * d, -1)).reshape(n, d, -1)

    def laplacian(self, x: Tensor, Ft: Tensor, Fh: Tensor, normalise: bool = True,
                  augmented: bool = True, orthogonal: bool = False) -> Tensor:
        """Delta_F x without assembling: block gathers and scatter sums, [N, d, k]
        (``orthogonal``: see :meth:`blocks`)."""
        diag, off, offT = self.blocks(Ft, Fh, normalise, augmented, orthogonal)
        out = diag @ x
        out = out.index_add(0, self.head, off @ x[self.tail])
        return out.index_add(0, self.tail, offT @ x[self.head])


class BlockPattern:
    """The CSR pattern of a block-sparse [N d, N d] matrix with blocks at (``rows[b]``,
    ``cols[b]``): the diagonal blocks, then (head, tail), then (tail, head) of each undirected
    edge. ``order`` takes the block values, flattened block-major (``[B, d, d]`` or, for
    ``diagonal``, ``[B, d]``), into CSR order; ``transpose`` takes CSR values to those of the
    transposed matrix (the pattern is symmetric)."""

    def __init__(self, tail: Tensor, head: Tensor, num_nodes: int, d: int, diagonal: bool):
        n, dev = int(num_nodes), tail.device
        self.size, self.d, self.diagonal = n * d, int(d), bool(diagonal)
        ar = torch.arange(n, device=dev)
        self.rows, self.cols = torch.cat([ar, head, tail]), torch.cat([ar, tail, head])
        r = torch.arange(d, device=dev)
        if diagonal:
            rows = (self.rows[:, None] * d + r).reshape(-1)
            cols = (self.cols[:, None] * d + r).reshape(-1)
        else:
            rows = (self.rows[:, None, None] * d + r[None, :, None]).expand(-1, d, d).reshape(-1)
            cols = (self.cols[:, None, None] * d + r[None, None, :]).expand(-1, d, d).reshape(-1)
        key = rows * self.size + cols
        self.order = torch.argsort(key)
        key = key[self.order]
        rows, cols = rows[self.order], cols[self.order]
        self.transpose = torch.searchsorted(key, cols * self.size + rows)
        self.unorder = torch.argsort(self.order)     # CSR order -> block-major order
        crow = torch.zeros(self.size + 1, dtype=torch.long, device=dev)
        crow[1:] = torch.bincount(rows, minlength=self.size).cumsum(0)
        # MKL's CPU kernels take 32-bit indices: stored so, each product skips converting them
        small = dev.type == "cpu" and cols.numel() < 2 ** 31
        self.crow, self.col = (crow.int(), cols.int()) if small else (crow, cols)

    def csr(self, flat: Tensor) -> Tensor:
        """The CSR matrix with values ``flat`` (already in CSR order)."""
        return torch.sparse_csr_tensor(self.crow, self.col, flat, (self.size, self.size),
                                       check_invariants=False)


class _BlockProduct(torch.autograd.Function):
    """y = L x for L given by block values on a :class:`BlockPattern`, x ``[N d, m]``.

    torch's CSR backward forms the product grad_y x^T masked to the pattern by way of a dense
    [N d, N d] product; here the gradient of each block is G_{row} X_{col}^T, one batched
    product over the blocks, and the gradient of x is one CSR product with L^T."""

    @staticmethod
    def forward(ctx, vals: Tensor, x: Tensor, pattern: BlockPattern) -> Tensor:
        flat = vals.reshape(-1).index_select(0, pattern.order)
        ctx.save_for_backward(flat, x)
        ctx.pattern, ctx.vals_shape = pattern, vals.shape
        return pattern.csr(flat) @ x

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g: Tensor):
        flat, x = ctx.saved_tensors
        p = ctx.pattern
        g_vals = g_x = None
        if ctx.needs_input_grad[1]:
            g_x = p.csr(flat.index_select(0, p.transpose)) @ g
        if ctx.needs_input_grad[0]:
            # (g x^T) sampled at the pattern's nonzeros (no [B, d, m] gathers of g and x)
            gx = torch.sparse.sampled_addmm(p.csr(torch.zeros_like(flat)), g, x.T, beta=0.0)
            g_vals = gx.values().index_select(0, p.unorder).reshape(ctx.vals_shape)
        return g_vals, g_x, None


class BlockLaplacian:
    """An assembled sheaf Laplacian: block values ``vals`` (``[B, d, d]``, or ``[B, d]`` for
    diagonal maps) on a cached :class:`BlockPattern`. ``L @ x`` for x ``[N d, m]`` is one
    CSR product, differentiable in the values and in x."""

    def __init__(self, pattern: BlockPattern, vals: Tensor):
        self.pattern, self.vals = pattern, vals

    def __matmul__(self, x: Tensor) -> Tensor:
        return _BlockProduct.apply(self.vals, x, self.pattern)

    def csr(self) -> Tensor:
        """The same matrix as a torch sparse CSR tensor [N d, N d]."""
        return self.pattern.csr(self.vals.reshape(-1)[self.pattern.order])


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
