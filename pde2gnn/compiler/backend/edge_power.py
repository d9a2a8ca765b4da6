"""The kernel ``_G.sum_abs_pow_diff(u, p)``: ``s_i = sum_{j in N(i)} |u_j - u_i| ** p`` per channel,
the p-Dirichlet energy density of a node value (the p-Laplacian's energy; G^2's gate
``tanh(mean_j |X_j - X_i| ** p)``, Rusch et al., ICLR 2023, eq. 5), for a number p > 1.

The generated code calls it for ``sum_j(abs(u_j - u_i) ** p)`` (``backend/emit.py``) instead of
two gathers, a sum, ``abs_pow`` and a scatter. Two things make it cheap on large graphs:

- **Blocks of edges.** The edges are taken in blocks of about ``BLOCK_ENTRIES`` values (512
  edges at 256 channels, 0.5 MiB in float32), so the ``[block, c]`` differences, powers and
  derivatives stay in the core's cache instead of streaming ``[E, c]`` tensors through memory
  (chameleon, E = 62,792, c = 256: 64 MiB per tensor). The backward pass recomputes the
  derivative ``p |d| ** (p - 1) sign(d)`` block by block rather than keeping an ``[E, c]``
  tensor from the forward pass.
- **Each undirected edge once.** ``|u_j - u_i| ** p`` is symmetric in (i, j): on a symmetric
  graph (every edge's reverse present, as often) the kernel takes the pairs i < j only and adds
  each power to both ends (a self-loop contributes 0 and its derivative 0, p > 1), half the
  work of the directed form.

Measured on chameleon's graph, 256 channels, forward and backward, one thread: 3.6-3.9x faster
than the whole-tensor form (``benchmarks/g2_gate.py``). Values and gradients equal the unfused
form to rounding (``tests/compiler/test_abs_pow.py``; the order of the sums differs).
:class:`EdgePowerOps` is a base of :class:`~pde2gnn.compiler.backend.graph_ops.GraphOps` (its
``i``, ``j``, ``num_nodes`` and ``sum_j``).
"""
from __future__ import annotations

from typing import Tuple

import torch
from torch import Tensor

from pde2gnn.compiler.backend.pointwise_ops import _power

#: values per block of edges (edges x channels): 2 ** 17, 0.5 MiB in float32
BLOCK_ENTRIES = 1 << 17


def _blocks(i: Tensor, j: Tensor, channels: int):
    """``(i, j)`` in consecutive blocks of about :data:`BLOCK_ENTRIES` values."""
    size = max(1, BLOCK_ENTRIES // max(1, channels))
    for a in range(0, int(i.numel()), size):
        yield i[a:a + size], j[a:a + size]


def _derivative(u: Tensor, i: Tensor, j: Tensor, p: float) -> Tensor:
    """``p |d| ** (p - 1) sign(d)``, d = u_j - u_i on the edges (i, j): ``[len(i), c]``."""
    d = u.index_select(0, j).sub_(u.index_select(0, i))
    return _power(d.abs(), p - 1).copysign_(d).mul_(p)


class _SumAbsPowDiff(torch.autograd.Function):
    """``s = sum_j |u_j - u_i| ** p`` on the graph ``ops``; ``u [N, c]`` -> ``[N, c]``.
    ``pairs``: ``(i, j, both)``, the edges to visit and whether each power goes to both ends
    (the pairs i < j of a symmetric graph) or to i only."""

    @staticmethod
    def forward(ctx, u: Tensor, p: float, ops, pairs) -> Tensor:
        ei, ej, both = pairs
        s = torch.zeros_like(u)
        for i, j in _blocks(ei, ej, u.shape[1]):
            a = u.index_select(0, j).sub_(u.index_select(0, i)).abs_()
            v = a.mul_(_power(a, p - 1))
            s.index_add_(0, i, v)
            if both:
                s.index_add_(0, j, v)
        ctx.ops, ctx.p, ctx.pairs = ops, p, pairs
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(u)
        return s

    @staticmethod
    def backward(ctx, g: Tensor):
        u, = ctx.saved_tensors
        ops, p = ctx.ops, ctx.p
        if torch.is_grad_enabled():     # double backward: the differentiable unfused form
            d = u.index_select(0, ops.j) - u.index_select(0, ops.i)
            ge = g.index_select(0, ops.i) * (p * torch.copysign(d.abs() ** (p - 1), d))
            gu = torch.zeros_like(g).index_add_(0, ops.j, ge)
            return gu - ops.sum_j(ge), None, None, None
        ei, ej, both = ctx.pairs
        gu = torch.zeros_like(g)
        for i, j in _blocks(ei, ej, g.shape[1]):
            gi = g.index_select(0, i)
            ge = (gi.add_(g.index_select(0, j)) if both else gi).mul_(_derivative(u, i, j, p))
            gu.index_add_(0, j, ge)
            gu.index_add_(0, i, ge, alpha=-1)
        return gu, None, None, None


class EdgePowerOps:
    """The p-Dirichlet energy density kernel of the generated code (module docstring)."""

    def _power_pairs(self) -> Tuple[Tensor, Tensor, bool]:
        """The edges :class:`_SumAbsPowDiff` visits: on a symmetric graph (the multiset of
        edges equals that of their reverses) the pairs i < j, each power added to both ends;
        otherwise every edge, added to i. Computed once per device."""
        cache = self.__dict__.setdefault("_power_pairs_cache", {})
        key = self.i.device
        if key not in cache:
            i, j, n = self.i, self.j, self.num_nodes
            symmetric = torch.equal(torch.sort(i * n + j).values, torch.sort(j * n + i).values)
            if symmetric:
                keep = i < j
                cache[key] = (i[keep], j[keep], True)
            else:
                cache[key] = (i, j, False)
        return cache[key]

    def sum_abs_pow_diff(self, u: Tensor, p: float) -> Tensor:
        """``sum_{j in N(i)} |u_j - u_i| ** p``: ``u [N, c]`` -> ``[N, c]`` (a batched
        ``[B, N, c]`` takes the unfused form), p > 1 a number.

        Raises:
            DataError: ``p <= 1`` (from ``abs_pow``).
        """
        if u.dim() != 2 or not p > 1:
            return self.sum_j(self.abs_pow(self.gather_j(u) - self.gather_i(u), p))
        return _SumAbsPowDiff.apply(u, float(p), self, self._power_pairs())
