"""Point-wise kernels of the generated code that need no graph: comparisons, ``where``,
channel concatenation, inner products, head means, norms, powers of absolute values.
:class:`PointwiseOps` is a base of
:class:`~pde2gnn.compiler.backend.graph_ops.GraphOps`, so the generated code calls them as
``_G.lt(a, b)``, ``_G.dot(u, v)``... Values are ``[..., R, c]`` (R nodes or edges, leading batch
axes broadcast) or Python numbers.
"""
from __future__ import annotations

import torch
from torch import Tensor

from pde2gnn.errors import DataError


def inverted_dropout(x: Tensor, p: float) -> Tensor:
    """Inverted dropout (Srivastava et al., JMLR 2014) in training: each entry of ``x`` (any
    shape) zeroed with probability ``p`` and the others scaled by ``1 / (1 - p)``, in a new
    tensor. On the CPU the mask is drawn as uniforms compared with p (``rand >= p``) instead of
    torch's ``bernoulli_``, which is 4-7x slower there (15,266 and 46,848 values, one thread:
    0.85 / 3.2 ms against 0.12 / 0.8 ms, measured here): the same distribution, another random
    stream. CUDA tensors and ``p >= 1`` take ``torch.nn.functional.dropout``. Used by the
    generated code's ``_G.dropout`` and the models' ``Dropout`` (``pde2gnn.models.features``).

    Args:
        x: values, any shape.
        p: the drop probability, a number in [0, 1].
    """
    if x.is_cuda or p >= 1:
        return torch.nn.functional.dropout(x, p, training=True)
    return x * torch.rand_like(x).ge_(p).mul_(1.0 / (1.0 - p))


def _power(a: Tensor, q: float) -> Tensor:
    """``a ** q`` for ``a >= 0`` in a new tensor: by in-place products and one square root where
    ``q`` is a multiple of 1/2 up to 8 (``a ** 1.5 = a * sqrt(a)``), else ``torch.pow``: a
    non-integer ``pow`` is an ``exp(q log a)`` per element, several times a product's cost.

    Where a product by ``a`` follows, the square root is taken of ``max(a, tiny)`` (the
    smallest normal number): torch's CPU ``sqrt`` of an exact 0 takes a slow path (1.3 ms
    against 0.02 ms for 557 x 256 values, measured here; ReLU outputs make half of G^2's
    differences 0), and ``a * sqrt(max(a, tiny))`` equals ``a * sqrt(a)`` for ``a >= tiny``
    and is below ``tiny ** 1.5`` (0 after rounding) otherwise."""
    if 2 * q != int(2 * q) or not 0 <= q <= 8:
        return a.pow(q)
    whole = int(q)
    if 2 * q % 2 == 1:
        out = a.sqrt() if whole == 0 else a.clamp_min(torch.finfo(a.dtype).tiny).sqrt_()
    elif whole == 0:
        return torch.ones_like(a)
    else:
        out, whole = a.clone(), whole - 1
    for _ in range(whole):
        out.mul_(a)
    return out


class _AbsPow(torch.autograd.Function):
    """``|u| ** p`` (p > 1, a number) whose derivative ``p |u| ** (p - 1) sign(u)`` is formed in
    the forward pass from the power it needs anyway, so the backward pass is one product
    instead of autograd's ``pow``, two products, ``sgn`` and a product. With
    ``create_graph`` the derivative is recomputed by differentiable operations."""

    @staticmethod
    def forward(ctx, u: Tensor, p: float) -> Tensor:
        a = u.abs()
        q = _power(a, p - 1)
        ctx.p = p
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(u, torch.copysign(q, u).mul_(p))
        return a.mul_(q)                  # a is this function's own tensor

    @staticmethod
    def backward(ctx, g: Tensor):
        u, w = ctx.saved_tensors
        if torch.is_grad_enabled():         # double backward: a differentiable derivative
            w = ctx.p * torch.copysign(u.abs() ** (ctx.p - 1), u)
        return g * w, None


class PointwiseOps:
    """The graph-independent kernels (see the module docstring)."""

    @staticmethod
    def _as_float(r, *args) -> Tensor:
        """A boolean result as 0 / 1 in the floating dtype of the tensor arguments."""
        dt = next((a.dtype for a in args if torch.is_tensor(a) and a.is_floating_point()),
                  torch.get_default_dtype())
        return r.to(dt) if torch.is_tensor(r) else torch.tensor(float(r), dtype=dt)

    def lt(self, a, b) -> Tensor:
        """``a < b`` as 1.0 / 0.0, broadcasting (``[..., R, c]`` or scalars)."""
        return self._as_float(a < b, a, b)

    def le(self, a, b) -> Tensor:
        """``a <= b`` as 1.0 / 0.0."""
        return self._as_float(a <= b, a, b)

    def gt(self, a, b) -> Tensor:
        """``a > b`` as 1.0 / 0.0."""
        return self._as_float(a > b, a, b)

    def ge(self, a, b) -> Tensor:
        """``a >= b`` as 1.0 / 0.0."""
        return self._as_float(a >= b, a, b)

    def eq(self, a, b) -> Tensor:
        """``a == b`` as 1.0 / 0.0."""
        return self._as_float(a == b, a, b)

    def where(self, c, a, b) -> Tensor:
        """``a`` where ``c != 0``, else ``b`` (``torch.where``, broadcasting)."""
        c = torch.as_tensor(c) != 0
        ref = next((x for x in (a, b) if torch.is_tensor(x)), None)
        dt = ref.dtype if ref is not None else torch.get_default_dtype()
        return torch.where(c, torch.as_tensor(a, dtype=dt, device=c.device),
                           torch.as_tensor(b, dtype=dt, device=c.device))

    @staticmethod
    def cat(parts) -> Tensor:
        """Channels side by side, ``[..., R, c_k]`` -> ``[..., R, sum c_k]``; leading (batch)
        axes are broadcast, so static ``[R, c]`` values join batched ``[B, R, c]`` ones."""
        parts = [torch.as_tensor(p) for p in parts]
        lead = torch.broadcast_shapes(*(p.shape[:-1] for p in parts))
        return torch.cat([p.expand(*lead, p.shape[-1]) for p in parts], dim=-1)

    @staticmethod
    def dot(u: Tensor, v: Tensor, heads: int = 1) -> Tensor:
        """Inner product over channels: ``[R, c]`` x ``[R, c]`` -> ``[R, 1]``; with ``heads=H``
        one inner product per block of c / H consecutive channels, ``[R, H]``.

        Raises:
            DataError: c is not divisible by H.
        """
        uv, heads = u * v, int(heads)
        if heads == 1:
            return uv.sum(-1, keepdim=True)
        c = uv.shape[-1]
        if c % heads:
            raise DataError(f"dot with heads={heads} needs a channel count divisible by "
                            f"{heads}, got {c}")
        return uv.reshape(*uv.shape[:-1], heads, c // heads).sum(-1)

    @staticmethod
    def mean_heads(e: Tensor) -> Tensor:
        """Mean over channels (the heads of a multi-head attention): ``[R, H]`` -> ``[R, 1]``."""
        return e.mean(-1, keepdim=True) if torch.is_tensor(e) else e

    @staticmethod
    def norm(u: Tensor) -> Tensor:
        """Euclidean norm over channels, keeping a channel axis of size 1."""
        return torch.linalg.vector_norm(u, dim=-1, keepdim=True)

    @staticmethod
    def abs_pow(u: Tensor, p: float) -> Tensor:
        """``|u| ** p`` for a number ``p > 1`` (G^2's gate ``|X_j - X_i| ** p``, Rusch et al.,
        ICLR 2023, eq. 5): the same values and derivative ``p |u| ** (p - 1) sign(u)`` as
        ``torch.abs(u) ** p``, at a fraction of its cost (no ``pow`` for p a multiple of 1/2,
        one product in the backward pass). ``u``: any shape; returns the same shape.

        Raises:
            DataError: ``p <= 1`` (where the derivative at 0 is not 0; the generated code
                calls this only for ``p > 1``).
        """
        if not p > 1:
            raise DataError(f"abs_pow needs an exponent > 1, got {p}")
        return _AbsPow.apply(u, float(p))
