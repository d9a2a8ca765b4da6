"""The pipeline in one place: spec text -> AST -> checked -> sympy IR -> stencils -> torch.

Each stage is a pure function; :func:`stages` holds them all for one spec, :func:`explain`
prints any of them, :func:`compile` / :func:`compile_stepper` build the torch module.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Optional, Sequence, Tuple, Union

from pde2gnn.compiler import passes
from pde2gnn.compiler.backend.codegen import CodeGen, generate
from pde2gnn.compiler.check import CheckedSpec, check
from pde2gnn.compiler.discretize import StencilProgram
from pde2gnn.errors import OptionError
from pde2gnn.compiler.lang import ast as A
from pde2gnn.compiler.lang.parser import parse, parse_file
from pde2gnn.resources import resolve_spec
from pde2gnn.compiler.symbolic import IR, lower

if TYPE_CHECKING:     # torch is imported by compile / compile_stepper only: parsing, checking
    # and explaining a spec start without it
    from torch import Tensor

    from pde2gnn.compiler.backend.module import VectorField
    from pde2gnn.compiler.backend.stepper import Stepper

STAGES = ("ast", "ir", "stencil", "python", "split")


def load(spec: Union[str, Path, A.Spec]) -> A.Spec:
    """A library model name, a ``.pde`` path, or spec text -> parsed :class:`Spec`.

    Raises:
        ParseError, OptionError: see :func:`pde2gnn.compiler.lang.parse`, :func:`resolve_spec`.
    """
    if isinstance(spec, A.Spec):
        return spec
    text = str(spec)
    if "\n" in text or "dt(" in text or "next(" in text:
        return parse(text)
    return parse_file(resolve_spec(text))


@dataclass(frozen=True)
class Stages:
    """Every stage of the pipeline for one spec (:func:`stages`). ``ast`` and ``checked`` are
    computed at once; the others on first access, each once (checking a spec does not lower
    it, compiling it does not print its code).

    ``dataclasses.replace(st, dims=...)`` (or ``params=``) gives the later stages for other
    values without parsing and checking again.

    Attributes:
        ast: the parsed spec, as written (``model b extends a`` not yet resolved).
        checked: the checked spec; ``checked.spec`` is the flat AST (inheritance resolved).
        dims, params: the values bound in ``ir`` (None: the declared defaults).
        probes: ``let`` / ``edge`` names the compiled module also returns (see :func:`lower`).
        lowered: the sympy IR with dimensions and params still symbols.
        ir: the sympy IR with ``dims`` and ``params`` bound; ``ir.constants`` holds the bound
            declarations (:class:`pde2gnn.compiler.symbolic.constants.Constants`).
        fuse: False skips the fusing passes (``fuse_linear``, ``fuse_inside``).
        history: ``(pass name, program after it)`` for every pass of
            :data:`pde2gnn.compiler.passes.PASSES`, in order.
        stencil: the discretised :class:`StencilProgram` (after the discretisation passes).
        program: the program after every pass (code-generation annotations included).
        generated: the code generator's result (``source``, ``affine``, field slices).
        code: the generated Python source (``explain --stage python`` before the affine step).

    Raises (on access):
        OptionError: a dimension without a size, an unknown dimension / param, or a probe that
            is not a ``let`` / ``edge`` declaration. SpecError: a non-finite constant.
    """

    ast: A.Spec
    checked: CheckedSpec
    dims: Optional[Mapping[str, int]] = None
    params: Optional[Mapping[str, float]] = None
    probes: Tuple[str, ...] = ()
    fuse: bool = True

    @cached_property
    def lowered(self) -> IR:
        return lower(self.checked, self.probes)

    @cached_property
    def ir(self) -> IR:
        return self.lowered.bind(self.dims, self.params)

    @cached_property
    def discretized(self) -> Tuple[Tuple[str, StencilProgram], ...]:
        """``(pass name, program after it)`` for the discretisation passes only."""
        record: list = []
        passes.lower(passes.initial(self.ir), passes.DISCRETIZE, fuse=self.fuse, record=record)
        return tuple(record)

    @cached_property
    def history(self) -> Tuple[Tuple[str, StencilProgram], ...]:
        record = list(self.discretized)
        passes.lower(self.stencil, passes.BACKEND, fuse=self.fuse, record=record)
        return tuple(record)

    @cached_property
    def stencil(self) -> StencilProgram:
        return self.discretized[-1][1]

    @cached_property
    def program(self) -> StencilProgram:
        return self.history[-1][1]

    def after(self, name: str) -> StencilProgram:
        """The program after pass ``name``.

        Raises:
            OptionError: an unknown pass (:func:`pde2gnn.compiler.passes.named`).
        """
        passes.named(name)
        return dict(self.history)[name]

    @cached_property
    def generated(self) -> CodeGen:
        return generate(self.program)

    @property
    def code(self) -> str:
        return self.generated.source


def stages(spec, dims: Optional[Mapping[str, int]] = None,
           params: Optional[Mapping[str, float]] = None, probes: Sequence[str] = (),
           fuse: bool = True) -> Stages:
    """Parse (if needed) and check a spec; the later stages follow on access (:class:`Stages`).

    Args:
        spec: library model name, ``.pde`` path, spec text or parsed spec.
        dims: sizes of the spec's symbolic dimensions, e.g. ``{'d': 64}``.
        params: overrides of ``param`` values.
        probes: names of ``let`` / ``edge`` values to keep (see :func:`compile_stepper`).
        fuse: False skips the fusing passes (see :mod:`pde2gnn.compiler.passes`).

    Raises:
        ParseError, SpecError, OptionError: see :func:`load` and :func:`pde2gnn.compiler.check.check`.
    """
    ast = load(spec)
    return Stages(ast, check(ast), dims, params, tuple(probes), bool(fuse))


def front(spec) -> CheckedSpec:
    """Parse (if needed) and check."""
    return stages(spec).checked


def to_ir(spec, dims: Optional[Mapping[str, int]] = None,
          params: Optional[Mapping[str, float]] = None) -> IR:
    """Spec -> sympy IR, with dimensions and params bound."""
    return stages(spec, dims, params).ir


def to_stencil(spec, dims=None, params=None) -> StencilProgram:
    """Spec -> discretised :class:`StencilProgram`."""
    return stages(spec, dims, params).stencil


def is_discrete(spec) -> bool:
    """True if the spec is a discrete-time model (``next(x) = ...``), False for an ODE
    (``dt(x) = ...``). ``spec``: library name, ``.pde`` path, text or parsed spec.

    Raises:
        SpecError, OptionError: as :func:`front`.
    """
    return front(spec).discrete


def model_kind(checked: CheckedSpec) -> str:
    """One line saying whether a checked spec is an ODE or a discrete-time model."""
    if checked.discrete:
        hidden = ", ".join(f"{h} : node[{checked.fields[h].channels}]" for h in checked.states)
        return (f"discrete-time model: next(...) gives frame t+1 from frame t; observed field "
                f"{checked.observed[0]}" + (f", hidden states {hidden}" if hidden else "") +
                "; compile with compile_stepper")
    return ("continuous model (ODE): dt(...) is the vector field; compile with compile, "
            "integrate with ODEBlock (pde2gnn's Runge-Kutta loop, torchdiffeq's semantics)")


def compile_stepper(spec, edge_index: "Tensor", num_nodes: int,
                    dims: Optional[Mapping[str, int]] = None,
                    params: Optional[Mapping[str, float]] = None,
                    inputs: Optional[Mapping[str, "Tensor"]] = None, *,
                    probes: Sequence[str] = (), fuse: bool = True) -> "Stepper":
    """Compile a discrete-time spec (``next(f) = ...``) into a :class:`Stepper` on a graph.

    Args: as :func:`compile`. The stepper maps ``(f [B, N, C], hidden)`` to ``(f_next, hidden')``.
        probes: names of ``let`` / ``edge`` values to keep at every step in
            ``stepper.update.probed`` (e.g. PA-DGN's learned gradient ``gradf``, ``[B, E, 1]``
            in the edge order ``stepper.update.graph.i`` / ``.j``).
        fuse: False skips the fusing passes: every term by gather / scatter (debugging,
            differential tests).

    Raises:
        OptionError: the spec is an ODE (use :func:`compile`), or a dimension has no size.
        SpecError: the spec is malformed. DataError: the graph or an input has the wrong shape.
    """
    st = stages(spec, dims, params, probes, fuse)
    if not st.checked.discrete:
        raise OptionError(f"spec '{st.checked.name}' is a continuous model (dt(...) equations): "
                          "compile it with pde2gnn.compiler.compile and integrate it with an ODE "
                          "solver; compile_stepper takes discrete-time specs (next(f) = ...)")
    from pde2gnn.compiler.backend.stepper import Stepper
    return Stepper(st.program, edge_index, num_nodes, inputs)


def compile(spec, edge_index: "Tensor", num_nodes: int, dims: Optional[Mapping[str, int]] = None,
            params: Optional[Mapping[str, float]] = None,
            inputs: Optional[Mapping[str, "Tensor"]] = None,
            scheme: Optional[str] = None, cells=None, *, fuse: bool = True) -> "VectorField":
    """Compile a spec into a :class:`VectorField` on a graph.

    Args:
        spec: library model name, ``.pde`` path, spec text or parsed spec.
        edge_index: ``[2, E]`` (torch_geometric convention: row 0 source j, row 1 target i).
        num_nodes: N.
        dims: sizes of the spec's symbolic dimensions, e.g. ``{'d': 64}``.
        params: overrides of ``param`` values.
        inputs: tensors for the spec's ``input`` declarations: ``[N, c]`` for ``node[c]``,
            ``[E, c]`` for ``edge[c]`` (rows in the order of ``edge_index``, like
            ``edge_weight`` / ``edge_attr``); with a ``domain pos : ...``, the coordinates
            ``pos`` ``[N, D]``.
        scheme: override the domain's stencil scheme (``grid``, ``lsq``, ``mesh``, ``auto``).
        cells: a mesh's triangles ``[F, 3]`` for the ``mesh`` scheme (None: Delaunay of ``pos``).
        fuse: False skips the fusing passes (``fuse_linear``, ``fuse_inside``): no sparse
            products, every term by gather / scatter; for debugging and differential tests
            (the values agree with the fused field to rounding).

    Raises:
        SpecError: the spec is malformed. OptionError: a dimension has no size.
        DataError: the graph or an input has the wrong shape.
        OptionError: the spec is a discrete-time model (use :func:`compile_stepper`).
    """
    st = stages(spec, dims, params, fuse=fuse)
    if st.checked.discrete:
        raise OptionError(f"spec '{st.checked.name}' is a discrete-time model (next(...) "
                          "equations): compile it with pde2gnn.compiler.compile_stepper, which "
                          "returns a Stepper (f [B, N, C], hidden) -> (f_next, hidden)")
    from pde2gnn.compiler.backend.module import VectorField
    return VectorField(st.program, edge_index, num_nodes, inputs, scheme, cells)


def explain(spec, stage: Optional[str] = "stencil", dims: Optional[Mapping[str, int]] = None,
            params: Optional[Mapping[str, float]] = None, *, after: Optional[str] = None,
            fuse: bool = True) -> str:
    """Text of one pipeline stage: ``ast``, ``ir``, ``stencil``, ``python`` or ``split`` (the
    linear part L y that implicit / IMEX methods solve with, and the rest N), or with ``after``
    the program after that lowering pass (:data:`pde2gnn.compiler.passes.PASSES`), after a
    first line saying whether the model is continuous (ODE) or discrete-time (:func:`model_kind`).

    Dimensions given in ``dims`` are bound; the others stay symbolic at the ``ast`` / ``ir``
    stages and are set to 4 for ``stencil`` / ``python`` and the passes (the code does not
    depend on them). ``fuse=False`` skips the fusing passes.

    Raises:
        OptionError: an unknown stage or pass (with the list of names); see also :class:`Stages`.
    """
    if after is not None:
        chosen = passes.named(after)
    elif stage not in STAGES:
        raise OptionError(f"unknown stage '{stage}' (choose from {', '.join(STAGES)})")
    st = stages(spec, dims, params, fuse=fuse)
    checked = st.checked
    head = f"# {checked.name}: {model_kind(checked)}\n"
    if after is not None:
        st = replace(st, dims={**{k: 4 for k, v in checked.dims.items() if v is None},
                               **(dims or {})})
        skipped = "" if fuse or not chosen.fusing else " (skipped: fuse=False)"
        return head + f"# after pass {after}{skipped}\n" + chosen.show(st.after(after))
    if stage == "ast":
        return head + "\n".join(repr(s) for s in checked.spec.statements)
    if stage == "ir":   # dimensions not given stay symbolic; params are substituted
        return head + str(st.ir if dims else st.lowered.bind_params(params))
    st = replace(st, dims={**{k: 4 for k, v in checked.dims.items() if v is None},
                           **(dims or {})})
    if stage == "stencil":
        return head + str(st.stencil)
    if stage == "split":
        if checked.discrete:
            raise OptionError(f"'{checked.name}' is a discrete-time model: it has no split")
        gen = st.generated
        kind = "affine: N is constant" if gen.affine else "N depends on the state"
        return (head + f"# split f(t, y) = L y + N(t, y) ({kind}); implicit and IMEX methods "
                "solve with L and evaluate N\n" + gen.split_description() + "\n\n" +
                gen.split_source)
    head += PYTHON_HEADER
    if not st.generated.affine:
        return head + st.code
    from pde2gnn.integrate.tableaus import TABLEAUS, affine_step_source
    return (head + st.code + "\n\n# affine: the solver steps it in the Krylov form, one "
            "generated function per method; dopri5's:\n" + STAGE_SUM_NOTE +
            affine_step_source(TABLEAUS["dopri5"]))


#: the comment above ``explain(..., "python")``: the generated functions' arguments
PYTHON_HEADER = """\
# Generated by pde2gnn/compiler/backend/codegen.py; the arguments of its functions are
#   _G  the graph and its kernels (pde2gnn/compiler/backend/graph_ops.py, GraphOps:
#       gather_i / gather_j, sum_j, softmax_j, spmm, edge_values, ...), built once per graph
#   _I  the inputs given at compile time (node / edge tensors, coordinates), by name
#   _L  the learnable parameters and networks, by name
#   _S  the dict static(_G, _I) returns: values fixed by the graph and the inputs
#   _C  the dict prepare(...) returns: values fixed during one solve (constrained parameters,
#       anything computed from init(x) = _y0)
#   t, y  the time and the state [N, D] (or [B, N, D]); names starting with _ are generated
"""

#: the comment above an affine step: where ``stage_sum`` comes from
STAGE_SUM_NOTE = ("# stage_sum(base, weights, ks) = base + sum_s weights[s] * ks[s] in one fused "
                  "node: pde2gnn/integrate/rk.py\n")
