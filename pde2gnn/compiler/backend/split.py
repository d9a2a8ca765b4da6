"""The split f(t, y) = L y + N(t, y) of a compiled field, as operators (DESIGN.md section 6).

The generated ``linear`` (:attr:`pde2gnn.compiler.backend.codegen.CodeGen.split_source`) gives L y;
everything here is derived from it, for any spec:

- L^T v by one vector-Jacobian product of ``linear`` (exact: ``linear`` is linear in y);
- the CSR matrix of L by coloured probing, as scipy's and MATLAB's stiff solvers estimate a
  sparse Jacobian (Curtis, Powell & Reid, "On the estimation of sparse Jacobian matrices",
  IMA J. Appl. Math. 13 (1974) 117-119): columns whose rows do not overlap share one product;
- diag(L) the same way with a distance-1 colouring (columns that are not neighbours), which
  needs few colours even on graphs with hubs.

The sparsity pattern of L on nodes is (A + I)^k, A the graph's adjacency and k - 1 the number
of nested reductions in L; channels inside a node are coupled by channel mixings.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import scipy.sparse as sps
import torch
from torch import Tensor


def node_pattern(i: np.ndarray, j: np.ndarray, n: int, depth: int) -> sps.csr_matrix:
    """Boolean (A + I)^depth as a CSR matrix ``[n, n]`` (A[i, j] = 1 for edge j -> i)."""
    a = sps.csr_matrix((np.ones(len(i), dtype=np.int8), (i, j)), shape=(n, n))
    a = (a + sps.identity(n, dtype=np.int8, format="csr")).astype(bool).astype(np.int8)
    p = a
    for _ in range(depth - 1):
        p = (p @ a).astype(bool).astype(np.int8)
    return p.tocsr()


def greedy_colouring(conflict: sps.csr_matrix) -> np.ndarray:
    """Greedy colouring of the graph ``conflict`` (symmetric, CSR), largest degree first:
    ``colour [n]`` with no two conflicting nodes of one colour."""
    n = conflict.shape[0]
    indptr, indices = conflict.indptr, conflict.indices
    colour = np.full(n, -1, dtype=np.int64)
    order = np.argsort(-np.diff(indptr), kind="stable")
    col = colour.tolist()       # Python lists and sets: the rows are short, numpy's calls
    ind, ptr = indices.tolist(), indptr.tolist()     # per row cost more than the work
    for v in order.tolist():
        used = {col[u] for u in ind[ptr[v]:ptr[v + 1]]}
        c = 0
        while c in used:        # smallest colour not used by a neighbour
            c += 1
        col[v] = c
    return np.asarray(col, dtype=np.int64)


def probe(linear, pattern: sps.csr_matrix, colour: np.ndarray, width: int, like: Tensor,
          diagonal_only: bool) -> sps.csr_matrix | np.ndarray:
    """Entries of the operator ``linear`` (``[N, width] -> [N, width]``) on the node pattern,
    from one batched product per colour and channel.

    Returns the CSR matrix ``[N * width, N * width]`` (row-major state: node, then channel),
    or with ``diagonal_only`` its diagonal ``[N * width]``.
    """
    n = pattern.shape[0]
    ncol = int(colour.max()) + 1 if n else 0
    col_t = torch.as_tensor(colour, device=like.device)
    rows, cols, vals, diag = [], [], [], np.zeros(n * width)
    pr = pattern.tocoo()
    for c0 in range(0, ncol * width, 64):      # probes in batches of at most 64
        batch = list(range(c0, min(c0 + 64, ncol * width)))
        e = torch.zeros(len(batch), n, width, dtype=like.dtype, device=like.device)
        for b, k in enumerate(batch):
            e[b, col_t == k // width, k % width] = 1.0
        with torch.no_grad():
            out = linear(e).detach().cpu().numpy()           # [B, N, width]
        for b, k in enumerate(batch):
            c, ch = divmod(k, width)
            if diagonal_only:
                nodes = np.nonzero(colour == c)[0]
                diag[nodes * width + ch] = out[b, nodes, ch]
                continue
            # entry (i, ci) <- (j, ch) for each pattern entry (i, j) with colour[j] == c
            m = colour[pr.col] == c
            pi, pj = pr.row[m], pr.col[m]
            for ci in range(width):
                v = out[b, pi, ci]
                keep = v != 0
                rows.append(pi[keep] * width + ci)
                cols.append(pj[keep] * width + ch)
                vals.append(v[keep])
    if diagonal_only:
        return diag
    size = n * width
    if not rows:
        return sps.csr_matrix((size, size))
    return sps.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                          shape=(size, size))


class SplitOperator:
    """L of one prepared field: ``apply(y)``, ``apply_t(v)``, ``diag()``, ``matrix()``.

    Args:
        linear: ``y [..., N, D] -> L y`` (the field's generated ``linear`` on its per-solve
            values).
        i, j: the graph's CSR rows and columns (numpy), N nodes, D = ``width`` channels.
        depth: 1 + the number of nested reductions in L.
        max_colours: probing L's matrix costs (colours x D) products; above this many colours
            :meth:`matrix` returns None (iterative solvers need only products).
    """

    def __init__(self, linear, i: np.ndarray, j: np.ndarray, n: int, width: int, depth: int,
                 like: Tensor, max_colours: int = 256):
        self.linear, self.n, self.width, self.like = linear, n, width, like
        self.i, self.j, self.depth, self.max_colours = i, j, depth, max_colours
        self._diag: Optional[Tensor] = None
        self._matrix = False
        self.symmetric: Optional[bool] = None

    def apply(self, y: Tensor) -> Tensor:
        return self.linear(y)

    def apply_t(self, v: Tensor) -> Tensor:
        """L^T v, one vector-Jacobian product of ``linear`` (v of the state's shape)."""
        with torch.enable_grad():
            y = torch.zeros_like(v).requires_grad_()
            out = self.linear(y)
            (g,) = torch.autograd.grad(out, y, v, allow_unused=True)
        return torch.zeros_like(v) if g is None else g

    def diag(self) -> Tensor:
        """diag(L) ``[N, D]`` (the Jacobi preconditioner), by distance-1 coloured probing."""
        if self._diag is None:
            p = node_pattern(self.i, self.j, self.n, self.depth)
            colour = greedy_colouring(((p + p.T) > 0).astype(np.int8).tocsr())
            d = probe(self.linear, p, colour, self.width, self.like, diagonal_only=True)
            self._diag = torch.as_tensor(d.reshape(self.n, self.width), dtype=self.like.dtype,
                                         device=self.like.device)
        return self._diag

    def matrix(self) -> Optional[sps.csr_matrix]:
        """L as a scipy CSR matrix ``[N D, N D]`` (float64), or None where probing would take
        more than ``max_colours`` colours (a graph with hubs)."""
        if self._matrix is False:
            p = node_pattern(self.i, self.j, self.n, self.depth)
            conflict = (p.T @ p).astype(bool).astype(np.int8).tocsr()
            if conflict.nnz / max(self.n, 1) > 4 * self.max_colours:
                self._matrix = None
                return None
            colour = greedy_colouring(conflict)
            if colour.max() + 1 > self.max_colours:
                self._matrix = None
                return None
            self._matrix = probe(self.linear, p, colour, self.width, self.like,
                                 diagonal_only=False).astype(np.float64)
        return self._matrix

    def is_symmetric(self) -> bool:
        """Whether L = L^T (from the matrix where it is available, else from products with a
        random vector: |<L u, v> - <u, L v>| against the norms)."""
        if self.symmetric is None:
            m = self.matrix()
            if m is not None:
                diff = abs(m - m.T)
                self.symmetric = bool(diff.nnz == 0 or diff.max() <= 1e-12 * abs(m).max())
            else:
                g = torch.Generator(device="cpu").manual_seed(0)
                shape = (self.n, self.width)
                u = torch.randn(shape, generator=g, dtype=self.like.dtype).to(self.like.device)
                v = torch.randn(shape, generator=g, dtype=self.like.dtype).to(self.like.device)
                lu, lv = self.apply(u), self.apply(v)
                a, b = float((lu * v).sum()), float((u * lv).sum())
                scale = float(lu.norm() * v.norm() + u.norm() * lv.norm()) + 1e-300
                eps = torch.finfo(self.like.dtype).eps
                self.symmetric = abs(a - b) <= 1e3 * eps * scale
        return self.symmetric
