"""The kernels of a prescribed source on the boundary rows (:mod:`pde2gnn.compiler.backend.sources`
generates the calls; the generated code imports this module as ``_rows``).

The source ``sum_k c_k(t) v_k`` (and the terms evaluated on the rows, :func:`take`) is
non-zero on the ``n_b`` boundary rows only. :func:`stack` keeps the vectors there, once per
graph; :func:`add` computes ``sum_k c_k v_k`` on the rows and adds it into the sparse
product's fresh output with one ``index_add_``: k products over ``n_b`` rows and one scatter,
no pass over the N nodes. (Before: the sum was written into a node buffer that the product
read as its bias; as the first term of a ``torch.addcmul`` with the state terms of the
remainder, broadcast from ``[N, 1]``, the mask Dirichlet spec of ``benchmarks/boundary.py``
with ``u - u^3`` took 1.18x the evaluation without the condition, against 1.01x with the
``index_add_`` into the product's output: both steps written out by hand on its compiled
arrays, interleaved in one process, one thread, 256 x 256, 60 rounds; the benchmark itself
before / after is in docs/guide/boundary-conditions.md.)
Time factors are plain numbers where :func:`time` allows (``math.sin`` instead of a tensor
operation each).
"""
from __future__ import annotations

import math
from typing import NamedTuple, Optional, Sequence, Tuple

import torch
from torch import Tensor

#: the rows are kept when at most this fraction of the nodes carries a prescribed value;
#: beyond it the vectors are kept on every node (a scatter over most rows is a copy)
DENSE = 0.5


class Source(NamedTuple):
    """A prescribed source: ``rows [n_b]`` (long; None: every node) and ``vectors`` (k tensors
    ``[n_b, w]``, or ``[N, w]`` without rows)."""

    rows: Optional[Tensor]
    vectors: Tuple[Tensor, ...]


def stack(vectors: Sequence[Tensor], support: Sequence[Tensor] = (), channels: int = 1) -> Source:
    """The source's node vectors on their non-zero rows, once per graph.

    Args:
        vectors: k node vectors ``[N, w_k]`` (``w_k`` 1 or c; they broadcast), fixed by the
            graph and the inputs, one per time factor (k may be 0).
        support: node vectors ``[N, w_k]`` whose non-zero rows join the rows: the static
            factors of the terms evaluated on the rows (:func:`take`, the ``extra`` of
            :func:`add`: a Robin flux ``S (g - a u) / (b + a d)`` with ``a`` or ``b`` in t
            is zero where the face's geometric factor ``S`` is).
        channels: c, the target's channels: the vectors are kept ``[n_b, c]`` contiguous
            (``index_add_`` takes its fast path only for a contiguous source of the output's
            row shape: 5 us against 36 us for a broadcast ``[n_b, 1]`` one, 600 rows).

    Returns:
        :class:`Source`: the rows where some vector is non-zero and the time vectors there;
        no rows (None) when more than :data:`DENSE` of the nodes are non-zero.

    Raises:
        ValueError: neither vectors nor support (nothing to place).
    """
    if not vectors and not support:
        raise ValueError("stack needs time vectors or support vectors")
    n = (list(vectors) or list(support))[0].shape[0]
    width = max([channels, *(v.shape[-1] for v in vectors)])
    vs = [v.expand(n, width) for v in vectors]
    marks = [v.reshape(n, -1).ne(0).any(1) for v in [*vs, *support]]
    rows = torch.nonzero(torch.stack(marks).any(0)).squeeze(1)
    if rows.numel() > DENSE * n:
        return Source(None, tuple(v.contiguous() for v in vs))
    return Source(rows, tuple(v.index_select(0, rows) for v in vs))


def take(source: Source, value: Tensor) -> Tensor:
    """``value`` on the source's rows: ``[..., N, c] -> [..., n_b, c]`` (itself when the
    source has no rows). A static vector is taken once per graph, the state at each
    evaluation (a gather of n_b rows)."""
    if source.rows is None or not torch.is_tensor(value) or value.dim() < 2:
        return value
    return value.index_select(-2, source.rows)


def time(t):
    """t as a Python float where that is safe (a CPU tensor without autograd, outside
    ``torch.compile``: no device sync, no recompilation per value), else t itself: the time
    factors of :func:`add` are then plain numbers (``math.sin``), not one small tensor
    operation each."""
    if not torch.is_tensor(t):
        return float(t)
    if t.requires_grad or t.device.type != "cpu" or torch.compiler.is_compiling():
        return t
    return float(t)


def sin(x):
    """``sin`` of a time factor: :func:`math.sin` of a number, :func:`torch.sin` of a tensor."""
    return math.sin(x) if isinstance(x, float) else torch.sin(x)


def cos(x):
    """``cos`` of a time factor: :func:`math.cos` of a number, :func:`torch.cos` of a tensor."""
    return math.cos(x) if isinstance(x, float) else torch.cos(x)


def add(out: Tensor, source: Source, factors: Sequence, extra: Optional[Tensor] = None) -> Tensor:
    """``out + sum_k factors[k] v_k + extra``, written into the source's rows of ``out``.

    Args:
        out: ``[N, c]`` or ``[B, N, c]``, a tensor this call may change: the fresh output of
            the sparse product (the generated code passes nothing else; autograd allows the
            in-place update, since the product's backward does not read its output).
        source: from :func:`stack`.
        factors: k scalars, 0-d tensors (the time factors, e.g. ``sin(t)``) or numbers.
        extra: None, or values on the source's rows ``[n_b, c]`` / ``[B, n_b, c]``
            (``[..., N, c]`` without rows), computed from :func:`take` of the state and of
            static vectors: terms that depend on t and the state together (a Robin flux
            whose ``a`` or ``b`` depends on t).

    Returns:
        ``out``, updated in place: k products and one ``index_add_`` on the n_b rows (a pass
        over the N nodes when the source has no rows).
    """
    rows, vs = source
    s, own = extra, False
    for v, f in zip(vs, factors):
        if s is None:
            s, own = v * f, True
        elif torch.is_tensor(f):
            s, own = torch.addcmul(s, v, f), True
        else:
            s = s.add_(v, alpha=f) if own else s.add(v, alpha=f)
            own = True
    if rows is None:
        return out.add_(s) if s.dim() <= out.dim() else out + s
    if s.dim() > out.dim():          # a batched extra into an unbatched product (not made)
        out = out.expand(*s.shape[:-2], *out.shape[-2:]).clone()
    shape = (*out.shape[:-2], rows.shape[0], out.shape[-1])
    if s.shape != shape:
        s = s.expand(shape).contiguous()
    return out.index_add_(-2, rows, s)
