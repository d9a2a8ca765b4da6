"""The pipeline in one place: spec text -> AST -> checked -> sympy IR -> stencils -> torch.

Each stage is a pure function; :func:`explain` prints any of them.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Optional, Sequence, Union

from .backend.codegen import generate
from .check import CheckedSpec, check
from .discretize import StencilProgram, discretize
from .errors import OptionError
from .lang import ast as A
from .lang.parser import parse, parse_file
from .resources import resolve_spec
from .symbolic import IR, lower

if TYPE_CHECKING:     # torch is imported by compile / compile_stepper only: parsing, checking
    # and explaining a spec start without it
    from torch import Tensor

    from .backend.module import VectorField
    from .backend.stepper import Stepper

STAGES = ("ast", "ir", "stencil", "python")


def load(spec: Union[str, Path, A.Spec]) -> A.Spec:
    """A library model name, a ``.pde`` path, or spec text -> parsed :class:`Spec`.

    Raises:
        ParseError, OptionError: see :func:`pde2gnn.lang.parse`, :func:`resolve_spec`.
    """
    if isinstance(spec, A.Spec):
        return spec
    text = str(spec)
    if "\n" in text or "dt(" in text or "next(" in text:
        return parse(text)
    return parse_file(resolve_spec(text))


def front(spec) -> CheckedSpec:
    """Parse (if needed) and check."""
    return check(load(spec))


def to_ir(spec, dims: Optional[Mapping[str, int]] = None,
          params: Optional[Mapping[str, float]] = None) -> IR:
    """Spec -> sympy IR, with dimensions and params bound."""
    return lower(front(spec)).bind(dims, params)


def to_stencil(spec, dims=None, params=None) -> StencilProgram:
    """Spec -> discretised :class:`StencilProgram`."""
    return discretize(to_ir(spec, dims, params))


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
    return "continuous model (ODE): dt(...) is the vector field; compile with compile, "         "integrate with torchdiffeq"


def compile_stepper(spec, edge_index: "Tensor", num_nodes: int,
                    dims: Optional[Mapping[str, int]] = None,
                    params: Optional[Mapping[str, float]] = None,
                    inputs: Optional[Mapping[str, "Tensor"]] = None, *,
                    probes: Sequence[str] = ()) -> "Stepper":
    """Compile a discrete-time spec (``next(f) = ...``) into a :class:`Stepper` on a graph.

    Args: as :func:`compile`. The stepper maps ``(f [B, N, C], hidden)`` to ``(f_next, hidden')``.
        probes: names of ``let`` / ``edge`` values to keep at every step in
            ``stepper.update.probed`` (e.g. PA-DGN's learned gradient ``gradf``, ``[B, E, 1]``
            in the edge order ``stepper.update.graph.i`` / ``.j``).

    Raises:
        OptionError: the spec is an ODE (use :func:`compile`), or a dimension has no size.
        SpecError: the spec is malformed. DataError: the graph or an input has the wrong shape.
    """
    checked = front(spec)
    if not checked.discrete:
        raise OptionError(f"spec '{checked.name}' is a continuous model (dt(...) equations): "
                          "compile it with pde2gnn.compiler.compile and integrate it with an ODE "
                          "solver; compile_stepper takes discrete-time specs (next(f) = ...)")
    from .backend.stepper import Stepper
    return Stepper(discretize(lower(checked, tuple(probes)).bind(dims, params)), edge_index,
                   num_nodes, inputs)


def compile(spec, edge_index: "Tensor", num_nodes: int, dims: Optional[Mapping[str, int]] = None,
            params: Optional[Mapping[str, float]] = None,
            inputs: Optional[Mapping[str, "Tensor"]] = None,
            scheme: Optional[str] = None) -> "VectorField":
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

    Raises:
        SpecError: the spec is malformed. OptionError: a dimension has no size.
        DataError: the graph or an input has the wrong shape.
        OptionError: the spec is a discrete-time model (use :func:`compile_stepper`).
    """
    checked = front(spec)
    if checked.discrete:
        raise OptionError(f"spec '{checked.name}' is a discrete-time model (next(...) "
                          "equations): compile it with pde2gnn.compiler.compile_stepper, which "
                          "returns a Stepper (f [B, N, C], hidden) -> (f_next, hidden)")
    from .backend.module import VectorField
    program = discretize(lower(checked).bind(dims, params))
    return VectorField(program, edge_index, num_nodes, inputs, scheme)


def explain(spec, stage: str, dims: Optional[Mapping[str, int]] = None,
            params: Optional[Mapping[str, float]] = None) -> str:
    """Text of one pipeline stage: ``ast``, ``ir``, ``stencil`` or ``python``, after a first
    line saying whether the model is continuous (ODE) or discrete-time (:func:`model_kind`).

    Dimensions given in ``dims`` are bound; the others stay symbolic at the ``ast`` / ``ir``
    stages and are set to 4 for ``stencil`` / ``python`` (the code does not depend on them).
    """
    if stage not in STAGES:
        raise OptionError(f"unknown stage '{stage}' (choose from {', '.join(STAGES)})")
    checked = front(spec)
    head = f"# {checked.name}: {model_kind(checked)}\n"
    if stage == "ast":
        return head + "\n".join(repr(s) for s in checked.spec.statements)
    ir = lower(checked)
    if stage == "ir":   # dimensions not given stay symbolic; params are substituted
        return head + str(ir.bind(dims, params) if dims else ir.bind_params(params))
    dims = {**{k: 4 for k, v in checked.dims.items() if v is None}, **(dims or {})}
    program = discretize(ir.bind(dims, params))
    if stage == "stencil":
        return head + str(program)
    gen = generate(program)
    if not gen.affine:
        return head + gen.source
    from .tableaus import TABLEAUS, affine_step_source
    return (head + gen.source + "\n\n# affine: the solver steps it in the Krylov form, one "
            "generated function per method; dopri5's:\n" +
            affine_step_source(TABLEAUS["dopri5"]))
