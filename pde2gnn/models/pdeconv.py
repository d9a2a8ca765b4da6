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

from pde2gnn.compiler.pipeline import compile as compile_spec
from pde2gnn.compiler.pipeline import front, is_discrete, load, to_ir
from pde2gnn.compiler.backend.inputs import check_graph_shape
from pde2gnn.errors import DataError, OptionError
from pde2gnn.integrate.solve import ODEBlock, SolverConfig, check_time


def _check_graph_args(edge_index, num_nodes: int, batch) -> None:
    """The graph arguments of :meth:`PDEConv.forward`, checked before they key the cache
    (which reads their ``data_ptr``): types and shapes here, on every call; the index range
    when a graph is compiled (:class:`~pde2gnn.compiler.backend.graph_ops.GraphOps`), on a cache miss,
    which an in-place change of ``edge_index`` causes (the key holds its version)."""
    for arg, value in (("edge_index", edge_index), ("batch", batch)):
        if value is not None and not torch.is_tensor(value):
            raise DataError(f"PDEConv: {arg} must be a torch tensor (torch_geometric "
                            f"convention), got {type(value).__name__}: convert it with "
                            "torch.as_tensor(..., dtype=torch.long)")
    if edge_index is None:
        raise DataError("PDEConv: edge_index is missing: pass forward(x, edge_index) or a "
                        "torch_geometric Data")
    check_graph_shape(edge_index)
    if batch is not None and (batch.dim() != 1 or batch.shape[0] != num_nodes
                              or batch.is_floating_point()):
        raise DataError(f"PDEConv: batch must be an integer tensor [N] = [{num_nodes}] (the "
                        f"graph of each node), got {batch.dtype} {list(batch.shape)}")


class PDEConv(nn.Module):
    """Integrates a continuous spec's vector field on the input graph from t = 0 to ``time``.

    Args:
        spec: a library name (``grand``), a ``.pde`` path, spec text or a parsed spec; its
            fields side by side form the state (no ``domain``: coordinates-based stencils need
            :func:`pde2gnn.compiler.compile` with ``inputs``).
        time: the end time T (a finite number > 0, in the spec's time units).
        solver: solver options, a :class:`~pde2gnn.integrate.solve.SolverConfig` (default dopri5, rtol
            1e-3, atol 1e-4, the fused loop). Keyword-only, like every argument after ``time``.
        params: values for the spec's ``param`` constants.
        dims: the spec's dimensions as a mapping, e.g. ``dims={'d': 64}``; or as keywords:
        **sizes: the spec's dimensions, e.g. ``d=64`` (merged with ``dims``).
        cache_size: graphs whose compiled operators are kept (least recently used first out).

    ``forward(x, edge_index, edge_weight=None, batch=None, edge_attr=None, inputs=None)``: x
    ``[N, D]`` (D = :attr:`state_width`), edge_index ``[2, E]`` (torch_geometric convention: row 0
    source j, row 1 target i); ``edge_weight [E]`` or ``edge_attr [E, c]`` feed the spec's one
    edge input (``input w : edge[c]``), ``inputs`` any input by name (node ``[N, c]``, edge
    ``[E, c]``, rows in the order of ``edge_index``); ``batch [N]`` (the
    graph of each node in a torch_geometric ``Batch``) makes graph-level operators
    (``standardize_i``, ``max_ij``) take their statistics per graph. Returns x(T) ``[N, D]``. A
    batch of graphs is one solve on their disjoint union: with an adaptive method its steps are
    chosen for all graphs together, so results equal separate solves to the solver tolerance
    (exactly, up to rounding, with fixed steps). ``forward(data)`` reads ``data.x``,
    ``data.edge_index``, ``data.edge_weight``, ``data.edge_attr`` and ``data.batch``.

    Edge semantics (what torch_geometric graphs bring): every listed edge counts, so a
    duplicate edge is summed (its term counts twice and deg_i counts it twice), not coalesced;
    a directed graph is used as given (no symmetrisation), except that a spec deriving its
    flow from an energy (``var``) needs a symmetric graph (a :class:`DataError` otherwise); a
    self-loop (i -> i) is an edge of N(i): it drops out of differences (``grad``, ``lap``:
    x_i - x_i = 0) but takes part in ``softmax_j``, ``sum_j``, ``mean_j`` and the degrees. A
    graph without edges and a graph of one node are valid: sums over N(i) are 0 there,
    ``max_j`` is 0, ``standardize_i`` of one node is 0.

    Attributes:
        state_width: D. nfe_forward: evaluations of the last solve.

    Raises:
        OptionError: a discrete-time spec, a spec with a domain, unknown or missing
            dimensions; ``time`` not a finite number above 0; ``solver`` not a SolverConfig;
            ``params`` or ``dims`` not a mapping, ``cache_size`` not a positive integer; edge
            weights for a spec without exactly one edge input.
        TypeError: more than two positional arguments (``PDEConv(spec, time)``).
        DataError: (forward) x or an input of the wrong shape, a missing input; edge_index
            not an integer ``[2, E]`` tensor or with indices out of range.
    """

    def __init__(self, spec, time: float = 1.0, *, solver: Optional[SolverConfig] = None,
                 params: Optional[Mapping[str, float]] = None,
                 dims: Optional[Mapping[str, int]] = None, cache_size: int = 16, **sizes):
        super().__init__()
        self.time = check_time(time, "PDEConv time")
        if solver is not None and not isinstance(solver, SolverConfig):
            raise OptionError(f"PDEConv solver must be a pde2gnn.integrate.solve.SolverConfig, got "
                              f"{type(solver).__name__} {solver!r}")
        for option, value in (("params", params), ("dims", dims)):
            if value is not None and not isinstance(value, Mapping):
                raise OptionError(f"PDEConv {option} must be a mapping {{name: value}}, got "
                                  f"{type(value).__name__} {value!r}")
        if isinstance(cache_size, bool) or not isinstance(cache_size, int) or cache_size < 1:
            raise OptionError(f"PDEConv cache_size must be an integer of at least 1, got "
                              f"{cache_size!r}")
        self.spec = load(spec)
        checked = front(self.spec)
        if checked.domain is not None:
            raise OptionError(f"PDEConv: spec '{checked.name}' declares a domain (node "
                              "coordinates); compile it with pde2gnn.compiler.compile(..., "
                              "inputs={'pos': ...}) instead")
        self.dims, self.params = {**dict(dims or {}), **sizes}, dict(params or {})
        self.solver = solver or SolverConfig()
        if is_discrete(self.spec):
            raise OptionError(f"PDEConv needs a continuous spec (dt(...) = ...); "
                              f"'{checked.name}' is discrete-time (use compile_stepper)")
        self._input_kinds = {n: t.kind for n, t in checked.inputs.items()}
        self._edge_inputs = [n for n, k in self._input_kinds.items() if k == "edge"]
        # a template on a one-node graph creates the parameters every graph shares
        template = self._compile(torch.zeros(2, 0, dtype=torch.long), 1)
        self.learnables, self.nets = template.learnables, template.nets
        self.state_width = template.state_width
        self.cache_size = cache_size
        # follows .to() / .double() like a parameter, also for a spec without parameters
        self.register_buffer("_dtype_ref", torch.zeros(()), persistent=False)
        self._graphs: "OrderedDict[tuple, tuple]" = OrderedDict()
        self.nfe_forward = 0

    def _compile(self, edge_index: Tensor, num_nodes: int):
        # inputs are per call (forward sets them); zeros of the right size stand in until then
        rows = {"node": num_nodes, "edge": edge_index.shape[1]}
        if self._input_kinds and not hasattr(self, "_input_channels"):
            ir = to_ir(self.spec, self.dims, self.params)
            self._input_channels = {n: ir.channels(n) for n in self._input_kinds}
        placeholders = {n: torch.zeros(rows[k], self._input_channels[n])
                        for n, k in self._input_kinds.items()}
        return compile_spec(self.spec, edge_index, num_nodes, dims=self.dims,
                            params=self.params, inputs=placeholders)

    def _gather_inputs(self, edge_weight, edge_attr, inputs) -> dict:
        """The inputs of one call by name, from ``inputs`` and ``edge_weight`` / ``edge_attr``."""
        given = dict(inputs or {})
        for arg, value in (("edge_weight", edge_weight), ("edge_attr", edge_attr)):
            if value is None:
                continue
            if len(self._edge_inputs) != 1:
                raise OptionError(
                    f"PDEConv: {arg} needs a spec with exactly one edge input ('input w : "
                    f"edge[c]'); '{front(self.spec).name}' declares "
                    f"{len(self._edge_inputs)} ({', '.join(self._edge_inputs) or 'none'})"
                    + ("; pass inputs={name: tensor}" if self._edge_inputs else ""))
            if self._edge_inputs[0] in given:
                raise OptionError(f"PDEConv: edge input '{self._edge_inputs[0]}' given twice "
                                  f"({arg} and inputs)")
            given[self._edge_inputs[0]] = value
        missing = [n for n in self._input_kinds if n not in given]
        if missing:
            raise DataError(f"PDEConv: spec '{front(self.spec).name}' needs input(s) "
                            f"{', '.join(missing)}: pass edge_weight / edge_attr for an edge "
                            "input, inputs={name: tensor} for any")
        return given

    def vector_field(self, edge_index: Tensor, num_nodes: int, batch: Optional[Tensor] = None):
        """The compiled field on this graph (cached), sharing this layer's parameters; for your
        own ``torchdiffeq.odeint``, call its ``prepare(x0)`` first.

        Raises:
            DataError: edge_index not an integer ``[2, E]`` tensor, indices outside
                [0, num_nodes), or ``batch`` not a tensor of one entry per node.
        """
        _check_graph_args(edge_index, num_nodes, batch)
        key = (edge_index.data_ptr(), edge_index.shape[1], edge_index._version, int(num_nodes),
               None if batch is None else (batch.data_ptr(), batch._version))
        hit = self._graphs.get(key)
        if hit is not None:
            self._graphs.move_to_end(key)
            return hit[0]
        field = self._compile(edge_index.detach().cpu(), num_nodes)
        field.learnables, field.nets = self.learnables, self.nets   # shared parameters
        field = field.to(device=self._dtype_ref.device, dtype=self._dtype_ref.dtype)
        if batch is not None:
            field.graph.set_batch(batch.to(field.graph.i.device))
        # the entry holds edge_index and batch, so their memory (and data_ptr) stays theirs
        self._graphs[key] = (field, edge_index, batch)
        while len(self._graphs) > self.cache_size:
            self._graphs.popitem(last=False)
        return field

    def forward(self, x, edge_index: Optional[Tensor] = None, edge_weight: Optional[Tensor] = None,
                batch: Optional[Tensor] = None, edge_attr: Optional[Tensor] = None,
                inputs: Optional[Mapping[str, Tensor]] = None) -> Tensor:
        if edge_index is None and hasattr(x, "edge_index"):
            data = x
            x, edge_index, batch = data.x, data.edge_index, getattr(data, "batch", None)
            if self._edge_inputs:
                edge_weight = getattr(data, "edge_weight", None)
                edge_attr = getattr(data, "edge_attr", None)
        if not torch.is_tensor(x) or x.dim() != 2 or x.shape[1] != self.state_width:
            raise DataError(f"PDEConv: x must have shape [N, {self.state_width}] (the spec's "
                            f"fields side by side), got "
                            f"{list(x.shape) if torch.is_tensor(x) else type(x).__name__}")
        field = self.vector_field(edge_index, x.shape[0], batch)
        if self._input_kinds:
            field.set_inputs(self._gather_inputs(edge_weight, edge_attr, inputs))
        elif edge_weight is not None or edge_attr is not None or inputs:
            raise OptionError(f"PDEConv: spec '{front(self.spec).name}' declares no inputs, "
                              "so it takes no edge_weight, edge_attr or inputs")
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
