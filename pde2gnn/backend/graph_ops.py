"""Graph kernels the generated code calls: CSR sparse products, gathers, scatter sums, softmax.

Edges follow torch_geometric's convention: ``edge_index[0]`` is the source j, ``edge_index[1]``
the target i, and messages flow j -> i (node i aggregates over N(i) = {j : (j -> i)}).
:class:`GraphOps` sorts the edges by (i, j) once, so every edge tensor it hands out or accepts
is in CSR order and the sparse matrix A with A[i, j] = w_ij needs no permutation.

Batching: node values may be ``[N, c]`` or ``[B, N, c]`` and edge values ``[E, c]`` or
``[B, E, c]`` (B trajectories on the same graph); every kernel acts on the last two axes and
broadcasts unbatched static values (coordinates, geometric weights) against batched ones.
"""
from __future__ import annotations

import warnings
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.utils import softmax as pyg_softmax

from ..errors import DataError
from .inputs import check_graph

warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")


def _csr(crow: Tensor, col: Tensor, values: Tensor, n: int) -> Tensor:
    return torch.sparse_csr_tensor(crow, col, values, (n, n), check_invariants=False)


class _CSRMatmul(torch.autograd.Function):
    """y = A @ x with A in CSR form; gradients for both the values of A and x.

    The backward pass uses the transposed CSR structure (precomputed), so neither pass
    materialises an edge-by-channel tensor: d/dvalues is the sampled dense-dense product
    (g @ x^T) on A's sparsity pattern (SDDMM, ``torch.sparse.sampled_addmm``), 0.17 ms against
    1.13 ms on Cora for gathering ``g_i`` and ``x_j`` as ``[E, c]`` tensors
    (``benchmarks/epoch_breakdown.py``, one thread).
    """

    @staticmethod
    def forward(ctx, values, x, ops, bias=None):
        ctx.ops = ops
        ctx.bias_shape = None if bias is None else bias.shape
        ctx.save_for_backward(values, x)
        a = _csr(ops.crow, ops.col, values, ops.num_nodes)
        if bias is None:
            return a @ x
        return torch.addmm(bias.expand(x.shape[0], x.shape[1]), a, x)  # bias + A x, one call

    @staticmethod
    def backward(ctx, g):
        values, x = ctx.saved_tensors
        ops = ctx.ops
        g = g.contiguous()
        gv = gx = None
        if ctx.needs_input_grad[0]:
            gv = torch.sparse.sampled_addmm(_csr(ops.crow, ops.col, values, ops.num_nodes),
                                            g, x.t(), beta=0.0).values()
        if ctx.needs_input_grad[1]:
            gx = _csr(ops.t_crow, ops.t_col, values.index_select(0, ops.t_perm),
                      ops.num_nodes) @ g
        gb = None
        if ctx.bias_shape is not None and ctx.needs_input_grad[3]:
            gb = g.sum_to_size(ctx.bias_shape)
        return gv, gx, None, gb


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


def _csr_product(values: Tensor, x: Tensor, pattern, bias=None) -> Tensor:
    """``A @ x`` (``bias + A @ x`` when ``bias`` is given) for A's values ``[nnz]`` on
    ``pattern`` (a :class:`GraphOps` or :class:`_LoopPattern`: ``crow``, ``col``, ``row``...),
    x ``[N, c]`` or ``[B, N, c]``; ``bias`` anything that broadcasts to the product.

    Eagerly one CSR product (:class:`_CSRMatmul`), whose bias, where :func:`_fusable_bias`
    allows, is added in the same ``torch.addmm`` call (no extra pass over the nodes; BLAS's
    ``C = beta C + A B``). Under ``torch.compile``, whose tracer cannot create sparse tensors,
    the same sum as a gather, a product and an ``index_add``: the compiled graph has no break
    and the same values (to rounding)."""
    fused = bias is not None and _fusable_bias(bias, x)
    batched = x.dim() == 3
    if batched:
        b, n, c = x.shape
        x = x.transpose(0, 1).reshape(n, b * c)
    if torch.compiler.is_compiling():
        y = torch.zeros_like(x).index_add(0, pattern.row,
                                          values.unsqueeze(-1) * x.index_select(0, pattern.col))
    else:
        y = _CSRMatmul.apply(values, x, pattern, bias if fused else None)
    y = y.reshape(n, b, c).transpose(0, 1) if batched else y
    return y + bias if bias is not None and not fused else y


class _LoopPattern:
    """The CSR structure of the edges plus one diagonal entry per node (duplicates of existing
    self-loops are kept: a product sums over both). ``perm`` maps CSR positions to entries of
    ``cat([edge values in CSR order, diagonal])``; the rest is what :class:`_CSRMatmul` reads."""

    def __init__(self, i: Tensor, j: Tensor, n: int):
        ar = torch.arange(n, device=i.device)
        ai, aj = torch.cat([i, ar]), torch.cat([j, ar])
        self.perm = torch.argsort(ai * n + aj, stable=True)
        ai, aj = ai[self.perm], aj[self.perm]
        self.num_nodes, self.row = n, ai
        self.crow = torch.zeros(n + 1, dtype=torch.long, device=i.device)
        self.crow[1:] = torch.bincount(ai, minlength=n).cumsum(0)
        self.col = aj
        self.t_perm = torch.argsort(aj * n + ai)
        self.t_crow = torch.zeros(n + 1, dtype=torch.long, device=i.device)
        self.t_crow[1:] = torch.bincount(aj, minlength=n).cumsum(0)
        self.t_col = ai[self.t_perm]


class GraphOps(nn.Module):
    """Index structure of one graph and the kernels generated code uses on it.

    Args:
        edge_index: ``[2, E]`` long tensor, row 0 = source j, row 1 = target i (PyG convention).
        num_nodes: N.

    Buffers (all in CSR order, sorted by (i, j)): ``i``, ``j`` ``[E]``; ``edge_perm`` ``[E]``
    (CSR position -> position in the given ``edge_index``); ``crow`` ``[N + 1]``;
    ``counts`` ``[N]`` (long in-degrees, from which the float buffers are rebuilt on conversion);
    ``deg`` and ``deg_inv`` ``[N, 1]`` (in-degree, i.e. |N(i)|; ``deg_inv`` is 0 where deg is 0);
    ``abar`` ``[E, 1]``: 1 / sqrt(deg_i deg_j), the entries of D^-1/2 A D^-1/2 (GRAFF's Abar;
    with self-loops in the edge list this is GCN's normalisation).

    Raises:
        DataError: edge_index has the wrong shape or indices out of range.
    """

    def __init__(self, edge_index: Tensor, num_nodes: int):
        super().__init__()
        edge_index = check_graph(edge_index, num_nodes).cpu()
        n = num_nodes
        src, dst = edge_index[0], edge_index[1]
        order = torch.argsort(dst * n + src, stable=True)
        i, j = dst[order], src[order]
        counts = torch.bincount(i, minlength=n)
        crow = torch.zeros(n + 1, dtype=torch.long)
        crow[1:] = counts.cumsum(0)
        t_perm = torch.argsort(j * n + i)
        t_crow = torch.zeros(n + 1, dtype=torch.long)
        t_crow[1:] = torch.bincount(j, minlength=n).cumsum(0)
        self.num_nodes, self.num_edges = n, int(i.numel())
        self.register_buffer("i", i, persistent=False)
        self.register_buffer("edge_perm", order, persistent=False)
        self.register_buffer("j", j, persistent=False)
        self.register_buffer("crow", crow, persistent=False)
        self.register_buffer("col", j.clone(), persistent=False)
        self.register_buffer("t_perm", t_perm, persistent=False)
        self.register_buffer("t_crow", t_crow, persistent=False)
        self.register_buffer("t_col", i[t_perm].clone(), persistent=False)
        self.register_buffer("counts", counts, persistent=False)
        for name, value in self._degree_values(torch.get_default_dtype()).items():
            self.register_buffer(name, value, persistent=False)
        self._loops: Optional[_LoopPattern] = None

    def _degree_values(self, dtype) -> dict:
        """``deg``, ``deg_inv`` and ``abar`` computed from the integer degrees in ``dtype``."""
        deg = self.counts.to(dtype).unsqueeze(1)
        dis = deg.clamp(min=1).rsqrt()
        return {"deg": deg, "deg_inv": torch.where(deg > 0, 1.0 / deg.clamp(min=1), 0.0),
                "abar": dis[self.i] * dis[self.j]}

    def set_geometry(self, weights) -> None:
        """Install static geometric edge weights ``{name: [E] float64}`` (CSR order) as ``[E, 1]``
        buffers ``self.<name>`` (see :mod:`pde2gnn.discretize.geometry`). A float64 master copy
        is kept, so converting the module to another dtype never loses their precision."""
        self._geo64 = {k: torch.as_tensor(v, dtype=torch.float64).reshape(-1, 1)
                       for k, v in weights.items()}
        for k, v in self._geo64.items():
            self.register_buffer(k, v.to(self.deg.dtype), persistent=False)

    def _apply(self, fn, *args, **kwargs):
        """Convert like any module, then rebuild the float buffers from their exact sources
        (integer degrees, float64 geometric weights), so ``.double()`` gains full precision."""
        out = super()._apply(fn, *args, **kwargs)
        self._loops = None
        for k, v in self._degree_values(self.deg.dtype).items():
            setattr(self, k, v)
        for k, v in getattr(self, "_geo64", {}).items():
            setattr(self, k, v.to(device=self.deg.device, dtype=self.deg.dtype))
        return out

    @property
    def row(self) -> Tensor:
        """The row (receiver i) of every CSR entry, ``[E]``."""
        return self.i

    @property
    def edge_index(self) -> Tensor:
        """``[2, E]`` in CSR order (row 0 = j, row 1 = i)."""
        return torch.stack([self.j, self.i])

    def to_csr_order(self, w: Tensor) -> Tensor:
        """Edge data ``[E, c]`` given in the order of the ``edge_index`` this graph was built
        from (``edge_weight`` / ``edge_attr``) -> the same rows in CSR order."""
        return w.index_select(-2, self.edge_perm)

    # ----------------------------------------------------------- kernels
    def edge_values(self, w) -> Tensor:
        """A weight expression (``[E, 1]``, ``[E]`` or a scalar) as a contiguous ``[E]`` vector;
        a batched weight ``[B, E, 1]`` gives ``[B, E]``."""
        w = torch.as_tensor(w, dtype=self.deg.dtype, device=self.i.device)
        if w.dim() == 0 or w.numel() == 1:
            return w.reshape(1).expand(self.num_edges).contiguous()
        if w.dim() == 3:
            return w.reshape(w.shape[0], self.num_edges)
        return w.reshape(self.num_edges)

    def spmm(self, values: Tensor, x: Tensor, bias=None) -> Tensor:
        """``A @ x`` with ``A[i, j] = values[e]`` for edge e = (i, j); x ``[N, c]`` -> ``[N, c]``.
        With ``bias`` (a source that broadcasts to ``[N, c]``): ``bias + A @ x``, in the same
        sparse-product call where possible (:func:`_csr_product`).

        Batched: x ``[B, N, c]`` with shared values ``[E]`` is one CSR product on ``[N, B*c]``;
        per-trajectory values ``[B, E]`` (weights that depend on the state) are a gather, a
        product and a scatter-sum.
        """
        if values.dim() == 2:
            y = self.sum_j(values.unsqueeze(-1) * self.gather_j(x))
            return y if bias is None else y + bias
        return _csr_product(values, x, self, bias)

    def with_diagonal(self, values: Tensor, diag):
        """The operator ``A + diag(d)`` as values on the edges-plus-loops CSR pattern, for
        :meth:`spmm_loops`: one sparse product instead of a product, a scaling and a sum.

        ``values [E]`` are A's entries (CSR order), ``diag`` a scalar or ``[N, 1]`` node
        coefficient; returns ``[E + N]``. Per-trajectory operators (``values [B, E]`` or a
        batched ``diag``) are returned as the pair ``(values, diag)``, which :meth:`spmm_loops`
        applies as two terms.
        """
        d = torch.as_tensor(diag, dtype=values.dtype, device=values.device)
        if values.dim() != 1 or d.dim() > 2 or (d.dim() == 2 and d.shape[-1] != 1):
            return values, d
        if self._loops is None:
            self._loops = _LoopPattern(self.i, self.j, self.num_nodes)
        full = torch.cat([values, d.reshape(-1).expand(self.num_nodes)])
        return full.index_select(0, self._loops.perm)

    def spmm_loops(self, values, x: Tensor, bias=None) -> Tensor:
        """``(A + diag(d)) @ x`` for the values of :meth:`with_diagonal`; x ``[N, c]`` or
        ``[B, N, c]``; with ``bias``: ``bias + (A + diag(d)) @ x`` as in :meth:`spmm`."""
        if isinstance(values, tuple):
            a, d = values
            y = self.spmm(a, x) + d * x
            return y if bias is None else y + bias
        return _csr_product(values, x, self._loops, bias)

    @staticmethod
    def series_at(values: Tensor, times: Tensor, t) -> Tensor:
        """A given time series at time t, linear between its samples: ``values [T, N, c]`` at
        ``times [T]`` (increasing) -> ``[N, c]``. Outside ``[times[0], times[-1]]`` the nearest
        end value (constant extrapolation); one sample is a constant. No Python branch on t, so
        ``torch.compile`` traces it and autograd reaches the values (and t)."""
        if values.shape[0] == 1:
            return values[0]
        t = torch.as_tensor(t, dtype=times.dtype, device=times.device).reshape(1)
        t = torch.minimum(torch.maximum(t, times[:1]), times[-1:])
        k = (torch.searchsorted(times, t, right=True) - 1).clamp(0, times.shape[0] - 2)
        t0, t1 = times[k], times[k + 1]
        w = ((t - t0) / (t1 - t0)).reshape(())
        v0 = values.index_select(0, k)[0]
        return v0 + w * (values.index_select(0, k + 1)[0] - v0)

    def sum_j(self, e) -> Tensor:
        """Sum of an edge value over N(i): ``[..., E, c]`` -> ``[..., N, c]``; a scalar gives
        ``deg * e``."""
        if not torch.is_tensor(e) or e.dim() < 2:
            return self.deg * e
        return self._scatter_sum(e, self.i)

    def fill(self, value: float, channels: int) -> Tensor:
        """The constant ``value`` in ``channels`` channels, ``[channels]`` (broadcasts over rows)."""
        return torch.full((int(channels),), float(value), dtype=self.deg.dtype,
                          device=self.deg.device)

    def rows(self, u, kind: str) -> Tensor:
        """A scalar or ``[c]`` value repeated on every node (``kind='node'``: ``[N, c]``) or
        edge (``'edge'``: ``[E, c]``); a value that already has rows is returned as it is."""
        u = torch.as_tensor(u, dtype=self.deg.dtype, device=self.deg.device)
        if u.dim() >= 2:
            return u
        n = self.num_nodes if kind == "node" else self.num_edges
        return u.reshape(1, -1).expand(n, u.numel())

    def sum_i(self, u: Tensor) -> Tensor:
        """Sum over all nodes, ``[..., N, c]`` -> ``[..., 1, c]`` (a global scalar per channel,
        from energies such as ``1 / sum_i(dot(x, x))``)."""
        return self.rows(u, "node").sum(-2, keepdim=True)

    def sum_ij(self, e: Tensor) -> Tensor:
        """Sum over all edges, ``[..., E, c]`` -> ``[..., 1, c]``."""
        return self.rows(e, "edge").sum(-2, keepdim=True)

    def _scatter_sum(self, e: Tensor, index: Tensor) -> Tensor:
        """Sum of ``[..., E, c]`` edge values grouped by ``index`` (i or j): ``[..., N, c]``."""
        return torch.zeros(*e.shape[:-2], self.num_nodes, e.shape[-1], dtype=e.dtype,
                           device=e.device).index_add(e.dim() - 2, index, e)

    def mean_j(self, e) -> Tensor:
        """Mean over N(i) (0 for isolated nodes)."""
        return self.deg_inv * self.sum_j(e)

    def max_j(self, e: Tensor) -> Tensor:
        """Maximum over N(i) for every channel, ``[..., E, c]`` -> ``[..., N, c]`` (0 for a node
        without neighbours); the gradient goes to the maximising edge (split on ties)."""
        e = self.rows(e, "edge")
        index = self.i.view(*([1] * (e.dim() - 2)), -1, 1).expand_as(e)
        out = torch.zeros(*e.shape[:-2], self.num_nodes, e.shape[-1], dtype=e.dtype,
                          device=e.device)
        return out.scatter_reduce(e.dim() - 2, index, e, "amax", include_self=False)

    def max_ij(self, e: Tensor) -> Tensor:
        """Maximum over all edges and channels, ``[..., E, c]`` -> ``[..., E, 1]`` (the same
        value on every edge; with :meth:`set_batch`, per graph of the union, an edge belonging
        to its receiver's graph). The gradient goes to the maximising entries, split evenly on
        ties, as ``torch.max`` of the whole tensor gives it (the shift of the GRAND reference
        code's squareplus, ``src - src.max()``)."""
        e = self.rows(e, "edge")
        if self.batch is None:
            m = e.flatten(-2).amax(-1)
            return m[..., None, None].expand(*e.shape[:-1], 1)
        g = self.batch.to(e.device)[self.i]                                  # [E]
        per_edge = e.amax(-1, keepdim=True)                                  # [..., E, 1]
        index = g.view(*([1] * (e.dim() - 2)), -1, 1).expand_as(per_edge)
        out = torch.zeros(*e.shape[:-2], int(self.batch.max()) + 1, 1, dtype=e.dtype,
                          device=e.device)
        out = out.scatter_reduce(e.dim() - 2, index, per_edge, "amax", include_self=False)
        return out.index_select(e.dim() - 2, g)

    def softmax_j(self, e: Tensor) -> Tensor:
        """Softmax over N(i) for every channel: ``exp(e_ij) / sum_k exp(e_ik)``."""
        return pyg_softmax(e, self.i, num_nodes=self.num_nodes, dim=e.dim() - 2)

    def softmax_i(self, e: Tensor) -> Tensor:
        """Softmax over the edges leaving j (column-normalised): ``exp(e_ij) / sum_k exp(e_kj)``."""
        return pyg_softmax(e, self.j, num_nodes=self.num_nodes, dim=e.dim() - 2)

    def squareplus_j(self, e: Tensor) -> Tensor:
        """Squareplus normalised over N(i) for every channel (BLEND, Chamberlain et al. 2021).

        ``sp(s) = (s + sqrt(s^2 + 4)) / 2`` (a smooth, positive stand-in for exp that grows only
        linearly); ``out_ij = sp(e_ij) / sum_k sp(e_ik)``. ``[..., E, c]`` -> ``[..., E, c]``.
        """
        sp = 0.5 * (e + torch.sqrt(e * e + 4.0))
        return sp / self.gather_i(self._scatter_sum(sp, self.i))

    def squareplus_i(self, e: Tensor) -> Tensor:
        """Squareplus normalised over the edges leaving j (column-normalised):
        ``out_ij = sp(e_ij) / sum_k sp(e_kj)``, ``[..., E, c]`` -> ``[..., E, c]``."""
        sp = 0.5 * (e + torch.sqrt(e * e + 4.0))
        return sp / self.gather_j(self._scatter_sum(sp, self.j))

    def gather_i(self, u: Tensor) -> Tensor:
        """u_i for every edge: ``[..., N, c]`` -> ``[..., E, c]``."""
        return u.index_select(u.dim() - 2, self.i) if torch.is_tensor(u) and u.dim() > 1 else u

    def gather_j(self, u: Tensor) -> Tensor:
        """u_j for every edge: ``[..., N, c]`` -> ``[..., E, c]``."""
        return u.index_select(u.dim() - 2, self.j) if torch.is_tensor(u) and u.dim() > 1 else u

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

    def dropout(self, u: Tensor, p) -> Tensor:
        """Inverted dropout (Srivastava et al. 2014): while this module is training, each entry
        of ``u`` is zeroed with probability ``p`` and the others scaled by ``1 / (1 - p)``; in
        evaluation mode ``u`` itself. ``u [..., R, c]``; ``p`` in [0, 1), a float (the
        generated code) or a one-element tensor (the reference interpreter). A new mask at
        every call, so inside a vector field one per evaluation (per Euler step with
        ``method = "euler"``)."""
        rate = float(p)
        if not self.training or rate == 0.0:
            return u
        return F.dropout(u, rate, training=True)

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

    def set_batch(self, batch: Optional[Tensor]) -> None:
        """``batch [N]``: the graph of each node when this graph is the disjoint union of
        several (a torch_geometric ``Batch``); graph-level operators then work per graph."""
        if batch is not None:
            batch = torch.as_tensor(batch).long().reshape(-1)
            if batch.numel() != self.num_nodes:
                raise DataError(f"batch must have one entry per node ({self.num_nodes}), got "
                                f"{batch.numel()}")
        self.batch = batch

    batch: Optional[Tensor] = None

    def standardize_i(self, u: Tensor, eps: float = 1e-5) -> Tensor:
        """Per channel over the nodes of each graph: ``(u - mean) / sqrt(var + eps)``, biased
        variance, ``[..., N, c]`` -> ``[..., N, c]``. Equals ``F.batch_norm`` in training mode
        without affine weights (Ioffe & Szegedy 2015) on a single graph, which is the kernel
        used for ``[N, c]``; a batch ``[B, N, c]`` uses instance norm (statistics per graph),
        and with :meth:`set_batch` the statistics are per graph of the union."""
        if u.dim() == 2 and self.batch is not None:
            b = self.batch.to(u.device)
            count = torch.bincount(b).to(u.dtype).clamp(min=1).unsqueeze(1)     # [G, 1]
            g = int(count.shape[0])
            mean = torch.zeros(g, u.shape[1], dtype=u.dtype, device=u.device).index_add(
                0, b, u) / count
            centred = u - mean.index_select(0, b)
            var = torch.zeros_like(mean).index_add(0, b, centred * centred) / count
            return centred * torch.rsqrt(var + eps).index_select(0, b)
        if u.dim() == 2:
            return F.batch_norm(u, None, None, training=True, eps=eps)
        n, c = u.shape[-2:]
        per_graph = F.instance_norm(u.reshape(-1, n, c).transpose(1, 2), eps=eps)
        return per_graph.transpose(1, 2).reshape(u.shape)

    @staticmethod
    def norm(u: Tensor) -> Tensor:
        """Euclidean norm over channels, keeping a channel axis of size 1."""
        return torch.linalg.vector_norm(u, dim=-1, keepdim=True)
