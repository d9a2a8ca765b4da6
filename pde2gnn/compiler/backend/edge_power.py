"""The kernel ``_G.sum_abs_pow_diff(u, p)``: ``s_i = sum_{j in N(i)} |u_j - u_i| ** p`` per channel,
the p-Dirichlet energy density of a node value (the p-Laplacian's energy; G^2's gate
``tanh(mean_j |X_j - X_i| ** p)``, Rusch et al., ICLR 2023, eq. 5), for a number p > 1.

The generated code calls it for ``sum_j(abs(u_j - u_i) ** p)`` (``backend/emit.py``) instead of
two gathers, a sum, ``abs_pow`` and a scatter: the differences are formed in place, the
derivative ``p |d| ** (p - 1) sign(d)`` is kept from the forward pass (as ``abs_pow`` does,
``pointwise_ops._power``), and the backward pass is one gather, one product, one scatter over
j and one over i, with no zero-filled ``[E, c]`` or ``[N, c]`` buffer per gather. Values and
gradients equal the unfused form (``tests/compiler/test_abs_pow.py``). :class:`EdgePowerOps`
is a base of :class:`~pde2gnn.compiler.backend.graph_ops.GraphOps` (its ``i``, ``j``,
``num_nodes`` and ``sum_j``).
"""
from __future__ import annotations

import torch
from torch import Tensor

from pde2gnn.compiler.backend.pointwise_ops import _power


class _SumAbsPowDiff(torch.autograd.Function):
    """``s = sum_j |u_j - u_i| ** p`` on the graph ``ops``; ``u [N, c]`` -> ``[N, c]``."""

    @staticmethod
    def forward(ctx, u: Tensor, p: float, ops) -> Tensor:
        d = u.index_select(0, ops.j).sub_(u.index_select(0, ops.i))
        a = d.abs()
        q = _power(a, p - 1)
        s = ops.sum_j(a.mul_(q))
        ctx.ops, ctx.p = ops, p
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(u, q.copysign_(d).mul_(p))
        return s

    @staticmethod
    def backward(ctx, g: Tensor):
        u, w = ctx.saved_tensors
        ops = ctx.ops
        if torch.is_grad_enabled():     # double backward: the differentiable unfused form
            d = u.index_select(0, ops.j) - u.index_select(0, ops.i)
            w = ctx.p * torch.copysign(d.abs() ** (ctx.p - 1), d)
        ge = g.index_select(0, ops.i) * w
        gu = torch.zeros_like(g).index_add_(0, ops.j, ge)
        return gu - ops.sum_j(ge), None, None


class EdgePowerOps:
    """The p-Dirichlet energy density kernel of the generated code (module docstring)."""

    def sum_abs_pow_diff(self, u: Tensor, p: float) -> Tensor:
        """``sum_{j in N(i)} |u_j - u_i| ** p``: ``u [N, c]`` -> ``[N, c]`` (a batched
        ``[B, N, c]`` takes the unfused form), p > 1 a number.

        Raises:
            DataError: ``p <= 1`` (from ``abs_pow``).
        """
        if u.dim() != 2 or not p > 1:
            return self.sum_j(self.abs_pow(self.gather_j(u) - self.gather_i(u), p))
        return _SumAbsPowDiff.apply(u, float(p), self)
