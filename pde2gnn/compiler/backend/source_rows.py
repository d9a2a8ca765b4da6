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
    """A prescribed source: ``rows [n_b]`` (long; None: every node), ``vectors`` (k tensors
    ``[n_b, c]`` contiguous, or ``[N, c]`` without rows), ``narrow`` (the same at their own
    width w, 1 or c), and the node buffers ``buffer [N, w]`` and ``wide [N, c]`` (zero off
    the rows) that :func:`bias` writes into."""

    rows: Optional[Tensor]
    vectors: Tuple[Tensor, ...]
    narrow: Tuple[Tensor, ...]
    buffer: Tensor
    wide: Tensor


def stack(vectors: Sequence[Tensor], support: Sequence[Tensor] = (), channels: int = 1) -> Source:
    """The source's node vectors on their non-zero rows, once per graph.

    Args:
        vectors: k node vectors ``[N, w_k]`` (``w_k`` 1 or c; they broadcast), fixed by the
            graph and the inputs, one per time factor (k may be 0).
        support: node vectors ``[N, w_k]`` whose non-zero rows join the rows: the static
            factors of the terms evaluated on the rows (:func:`take`, the ``extra`` of
            :func:`add` / :func:`bias`: a Robin flux ``S (g - a u) / (b + a d)`` with ``a``
            or ``b`` in t is zero where the face's geometric factor ``S`` is).
        channels: c, the target's channels: the vectors are kept ``[n_b, c]`` contiguous,
            the source shape ``index_add_`` / ``index_copy_`` scatter fastest (a broadcast
            ``[n_b, 1]`` one 1.18x, an ``alpha`` 6x: ``benchmarks/boundary_kernels.py``, 600
            rows of 256^2 x 4, one thread; so the time factors are never an ``alpha``).

    Returns:
        :class:`Source`: the rows where some vector is non-zero, the time vectors there, and
        zero buffers; no rows (None) when more than :data:`DENSE` of the nodes are non-zero.

    Raises:
        ValueError: neither vectors nor support (nothing to place).
    """
    if not vectors and not support:
        raise ValueError("stack needs time vectors or support vectors")
    ref = (list(vectors) or list(support))[0]
    n = ref.shape[0]
    w = max([1, *(v.shape[-1] for v in vectors)])
    c = max(channels, w)
    narrow = [v.expand(n, w) for v in vectors]
    marks = [v.reshape(n, -1).ne(0).any(1) for v in [*narrow, *support]]
    rows = torch.nonzero(torch.stack(marks).any(0)).squeeze(1)
    buffer, wide = ref.new_zeros(n, w), ref.new_zeros(n, c)
    if rows.numel() > DENSE * n:
        return Source(None, tuple(v.expand(n, c).contiguous() for v in narrow),
                      tuple(v.contiguous() for v in narrow), buffer, wide)
    narrow = [v.index_select(0, rows) for v in narrow]
    return Source(rows, tuple(v.expand(-1, c).contiguous() for v in narrow), tuple(narrow),
                  buffer, wide)


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


def _sum(vs, factors, extra):
    s, own = extra, False
    for v, f in zip(vs, factors):
        if s is None:
            s, own = v * f, True
        elif torch.is_tensor(f):
            s, own = torch.addcmul(s, v, f), True
        else:
            s = s.add_(v, alpha=f) if own else s.add(v, alpha=f)
            own = True
    return s


def add(out: Tensor, source: Source, factors: Sequence, extra: Optional[Tensor] = None) -> Tensor:
    """``out + sum_k factors[k] v_k + extra``, written into the source's rows of ``out``: the
    form for a product that has a bias of its own (the state terms of the remainder).

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
    rows = source.rows
    s = _sum(source.vectors, factors, extra)
    if rows is None:
        return out.add_(s) if s.dim() <= out.dim() else out + s
    if s.dim() > out.dim():          # a batched extra into an unbatched product (not made)
        out = out.expand(*s.shape[:-2], *out.shape[-2:]).clone()
    shape = (*out.shape[:-2], rows.shape[0], out.shape[-1])
    if s.shape != shape:
        s = s.expand(shape).contiguous()
    return out.index_add_(-2, rows, s)


def bias(source: Source, factors: Sequence, extra: Optional[Tensor] = None,
         like: Optional[Tensor] = None) -> Tensor:
    """``sum_k factors[k] v_k + extra`` on every node, the bias of a sparse product that has
    no other (``torch.addmm`` copies it as the output's start: cheaper there than an
    ``index_add_`` into the output after the product, ``benchmarks/boundary.py``).

    Args:
        source, factors, extra: as for :func:`add`.
        like: the state the product multiplies: ``[N, c]`` gives the ``wide`` buffer (a bias
            of the output's shape, copied faster than a broadcast one), ``[B, N, c]`` the
            narrow ``[N, w]`` one (the batched product is ``[N, B c]``: only a ``[N, 1]``
            bias joins it in the same call).

    Returns:
        A buffer of the source with the sum written into its rows (in place, without
        autograd: read it before the next call, as the generated code does, which passes it
        straight to the product); a new tensor when the sum requires a gradient (a factor
        with a learnable parameter, a state that requires grad), is batched, or ``source``
        has no rows. The buffers belong to one compiled field on one device: two evaluations
        of the same field at once (threads) would share them.
    """
    rows = source.rows
    narrow = extra is None and like is not None and like.dim() == 3
    s = _sum(source.narrow if narrow else source.vectors, factors, extra)
    if rows is None:
        return s
    buf = source.buffer if narrow else source.wide
    if s.dim() > buf.dim():          # a batched extra: a new buffer per trajectory
        return buf.expand(*s.shape[:-2], *buf.shape).index_copy(-2, rows, s)
    if s.requires_grad and torch.is_grad_enabled():
        return buf.index_copy(0, rows, s)
    return buf.index_copy_(0, rows, s)
