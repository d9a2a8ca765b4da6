"""The pipeline in one place: spec text -> AST -> checked -> sympy IR -> stencils -> torch.

Each stage is a pure function; :func:`explain` prints any of them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Optional, Union

from torch import Tensor

from .backend.codegen import generate
from .backend.module import VectorField
from .check import CheckedSpec, check
from .discretize import StencilProgram, discretize
from .errors import OptionError
from .lang import ast as A
from .lang.parser import parse, parse_file
from .resources import resolve_spec
from .symbolic import IR, lower

STAGES = ("ast", "ir", "stencil", "python")


def load(spec: Union[str, Path, A.Spec]) -> A.Spec:
    """A library model name, a ``.pde`` path, or spec text -> parsed :class:`Spec`.

    Raises:
        ParseError, OptionError: see :func:`pde2gnn.lang.parse`, :func:`resolve_spec`.
    """
    if isinstance(spec, A.Spec):
        return spec
    text = str(spec)
    if "\n" in text or "dt(" in text:
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


def compile(spec, edge_index: Tensor, num_nodes: int, dims: Optional[Mapping[str, int]] = None,
            params: Optional[Mapping[str, float]] = None,
            inputs: Optional[Mapping[str, Tensor]] = None,
            scheme: Optional[str] = None) -> VectorField:
    """Compile a spec into a :class:`VectorField` on a graph.

    Args:
        spec: library model name, ``.pde`` path, spec text or parsed spec.
        edge_index: ``[2, E]`` (torch_geometric convention: row 0 source j, row 1 target i).
        num_nodes: N.
        dims: sizes of the spec's symbolic dimensions, e.g. ``{'d': 64}``.
        params: overrides of ``param`` values.
        inputs: tensors for the spec's ``input`` declarations, ``[N, c]`` each (with a
            ``domain pos : ...``, the coordinates ``pos`` ``[N, D]``).
        scheme: override the domain's stencil scheme (``grid``, ``lsq``, ``mesh``, ``auto``).

    Raises:
        SpecError: the spec is malformed. OptionError: a dimension has no size.
        DataError: the graph or an input has the wrong shape.
    """
    return VectorField(to_stencil(spec, dims, params), edge_index, num_nodes, inputs, scheme)


def explain(spec, stage: str, dims: Optional[Mapping[str, int]] = None,
            params: Optional[Mapping[str, float]] = None) -> str:
    """Text of one pipeline stage: ``ast``, ``ir``, ``stencil`` or ``python``.

    Dimensions given in ``dims`` are bound; the others stay symbolic at the ``ast`` / ``ir``
    stages and are set to 4 for ``stencil`` / ``python`` (the code does not depend on them).
    """
    if stage not in STAGES:
        raise OptionError(f"unknown stage '{stage}' (choose from {', '.join(STAGES)})")
    checked = front(spec)
    if stage == "ast":
        return "\n".join(repr(s) for s in checked.spec.statements)
    ir = lower(checked)
    if stage == "ir":
        return str(ir.bind(dims, params) if dims else ir)
    dims = {**{k: 4 for k, v in checked.dims.items() if v is None}, **(dims or {})}
    program = discretize(ir.bind(dims, params))
    if stage == "stencil":
        return str(program)
    return generate(program).source
