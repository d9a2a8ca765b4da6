"""A compiled PDE spec as a PyG-style layer: ``PDEConv(spec, d=64)(x, edge_index)``.

:func:`pde2gnn.compiler.compile` binds a spec to one graph. :class:`PDEConv` is the layer a
graph-learning loop wants: its parameters are created once and shared by every graph it sees;
each graph's compiled operators (CSR structure, per-graph weights) are cached, keyed on the
``edge_index`` tensor itself, so a DataLoader over many graphs compiles each graph once; and
``forward`` prepares the per-solve constants and integrates, so there is nothing to forget.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Mapping, Optional

import torch
from torch import Tensor, nn

from .compiler import compile as compile_spec
from .compiler import front, is_discrete, load
from .errors import DataError, OptionError
from .solve import ODEBlock, SolverConfig


class PDEConv(nn.Module):
    """Integrates a continuous spec's vector field on the input graph from t = 0 to ``time``.

    Args:
        spec: a library name (``grand``), a ``.pde`` path, spec text or a parsed spec; its
            fields side by side form the state (no ``domain``: coordinates-based stencils need
            :func:`pde2gnn.compiler.compile` with ``inputs``).
        time: the end time T (> 0, in the spec's time units).
        solver: solver options (default dopri5, rtol 1e-3, atol 1e-4, the fused loop).
        params: values for the spec's ``param`` constants.
        cache_size: graphs whose compiled operators are kept (least recently used first out).
        **dims: the spec's dimensions, e.g. ``d=64``.

    ``forward(x, edge_index, batch=None)``: x ``[N, D]`` (D = :attr:`state_width`), edge_index
    ``[2, E]`` (torch_geometric convention: row 0 source j, row 1 target i); ``batch [N]`` (the
    graph of each node in a torch_geometric ``Batch``) makes graph-level operators
    (``standardize_i``) take their statistics per graph. Returns x(T) ``[N, D]``. A batch of
    graphs is one solve on their disjoint union: with an adaptive method its steps are chosen
    for all graphs together, so results equal separate solves to the solver tolerance (exactly,
    up to rounding, with fixed steps). ``forward(data)`` reads ``data.x``, ``data.edge_index``
    and ``data.batch``.

    Attributes:
        state_width: D. nfe_forward: evaluations of the last solve.

    Raises:
        OptionError: a discrete-time spec, a spec with a domain, edge weights (the language
            has no edge inputs yet), unknown dimensions.
        DataError: x of the wrong shape, edge indices out of range.
    """

    def __init__(self, spec, time: float = 1.0, solver: Optional[SolverConfig] = None,
                 params: Optional[Mapping[str, float]] = None, cache_size: int = 16, **dims):
        super().__init__()
        self.spec = load(spec)
        checked = front(self.spec)
        if checked.domain is not None:
            raise OptionError(f"PDEConv: spec '{checked.name}' declares a domain (node "
                              "coordinates); compile it with pde2gnn.compiler.compile(..., "
                              "inputs={'pos': ...}) instead")
        self.dims, self.params = dict(dims), dict(params or {})
        self.time, self.solver = float(time), solver or SolverConfig()
        if is_discrete(self.spec):
            raise OptionError(f"PDEConv needs a continuous spec (dt(...) = ...); "
                              f"'{checked.name}' is discrete-time (use compile_stepper)")
        # a template on a one-node graph creates the parameters every graph shares
        template = self._compile(torch.zeros(2, 0, dtype=torch.long), 1)
        self.learnables, self.nets = template.learnables, template.nets
        self.state_width = template.state_width
        self.cache_size = int(cache_size)
        self._graphs: "OrderedDict[tuple, tuple]" = OrderedDict()
        self.nfe_forward = 0

    def _compile(self, edge_index: Tensor, num_nodes: int):
        return compile_spec(self.spec, edge_index, num_nodes, dims=self.dims,
                            params=self.params)

    def vector_field(self, edge_index: Tensor, num_nodes: int, batch: Optional[Tensor] = None):
        """The compiled field on this graph (cached), sharing this layer's parameters; for your
        own ``torchdiffeq.odeint``, call its ``prepare(x0)`` first."""
        key = (edge_index.data_ptr(), edge_index.shape[1], edge_index._version, int(num_nodes),
               None if batch is None else (batch.data_ptr(), batch._version))
        hit = self._graphs.get(key)
        if hit is not None:
            self._graphs.move_to_end(key)
            return hit[0]
        field = self._compile(edge_index.detach().cpu(), num_nodes)
        field.learnables, field.nets = self.learnables, self.nets   # shared parameters
        ref = next(iter(self.parameters()), None)
        if ref is not None:
            field = field.to(device=ref.device, dtype=ref.dtype)
        if batch is not None:
            field.graph.set_batch(batch.to(field.graph.i.device))
        # the entry holds edge_index and batch, so their memory (and data_ptr) stays theirs
        self._graphs[key] = (field, edge_index, batch)
        while len(self._graphs) > self.cache_size:
            self._graphs.popitem(last=False)
        return field

    def forward(self, x, edge_index: Optional[Tensor] = None, edge_weight: Optional[Tensor] = None,
                batch: Optional[Tensor] = None) -> Tensor:
        if edge_index is None and hasattr(x, "edge_index"):
            x, edge_index, batch = x.x, x.edge_index, getattr(x, "batch", None)
        if edge_weight is not None:
            raise OptionError("PDEConv: edge weights are not supported yet (the language has no "
                              "edge inputs); weight edges inside the spec instead")
        if x.dim() != 2 or x.shape[1] != self.state_width:
            raise DataError(f"PDEConv: x must have shape [N, {self.state_width}] (the spec's "
                            f"fields side by side), got {list(x.shape)}")
        field = self.vector_field(edge_index, x.shape[0], batch)
        block = ODEBlock(field, self.time, self.solver)
        out = block(x)
        self.nfe_forward = block.nfe_forward
        return out

    def _apply(self, fn, *args, **kwargs):
        self._graphs.clear()                 # cached graphs follow on their next use
        return super()._apply(fn, *args, **kwargs)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_graphs"] = OrderedDict()            # compiled graphs are rebuilt on demand
        return state

    def extra_repr(self) -> str:
        return (f"{front(self.spec).name}, state_width={self.state_width}, time={self.time}, "
                f"method={self.solver.method}")
