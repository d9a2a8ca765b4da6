"""Node classification on a graph split over torch.distributed ranks (``pde2gnn train SPEC
--dataset ... --partition K`` under ``torchrun --nproc-per-node K``).

Every rank builds the same :class:`~pde2gnn.models.continuous_gnn.ContinuousGNN` (same seed,
so the same initial parameters), partitions its diffusion graph with METIS
(:func:`pde2gnn.graph.partition.metis_parts`) and keeps its part: the ODE block becomes a
:class:`~pde2gnn.graph.partitioned.PartitionedODE` on this rank's
:class:`~pde2gnn.graph.partitioned.PartitionedField`, and the features, labels and masks are
cut to the rank's owned nodes. The encoder and decoder are node-wise, so they run on the owned
rows unchanged. Per epoch, with ``n_m`` the number of nodes of mask m over all ranks:

    loss_r = sum over rank r's training nodes of CE(logits_i, y_i) / n_train      (each rank)
    loss   = sum_r loss_r           (all-reduced, reported)
    grad   = sum_r d loss_r / d theta   (all-reduced after backward: every rank takes the same
                                         optimiser step, so the parameters stay equal)
    accuracy_m = (correct predictions on m, all-reduced) / n_m

The halo exchanges' autograd carries the state's gradient across the ranks, so ``sum_r d
loss_r / d theta`` is the gradient of the global loss: the run equals the one-process run up
to the summation order (float64: 1e-10 over epochs, tests/graph/test_partition.py), except
dropout, whose masks each rank draws for its own rows.
"""
from __future__ import annotations

import torch
import torch.distributed as dist
from torch import Tensor, nn

from pde2gnn.errors import OptionError
from pde2gnn.graph.partition import metis_parts
from pde2gnn.graph.partitioned import PartitionedField, PartitionedODE


class WholeGraph:
    """The reductions of a one-process run (the mean over a mask's nodes)."""

    def rows(self, x: Tensor) -> Tensor:
        """The rows of a node tensor ``[N, ...]`` this process holds: all of them."""
        return x

    def loss(self, logits: Tensor, y: Tensor, mask: Tensor) -> Tensor:
        """Mean cross-entropy of ``logits [N, C]`` against ``y [N]`` over ``mask [N]``."""
        return nn.functional.cross_entropy(logits[mask], y[mask])

    def accuracy(self, pred: Tensor, y: Tensor, mask: Tensor) -> Tensor:
        """Fraction of correct predictions ``pred [K, N]`` on ``mask``, ``[K]``."""
        return (pred[:, mask] == y[mask]).float().mean(1)

    def total(self, value: Tensor) -> Tensor:
        """The value of the whole run of a per-process loss."""
        return value

    def reduce_gradients(self, model: nn.Module) -> None:
        """Nothing to add: one process holds the whole gradient."""


class NodeShard(WholeGraph):
    """This rank's part of a node-classification run (module docstring).

    Args:
        model: the :class:`ContinuousGNN` of the whole graph; its ODE block and field are
            replaced by this rank's partitioned ones (in place).
        parts: the number of ranks (``--partition``), equal to torchrun's processes.
        group: the process group (None: the default one).

    Raises:
        OptionError: per-layer weights, a positional encoding or a k-NN graph clause (their
            operators need the whole graph), or what
            :func:`~pde2gnn.graph.partitioned.check_partitioned` refuses.
    """

    def __init__(self, model: nn.Module, parts: int, group=None):
        config = model.config
        if config.per_layer_weights:
            raise OptionError("--partition: per_layer_weights is not supported partitioned "
                              "(one shared field only)")
        if model.pos is not None or model.knn is not None:
            raise OptionError("--partition: positional encodings and graph knn(...) clauses "
                              "(BLEND) need the whole graph; drop posenc or run in one process")
        g = model.field.graph
        membership = metis_parts(g.i.cpu().numpy(), g.j.cpu().numpy(), g.num_nodes, parts)
        pfield = PartitionedField(model.field, membership, group=group)
        model.ode = PartitionedODE(pfield, config.time, config.solver)
        model.field = pfield.local
        self.group, self.owned = group, pfield.owned
        self.counts = {}

    def rows(self, x: Tensor) -> Tensor:
        return x.index_select(0, self.owned.to(x.device))

    def _count(self, mask: Tensor) -> Tensor:
        key = (mask.data_ptr(), mask.shape)
        if key not in self.counts:
            n = mask.sum().to(torch.float64).reshape(1)
            dist.all_reduce(n, group=self.group)
            self.counts[key] = n.clamp(min=1)
        return self.counts[key]

    def loss(self, logits: Tensor, y: Tensor, mask: Tensor) -> Tensor:
        s = nn.functional.cross_entropy(logits[mask], y[mask], reduction="sum")
        return s / self._count(mask).to(s)[0]

    def accuracy(self, pred: Tensor, y: Tensor, mask: Tensor) -> Tensor:
        right = (pred[:, mask] == y[mask]).sum(1).to(torch.float64)
        dist.all_reduce(right, group=self.group)
        return (right / self._count(mask).to(right)).float()

    def total(self, value: Tensor) -> Tensor:
        v = value.detach().clone().reshape(1)
        dist.all_reduce(v, group=self.group)
        return v[0]

    def reduce_gradients(self, model: nn.Module) -> None:
        """Sum every parameter's gradient over the ranks (one all-reduce of a flat buffer; a
        parameter without a gradient on this rank counts as zero)."""
        params = [p for p in model.parameters() if p.requires_grad]
        if not params:
            return
        flat = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1)
                          for p in params])
        dist.all_reduce(flat, group=self.group)
        start = 0
        for p in params:
            n = p.numel()
            p.grad = flat[start:start + n].view_as(p).clone()
            start += n
