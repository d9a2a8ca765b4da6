"""Types of the checker: kinds and channels, the checked spec, the built-in name lists and limits."""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple, Union

import sympy as sp

from pde2gnn.compiler.lang import ast as A
from pde2gnn.compiler.lang.builtins import BUILTINS as BUILTIN_TABLE
from pde2gnn.compiler.lang.builtins import CONSTRAINTS as CONSTRAINT_TABLE
from pde2gnn.compiler.lang.builtins import names
from pde2gnn.compiler.lang.kinds import Kind
from pde2gnn.compiler.lang.visit import children, walk

Channels = Union[int, str, sp.Expr]   # a size, a dimension name, or e.g. 2*c + 1

# the language's built-ins as lists of names (their records: pde2gnn/compiler/lang/builtins.py)
CONSTRAINTS = tuple(CONSTRAINT_TABLE)
ELEMENTWISE, GRAPH_OPS, VECTOR_OPS, ENERGY_OPS, GEO_OPS, SHEAF_OPS, COMPARE_OPS = (
    names(g) for g in ("elementwise", "graph", "vector", "energy", "geometry", "sheaf",
                       "compare"))
BUILTINS = tuple(BUILTIN_TABLE)
GRAPH_METHODS = ("input", "knn")
COORDINATES = ("x", "y", "z")             # coordinate names under a domain, one per axis
SCHEMES = ("auto", "grid", "lsq", "mesh")
DOMAIN_FLAGS = ("periodic",)


def _env_limits() -> Dict[str, int]:
    """:data:`LIMITS`, with overrides from ``PDE2GNN_LIMITS="channels=100000,depth=300"``."""
    limits = {"channels": 65536, "net_size": 65536, "parameters": 100_000_000, "depth": 200}
    for item in filter(None, os.environ.get("PDE2GNN_LIMITS", "").split(",")):
        key, _, value = item.partition("=")
        if key.strip() in limits:
            try:
                limits[key.strip()] = int(float(value))
            except ValueError:
                pass
    return limits


#: Size caps checked before any work (documented in docs/guide/reliability.md, "Limits"): channels of a
#: field / input / dimension, each network size, the learnable parameters of a compiled model
#: (checked when dimensions are bound), and the nesting depth of an expression (long chains of
#: + - * / do not count: they are flattened). Override with the environment variable
#: ``PDE2GNN_LIMITS="channels=1000000,parameters=1000000000"`` or by assigning to this dict.
LIMITS: Dict[str, int] = _env_limits()


def subexpressions(e: "A.Expr"):
    """Every sub-expression of ``e`` (``e`` included), iteratively (no recursion limit)."""
    return walk(e)


def statement_exprs(st) -> list:
    """The expressions of one statement (right-hand sides, values, bounds, sizes)."""
    out = []
    for f in dataclasses.fields(st):
        v = getattr(st, f.name)
        items = v if isinstance(v, tuple) else (v,)
        for it in items:
            if isinstance(it, tuple):
                out += [x for x in it if isinstance(x, A.EXPR_TYPES)]
            elif isinstance(it, A.EXPR_TYPES):
                out.append(it)
    return out


def nesting_depth(e: "A.Expr") -> int:
    """Nesting depth of an expression; a chain ``a + b - c`` or ``a * b / c`` counts once."""
    best, stack = 0, [(e, 1)]
    while stack:
        x, d = stack.pop()
        best = max(best, d)
        for side in children(x):
            same = isinstance(x, A.BinOp) and isinstance(side, A.BinOp) and side is x.left and (
                {side.op, x.op} <= set("+-") or {side.op, x.op} <= set("*/"))
            stack.append((side, d if same else d + 1))
    return best


def norm_channels(c) -> Channels:
    """Canonical form of a channel count: int, a dimension name, or a sympy expression."""
    if isinstance(c, (int, str)):
        return c
    c = sp.sympify(c)
    if c.is_Integer:
        return int(c)
    if c.is_Symbol:
        return c.name
    return c


def channel_expr(c) -> sp.Expr:
    return sp.Symbol(c) if isinstance(c, str) else sp.sympify(c)


def add_channels(*cs) -> Channels:
    """Channel count of a concatenation."""
    return norm_channels(sp.Add(*[channel_expr(c) for c in cs]))


def resolve_channels(c: Channels, dims) -> Union[int, Channels]:
    """An int once the dimensions ``dims`` ({name: size}) are bound (else ``c`` unchanged)."""
    if isinstance(c, int):
        return c
    if isinstance(c, str):
        return dims.get(c, c)
    v = c.xreplace({sp.Symbol(k): sp.Integer(n) for k, n in dims.items()
                    if isinstance(n, int)})
    return int(v) if v.is_Integer else v


@dataclass(frozen=True)
class NetInfo:
    """A checked ``net`` declaration: its type and sizes (ints, dimension names or expressions)."""

    name: str
    kind: str
    sizes: Dict[str, Channels]

    @property
    def out(self) -> Channels:
        if self.kind == "gru":
            return norm_channels(channel_expr(self.sizes["hidden"]) * self.sizes["layers"])
        return self.sizes["out"]

    @property
    def row_wise(self) -> bool:
        """True for networks applied to each row independently (mlp, gru)."""
        return self.kind != "edge_gn"


@dataclass(frozen=True)
class Type:
    """The kind and channel shape of a value.

    ``kind`` is a :class:`~pde2gnn.compiler.lang.kinds.Kind` (a string is converted): scalar, node,
    edge, matrix or sheaf (restriction maps, ``edge F = restriction(...)``). ``shape`` is
    ``(c,)`` for values (c = channels, 1 for single-channel) and ``(rows, cols)`` for matrices. ``stalk`` is the stalk dimension d of a
    value of a ``node[d, k]`` field (c = d * k channels, stalk-major: channel a * k + b is
    stalk coordinate a, channel b), else None.
    """

    kind: Kind
    shape: Tuple[Channels, ...] = (1,)
    stalk: Optional[Channels] = None

    def __post_init__(self):
        object.__setattr__(self, "kind", Kind(self.kind))   # "node" -> Kind.NODE

    @property
    def channels(self) -> Channels:
        return self.shape[-1]

    def describe(self) -> str:
        if self.kind == Kind.MATRIX:
            return f"matrix [{self.shape[0]}, {self.shape[1]}]"
        if self.kind == Kind.SHEAF:
            return f"restriction maps on stalks of dimension {self.stalk}"
        c = self.channels
        if self.stalk is not None:
            return f"{self.kind}[{self.stalk}, {stalk_channels(self)}]"
        return f"{self.kind}" + ("" if c == 1 else f"[{c}]")


SCALAR = Type(Kind.SCALAR, (1,))


def stalk_channels(t: Type) -> Channels:
    """k of a ``node[d, k]`` value: its channels per stalk coordinate (channels / d)."""
    return norm_channels(channel_expr(t.channels) / channel_expr(t.stalk))


class FieldsAndEquations:
    """What :class:`CheckedSpec` and the checker's scope both derive from their ``fields``,
    ``states`` and ``equations``."""

    @property
    def discrete(self) -> bool:
        """True for a discrete-time model (``next(x) = ...``), False for an ODE (``dt(x)``)."""
        return any(eq.op == "next" for eq in self.equations.values())

    @property
    def observed(self) -> Tuple[str, ...]:
        """The fields that are not hidden states (a discrete model has exactly one)."""
        return tuple(f for f in self.fields if f not in self.states)


@dataclass
class CheckedSpec(FieldsAndEquations):
    """A spec with every name resolved and typed; the input of :mod:`pde2gnn.compiler.symbolic`."""

    spec: A.Spec
    name: str
    fields: Dict[str, Type]
    inputs: Dict[str, Type]
    dims: Dict[str, Optional[int]]
    params: Dict[str, A.ParamDecl]
    learns: Dict[str, A.LearnDecl]
    learn_types: Dict[str, Type]
    lets: Dict[str, A.LetDecl]
    let_types: Dict[str, Type]
    energies: Dict[str, A.EnergyDecl]
    equations: Dict[str, A.Equation]
    graph: Optional[A.GraphDecl] = None
    types: Dict[int, Type] = field(default_factory=dict, repr=False)
    domain: Optional[A.DomainDecl] = None
    states: Tuple[str, ...] = ()
    nets: Dict[str, NetInfo] = field(default_factory=dict)
    #: (channels, heads, span) of every dot(u, v, heads=H): checked once dimensions are bound
    head_checks: Tuple = ()
    #: (channels, stop, span) of every u[a:stop] of a value with symbolic channels: likewise
    index_checks: Tuple = ()
    #: fields declared ``coords[n]``: point coordinates, checked for E(n) equivariance
    point_fields: Tuple[str, ...] = ()
    #: ``edge F = restriction(...)`` declarations (:class:`pde2gnn.compiler.check.sheaf.SheafInfo`)
    sheaves: Dict[str, object] = field(default_factory=dict)
    #: the boundary conditions (:class:`pde2gnn.compiler.check.boundary.BcInfo`), ``walls`` expanded
    boundary: Tuple = ()
    #: inputs declared ``node mask``
    masks: Tuple[str, ...] = ()
    #: inputs declared ``node[c] series``
    series: Tuple[str, ...] = ()

    @property
    def coordinates(self) -> Tuple[str, ...]:
        """Coordinate names of the domain (``('x', 'y')`` in 2-D), empty without a domain."""
        return COORDINATES[:len(self.domain.bounds)] if self.domain else ()

    def domain_option(self, key: str, default=None):
        """Value of a domain option (``scheme``), ``True`` for a flag (``periodic``)."""
        for k, v, _ in (self.domain.options if self.domain else ()):
            if k == key:
                return True if v is None else v
        return default

    def type_of(self, expr: A.Expr) -> Type:
        return self.types[id(expr)]


def endpoint(name: str) -> Optional[Tuple[str, str]]:
    """``'x0_i'`` -> ``('x0', 'i')``; ``None`` if the name has no ``_i`` / ``_j`` suffix."""
    if len(name) > 2 and name[-2] == "_" and name[-1] in "ij":
        return name[:-2], name[-1]
    return None
