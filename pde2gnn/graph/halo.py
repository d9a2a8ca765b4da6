"""The graph kernels of one rank of a partitioned solve: halo exchanges before every product
that reads neighbours, and global reductions over all ranks (torch.distributed).

:class:`HaloGraphOps` is a :class:`~pde2gnn.compiler.backend.graph_ops.GraphOps` on the local
graph of a :class:`~pde2gnn.graph.partition.HaloPlan` (owned nodes, then the one-hop halo; the
edges that end at owned nodes). The generated code runs on it unchanged:

- ``gather_j``, ``spmm``, ``spmm_loops`` first replace the operand's halo rows by their owners'
  values (:meth:`HaloGraphOps.exchange`: ``isend`` / ``irecv`` with each neighbouring rank;
  autograd's backward sends the halo gradients back to the owners and adds them). Without
  autograd the products overlap the exchange: the interior rows (a prefix of the local CSR
  matrix, reading owned values only) are multiplied while the halo values are in flight, then
  the boundary rows;
- sums over the edges *leaving* a node (``softmax_i``, ``squareplus_i``: column-normalised
  attention) add the other ranks' partial sums at the owner, then copy the totals back;
- ``sum_i``, ``sum_ij``, ``mean_i``, ``standardize_i``, ``max_ij`` reduce the owned rows over
  all ranks (``all_reduce``, differentiable).

The rows of the halo nodes hold whatever a node-wise operation left there; no result of an owned
row reads them before an exchange. Degrees are those of the whole graph (``deg``, ``abar`` on
halo nodes are right). Per-exchange statistics (:attr:`HaloGraphOps.stats`) feed the cost
model of ``benchmarks/scale.py --part partition``.
"""
from __future__ import annotations

import time
from typing import Dict, Optional

import torch
import torch.distributed as dist
from torch import Tensor

from pde2gnn.compiler.backend.graph_ops import GraphOps
from pde2gnn.errors import OptionError
from pde2gnn.graph.partition import HaloPlan

#: the ``_G.<name>`` attributes the generated code may use on a partitioned graph; anything
#: else (sheaf kernels, graph batches) is refused by :func:`check_supported`
SUPPORTED = {
    "edge_values", "spmm", "with_diagonal", "spmm_loops", "series_at", "sum_j", "fill", "rows",
    "sum_i", "sum_ij", "mean_j", "max_j", "max_ij", "softmax_j", "softmax_i", "squareplus_j",
    "squareplus_i", "gather_i", "gather_j", "lt", "le", "gt", "ge", "eq", "where", "dropout",
    "cat", "dot", "dot_ij", "mean_heads", "mean_i", "standardize_i", "norm", "deg", "deg_inv", "abar",
    "num_nodes", "num_edges", "i", "j"}


def check_supported(source: str, geometry, name: str) -> None:
    """Refuse a generated source that uses a graph kernel with no partitioned form.

    Raises:
        OptionError: naming the first such ``_G.<kernel>``.
    """
    import re
    sheaf = re.search(r"_sheaf\.(\w+)", source)
    if sheaf:
        raise OptionError(f"spec '{name}' uses the sheaf operator '{sheaf.group(1)}' "
                          "(sheaf_lap / restriction maps), which a partitioned solve "
                          "(--partition) does not support: run it in one process")
    allowed = SUPPORTED | set(geometry)
    for used in re.findall(r"_G\.(\w+)", source):
        if used not in allowed and not used.startswith("bc__"):
            raise OptionError(f"spec '{name}' uses '{used}', which a partitioned solve "
                              "(--partition) does not support: run it in one process")


def _p2p(sends: Dict[int, Tensor], recvs: Dict[int, Tensor], group=None):
    """Post every ``isend`` / ``irecv`` (tensors contiguous), return the requests."""
    reqs = [dist.irecv(buf, src=p, group=group) for p, buf in recvs.items()]
    reqs += [dist.isend(t.contiguous(), dst=p, group=group) for p, t in sends.items()]
    return reqs


class _Exchange(torch.autograd.Function):
    """x ``[..., N_local, c]`` -> x with its halo rows replaced by the owners' values; backward:
    the halo rows' gradients are sent to the owners and added to theirs."""

    @staticmethod
    def forward(ctx, x, ops):
        ctx.ops = ops
        return ops._finish(x, ops._start(x, inplace=False))

    @staticmethod
    def backward(ctx, g):
        return ctx.ops._reduce(g, "sum", zero_halo=True), None


class _ReduceToOwners(torch.autograd.Function):
    """Partial sums ``[..., N_local, c]`` (owned and halo rows) -> the totals at every local
    row: halo partials added at their owners, the totals copied back to the halo rows. Its
    adjoint is the same two steps in reverse: :class:`_Exchange`'s backward, then an
    exchange."""

    @staticmethod
    def forward(ctx, x, ops):
        ctx.ops = ops
        return ops._reduce(x, "sum", zero_halo=False)

    @staticmethod
    def backward(ctx, g):
        ops = ctx.ops
        g = ops._reduce(g, "sum", zero_halo=True)
        return ops._finish(g, ops._start(g)), None


class HaloGraphOps(GraphOps):
    """:class:`GraphOps` of one rank's local graph, with halo exchanges (module docstring).

    Args:
        plan: this rank's :class:`HaloPlan`.
        counts: global in-degree of each local node ``[N_local]`` (long).
        group: the torch.distributed process group (None: the default one).
        overlap: multiply interior rows while the halo is in flight (solves without autograd).

    Attributes:
        stats: ``{"exchanges", "bytes_sent", "bytes_received", "exchange_s"}`` since the last
            :meth:`reset_stats` (``exchange_s``: wall time spent posting and waiting, i.e. the
            exchange time not hidden behind interior work).
    """

    def __init__(self, plan: HaloPlan, counts: Tensor, group=None, overlap: bool = True):
        super().__init__(torch.as_tensor(plan.edge_index), int(plan.nodes.size))
        self.counts = torch.as_tensor(counts, dtype=torch.long).clone()
        for name, value in self._degree_values(self.deg.dtype).items():
            setattr(self, name, value)
        self.num_owned, self.num_interior = plan.num_owned, plan.num_interior
        self.recv = dict(plan.recv)
        for p, idx in plan.send.items():
            self.register_buffer(f"send{p}", torch.as_tensor(idx, dtype=torch.long),
                                 persistent=False)
        self.peers = sorted(plan.send)
        self.group, self.overlap = group, overlap
        self._memo = self._split_cache = None
        self.reset_stats()

    def reset_stats(self) -> None:
        """Zero :attr:`stats`."""
        self.stats = {"exchanges": 0, "bytes_sent": 0, "bytes_received": 0, "exchange_s": 0.0}

    def set_batch(self, batch) -> None:
        """Graph batches are not partitioned.

        Raises:
            OptionError: always, for a batch.
        """
        if batch is not None:
            raise OptionError("a batch of graphs (set_batch) is not supported partitioned "
                              "(--partition): partition one graph")

    # ------------------------------------------------------------- exchanges
    def _start(self, x: Tensor, inplace: bool = True):
        """Post the exchange of x's halo rows. Without autograd, a contiguous ``[N_local, c]``
        x receives in place (its halo rows are the receive buffers: no copy of the owned
        rows); otherwise into new buffers that :meth:`_finish` joins to the owned rows."""
        t0 = time.perf_counter()
        lead, c = x.shape[:-2], x.shape[-1]
        inplace = inplace and x.dim() == 2 and x.is_contiguous() and not x.requires_grad
        recvs, start = {}, self.num_owned
        for p, n in sorted(self.recv.items()):
            recvs[p] = x.narrow(0, start, n) if inplace else x.new_empty(*lead, n, c)
            start += n
        sends = {p: x.index_select(x.dim() - 2, getattr(self, f"send{p}")) for p in self.peers}
        reqs = _p2p(sends, recvs, self.group)
        s = self.stats
        s["exchanges"] += 1
        s["bytes_sent"] += sum(t.numel() * t.element_size() for t in sends.values())
        s["bytes_received"] += sum(t.numel() * t.element_size() for t in recvs.values())
        s["exchange_s"] += time.perf_counter() - t0
        return reqs, recvs, inplace

    def _finish(self, x: Tensor, started) -> Tensor:
        t0 = time.perf_counter()
        reqs, recvs, inplace = started
        for r in reqs:
            r.wait()
        self.stats["exchange_s"] += time.perf_counter() - t0
        if inplace:
            return x
        own = x.narrow(x.dim() - 2, 0, self.num_owned)
        return torch.cat([own] + [recvs[p] for p in sorted(recvs)], dim=-2)

    def exchange(self, x: Tensor) -> Tensor:
        """x ``[..., N_local, c]`` with the halo rows set to the owners' values (a collective:
        every rank calls it in the same order). The same tensor twice in a row is exchanged
        once."""
        if not torch.is_tensor(x) or x.dim() < 2 or x.shape[-2] != self.num_nodes:
            return x
        m = self._memo
        if m is not None and m[0] is x and m[1] == x._version and m[3] == torch.is_grad_enabled():
            return m[2]
        out = _Exchange.apply(x, self) if torch.is_grad_enabled() else \
            self._finish(x, self._start(x))
        self._memo = (x, x._version, out, torch.is_grad_enabled())
        return out

    def reduce_to_owners(self, x: Tensor, op: str = "sum") -> Tensor:
        """Per-node partial results ``[..., N_local, c]`` of this rank (e.g. sums over the
        local edges leaving each node) combined over the ranks (``op``: ``sum``,
        differentiable, or ``amax``, for detached values): every local row gets its node's
        total (a collective)."""
        if op == "sum":
            return _ReduceToOwners.apply(x, self)
        return self._reduce(x, op, zero_halo=False)

    def _reduce(self, x: Tensor, op: str, zero_halo: bool) -> Tensor:
        """The halo rows' values sent to their owners and combined there (``op``) with the
        owned rows; the halo rows are then zero (``zero_halo``) or the owners' combined values
        (an exchange)."""
        t0 = time.perf_counter()
        lead, c = x.shape[:-2], x.shape[-1]
        sends, start = {}, self.num_owned
        for p, n in sorted(self.recv.items()):
            sends[p] = x.narrow(x.dim() - 2, start, n)
            start += n
        recvs = {p: x.new_empty(*lead, getattr(self, f"send{p}").numel(), c)
                 for p in self.peers}
        for r in _p2p(sends, recvs, self.group):
            r.wait()
        self.stats["exchange_s"] += time.perf_counter() - t0
        own = x.narrow(x.dim() - 2, 0, self.num_owned).clone()
        for p, buf in recvs.items():
            idx = getattr(self, f"send{p}").view(*([1] * len(lead)), -1, 1).expand_as(buf)
            own = own.scatter_reduce(x.dim() - 2, idx, buf, op, include_self=True)
        if zero_halo:
            return torch.cat([own, x.new_zeros(*lead, self.num_nodes - self.num_owned, c)], -2)
        full = torch.cat([own, x.narrow(x.dim() - 2, self.num_owned,
                                        self.num_nodes - self.num_owned)], -2)
        return self._finish(full, self._start(full))

    # ------------------------------------------------------------- products that read x_j
    def gather_j(self, u):
        return super().gather_j(self.exchange(u))

    def spmm(self, values: Tensor, x: Tensor, bias=None) -> Tensor:
        if values.dim() == 1 and self._overlappable(values, x):
            return self._overlapped(values, self._pattern(), x, bias)
        return super().spmm(values, self.exchange(x), bias)

    def spmm_loops(self, values, x: Tensor, bias=None) -> Tensor:
        if not isinstance(values, tuple) and self._overlappable(values, x):
            return self._overlapped(values, self._loops, x, bias)
        return super().spmm_loops(values, self.exchange(x), bias)

    def _overlappable(self, values: Tensor, x: Tensor) -> bool:
        return self.overlap and not torch.is_grad_enabled() and x.dim() in (2, 3) and \
            not torch.compiler.is_compiling() and x.shape[-2] == self.num_nodes

    def _split(self, values: Tensor, pattern):
        """The CSR matrices of the interior rows and of the other rows of ``A`` (values on
        ``pattern``), cached per values tensor like :func:`~pde2gnn.compiler.backend.csr.
        _matrices` (a per-solve operator is split once per solve, not at every evaluation)."""
        hit = self._split_cache
        if hit is not None and hit[0] is values and hit[1] == values._version and \
                hit[2] is pattern:
            return hit[3]
        if pattern.slot is not None:
            v = values.new_zeros(pattern.nnz).index_add(0, pattern.slot, values)
        else:
            v = values
        n, k = self.num_nodes, self.num_interior
        crow, col = pattern.crow, pattern.col
        e = int(crow[k])
        pair = (torch.sparse_csr_tensor(crow[:k + 1], col[:e], v[:e], (k, n),
                                        check_invariants=False),
                torch.sparse_csr_tensor(crow[k:] - e, col[e:], v[e:], (n - k, n),
                                        check_invariants=False))
        self._split_cache = (values, values._version, pattern, pair)
        return pair

    def _overlapped(self, values: Tensor, pattern, x: Tensor, bias) -> Tensor:
        """``A @ x`` (plus ``bias``) with the interior rows multiplied during the exchange,
        each part written into its rows of one output (no concatenation)."""
        inner, outer = self._split(values, pattern)
        started = self._start(x)
        b = x.shape[0] if x.dim() == 3 else None
        flat = (lambda z: z.transpose(0, 1).reshape(z.shape[1], -1)) if b else (lambda z: z)
        n, k = self.num_nodes, self.num_interior
        xf = flat(x)
        y = xf.new_empty(n, xf.shape[1])
        torch.mm(inner, xf, out=y[:k])
        xf = flat(self._finish(x, started))
        torch.mm(outer, xf, out=y[k:])
        if b:
            y = y.reshape(n, b, -1).transpose(0, 1)
        return y if bias is None else y + bias

    # ------------------------------------------------------------- sums over the edges leaving j
    def _scatter_sum(self, e: Tensor, index: Tensor) -> Tensor:
        out = super()._scatter_sum(e, index)
        return self.reduce_to_owners(out) if index is self.j else out

    def softmax_i(self, e: Tensor) -> Tensor:
        """Softmax over the edges leaving j, whose receivers may live on other ranks."""
        d = e.dim() - 2
        idx = self.j.view(*([1] * d), -1, 1).expand_as(e)
        size = list(e.shape)
        size[d] = self.num_nodes
        peak = e.detach().new_full(size, float("-inf")).scatter_reduce(
            d, idx, e.detach(), "amax", include_self=True)
        peak = self.reduce_to_owners(peak, "amax")
        out = (e - peak.gather(d, idx)).exp()
        total = self._scatter_sum(out, self.j) + 1e-16
        return out / total.gather(d, idx)

    # ------------------------------------------------------------- global reductions
    def _owned(self, u: Tensor) -> Tensor:
        return u.narrow(u.dim() - 2, 0, self.num_owned)

    def sum_i(self, u: Tensor) -> Tensor:
        return all_reduce_sum(self._owned(self.rows(u, "node")).sum(-2, keepdim=True),
                              self.group)

    def sum_ij(self, e: Tensor) -> Tensor:
        return all_reduce_sum(self.rows(e, "edge").sum(-2, keepdim=True), self.group)

    def _count(self, like: Tensor) -> Tensor:
        n = torch.tensor(float(self.num_owned), dtype=like.dtype, device=like.device)
        return all_reduce_sum(n, self.group)

    def mean_i(self, u: Tensor) -> Tensor:
        return (self.sum_i(u) / self._count(u)).expand(u.shape)

    def standardize_i(self, u: Tensor, eps: float = 1e-5) -> Tensor:
        n = self._count(u)
        centred = u - self.sum_i(u) / n
        return centred * torch.rsqrt(self.sum_i(centred * centred) / n + eps)

    def max_ij(self, e: Tensor) -> Tensor:
        e = self.rows(e, "edge")
        local = e.flatten(-2).amax(-1) if e.shape[-2] else \
            e.new_full(e.shape[:-2], float("-inf"))
        peak = local.detach().clone()
        dist.all_reduce(peak, dist.ReduceOp.MAX, group=self.group)
        m = torch.where(local == peak, local, peak)      # the gradient reaches the arg max
        return m[..., None, None].expand(*e.shape[:-1], 1)


class _AllReduceSum(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, group):
        ctx.group = group
        y = x.clone()
        dist.all_reduce(y, group=group)
        return y

    @staticmethod
    def backward(ctx, g):
        g = g.clone()
        dist.all_reduce(g, group=ctx.group)
        return g, None


def all_reduce_sum(x: Tensor, group=None) -> Tensor:
    """Sum of ``x`` over all ranks, differentiable (the gradient of each rank's copy is the sum
    of all ranks' gradients)."""
    return _AllReduceSum.apply(x, group)


def reduced_rms(group=None):
    """The RMS norm over all ranks' owned values, ``sqrt(sum x^2 / count)`` (the integrator's
    error norm; every rank gets the same value, so every rank takes the same steps)."""
    def rms(x: Optional[Tensor]) -> Tensor:
        s = torch.stack([(x.double() * x.double()).sum(),
                         torch.tensor(float(x.numel()), dtype=torch.float64, device=x.device)])
        dist.all_reduce(s, group=group)
        return (s[0] / s[1].clamp(min=1)).sqrt().to(x.dtype)
    return rms
