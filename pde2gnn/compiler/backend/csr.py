"""The sparse product the generated code's fused linear groups run on: ``A @ x`` with A in CSR
form, differentiable in A's values and in x, over a :class:`~pde2gnn.compiler.backend.graph_ops.GraphOps`
graph or a :class:`CSRPattern` (the edges plus a diagonal; any entry list), repeated entries
merged. :mod:`pde2gnn.compiler.backend.graph_ops` is its one user.
"""
from __future__ import annotations

import warnings
import weakref

import torch
from torch import Tensor

from pde2gnn.compiler.backend.csr_op import csr_mm
from pde2gnn.compiler.backend.ell import ell_product
from pde2gnn.compiler.backend import grid
from pde2gnn.compiler.backend.grid import grid_product, lookup as grid_lookup

warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")


def _csr(crow: Tensor, col: Tensor, values: Tensor, n: int) -> Tensor:
    return torch.sparse_csr_tensor(crow, col, values, (n, n), check_invariants=False)


def _cache(ops) -> "_CSRCache":
    cache = getattr(ops, "_csr_cache", None)
    if cache is None:
        cache = ops._csr_cache = _CSRCache()
    return cache


def _indices(ops) -> tuple:
    """``(crow, col, t_crow, t_col)`` of ``ops``'s pattern as int32 where N and nnz fit
    (below 2^31), else as stored (int64); made once per pattern and cached on ``ops`` (keyed by
    weak references to the stored ``col`` and ``t_col`` tensors, so new arrays, e.g. after a
    device move, rebuild them). MKL's CSR product (LP64,
    torch's CPU build) takes int32 indices and converts int64 ones at every call, two
    temporary arrays of nnz entries per product (``aten/src/ATen/mkl/SparseDescriptors.h``);
    cuSPARSE and torch's sampled product take either."""
    cache = _cache(ops)
    key = cache.idx_key
    if key is None or key[0]() is not ops.col or key[1]() is not ops.t_col:
        arrays = (ops.crow, ops.col, ops.t_crow, ops.t_col)
        if max(ops.num_nodes, ops.col.numel()) < 2 ** 31 - 1:
            arrays = tuple(a.to(torch.int32) for a in arrays)
        cache.idx_key, cache.idx = (weakref.ref(ops.col), weakref.ref(ops.t_col)), arrays
    return cache.idx


def _mm(a: Tensor, x: Tensor) -> Tensor:
    """``a @ x`` for a CSR matrix ``a [N, N]`` and a dense ``x [N, c]``, written into a fresh
    uninitialised ``[N, c]`` by ``torch.addmm(out, a, x, beta=0, out=out)``. torch's ``a @ x``
    allocates a zero matrix, copies it into a second new one and then multiplies with
    beta = 0: two passes over ``[N, c]`` that the product itself does not need (BLAS semantics:
    with beta = 0 the output's old contents, NaN included, are ignored;
    ``tests/compiler/test_csr_product.py``). Under autograd with an input that needs a gradient
    (a double backward) it is ``a @ x``, which torch differentiates."""
    if torch.is_grad_enabled() and (x.requires_grad or a.requires_grad):
        return a @ x
    out = x.new_empty(a.shape[0], x.shape[1])
    return torch.addmm(out, a, x, beta=0.0, out=out)


def _matrices(ops, values: Tensor):
    """``(A, A^T)`` as CSR tensors for A's ``values [nnz]`` on ``ops``'s pattern, cached on
    ``ops`` and keyed by the values tensor (a weak reference, so the cache keeps neither the
    values nor the autograd graph that made them alive) and its version counter (an in-place
    change invalidates it): an operator applied at every evaluation and in its backward is built
    once per solve, not twice per evaluation (the transpose's values are a gather of nnz entries
    in random order). Both matrices hold detached values: the products need only the numbers;
    the gradient with respect to the values is the SDDMM of :class:`_CSRMatmul`. Their indices
    are :func:`_indices` (int32 where they fit)."""
    cache = _cache(ops)
    if cache.ref is not None and cache.ref() is values and cache.version == values._version:
        return cache.pair
    v = values.detach()
    crow, col, t_crow, t_col = _indices(ops)
    cache.pair = (_csr(crow, col, v, ops.num_nodes),
                  _csr(t_crow, t_col, v.index_select(0, ops.t_perm), ops.num_nodes))
    cache.ref, cache.version = weakref.ref(values), values._version
    return cache.pair


class _CSRCache:
    """The ``(A, A^T)`` pair of the last values tensor (:func:`_matrices`): ``ref`` a weak
    reference to it, ``version`` its version counter; and the pattern's int32 indices
    (:func:`_indices`: ``idx``, keyed by ``idx_key``). Copied or pickled empty (a weak
    reference cannot be pickled; the pair and the indices are rebuilt on first use)."""

    def __init__(self):
        self.ref, self.version, self.pair = None, -1, None
        self.idx_key, self.idx = None, None

    def __reduce__(self):
        return _CSRCache, ()


class _CSRMatmul(torch.autograd.Function):
    """y = A @ x with A in CSR form; gradients for both the values of A and x.

    The backward pass uses the transposed CSR structure (precomputed), so neither pass
    materialises an edge-by-channel tensor: d/dvalues is the sampled dense-dense product
    (g @ x^T) on A's sparsity pattern (SDDMM, ``torch.sparse.sampled_addmm``), 0.17 ms against
    1.13 ms on Cora for gathering ``g_i`` and ``x_j`` as ``[E, c]`` tensors
    (``benchmarks/epoch_breakdown.py``, one thread). The pattern must be coalesced (distinct
    entries): ``sampled_addmm`` refuses a pattern with more entries than N^2 ("torch.copy_:
    only sparse compressed tensors with the same number of specified elements"), which
    :func:`csr_product` prevents by merging repeated entries first.
    """

    @staticmethod
    def forward(ctx, values, x, ops, bias=None):
        ctx.ops = ops
        ctx.bias_shape = None if bias is None else bias.shape
        ctx.save_for_backward(values, x)
        a = _matrices(ops, values)[0]
        if bias is None:
            return _mm(a, x)
        return torch.addmm(bias.expand(x.shape[0], x.shape[1]), a, x)  # bias + A x, one call

    @staticmethod
    def backward(ctx, g):
        values, x = ctx.saved_tensors
        ops = ctx.ops
        g = g.contiguous()
        gv = gx = None
        if ctx.needs_input_grad[0]:
            crow, col = _indices(ops)[:2]
            gv = torch.sparse.sampled_addmm(_csr(crow, col, values, ops.num_nodes),
                                            g, x.t(), beta=0.0).values()
        if ctx.needs_input_grad[1]:
            gx = _mm(_matrices(ops, values)[1], g)
        gb = None
        if ctx.bias_shape is not None and ctx.needs_input_grad[3]:
            gb = g.sum_to_size(ctx.bias_shape)
        return gv, gx, None, gb


class _SampledDot(torch.autograd.Function):
    """s_e = <u_i, v_j> for every entry e = (i, j) of a CSR pattern: the sampled dense-dense
    product (SDDMM, ``torch.sparse.sampled_addmm``) of u ``[N, c]`` and v^T, ``[nnz]``; the
    attention scores of GAT / GRAND (Chamberlain et al. 2021, eq. 8) without the two ``[E, c]``
    gathers (and their ``[E, c]`` gradients) of ``dot(u_i, v_j)``. Backward: du = S(g) v and
    dv = S(g)^T u, two CSR products with the cotangent g ``[nnz]`` as values."""

    @staticmethod
    def forward(ctx, u, v, pattern):
        ctx.pattern = pattern
        ctx.save_for_backward(u, v)
        zero = u.new_zeros(pattern.col.numel())
        crow, col = _indices(pattern)[:2]
        return torch.sparse.sampled_addmm(_csr(crow, col, zero, pattern.num_nodes),
                                          u, v.t(), beta=0.0).values()

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g):
        u, v = ctx.saved_tensors
        p = ctx.pattern
        crow, col, t_crow, t_col = _indices(p)
        gu = _mm(_csr(crow, col, g, p.num_nodes), v) if ctx.needs_input_grad[0] else None
        gv = _mm(_csr(t_crow, t_col, g.index_select(0, p.t_perm), p.num_nodes), u) \
            if ctx.needs_input_grad[1] else None
        return gu, gv, None


def sampled_dot(u: Tensor, v: Tensor, pattern) -> Tensor:
    """``<u_i, v_j>`` on every entry (i, j) of ``pattern`` (a :class:`GraphOps` or
    :class:`CSRPattern`), ``u, v [N, c]`` -> ``[nnz]`` (CSR order), differentiable in both;
    see :class:`_SampledDot`. Memory O(nnz + N c) instead of the gathers' O(nnz c)."""
    return _SampledDot.apply(u.contiguous(), v.contiguous(), pattern)


def _fusable_bias(bias, x: Tensor) -> bool:
    """Whether ``bias + A @ x`` can be one ``torch.addmm`` (x ``[N, c]`` or ``[B, N, c]``): a
    tensor of x's dtype and device that is ``[N, 1]``, or ``[N, c]`` / ``[c]`` for an
    unbatched x (a batched x is multiplied as ``[N, B*c]``)."""
    if not torch.is_tensor(bias) or bias.dtype != x.dtype or bias.device != x.device \
            or torch.compiler.is_compiling():
        return False
    n, c = x.shape[-2], x.shape[-1]
    if bias.shape in ((n, 1), (1, 1)):
        return True
    return x.dim() == 2 and bias.shape in ((n, c), (c,), (1, c))


def csr_product(values: Tensor, x: Tensor, pattern, bias=None) -> Tensor:
    """``A @ x`` (``bias + A @ x`` when ``bias`` is given) for A's values ``[nnz]`` on
    ``pattern`` (a :class:`GraphOps` or :class:`CSRPattern`: ``crow``, ``col``, ``row``...,
    and ``slot``), x ``[N, c]`` or ``[B, N, c]``; ``bias`` anything that broadcasts to the
    product, added in the same ``torch.addmm`` call where :func:`_fusable_bias` allows (no
    extra pass over the nodes; BLAS's ``C = beta C + A B``). Repeated entries (multi-edges, a self-loop beside an added diagonal) are
    summed into one CSR entry first (``slot``), so the product and its backward see a
    coalesced matrix: ``A @ x`` sums repeated entries, as the sum over edges does.

    Eagerly one CSR product (:class:`_CSRMatmul`). Under ``torch.compile``, whose tracer cannot
    create sparse tensors: on a periodic grid with constant weights recorded by
    :func:`.ell.prepare`, the sum of shifted copies of x (:mod:`.grid`); else the padded ELL form's gather and reduction over K neighbours
    (:mod:`.ell`, which inductor fuses with the node-wise code) where :func:`.ell.prepare` gave
    the pattern one (``pattern.ell``), else the custom operator ``torch.ops.pde2gnn.csr_mm``
    (:mod:`.csr_op`): the same CSR product, opaque to the tracer, so the compiled graph has no
    break."""
    fused = bias is not None and _fusable_bias(bias, x)
    if pattern.slot is not None:
        values = values.new_zeros(*values.shape[:-1], pattern.nnz).index_add(
            values.dim() - 1, pattern.slot, values)
    batched = x.dim() == 3
    if batched:
        b, n, c = x.shape
        x = x.transpose(0, 1).reshape(n, b * c)
    ell, shifted = getattr(pattern, "ell", None), getattr(pattern, "grid", None)
    weights = None if shifted is None or not torch.compiler.is_compiling() \
        else grid_lookup(shifted, values)
    if weights is not None:
        y = grid_product(shifted, weights, x, grid.COMPILED_WRAP)
    elif torch.compiler.is_compiling() and ell is not None and values.dim() == 1:
        y = ell_product(ell, values, x)
    elif torch.compiler.is_compiling():
        y = csr_mm(pattern.crow, pattern.col, pattern.t_crow, pattern.t_col, pattern.t_perm,
                   values, x)
    else:
        y = _CSRMatmul.apply(values, x, pattern, bias if fused else None)
    y = y.reshape(n, b, c).transpose(0, 1) if batched else y
    return y + bias if bias is not None and not fused else y


def csr_structure(i: Tensor, j: Tensor, n: int) -> dict:
    """CSR arrays of the entries (i, j) of an n x n matrix, sorted by (i, j): ``crow [n + 1]``,
    ``col``, and the transposed structure (``t_perm``: CSR position -> position in the
    transpose's order; ``t_crow``, ``t_col``) that the backward product reads."""
    crow = torch.zeros(n + 1, dtype=torch.long, device=i.device)
    crow[1:] = torch.bincount(i, minlength=n).cumsum(0)
    t_perm = torch.argsort(j * n + i)
    t_crow = torch.zeros(n + 1, dtype=torch.long, device=i.device)
    t_crow[1:] = torch.bincount(j, minlength=n).cumsum(0)
    return {"crow": crow, "col": j.clone(), "t_perm": t_perm, "t_crow": t_crow,
            "t_col": i[t_perm].clone()}


class CSRPattern:
    """The CSR structure of a list of entries (i, j) of an n x n matrix, repeated entries
    merged (coalesced).

    ``perm`` sorts the given entries by (i, j) (stably); ``slot [len(i)]`` maps each sorted
    entry to its position among the ``nnz`` distinct ones (None when no entry repeats);
    ``row``, ``crow``, ``col``, ``t_perm``, ``t_crow``, ``t_col`` describe the coalesced
    matrix, what :class:`_CSRMatmul` reads. A coalesced pattern has at most n^2 entries, which
    ``torch.sparse.sampled_addmm`` (the backward pass) needs."""

    def __init__(self, i: Tensor, j: Tensor, n: int):
        key = i * n + j
        self.perm = torch.argsort(key, stable=True)
        distinct, slot = torch.unique_consecutive(key[self.perm], return_inverse=True)
        self.slot = slot if distinct.numel() < key.numel() else None
        self.num_nodes, self.nnz = n, int(distinct.numel())
        self.row = distinct // n
        for name, value in csr_structure(self.row, distinct % n, n).items():
            setattr(self, name, value)
