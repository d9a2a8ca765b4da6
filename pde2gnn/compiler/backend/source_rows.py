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
    ``[n_b, c]``, or ``[N, c]`` without rows), ``base`` (the static part on the rows, or
    None), ``buffer [N, c]`` (the static part off the rows, which no call changes)."""

    rows: Optional[Tensor]
    vectors: Tuple[Tensor, ...]
    base: Optional[Tensor]
    buffer: Tensor


def stack(vectors: Sequence[Tensor], base: Optional[Tensor] = None) -> Source:
    """The source's node vectors on their non-zero rows, once per graph.

    Args:
        vectors: k node vectors ``[N, c_k]`` (``c_k`` 1 or c; they broadcast), fixed by the
            graph and the inputs, one per time factor.
        base: a static part without a time factor ``[N, c_k]`` (a constant Dirichlet value
            beside a time-dependent one), or None.

    Returns:
        :class:`Source`: the rows where some time vector is non-zero, the vectors and the
        base there (contiguous), and the buffer (the base, or zeros); no rows (None) when more
        than :data:`DENSE` of the nodes are non-zero.
    """
    vs = torch.broadcast_tensors(*vectors, *([] if base is None else [base]))
    if base is not None:
        vs, base = vs[:-1], vs[-1]
    rows = torch.nonzero(torch.stack(vs).ne(0).flatten(2).any(2).any(0)).squeeze(1)
    buffer = torch.zeros_like(vs[0]) if base is None else base.clone()
    if rows.numel() > DENSE * vs[0].shape[0]:
        return Source(None, tuple(v.contiguous() for v in vs), base, buffer)
    return Source(rows, tuple(v.index_select(0, rows) for v in vs),
                  None if base is None else base.index_select(0, rows), buffer)


def dense(source: Source, factors: Sequence) -> Tensor:
    """``base + sum_k factors[k] v_k`` on every node, ``[N, c]``, for the vectors of
    :func:`stack`.

    Args:
        source: from :func:`stack`.
        factors: k scalars, 0-d tensors (the time factors, e.g. ``sin(t)``) or numbers.

    Returns:
        The source's buffer with the sum written into its rows (in place, without autograd:
        read it before the next call, as the generated code does, which passes it straight to
        the sparse product or ``torch.addcmul``); a new tensor when the sum requires a
        gradient (a factor with a learnable parameter) or ``source`` has no rows. The
        buffer belongs to one compiled field on one device: two evaluations of the same field
        at once (threads) would share it.
    """
    rows, vs, base, buffer = source
    s = vs[0] * factors[0]
    for v, f in zip(vs[1:], factors[1:]):
        s = torch.addcmul(s, v, f) if torch.is_tensor(f) else s.add_(v, alpha=f)
    if base is not None:
        s = s + base
    if rows is None:
        return s
    if s.requires_grad and torch.is_grad_enabled():
        return buffer.index_copy(0, rows, s)
    return buffer.index_copy_(0, rows, s)
