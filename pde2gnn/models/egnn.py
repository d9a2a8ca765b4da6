"""E(n)-equivariant networks of the n-body task: compiled EGNN layers (Satorras et al. 2021, "E(n)
Equivariant Graph Neural Networks") as a discrete stack (:class:`EGNN`) or one continuous flow
(:class:`EGNNFlow`) on the complete graph of the particles. The data, loss and loop are
:mod:`pde2gnn.train.tasks.nbody`.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from pde2gnn.compiler.pipeline import compile as compile_spec
from pde2gnn.compiler.pipeline import compile_stepper
from pde2gnn.errors import DataError
from pde2gnn.graph.construction import complete_graph
from pde2gnn.integrate.solve import ODEBlock, SolverConfig


class EGNN(nn.Module):
    """h(0) = Linear(1, c)(|v|), then ``layers`` compiled layers of ``spec`` (separate weights).

    ``forward(p [B, M, 3], v [B, M, 3], q [B, M, 1]) -> p_hat [B, M, 3]``.
    """

    def __init__(self, spec: str, layers: int, hidden: int, nodes: int):
        super().__init__()
        ei = complete_graph(nodes)
        self.embed = nn.Linear(1, hidden)
        self.layers = nn.ModuleList(compile_stepper(spec, ei, nodes, {"c": hidden},
                                                    {"C": 1.0 / (nodes - 1)})
                                    for _ in range(layers))

    def forward(self, p: Tensor, v: Tensor, q: Tensor) -> Tensor:
        h = self.embed(v.norm(dim=-1, keepdim=True))
        hidden = (v, q, h)
        for layer in self.layers:
            p, hidden = layer(p, hidden)
        return p


class EGNNFlow(nn.Module):
    """A continuous spec with fields ``p, v, q, h`` (``library/egnn_newton.pde``): h(0) =
    Linear(1, c)(|v|), the state [p, v, q, h] integrated over ``horizon`` by rk4 with ``steps``
    steps (one set of weights), p(horizon) the prediction. Same ``forward`` as :class:`EGNN`.

    Raises:
        DataError: the spec's fields are not p [3], v [3], q [1], h [c].
    """

    def __init__(self, spec: str, steps: int, hidden: int, nodes: int, horizon: float):
        super().__init__()
        field = compile_spec(spec, complete_graph(nodes), nodes, dims={"c": hidden},
                             params={"C": 1.0 / (nodes - 1)})
        widths = {f: s.stop - s.start for f, s in field.field_slices.items()}
        if widths != {"p": 3, "v": 3, "q": 1, "h": hidden}:
            raise DataError(f"a continuous nbody spec needs the fields p [3], v [3], q [1], "
                            f"h [c] in that order, got {widths}")
        self.embed = nn.Linear(1, hidden)
        self.ode = ODEBlock(field, horizon, SolverConfig(method="rk4",
                                                         step_size=horizon / steps))

    def forward(self, p: Tensor, v: Tensor, q: Tensor) -> Tensor:
        h = self.embed(v.norm(dim=-1, keepdim=True))
        return self.ode(torch.cat([p, v, q, h], dim=-1))[..., :3]
