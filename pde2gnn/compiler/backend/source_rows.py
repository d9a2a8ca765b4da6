"""The kernels of a prescribed source on the boundary rows (:mod:`pde2gnn.compiler.backend.sources`
generates the calls; the generated code imports this module as ``_rows``).

The source ``sum_k c_k(t) v_k`` is non-zero on the ``n_b`` boundary rows only. :func:`stack`
keeps the vectors there, once per graph, with a node buffer of zeros; :func:`dense` writes
``sum_k c_k v_k`` into the buffer's ``n_b`` rows (the other rows stay zero) and returns the
buffer, which the sparse product reads as its bias (``torch.addmm``) or a ``torch.addcmul``
as its first term. An evaluation thus costs k products over ``n_b`` rows and one scatter of
``n_b`` rows, not a pass over the N nodes per time factor. (Measured alternatives, one thread:
``index_add_`` of the rows into the product's fresh ``[N, c]`` output cost 1.2x the product,
a fresh zero ``[N, 1]`` per evaluation 1.10x, a stacked ``[N, k] @ [k]`` BLAS product up to
1.5x; the buffer's scatter about 3 us.)
"""
from __future__ import annotations

from typing import NamedTuple, Optional, Sequence, Tuple

import torch
from torch import Tensor

#: the rows are kept when at most this fraction of the nodes carries a prescribed value;
#: beyond it the vectors are kept on every node (a scatter over most rows is a copy)
DENSE = 0.5


class Source(NamedTuple):
    """A prescribed source: ``rows [n_b]`` (long; None: every node), ``vectors`` (k tensors
    ``[n_b, w]``, or ``[N, w]`` without rows), ``base`` (the static part on the rows, or
    None), ``buffer [N, w]`` and ``wide [N, c]`` (the static part off the rows, which no call
    changes; ``wide`` has the target's c channels: a bias of the state's shape is cheaper in
    ``torch.addmm`` than a broadcast one, and it holds an ``extra`` of c channels)."""

    rows: Optional[Tensor]
    vectors: Tuple[Tensor, ...]
    base: Optional[Tensor]
    buffer: Tensor
    wide: Tensor


def stack(vectors: Sequence[Tensor], base: Optional[Tensor] = None,
          support: Sequence[Tensor] = (), channels: int = 1) -> Source:
    """The source's node vectors on their non-zero rows, once per graph.

    Args:
        vectors: k node vectors ``[N, w_k]`` (``w_k`` 1 or c; they broadcast), fixed by the
            graph and the inputs, one per time factor (k may be 0).
        base: a static part without a time factor ``[N, w_k]`` (a constant Dirichlet value
            beside a time-dependent one), or None.
        support: node vectors ``[N, w_k]`` whose non-zero rows join the rows: the static
            factors of the terms evaluated on the rows (:func:`take`, the ``extra`` of
            :func:`dense`: a Robin flux ``S (g - a u) / (b + a d)`` with ``a`` or ``b`` in t
            is zero where the face's geometric factor ``S`` is).
        channels: c, the channels of the target (the product's output).

    Returns:
        :class:`Source`: the rows where some time vector or support vector is non-zero, the
        vectors and the base there (contiguous), and the buffers (the base, or zeros); no
        rows (None) when more than :data:`DENSE` of the nodes are non-zero.

    Raises:
        ValueError: neither vectors nor support (nothing to place).
    """
    if not vectors and not support:
        raise ValueError("stack needs time vectors or support vectors")
    ref = (vectors or support)[0]
    n = ref.shape[0]
    widths = [v.shape[-1] for v in vectors] + ([] if base is None else [base.shape[-1]])
    shape = (n, max(widths or [channels]))
    vs = [v.expand(shape) for v in vectors]
    if base is not None:
        base = base.expand(shape)
    marks = [v.reshape(n, -1).ne(0).any(1) for v in [*vs, *support]]
    rows = torch.nonzero(torch.stack(marks).any(0)).squeeze(1)
    buffer = ref.new_zeros(shape) if base is None else base.clone()
    wide = buffer.expand(n, max(channels, shape[1])).clone()
    if rows.numel() > DENSE * n:
        return Source(None, tuple(v.contiguous() for v in vs), base, buffer, wide)
    return Source(rows, tuple(v.index_select(0, rows) for v in vs),
                  None if base is None else base.index_select(0, rows), buffer, wide)


def take(source: Source, value: Tensor) -> Tensor:
    """``value`` on the source's rows: ``[..., N, c] -> [..., n_b, c]`` (itself when the
    source has no rows). A static vector is taken once per graph, the state at each
    evaluation (a gather of n_b rows)."""
    if source.rows is None or not torch.is_tensor(value) or value.dim() < 2:
        return value
    return value.index_select(-2, source.rows)


def dense(source: Source, factors: Sequence, extra: Optional[Tensor] = None,
          like: Optional[Tensor] = None) -> Tensor:
    """``base + sum_k factors[k] v_k + extra`` on every node, ``[N, w]`` (``[B, N, c]`` for a
    batched ``extra``), for the vectors of :func:`stack`.

    Args:
        source: from :func:`stack`.
        factors: k scalars, 0-d tensors (the time factors, e.g. ``sin(t)``) or numbers.
        extra: None, or values on the source's rows ``[n_b, c]`` / ``[B, n_b, c]`` (``[N, c]``
            without rows), computed from :func:`take` of the state and of static vectors:
            terms that depend on t and the state together (a Robin flux whose ``a`` or ``b``
            depends on t).
        like: the target's state (``[N, c]``: the result has its c channels, the ``wide``
            buffer; batched or None: the vectors' width, which broadcasts).

    Returns:
        A buffer of the source with the sum written into its rows (in place, without
        autograd: read it before the next call, as the generated code does, which passes it
        straight to the sparse product or ``torch.addcmul``); a new tensor when the sum
        requires a gradient (a factor with a learnable parameter, a state that requires
        grad), is batched, or ``source`` has no rows. The buffers belong to one compiled field
        on one device: two evaluations of the same field at once (threads) would share them.
    """
    rows, vs, base, buffer, wide = source
    s = extra
    for v, f in zip(vs, factors):
        if s is None:
            s = v * f
        else:
            s = torch.addcmul(s, v, f) if torch.is_tensor(f) else s.add(v, alpha=f)
    if base is not None:
        s = s + base
    if rows is None:
        return s
    if (like is not None and like.dim() == 2) or s.shape[-1] > buffer.shape[-1]:
        buffer = wide
    if s.shape[-1] != buffer.shape[-1]:
        s = s.expand(*s.shape[:-1], buffer.shape[-1])
    if s.dim() > buffer.dim():       # a batched extra: a new buffer per trajectory
        return buffer.expand(*s.shape[:-2], *buffer.shape).index_copy(-2, rows, s)
    if s.requires_grad and torch.is_grad_enabled():
        return buffer.index_copy(0, rows, s)
    return buffer.index_copy_(0, rows, s)
