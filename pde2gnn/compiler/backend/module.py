"""The compiled vector field: a ``torch.nn.Module`` computing f(t, y) for torchdiffeq."""
from __future__ import annotations

import math
from typing import Dict, Mapping, Optional

import numpy as np
import torch
from torch import Tensor, nn

from pde2gnn.compiler.discretize.program import StencilProgram
from pde2gnn import allocator, threads
from pde2gnn.errors import DataError, SolverError
from pde2gnn.compiler.lang.kinds import Kind
from pde2gnn.compiler.symbolic import ops as O
from pde2gnn.compiler.symbolic.constants import LearnInfo
from pde2gnn.compiler.backend.codegen import generate
from pde2gnn.compiler.backend.constraints import Learnable
from pde2gnn.compiler.backend.graph_ops import GraphOps
from pde2gnn.compiler.backend.inputs import (check_disjoint, check_graph, check_inputs,
                                              check_mask, series_value)
from pde2gnn.compiler.backend.nets import NetDict, build_nets
from pde2gnn.compiler.backend.sheaf_ops import sheaf_nets
from pde2gnn.compiler.backend.split_methods import SplitMethods


class VectorField(SplitMethods, nn.Module):
    """f(t, y) of a compiled spec on one graph, for ``torchdiffeq.odeint``.

    For a discrete-time spec (``next(x) = ...``) the same module computes the state at the next
    frame instead of the derivative; :class:`~pde2gnn.compiler.backend.stepper.Stepper` wraps it.

    The state ``y`` is one tensor ``[N, D]`` (or ``[B, N, D]``, B independent states on the same
    graph): the spec's fields side by side in declaration order
    (:attr:`field_slices` gives each field's columns). Call :meth:`prepare` with y(0) before a
    solve (the ODE block does): it computes everything that is constant during the solve
    (constrained parameters, attention from ``init(x)``, fused sparse matrices); ``forward`` then
    only does the per-evaluation work and never synchronises with the device.

    Args:
        program: the discretised spec (:func:`pde2gnn.compiler.discretize.discretize`) of a bound IR;
            its ``ir.constants`` give the inputs, learnables, networks and domain.
        edge_index: ``[2, E]`` graph in torch_geometric convention (row 0 source j, row 1 target i).
        num_nodes: N.
        inputs: tensors for the spec's ``input`` declarations, each ``[N, c]`` (``input w :
            node[c]``) or ``[E, c]`` (``input w : edge[c]``, rows in the order of
            ``edge_index``, like torch_geometric's ``edge_weight`` / ``edge_attr``); under a
            ``domain pos : ...`` the coordinates ``pos`` ``[N, D]`` (x, y, z are its columns).
        scheme: overrides the domain's stencil scheme (``grid``, ``lsq``, ``mesh``, ``auto``).
        cells: mesh triangles ``[F, 3]`` (node indices) for the ``mesh`` scheme's weights
            (None: the Delaunay triangulation of the coordinates).

    Attributes:
        source: the generated Python source (``pde2gnn explain --stage python``).
        probed: ``{name: tensor}`` of the probed let / edge values at the last evaluation (edge
            values ``[..., E, c]`` in the CSR order of :attr:`graph`: ``graph.i``, ``graph.j``).

    Raises:
        DataError: a missing input or one of the wrong shape.
    """

    def __init__(self, program: StencilProgram, edge_index: Tensor, num_nodes: int,
                 inputs: Optional[Mapping[str, Tensor]] = None, scheme: Optional[str] = None,
                 cells: Optional[Tensor] = None):
        super().__init__()
        self.program = program
        ir = program.ir
        gen = generate(program)
        self.source = gen.source
        #: source of ``linear`` (L y of the split f = L y + N; None for a discrete-time spec)
        self.split_source = None if program.ir.discrete else gen.split_source
        self._split_depth = 1 + sum(1 for ln in (gen._split_plan() if self.split_source
                                                  else []) if ln.startswith("_q"))
        self.field_slices: Dict[str, slice] = {f: slice(a, b) for f, (a, b) in
                                               gen.field_slices.items()}
        self.state_width = gen.state_width
        self._load_code()
        consts = ir.constants
        inputs = dict(inputs or {})
        for k in ir.constants.masks:    # a node mask may be given as booleans
            if k in inputs and torch.is_tensor(inputs[k]) and inputs[k].dtype == torch.bool:
                inputs[k] = inputs[k].to(torch.get_default_dtype())
        series = {k: inputs.pop(k) for k in consts.series if k in inputs}
        check_inputs(inputs, set(consts.data_inputs), ir.name)
        inputs.update(series)
        if consts.energies:     # the graph's own checks are GraphOps'; this one is var's
            check_graph(edge_index, num_nodes, symmetric=True, spec=ir.name)
        self.graph = GraphOps(edge_index, num_nodes)
        self.learnables = nn.ModuleDict({n: _make_learnable(v)
                                         for n, v in consts.learnables.items()})
        self.nets = NetDict({**build_nets(consts.nets), **sheaf_nets(consts.sheaves)})
        self.inputs = nn.Module()
        self.scheme = None
        if consts.domain is not None:
            inputs = self._geometry(inputs, scheme, cells)
        missing = [n for n in consts.inputs if n not in inputs]
        if missing:
            raise DataError(f"spec '{ir.name}' needs input(s) " + ", ".join(
                f"'{n}' ({self._input_shape(n)})" for n in missing))
        self._store_inputs(inputs)
        check_disjoint(ir.boundary, self._given)
        self.probed: Dict[str, Tensor] = {}
        self._static_cache = None
        self._solve_cache = None
        self._y0_history = False
        self._uses_init = any(e.atoms(O.Init) for g in program.groups
                              for e in g.exprs) or \
            any(e.atoms(O.Init) for e in program.remainder.values())

    def _load_code(self) -> None:
        """Execute the generated source and bind its three functions (``static``, ``prepare``,
        ``step``)."""
        namespace: dict = {}
        exec(compile(self.source, f"<pde2gnn:{self.program.ir.name}>", "exec"), namespace)
        self._static_fn = namespace["static"]
        self._prepare_fn = namespace["prepare"]
        self._step_fn = namespace["step"]
        self._namespace = namespace
        self._affine_steps: Dict[str, object] = {}
        self._split_fn = None
        if getattr(self, "split_source", None):
            ns: dict = {}
            exec(compile(self.split_source, f"<pde2gnn:{self.program.ir.name}:split>", "exec"),
                 ns)
            self._split_fn = ns["linear"]
        self._split_op = None

    _CODE = ("_static_fn", "_prepare_fn", "_step_fn", "_namespace", "_affine_steps",
             "_split_fn", "_split_op")

    @property
    def affine(self) -> bool:
        """True when f(t, y) = L y + c with L and c fixed during a solve (heat, GRAND-l,
        linear GRAFF, convection-diffusion): the generated code then has ``linear`` (L y), and
        Runge-Kutta steps run in the Krylov form (:func:`pde2gnn.integrate.rk.affine_step`)."""
        return "linear" in self._namespace

    def bind_source(self, key: str, source, name: str, **extra):
        """The function ``name`` defined by ``source`` (Python text written by a later layer,
        e.g. an integrator's affine step, or a function returning it, called on first use only),
        executed once per ``key`` in the generated code's namespace plus ``extra``; returned as
        ``lambda *args: fn(*args, G, I, L, S, C)`` with this field's graph, inputs, learned
        values and caches of the last :meth:`prepare`. The compiler knows nothing of what the
        source computes."""
        if key not in self._affine_steps:
            ns = dict(self._namespace, **extra)
            text = source() if callable(source) else source
            exec(compile(text, f"<pde2gnn:{self.program.ir.name}:{key}>", "exec"), ns)
            self._affine_steps[key] = ns[name]
        fn = self._affine_steps[key]
        return lambda *args: fn(*args, self.graph, self._input_values, self._learned,
                                self._static_cache, self._solve_cache)
    _PER_SOLVE = ("_static_cache", "_solve_cache", "_learned", "_input_values")

    def __getstate__(self):
        """Pickling (``torch.save(field)``, ``torch.multiprocessing``): the generated functions
        are rebuilt from :attr:`source` on loading, the per-solve caches by the next
        :meth:`prepare`."""
        state = self.__dict__.copy()
        for k in self._CODE + self._PER_SOLVE:
            state.pop(k, None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._static_cache = self._solve_cache = None
        self._load_code()

    def _geometry(self, inputs: Dict[str, Tensor], scheme: Optional[str],
                  cells=None) -> Dict[str, Tensor]:
        """Coordinates -> x, y, z inputs and the static geometric weights on :attr:`graph`."""
        from pde2gnn.compiler.discretize.geometry import geometric_weights
        from pde2gnn.compiler.symbolic.geometry import GEO_WEIGHTS

        ir, dom = self.program.ir, self.program.ir.constants.domain
        D = dom.box.dim
        if dom.name not in inputs:
            raise DataError(f"spec '{ir.name}' declares domain '{dom.name}': pass the node "
                            f"coordinates as input '{dom.name}' ([N, {D}])")
        pos = torch.as_tensor(inputs[dom.name])
        if pos.dim() != 2 or tuple(pos.shape) != (self.graph.num_nodes, D):
            raise DataError(f"coordinates '{dom.name}' must have shape [{self.graph.num_nodes}, "
                            f"{D}], got {list(pos.shape)}")
        used = set()
        p = self.program
        for e in [w for g in p.groups for w in g.exprs] + \
                list(p.remainder.values()) + list(p.probes.values()):
            used |= {s.name for s in e.free_symbols if s.name in GEO_WEIGHTS}
        bc = p.boundary       # static arrays of boundary conditions (discretize/boundary.py)
        used |= {v[2] for v in bc.values() if v[2]}
        pos64, i, j = pos.detach().cpu().double().numpy(), self.graph.i.numpy(), \
            self.graph.j.numpy()
        weights, self.scheme = geometric_weights(
            pos64, i, j, dom.box, scheme or dom.scheme, used, dom.name,
            None if cells is None else np.asarray(torch.as_tensor(cells).cpu(), np.int64))
        if bc:
            from pde2gnn.compiler.discretize.boundary_weights import boundary_weights
            weights.update(boundary_weights(pos64, i, j, dom.box, self.scheme, weights,
                                            ir.boundary, bc, dom.name))
        self.graph.set_geometry(weights)
        for a, c in enumerate(dom.coordinates):
            inputs[c] = pos[:, a:a + 1]
        return inputs

    def set_graph(self, edge_index: Tensor) -> None:
        """Replace the graph (rewiring, e.g. BLEND-kNN); the next :meth:`prepare` rebuilds the
        per-graph and per-solve values on it. ``edge_index [2, E']``, same N."""
        edge_inputs = [n for n, t in self.program.ir.constants.inputs.items()
                       if t.kind == Kind.EDGE]
        if edge_inputs:
            raise DataError(f"spec '{self.program.ir.name}' has edge inputs "
                            f"({', '.join(edge_inputs)}): they belong to one graph, so it cannot "
                            "be rewired; compile it on the new graph with its edge values")
        ref = self.graph.deg  # float buffers follow its dtype, index buffers stay long
        self.graph = GraphOps(edge_index.cpu(), self.graph.num_nodes).to(ref.device, ref.dtype)
        self._static_cache = None
        self._solve_cache = None

    def learned(self) -> Dict[str, Tensor]:
        """The learnable tensors with their constraints applied, and the ``net`` modules."""
        return {**{n: m.value for n, m in self.learnables.items()}, **self.nets.as_dict()}

    def _input_shape(self, name: str) -> str:
        t = self.program.ir.constants.inputs[name]
        return f"[{'E' if t.kind == 'edge' else 'N'}, {t.channels}]"

    def set_inputs(self, values: Mapping[str, Tensor]) -> None:
        """Set (or replace) input values: ``{name: [N, c] or [E, c]}`` as in the constructor
        (a 1-D tensor is one channel). Edge inputs are given in the order of the ``edge_index``
        the field was built on and stored in CSR order. Autograd history is kept, so an
        upstream edge-weight network trains through the solve; values not given keep theirs.

        Raises:
            DataError: an unknown name, non-finite values or a wrong shape.
        """
        ir = self.program.ir
        check_inputs({k: v for k, v in values.items() if k not in ir.constants.series},
                     set(ir.constants.data_inputs), ir.name)
        self._store_inputs(values)

    def _store_inputs(self, values: Mapping[str, Tensor]) -> None:
        declared = self.program.ir.constants.inputs
        if not hasattr(self, "_given"):
            self._given: Dict[str, Tensor] = {}
        masks = self.program.ir.constants.masks
        for name, value in values.items():
            if name in self.program.ir.constants.series:
                x, times = series_value(name, value, self.graph.num_nodes,
                                        declared[name].channels)
                for k, v in ((name, x), (f"{name}__times", times)):
                    self._given[k] = v
                    self.inputs.register_buffer(k, v.to(self.graph.deg), persistent=False)
                continue
            x = torch.as_tensor(value)
            if name in masks:
                check_mask(name, x, self.graph.num_nodes)
            if not x.is_floating_point():
                x = x.to(torch.get_default_dtype())
            if x.dim() == 1:
                x = x.unsqueeze(1)
            edge, c = declared[name].kind == Kind.EDGE, declared[name].channels
            rows = self.graph.num_edges if edge else self.graph.num_nodes
            if tuple(x.shape) != (rows, c):
                raise DataError(f"input '{name}' must have shape [{rows}, {c}] "
                                f"({'one row per edge of edge_index' if edge else 'one row per node'}"
                                f"), got {list(x.shape)}")
            if edge:
                x = self.graph.to_csr_order(x.to(self.graph.i.device))
            # the values as given are kept, so a later .double() converts from them, not from
            # a float32 copy; the buffer is what the kernels read (data, not a parameter)
            self._given[name] = x
            self.inputs.register_buffer(name, x.to(self.graph.deg), persistent=False)
        self._static_cache = None
        self._solve_cache = None

    def _inputs(self) -> Dict[str, Tensor]:
        return dict(self.inputs.named_buffers())

    def _apply(self, fn, *args, **kwargs):
        self._static_cache = None
        self._solve_cache = None
        out = super()._apply(fn, *args, **kwargs)
        for name, x in getattr(self, "_given", {}).items():
            setattr(self.inputs, name, x.to(self.graph.deg))
        return out

    def prepare(self, y0: Tensor) -> None:
        """Compute the per-solve constants from y(0) ``[N, D]`` (or ``[B, N, D]``)."""
        if y0.dim() not in (2, 3) or y0.shape[-2] != self.graph.num_nodes or \
                y0.shape[-1] != self.state_width:
            raise DataError(f"state must have shape [{self.graph.num_nodes}, "
                            f"{self.state_width}] (or [B, {self.graph.num_nodes}, "
                            f"{self.state_width}]), got {list(y0.shape)}")
        ref = self.graph.deg
        if y0.dtype != ref.dtype or y0.device != ref.device:
            raise DataError(f"state is {str(y0.dtype).replace('torch.', '')} on {y0.device}, the "
                            f"compiled field '{self.program.ir.name}' is "
                            f"{str(ref.dtype).replace('torch.', '')} on {ref.device}: convert "
                            f"one to the other (field.to(y0) or y0.to(...)); states are "
                            "floating point")
        threads.fit(self.graph.num_edges, self.graph.num_nodes, y0.numel() // y0.shape[-2])
        if y0.device.type == "cpu":
            allocator.advise(y0.numel() * y0.element_size())
        self._input_values = self._inputs()
        if self._static_cache is None:
            self._static_cache = self._static_fn(self.graph, self._input_values)
        self._learned = self.learned()
        self._split_op = None
        self._solve_cache = self._prepare_fn(self.graph, self._input_values, self._learned,
                                             self._static_cache, y0)
        # constants built from y(0) with autograd history: a solve that evaluates this field
        # without autograd would be torchdiffeq.odeint_adjoint's, whose gradient misses them
        self._y0_history = y0.requires_grad and self._uses_init and any(
            torch.is_tensor(v) and v.grad_fn is not None for v in self._solve_cache.values())

    def dirichlet_values(self, t: float = 0.0) -> Dict[str, list]:
        """The Dirichlet nodes of each field and their values g(t, p_i): ``{field: [(mask [N]
        bool, g [N, 1 or c])]}``, one pair per condition (a face's nodes on a vertex-centred
        grid, lsq or mesh, none on a cell-centred grid; a ``node mask`` input). ``simulate``
        sets y(0) there to g(0)."""
        import sympy as sp
        from pde2gnn.compiler.backend.reference import _TORCH
        kernels = {**{c.__name__: f for c, f in _TORCH.items()}, "sqrt": torch.sqrt,
                   "exp": torch.exp, "log": torch.log, "sin": torch.sin, "cos": torch.cos}
        out: Dict[str, list] = {}
        faces: Dict[str, int] = {}
        values = {**self._inputs(), "t": torch.tensor(float(t), dtype=self.graph.deg.dtype)}
        for c in self.program.ir.boundary:
            k = faces.setdefault(c.field, 0)
            faces[c.field] += c.face is not None
            if c.kind == "dirichlet":
                m = getattr(self.graph, f"bc__{c.field}_m{k}") if c.mask is None else \
                    values[c.mask]
                args = sorted(c.value.free_symbols, key=str)
                g = torch.as_tensor(sp.lambdify(args, c.value, modules=[kernels, "math"])(
                    *[values[a.name] for a in args]), dtype=self.graph.deg.dtype)
                g = g.reshape(-1, 1) if g.dim() < 2 else g
                out.setdefault(c.field, []).append(
                    (m.reshape(-1) > 0.5, g.expand(self.graph.num_nodes, g.shape[-1])))
        return out

    def forward(self, t: Tensor, y: Tensor) -> Tensor:
        """dy/dt at time t (0-dim tensor) for the state y ``[N, D]`` or ``[B, N, D]``. No
        Python side effects (evaluations are counted by the solver), so ``torch.compile``
        traces it once."""
        if self._solve_cache is None:
            raise RuntimeError("call prepare(y0) before evaluating the vector field")
        if self._y0_history and not torch.is_grad_enabled():
            raise SolverError(
                f"'{self.program.ir.name}' was prepared with a y(0) that requires grad and is "
                "evaluated without autograd, as torchdiffeq.odeint_adjoint does: its gradient "
                "would miss the terms built from init(...) during prepare. Use "
                "pde2gnn.integrate.solve.ODEBlock(field, T, SolverConfig(adjoint=True)), whose adjoint "
                "carries them, or call prepare under torch.no_grad() for inference")
        out = self._step_fn(t, y, self.graph, self._input_values, self._learned,
                            self._static_cache, self._solve_cache)
        if self.program.probes:
            out, self.probed = out
        return out


def _make_learnable(decl: LearnInfo) -> Learnable:
    """The parameter of one ``learn`` declaration: filled with its initial value (a named one,
    ``eye`` / ``orthogonal``, by ``torch.nn.init.eye_`` / ``orthogonal_``), else uniform in
    +-1/sqrt(rows) for a matrix ``[rows, cols]`` and zeros for a scalar or vector."""
    shape = decl.shape
    if isinstance(decl.init, str):
        init = getattr(nn.init, decl.init + "_")(torch.empty(shape))
    elif decl.init is not None:
        init = torch.full(shape, decl.init)
    elif len(shape) == 2:
        bound = 1.0 / math.sqrt(shape[0])
        init = torch.empty(shape).uniform_(-bound, bound)
    else:
        init = torch.zeros(shape)
    return Learnable(init, list(decl.constraints))
