"""Abstract syntax tree of a spec: frozen dataclasses, each with its source :class:`Span`.

The parser (:mod:`pde2gnn.compiler.lang.parser`) produces a :class:`Spec`; the checker
(:mod:`pde2gnn.compiler.check`) resolves names, kinds and shapes on it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Tuple, Union

from pde2gnn.errors import Span

__all__ = [
    "Span", "Expr", "Number", "Name", "Call", "BinOp", "Neg", "Index", "Dim", "Stmt", "ModelDecl",
    "FieldDecl", "InputDecl", "DimDecl", "ParamDecl", "LearnDecl", "LetDecl", "EnergyDecl",
    "GraphDecl", "DomainDecl", "BcDecl", "Equation", "StateDecl", "NetDecl", "Override", "Spec",
]


# ---------------------------------------------------------------- expressions
@dataclass(frozen=True)
class Number:
    value: float
    span: Span


@dataclass(frozen=True)
class Name:
    id: str
    span: Span


@dataclass(frozen=True)
class Call:
    """``func(args..., key=value...)``."""

    func: str
    args: Tuple["Expr", ...]
    kwargs: Tuple[Tuple[str, "Expr"], ...]
    span: Span
    func_span: Span


@dataclass(frozen=True)
class BinOp:
    """``left op right`` with op one of ``+ - * / @ ^``."""

    op: str
    left: "Expr"
    right: "Expr"
    span: Span


@dataclass(frozen=True)
class Neg:
    operand: "Expr"
    span: Span


@dataclass(frozen=True)
class Index:
    """``value[start:stop]`` (channel slice); ``value[k]`` is ``value[k:k+1]``."""

    operand: "Expr"
    start: int
    stop: int
    span: Span


Expr = Union[Number, Name, Call, BinOp, Neg, Index]
EXPR_TYPES = (Number, Name, Call, BinOp, Neg, Index)


# ---------------------------------------------------------------- declarations
@dataclass(frozen=True)
class Dim:
    """A channel dimension: a literal size or a symbolic name bound at compile time."""

    value: Union[int, str]
    span: Span


@dataclass(frozen=True)
class ModelDecl:
    """``model name`` or ``model name extends parent`` (see :mod:`pde2gnn.compiler.lang.inherit`)."""

    name: str
    span: Span
    parent: Optional[str] = None
    parent_span: Optional[Span] = None


@dataclass(frozen=True)
class FieldDecl:
    """``field x : node[d]``: an evolving state; ``field x : node[d, k]`` one with a
    d-dimensional stalk and k channels (``stalk`` = d, ``dim`` = k; sheaf diffusion)."""

    name: str
    kind: str
    dim: Optional[Dim]
    span: Span
    stalk: Optional[Dim] = None


@dataclass(frozen=True)
class InputDecl:
    """``input pos : node[2]``: given node data, constant in time (``stalk``: a
    ``node[d, k]`` written here, rejected by the checker)."""

    name: str
    kind: str
    dim: Optional[Dim]
    span: Span
    stalk: Optional[Dim] = None
    #: the word after the kind (``input wall : node mask``) and its span; None without one
    flag: Optional[Tuple[str, Span]] = None


@dataclass(frozen=True)
class DimDecl:
    """``dim k = 16``: default size of a symbolic dimension."""

    name: str
    value: int
    span: Span


@dataclass(frozen=True)
class ParamDecl:
    """``param kappa = 1.0``: a constant (overridable at compile time)."""

    name: str
    value: Expr
    span: Span


@dataclass(frozen=True)
class LearnDecl:
    """``learn W : [d, d] sym = 0``: a trainable tensor with constraints and optional init."""

    name: str
    shape: Tuple[Dim, ...]
    constraints: Tuple[Tuple[str, Span], ...]
    init: Optional[Expr]
    span: Span


@dataclass(frozen=True)
class LetDecl:
    """``let r = expr`` or ``edge a = expr`` (``is_edge`` asserts an edge-kind value)."""

    name: str
    value: Expr
    is_edge: bool
    span: Span


@dataclass(frozen=True)
class EnergyDecl:
    """``energy E = expr``: a scalar energy whose variational derivative ``var(E, x)`` may be used."""

    name: str
    value: Expr
    span: Span


@dataclass(frozen=True)
class GraphDecl:
    """``graph knn(u, k=16)``: the diffusion graph to build instead of the input graph."""

    method: str
    args: Tuple[Expr, ...]
    kwargs: Tuple[Tuple[str, Expr], ...]
    span: Span


@dataclass(frozen=True)
class DomainDecl:
    """``domain pos : [0, 2*pi] x [0, 2*pi] periodic scheme=lsq``: node coordinates and extent.

    ``bounds`` holds one ``(low, high)`` pair of constant expressions per axis (2 or 3 axes);
    ``options`` the trailing ``name`` / ``name=value`` words with their spans.
    """

    name: str
    bounds: Tuple[Tuple[Expr, Expr], ...]
    options: Tuple[Tuple[str, Optional[str], Span], ...]
    span: Span


@dataclass(frozen=True)
class BcDecl:
    """``bc u : x = 0 dirichlet(g)``, ``bc u : walls neumann(q)``, ``bc u : wall robin(a, b, g)``:
    a boundary condition of field ``field``.

    ``face`` is ``(coordinate, value expression)`` for one face of the domain, or None;
    ``where`` the node set's name otherwise (``walls``: every face without its own condition,
    or a ``node mask`` input); ``kind`` the condition (``dirichlet``, ``neumann``, ``robin``)
    and ``args`` its expressions.
    """

    field: str
    face: Optional[Tuple[str, "Expr"]]
    where: Optional[str]
    kind: str
    args: Tuple["Expr", ...]
    span: Span
    field_span: Span
    where_span: Span
    kind_span: Span


@dataclass(frozen=True)
class Equation:
    """``dt(x) = expr`` (``op == 'dt'``) or ``next(x) = expr`` (``op == 'next'``: the value at
    frame t+1 computed from the values at frame t, a discrete-time model)."""

    field: str
    rhs: Expr
    span: Span
    field_span: Span
    op: str = "dt"


@dataclass(frozen=True)
class StateDecl:
    """``state h : node[64]``: a hidden state of a discrete-time model (zeros at the first step).
    ``stalk``: a ``node[d, k]`` written here, rejected by the checker."""

    name: str
    kind: str
    dim: Optional[Dim]
    span: Span
    stalk: Optional[Dim] = None


@dataclass(frozen=True)
class NetDecl:
    """``net gn : edge_gn(in=3, out=4, hidden=64)``: a learnable network and its sizes.

    ``kind`` is the network type (``mlp``, ``gru``, ``edge_gn``); ``args`` its keyword arguments
    (positional ones are kept in ``positional`` so the checker can reject them with a location).
    """

    name: str
    kind: str
    kwargs: Tuple[Tuple[str, Expr], ...]
    positional: Tuple[Expr, ...]
    span: Span
    kind_span: Span


@dataclass(frozen=True)
class Override:
    """``override <statement>``: in a model that extends another, ``statement`` replaces the
    parent's statement of the same name. Resolved away by :func:`pde2gnn.compiler.lang.inherit.resolve`
    before checking."""

    statement: "Stmt"
    span: Span


Stmt = Union[ModelDecl, FieldDecl, InputDecl, DimDecl, ParamDecl, LearnDecl, LetDecl,
             EnergyDecl, GraphDecl, DomainDecl, BcDecl, Equation, StateDecl, NetDecl,
             Override]


@dataclass(frozen=True)
class Spec:
    """A parsed spec: its statements in source order, plus the text they came from."""

    statements: Tuple[Stmt, ...]
    source: str = field(repr=False)
    filename: str = "<spec>"

    @property
    def discrete(self) -> bool:
        """True for a discrete-time model (``next(x) = ...`` equations), False for an ODE."""
        return any(isinstance(s, Equation) and s.op == "next" for s in self.statements)

    @property
    def name(self) -> str:
        for s in self.statements:
            if isinstance(s, ModelDecl):
                return s.name
        return "model"
