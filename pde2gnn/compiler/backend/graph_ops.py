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

import math
from typing import Optional

import torch
from torch import Tensor, nn

from pde2gnn.errors import DataError, OptionError
from pde2gnn.compiler.backend.csr import CSRPattern, csr_product, csr_structure, sampled_dot
from pde2gnn.compiler.backend.edge_power import EdgePowerOps
from pde2gnn.compiler.backend.inputs import check_graph
from pde2gnn.compiler.backend.pointwise_ops import PointwiseOps, inverted_dropout

def segment_softmax(e: Tensor, index: Tensor, num_nodes: int, dim: int) -> Tensor:
    """Softmax of ``e`` over the entries sharing ``index`` along ``dim`` (the edge axis):
    ``exp(e - max) / sum exp(e - max)`` per segment, as torch_geometric.utils.softmax computes it
    (max detached, 1e-16 added to the sum); an empty segment has no entry."""
    shape = [1] * e.dim()
    shape[dim] = -1
    idx = index.view(shape).expand_as(e)
    size = list(e.shape)
    size[dim] = num_nodes
    peak = e.detach().new_full(size, float("-inf")).scatter_reduce(dim, idx, e.detach(), "amax",
                                                                   include_self=True)
    out = (e - peak.gather(dim, idx)).exp()
    total = out.new_zeros(size).scatter_add(dim, idx, out) + 1e-16
    return out / total.gather(dim, idx)


class GraphOps(PointwiseOps, EdgePowerOps, nn.Module):
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

    Edge semantics: every listed edge counts, so a repeated edge (j -> i) is summed (its
    weight counts twice, and it adds 2 to deg_i), not coalesced; the graph may be directed
    (edges are not symmetrised); a self-loop (i -> i) is an edge of N(i) like any other (it
    takes part in ``softmax_j`` and ``deg``, and contributes 0 to differences u_j - u_i). A
    graph without edges, or a node without neighbours, is valid: sums over N(i) are 0 there.

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
        self.num_nodes, self.num_edges = n, int(i.numel())
        key = i * n + j
        #: a repeated edge (a multi-edge): the products use the coalesced :class:`CSRPattern`
        self.repeated = bool((key[1:] == key[:-1]).any()) if key.numel() > 1 else False
        self.register_buffer("i", i, persistent=False)
        self.register_buffer("edge_perm", order, persistent=False)
        self.register_buffer("j", j, persistent=False)
        for name, value in csr_structure(i, j, n).items():
            self.register_buffer(name, value, persistent=False)
        self.register_buffer("counts", counts, persistent=False)
        for name, value in self._degree_values(torch.get_default_dtype()).items():
            self.register_buffer(name, value, persistent=False)
        self._loops: Optional[CSRPattern] = None
        self._coalesced: Optional[CSRPattern] = None

    #: the CSR entries are distinct (see :attr:`repeated` and :meth:`_pattern`)
    slot = None

    def _pattern(self):
        """This graph's CSR structure for :func:`csr_product`: itself, or with repeated
        edges the coalesced :class:`CSRPattern` (built on first use)."""
        if not self.repeated:
            return self
        if self._coalesced is None:
            self._coalesced = CSRPattern(self.i, self.j, self.num_nodes)
        return self._coalesced

    def _degree_values(self, dtype) -> dict:
        """``deg``, ``deg_inv`` and ``abar`` computed from the integer degrees in ``dtype``."""
        deg = self.counts.to(dtype).unsqueeze(1)
        dis = deg.clamp(min=1).rsqrt()
        return {"deg": deg, "deg_inv": torch.where(deg > 0, 1.0 / deg.clamp(min=1), 0.0),
                "abar": dis[self.i] * dis[self.j]}

    def set_geometry(self, weights) -> None:
        """Install static geometric edge weights ``{name: [E] float64}`` (CSR order) as ``[E, 1]``
        buffers ``self.<name>`` (see :mod:`pde2gnn.compiler.discretize.geometry`). A float64 master copy
        is kept, so converting the module to another dtype never loses their precision."""
        self._geo64 = {k: torch.as_tensor(v, dtype=torch.float64).reshape(-1, 1)
                       for k, v in weights.items()}
        for k, v in self._geo64.items():
            self.register_buffer(k, v.to(self.deg.dtype), persistent=False)

    def _apply(self, fn, *args, **kwargs):
        """Convert like any module, then rebuild the float buffers from their exact sources
        (integer degrees, float64 geometric weights), so ``.double()`` gains full precision."""
        out = super()._apply(fn, *args, **kwargs)
        self._loops = self._coalesced = None
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
        return csr_product(values, x, self._pattern(), bias)

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
            ar = torch.arange(self.num_nodes, device=self.i.device)
            self._loops = CSRPattern(torch.cat([self.i, ar]), torch.cat([self.j, ar]),
                                   self.num_nodes)
        full = torch.cat([values, d.reshape(-1).expand(self.num_nodes)])
        return full.index_select(0, self._loops.perm)

    def spmm_loops(self, values, x: Tensor, bias=None) -> Tensor:
        """``(A + diag(d)) @ x`` for the values of :meth:`with_diagonal`; x ``[N, c]`` or
        ``[B, N, c]``; with ``bias``: ``bias + (A + diag(d)) @ x`` as in :meth:`spmm`."""
        if isinstance(values, tuple):
            a, d = values
            y = self.spmm(a, x) + d * x
            return y if bias is None else y + bias
        return csr_product(values, x, self._loops, bias)

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
        """The constant ``value`` in ``channels`` channels, ``[channels]`` (broadcasts over rows).

        Raises:
            OptionError: ``value`` is finite but beyond the range of the graph's dtype (a
                constant computed from large params, e.g. 1e20 * 1e20 in float32)."""
        if math.isfinite(value) and abs(value) > torch.finfo(self.deg.dtype).max:
            raise OptionError(f"the spec's constant {value:.3g} overflows "
                              f"{str(self.deg.dtype)[6:]}: reduce the params it is computed "
                              "from, or convert the model with .double()")
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
        if e.shape[-2] == 0:                 # no edges: nothing to take the maximum of
            return e.new_zeros(*e.shape[:-1], 1)
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
        return segment_softmax(e, self.i, num_nodes=self.num_nodes, dim=e.dim() - 2)

    def softmax_i(self, e: Tensor) -> Tensor:
        """Softmax over the edges leaving j (column-normalised): ``exp(e_ij) / sum_k exp(e_kj)``."""
        return segment_softmax(e, self.j, num_nodes=self.num_nodes, dim=e.dim() - 2)

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

    def dot_ij(self, u: Tensor, v: Tensor, heads=1) -> Tensor:
        """``dot(u_i, v_j, heads)`` on every edge without gathering: ``u, v [N, c]`` ->
        ``[E, heads]``, one sampled dense-dense product per head (:func:`sampled_dot`). Batched
        or scalar operands, a subclass that reads neighbour values its own way (a halo
        exchange in ``gather_j``) and a traced region take the gather form.

        Raises:
            DataError: c is not divisible by ``heads``."""
        h = int(heads)
        if not (torch.is_tensor(u) and torch.is_tensor(v) and u.dim() == 2 == v.dim()
                and u.shape == v.shape and u.is_floating_point() and u.dtype == v.dtype
                and type(self).gather_j is GraphOps.gather_j and u.shape[1] % h == 0
                and not torch.compiler.is_compiling()):
            return self.dot(self.gather_i(u), self.gather_j(v), heads)
        pat, k = self._pattern(), u.shape[1] // h
        s = torch.stack([sampled_dot(u[:, a * k:(a + 1) * k], v[:, a * k:(a + 1) * k], pat)
                         for a in range(h)], -1)
        return s if pat.slot is None else s.index_select(0, pat.slot)

    def gather_i(self, u: Tensor) -> Tensor:
        """u_i for every edge: ``[..., N, c]`` -> ``[..., E, c]``."""
        return u.index_select(u.dim() - 2, self.i) if torch.is_tensor(u) and u.dim() > 1 else u

    def gather_j(self, u: Tensor) -> Tensor:
        """u_j for every edge: ``[..., N, c]`` -> ``[..., E, c]``."""
        return u.index_select(u.dim() - 2, self.j) if torch.is_tensor(u) and u.dim() > 1 else u

    def dropout(self, u: Tensor, p) -> Tensor:
        """Inverted dropout (Srivastava et al. 2014): while this module is training, each entry
        of ``u`` is zeroed with probability ``p`` and the others scaled by ``1 / (1 - p)``; in
        evaluation mode ``u`` itself. ``u [..., R, c]``; ``p`` in [0, 1), a float (the
        generated code) or a one-element tensor (the reference interpreter). A new mask at
        every call, so inside a vector field one per evaluation (per Euler step with
        ``method = "euler"``). The mask is drawn as uniforms on the CPU
        (:func:`~pde2gnn.compiler.backend.pointwise_ops.inverted_dropout`)."""
        rate = float(p)
        if not self.training or rate == 0.0:
            return u
        return inverted_dropout(u, rate)

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

    def mean_i(self, u: Tensor) -> Tensor:
        """Per channel, the mean over the nodes of each graph, broadcast back to every node:
        ``[..., N, c]`` -> ``[..., N, c]`` (with :meth:`set_batch`, per graph of the union)."""
        if u.dim() == 2 and self.batch is not None:
            b = self.batch.to(u.device)
            count = torch.bincount(b).to(u.dtype).clamp(min=1).unsqueeze(1)     # [G, 1]
            total = torch.zeros(int(count.shape[0]), u.shape[1], dtype=u.dtype,
                                device=u.device).index_add(0, b, u)
            return (total / count).index_select(0, b)
        return u.mean(-2, keepdim=True).expand(u.shape)

    def standardize_i(self, u: Tensor, eps: float = 1e-5) -> Tensor:
        """Per channel over the nodes of each graph: ``(u - mean) / sqrt(var + eps)``, biased
        variance, ``[..., N, c]`` -> ``[..., N, c]``: ``F.batch_norm`` in training mode without
        affine weights (Ioffe & Szegedy 2015) on a single graph; a batch ``[B, N, c]`` takes
        its statistics per trajectory (instance norm), and with :meth:`set_batch` per graph of
        the union. A graph of one node standardises to 0 (its variance is 0), where
        ``F.batch_norm`` refuses one value per channel."""
        if u.dim() == 2 and self.batch is not None:
            b = self.batch.to(u.device)
            count = torch.bincount(b).to(u.dtype).clamp(min=1).unsqueeze(1)     # [G, 1]
            g = int(count.shape[0])
            mean = torch.zeros(g, u.shape[1], dtype=u.dtype, device=u.device).index_add(
                0, b, u) / count
            centred = u - mean.index_select(0, b)
            var = torch.zeros_like(mean).index_add(0, b, centred * centred) / count
            return centred * torch.rsqrt(var + eps).index_select(0, b)
        centred = u - u.mean(-2, keepdim=True)
        return centred * torch.rsqrt((centred * centred).mean(-2, keepdim=True) + eps)

    def logsumexp_j(self, e: Tensor) -> Tensor:
        """``log sum_{j in N(i)} exp(e_ij)`` per channel, ``[..., E, c]`` -> ``[..., N, c]``,
        shifted by :meth:`max_j` against overflow; 0 for a node without neighbours."""
        m = self.max_j(e).detach()
        s = self._scatter_sum(torch.exp(self.rows(e, "edge") - self.gather_i(m)), self.i)
        return m + torch.log(torch.where(s > 0, s, torch.ones_like(s)))
