"""Sparse LU of a stage matrix that does not couple channels: one factorisation per distinct
channel block instead of one of the whole N D system.

A state ``[N, D]`` is flattened row-major (node, then channel), so entry (i D + a, j D + b) of
a matrix couples channel a of node i to channel b of node j. When every entry has a = b (no
channel mixing: ``lap(x)`` of a ``node[d]`` field, a per-channel coefficient
``alpha * sum_j(...)``), the matrix is the direct sum of D blocks ``M_a = M[a::D, a::D]``
``[N, N]``, and

    M x = b  <=>  M_a x[a::D] = b[a::D]  for every channel a.

Equal blocks (a scalar diffusivity: the same graph operator on every channel) share one
factorisation, and the D channels are solved as D right-hand sides of it; blocks that differ
(a different coefficient per channel) get one factorisation each, shared among equal ones.
Either way the factorisations are of ``[N, N]`` matrices: LU fill grows faster than linearly
in the size, so this is cheaper than one LU of ``[N D, N D]`` even without sharing.
"""
from __future__ import annotations

from typing import Callable, List, Optional

import numpy as np
import scipy.sparse as sps


def channel_blocks(m: sps.spmatrix, width: int) -> Optional[List[sps.csr_matrix]]:
    """The D = ``width`` diagonal channel blocks ``[N, N]`` of ``m`` ``[N D, N D]``, or None
    when ``width`` is 1 or ``m`` couples two channels (an entry with row % D != column % D)."""
    if width <= 1:
        return None
    c = sps.coo_matrix(m)
    nz = c.data != 0
    if np.any(c.row[nz] % width != c.col[nz] % width):
        return None
    m = sps.csr_matrix(m)
    return [m[a::width, a::width].tocsr() for a in range(width)]


def _same(a: sps.csr_matrix, b: sps.csr_matrix) -> bool:
    a.sort_indices()
    b.sort_indices()
    return a.nnz == b.nnz and np.array_equal(a.indptr, b.indptr) and \
        np.array_equal(a.indices, b.indices) and np.array_equal(a.data, b.data)


class ChannelBlockLU:
    """LU factorisations of the channel blocks of a matrix (see the module), with the
    ``solve(b, trans)`` of scipy's ``SuperLU``.

    Args:
        blocks: the D blocks ``[N, N]`` (:func:`channel_blocks`).
        factor: a factorisation of one block (an object with ``solve(b, trans)``, b ``[N]`` or
            ``[N, K]``), e.g. ``scipy.sparse.linalg.splu``.

    Attributes:
        factorizations: the number of distinct blocks factorised (1 when all are equal).

    Raises:
        RuntimeError: from ``factor`` (SuperLU: a singular block).
    """

    def __init__(self, blocks: List[sps.csr_matrix], factor: Callable[[sps.spmatrix], object]):
        self.width = len(blocks)
        self.owner: List[int] = []        # channel -> index into self.lus
        self.lus: List[object] = []
        firsts: List[int] = []
        for a, blk in enumerate(blocks):
            k = next((k for k, f in enumerate(firsts) if _same(blocks[f], blk)), None)
            if k is None:
                k = len(self.lus)
                firsts.append(a)
                self.lus.append(factor(blk))
            self.owner.append(k)

    @property
    def factorizations(self) -> int:
        return len(self.lus)

    def solve(self, b: np.ndarray, trans: str = "N") -> np.ndarray:
        """x with M x = b (``trans`` "T": M^T x = b); b ``[N D]`` or ``[N D, K]``."""
        d = self.width
        cols = b.reshape(b.shape[0] // d, d, -1)            # [N, D, K]
        x = np.empty_like(cols)
        for k, lu in enumerate(self.lus):
            chans = [a for a, o in enumerate(self.owner) if o == k]
            rhs = np.ascontiguousarray(cols[:, chans, :].reshape(cols.shape[0], -1))
            x[:, chans, :] = lu.solve(rhs, trans=trans).reshape(cols.shape[0], len(chans), -1)
        return x.reshape(b.shape)


def factorise(a: sps.spmatrix, width: int, factor: Callable[[sps.spmatrix], object]):
    """``factor(a)``, or a :class:`ChannelBlockLU` of its blocks when ``a`` ``[N D, N D]``
    (D = ``width``) couples no channels."""
    blocks = channel_blocks(a, width)
    return factor(a) if blocks is None else ChannelBlockLU(blocks, factor)
