"""Semantic checking: names, kinds (scalar / node / edge), channel shapes and form rules.

Input is a parsed :class:`~pde2gnn.lang.ast.Spec`; output a :class:`CheckedSpec`, the typed
symbol table the symbolic stage lowers. Every error is a :class:`~pde2gnn.errors.SpecError`
pointing at the offending text.

Kinds: a ``scalar`` has no node or edge axis (numbers, params, learnable scalars and vectors);
a ``node`` value has one row per node, an ``edge`` value one row per edge (i, j); a ``matrix`` is
a learnable ``[rows, cols]`` tensor, usable only on the right of ``@``. Channels are an integer
or a symbolic dimension name bound at compile time; channel count 1 broadcasts.
"""
from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple, Union

import sympy as sp

from .errors import (ArgumentError, EnergyError, FormError, KindError, NameError_, ShapeError,
                     Span, SpecError, did_you_mean)
from .lang import ast as A
from .lang.parser import KEYWORDS

Channels = Union[int, str, sp.Expr]   # a size, a dimension name, or e.g. 2*c + 1

CONSTRAINTS = ("sym", "diag", "positive", "psd", "diag_dom")
ELEMENTWISE = ("exp", "log", "sqrt", "tanh", "sigmoid", "relu", "sin", "cos", "abs", "elu")
GRAPH_OPS = ("grad", "div", "lap", "softmax_j", "sum_j", "mean_j", "squareplus_j", "softmax_i",
             "squareplus_i")
VECTOR_OPS = ("dot", "norm", "init", "mean_heads", "cat", "standardize_i")
ENERGY_OPS = ("sum_i", "sum_ij", "var")
#: sheaf (connection-Laplacian) operators, checked in :mod:`pde2gnn.sheaf_check`
SHEAF_OPS = ("restriction", "sheaf_grad", "sheaf_div", "sheaf_lap", "sheaf_nlap")
BUILTINS = GRAPH_OPS + VECTOR_OPS + ELEMENTWISE + ENERGY_OPS + SHEAF_OPS
#: built-in edge coefficients (graph level): abar_ij = 1 / sqrt(deg_i deg_j)
EDGE_BUILTINS = ("abar_ij",)
#: operators an energy may not contain: not differentiable, or not symmetric under i <-> j
ENERGY_UNSUPPORTED = {"relu": "is not differentiable at 0", "abs": "is not differentiable at 0",
                      "softmax_j": "is not symmetric in i and j",
                      "softmax_i": "is not symmetric in i and j",
                      "mean_j": "is not supported in energies (use sum_j)",
                      "standardize_i": "couples all nodes and is not supported in energies",
                      "elu": "is not supported in energies",
                      **{f: "is not supported in energies" for f in SHEAF_OPS},
                      "init": None}
GRAPH_METHODS = ("input", "knn")
RESERVED = ("t", "torch", "pi")   # pi is the constant 3.14159...; t the time
GEO_OPS = ("dx", "dy", "dz", "dgrad")     # need a `domain` declaration
BUILTINS = BUILTINS + GEO_OPS
COORDINATES = ("x", "y", "z")             # coordinate names under a domain, one per axis
SCHEMES = ("auto", "grid", "lsq", "mesh")
DOMAIN_FLAGS = ("periodic",)

#: learnable network types: required and optional (default) sizes, and what a call takes.
#: ``mlp`` and ``gru`` act row by row (node- or edge-wise); ``edge_gn`` is a graph network.
NET_TYPES = {
    "mlp": dict(required=("in", "out"), optional={"hidden": 64, "layers": 2},
                call="mlp(u): u node or edge [in] -> same kind [out]"),
    "gru": dict(required=("in", "hidden"), optional={"layers": 1},
                call="gru(u, h): u [in], h [layers*hidden] -> new h [layers*hidden]"),
    "edge_gn": dict(required=("in", "out"), optional={"edge_in": 0, "hidden": 64, "blocks": 2},
                    call="edge_gn(v) or edge_gn(v, e): v node [in], e edge [edge_in] -> edge [out]"),
}


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


#: Size caps checked before any work (documented in the README, "Limits"): channels of a
#: field / input / dimension, each network size, the learnable parameters of a compiled model
#: (checked when dimensions are bound), and the nesting depth of an expression (long chains of
#: + - * / do not count: they are flattened). Override with the environment variable
#: ``PDE2GNN_LIMITS="channels=1000000,parameters=1000000000"`` or by assigning to this dict.
LIMITS: Dict[str, int] = _env_limits()


def subexpressions(e: "A.Expr"):
    """Every sub-expression of ``e`` (``e`` included), iteratively (no recursion limit)."""
    stack = [e]
    while stack:
        x = stack.pop()
        yield x
        if isinstance(x, A.Call):
            stack.extend(x.args)
            stack.extend(v for _, v in x.kwargs)
        elif isinstance(x, A.BinOp):
            stack.extend((x.right, x.left))
        elif isinstance(x, (A.Neg, A.Index)):
            stack.append(x.operand)


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
        if isinstance(x, A.BinOp):
            for side in (x.left, x.right):
                same = isinstance(side, A.BinOp) and side is x.left and (
                    {side.op, x.op} <= set("+-") or {side.op, x.op} <= set("*/"))
                stack.append((side, d if same else d + 1))
        elif isinstance(x, A.Call):
            stack.extend((a, d + 1) for a in list(x.args) + [v for _, v in x.kwargs])
        elif isinstance(x, (A.Neg, A.Index)):
            stack.append((x.operand, d + 1))
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


def _chan_expr(c) -> sp.Expr:
    return sp.Symbol(c) if isinstance(c, str) else sp.sympify(c)


def add_channels(*cs) -> Channels:
    """Channel count of a concatenation."""
    return norm_channels(sp.Add(*[_chan_expr(c) for c in cs]))


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
            return norm_channels(_chan_expr(self.sizes["hidden"]) * self.sizes["layers"])
        return self.sizes["out"]

    @property
    def row_wise(self) -> bool:
        """True for networks applied to each row independently (mlp, gru)."""
        return self.kind != "edge_gn"


@dataclass(frozen=True)
class Type:
    """The kind and channel shape of a value.

    ``kind`` is ``'scalar'``, ``'node'``, ``'edge'``, ``'matrix'`` or ``'sheaf'`` (restriction
    maps, ``edge F = restriction(...)``); ``shape`` is ``(c,)`` for values (c = channels, 1 for
    single-channel) and ``(rows, cols)`` for matrices. ``stalk`` is the stalk dimension d of a
    value of a ``node[d, k]`` field (c = d * k channels, stalk-major: channel a * k + b is
    stalk coordinate a, channel b), else None.
    """

    kind: str
    shape: Tuple[Channels, ...] = (1,)
    stalk: Optional[Channels] = None

    @property
    def channels(self) -> Channels:
        return self.shape[-1]

    def describe(self) -> str:
        if self.kind == "matrix":
            return f"matrix [{self.shape[0]}, {self.shape[1]}]"
        if self.kind == "sheaf":
            return f"restriction maps on stalks of dimension {self.stalk}"
        c = self.channels
        if self.stalk is not None:
            return f"{self.kind}[{self.stalk}, {stalk_channels(self)}]"
        return f"{self.kind}" + ("" if c == 1 else f"[{c}]")


SCALAR = Type("scalar", (1,))


def stalk_channels(t: Type) -> Channels:
    """k of a ``node[d, k]`` value: its channels per stalk coordinate (channels / d)."""
    return norm_channels(_chan_expr(t.channels) / _chan_expr(t.stalk))


@dataclass
class CheckedSpec:
    """A spec with every name resolved and typed; the input of :mod:`pde2gnn.symbolic`."""

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
    #: ``edge F = restriction(...)`` declarations (:class:`pde2gnn.sheaf_check.SheafInfo`)
    sheaves: Dict[str, object] = field(default_factory=dict)

    @property
    def discrete(self) -> bool:
        """True for a discrete-time model (``next(x) = ...``), False for an ODE (``dt(x)``)."""
        return any(eq.op == "next" for eq in self.equations.values())

    @property
    def observed(self) -> Tuple[str, ...]:
        """The fields that are not hidden states (a discrete model has exactly one)."""
        return tuple(f for f in self.fields if f not in self.states)

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


class _Checker:
    def __init__(self, spec: A.Spec):
        self.spec = spec
        self.decls: Dict[str, object] = {}
        self.types: Dict[int, Type] = {}
        self.let_types: Dict[str, Type] = {}
        self._energy_types: Dict[str, Type] = {}  # checked when var(...) uses them, or at the end
        self.head_checks: list = []
        self.index_checks: list = []
        self._resolving: list = []
        self.sheaves: dict = {}

    def err(self, cls, msg, span, hint=""):
        return cls(msg, span, self.spec.source, self.spec.filename, hint)

    # ------------------------------------------------------------ declarations
    def declare(self, name: str, decl, span):
        if name in KEYWORDS or name in RESERVED:
            raise self.err(NameError_, f"'{name}' is reserved and cannot be declared", span)
        if name.startswith("_"):
            raise self.err(NameError_, f"names starting with '_' are reserved for generated "
                           f"code: '{name}'", span)
        dom = getattr(self, "domain", None)
        if dom is not None and name in COORDINATES[:len(dom.bounds)] and decl is not dom:
            raise self.err(NameError_, f"'{name}' is a coordinate of domain '{dom.name}' "
                           f"(line {dom.span.line}): with a domain, "
                           f"{', '.join(COORDINATES[:len(dom.bounds)])} name the node "
                           "coordinates; rename this declaration", span)
        if name in BUILTINS:
            raise self.err(NameError_, f"'{name}' is a built-in operator and cannot be redeclared",
                           span)
        if name in self.decls:
            first, second = sorted((self.decls[name].span, span),
                                   key=lambda sp: (sp.line, sp.column))
            raise self.err(NameError_, f"'{name}' is declared twice (first on line {first.line})",
                           second)
        self.decls[name] = decl

    def check_dim(self, dim: Optional[A.Dim]) -> Channels:
        if dim is None:
            return 1
        if isinstance(dim.value, int):
            if dim.value < 1:
                raise self.err(ShapeError, "a dimension must be at least 1", dim.span)
            return dim.value
        d = self.decls.get(dim.value) or next(
            (st for st in self.spec.statements if getattr(st, "name", None) == dim.value
             and not isinstance(st, (A.DimDecl, A.ModelDecl))), None)
        if d is not None and not isinstance(d, A.DimDecl):
            raise self.err(NameError_, f"'{dim.value}' is used as a dimension but declared as "
                           f"something else on line {d.span.line}", dim.span)
        self.dims.setdefault(dim.value, None)
        return dim.value

    def check_numbers(self):
        """Every number finite, every expression within the nesting cap (before any work)."""
        for st in self.spec.statements:
            for e in statement_exprs(st):
                depth = nesting_depth(e)
                if depth > LIMITS["depth"]:
                    raise self.err(FormError, f"this expression is nested {depth} levels deep; "
                                   f"the limit is {LIMITS['depth']}", e.span,
                                   "raise it with PDE2GNN_LIMITS=depth=N")
                for x in subexpressions(e):
                    if isinstance(x, A.Number) and not math.isfinite(x.value):
                        raise self.err(FormError,
                                       "this number is beyond the floating-point range "
                                       "(+-1.8e308)", x.span)
            if isinstance(st, A.DimDecl):
                self.check_size(st.value, st.span, "channels", f"dimension '{st.name}'")
            dims = [st.dim] if isinstance(st, (A.FieldDecl, A.InputDecl, A.StateDecl)) else \
                list(st.shape) if isinstance(st, A.LearnDecl) else []
            for d in dims:
                if d is not None and isinstance(d.value, int):
                    self.check_size(d.value, d.span, "channels", "a channel count")

    def check_size(self, value: int, span, limit: str, what: str):
        if value < 1 and limit == "channels":
            raise self.err(ShapeError, f"{what} must be at least 1, got {value}", span)
        if value > LIMITS[limit]:
            raise self.err(ShapeError, f"{what} is {value}, above the limit of "
                           f"{LIMITS[limit]}", span,
                           f"raise it with PDE2GNN_LIMITS={limit}=N if you mean it")

    def run(self) -> CheckedSpec:
        s = self.spec
        self.dims: Dict[str, Optional[int]] = {}
        self.check_numbers()
        fields, inputs, params, learns, lets, energies, equations = {}, {}, {}, {}, {}, {}, {}
        graph = None
        models = [st for st in s.statements if isinstance(st, A.ModelDecl)]
        if len(models) > 1:
            raise self.err(FormError, "a spec declares exactly one model", models[1].span)
        self.domain = None
        for st in s.statements:
            if isinstance(st, A.DomainDecl):
                self.check_domain(st, inputs)
        for st in s.statements:
            if isinstance(st, A.DimDecl):
                self.declare(st.name, st, st.span)
                self.dims[st.name] = st.value
        states, nets, coords = [], {}, []
        for st in s.statements:
            if isinstance(st, (A.StateDecl, A.InputDecl)) and st.stalk is not None:
                raise self.err(KindError, "only a field can have a stalk (node[d, k]); write "
                               f"'{st.name} : node[channels]'", st.stalk.span)
            if isinstance(st, A.StateDecl):
                self.declare(st.name, st, st.span)
                if st.kind != "node":
                    raise self.err(KindError, f"states live on nodes: write '{st.name} : "
                                   "node[...]'", st.span)
                fields[st.name] = Type("node", (self.check_dim(st.dim),))
                states.append(st.name)
            elif isinstance(st, A.NetDecl):
                self.declare(st.name, st, st.span)
                nets[st.name] = self.check_net(st)
            elif isinstance(st, (A.FieldDecl, A.InputDecl)):
                self.declare(st.name, st, st.span)
                kind = "node"
                if st.kind == "coords" and isinstance(st, A.FieldDecl):
                    coords.append(st.name)
                elif st.kind == "edge" and isinstance(st, A.InputDecl):
                    kind = "edge"   # given per edge (edge_weight / edge_attr)
                elif st.kind != "node":
                    raise self.err(KindError, f"{'fields' if isinstance(st, A.FieldDecl) else 'inputs'}"
                                   f" live on nodes: write '{st.name} : node[...]'"
                                   + (" (inputs may also be 'edge[...]')"
                                      if isinstance(st, A.InputDecl) else ""), st.span)
                t = Type(kind, (self.check_dim(st.dim),))
                if isinstance(st, A.FieldDecl) and st.stalk is not None:
                    t = sheaf_check.stalk_field_type(self, st, t)
                (fields if isinstance(st, A.FieldDecl) else inputs)[st.name] = t
            elif isinstance(st, A.ParamDecl):
                self.declare(st.name, st, st.span)
                params[st.name] = st
            elif isinstance(st, A.LearnDecl):
                self.declare(st.name, st, st.span)
                learns[st.name] = st
            elif isinstance(st, A.LetDecl):
                self.declare(st.name, st, st.span)
                lets[st.name] = st
            elif isinstance(st, A.EnergyDecl):
                self.declare(st.name, st, st.span)
                energies[st.name] = st
            elif isinstance(st, A.GraphDecl):
                if graph is not None:
                    raise self.err(FormError, "only one graph clause is allowed", st.span)
                if st.method not in GRAPH_METHODS:
                    raise self.err(NameError_, f"unknown graph construction '{st.method}'",
                                   st.span, did_you_mean(st.method, GRAPH_METHODS))
                graph = st
            elif isinstance(st, A.Equation):
                first = next(iter(equations.values()), None)
                if first is not None and first.op != st.op:
                    raise self.err(FormError, f"a model is either continuous (dt(x) = ...) or "
                                   f"discrete-time (next(x) = ...), not both: line "
                                   f"{first.span.line} uses {first.op}(...)", st.span)
                if st.field in equations:
                    raise self.err(FormError, f"field '{st.field}' has two {st.op} equations "
                                   f"(first on line {equations[st.field].span.line})", st.span)
                equations[st.field] = st
        self.fields, self.inputs, self.params, self.learns, self.lets, self.energies = (
            fields, inputs, params, learns, lets, energies)
        self.nets, self.states = nets, tuple(states)
        sheaf_check.collect_sheaves(self, lets)
        # the observed field(s) first, then the hidden states: the order of the state vector
        fields = {**{f: t for f, t in fields.items() if f not in states},
                  **{f: fields[f] for f in states}}
        self.fields = fields
        discrete = any(eq.op == "next" for eq in equations.values())
        self.discrete = discrete
        observed = [f for f in fields if f not in states]
        if not observed:
            first = models[0] if models else (s.statements[0] if s.statements else None)
            raise self.err(FormError, "the spec declares no evolving field "
                           "(add e.g. 'field x : node[d]')",
                           first.span if first is not None else Span(1, 1, 1, 2))
        if states and not discrete:
            raise self.err(FormError, "a 'state' is a hidden state of a discrete-time model: "
                           "update it with next(...) = ...",
                           self.decls[states[0]].span)
        if discrete and len(observed) > 1:
            raise self.err(FormError, "a discrete-time model has one observed field (the "
                           "signal it forecasts); declare the others as 'state'",
                           self.decls[observed[1]].span)

        learn_types = {n: self.learn_type(d) for n, d in learns.items()}
        self.learn_types = learn_types
        for p in params.values():
            t = self.expr(p.value)
            if t.kind != "scalar" or self.depends_on_state_or_learn(p.value):
                raise self.err(KindError, f"param '{p.name}' must be a constant number "
                               "expression", p.value.span)
        for d in learns.values():
            if d.init is not None and self.expr(d.init).kind != "scalar":
                raise self.err(KindError, f"the initial value of '{d.name}' must be a number",
                               d.init.span)
        for name in lets:
            self.let_type(name)
        for eq in equations.values():
            if eq.field not in fields:
                kind = type(self.decls[eq.field]).__name__.replace("Decl", "").lower() \
                    if eq.field in self.decls else None
                what = f"'{eq.field}' is a {kind}, not a field" if kind else \
                    f"'{eq.field}' is not a declared field"
                raise self.err(FormError, f"{eq.op}(...) needs an evolving field: {what}",
                               eq.field_span, did_you_mean(eq.field, fields))
            ft, rt = fields[eq.field], self.expr(eq.rhs)
            if rt.kind not in ("node", "scalar"):
                raise self.err(KindError, f"the right-hand side of {eq.op}({eq.field}) must be a "
                               f"node field, got {rt.describe()}", eq.rhs.span)
            if rt.channels not in (1, ft.channels):
                raise self.err(ShapeError, f"{eq.op}({eq.field}) has {ft.channels} channel(s) but "
                               f"the right-hand side has {rt.channels}", eq.rhs.span)
        for name in energies:
            self.energy_type(name)
        op = "next" if discrete else "dt"
        for f in fields:
            if f not in equations:
                raise self.err(FormError, f"{'state' if f in states else 'field'} '{f}' has no "
                               f"equation {op}({f}) = ...", self.decls[f].span)
        checked = CheckedSpec(s, s.name, fields, inputs, self.dims, params, learns, learn_types,
                              lets, self.let_types, energies, equations, graph, self.types,
                              self.domain, self.states, nets, tuple(self.head_checks),
                              tuple(self.index_checks), tuple(coords), dict(self.sheaves))
        if coords:
            from .equivariance import check_equivariance
            check_equivariance(checked)
        return checked

    # ------------------------------------------------------------ networks
    def net_size(self, e: A.Expr) -> Channels:
        """A network size: a positive integer, a dimension name, or +, -, * of those."""
        if isinstance(e, A.Number):
            if e.value != int(e.value) or e.value < 0:
                raise self.err(ShapeError, "network sizes are non-negative integers", e.span)
            return int(e.value)
        if isinstance(e, A.Name):
            if e.id not in self.dims:
                raise self.err(NameError_, f"network sizes are numbers or dimensions; '{e.id}' "
                               "is not a declared dimension", e.span,
                               did_you_mean(e.id, self.dims) or "declare it: 'dim NAME = SIZE'")
            return e.id
        if isinstance(e, A.BinOp) and e.op in "+-*":
            a, b = _chan_expr(self.net_size(e.left)), _chan_expr(self.net_size(e.right))
            return norm_channels(a + b if e.op == "+" else a - b if e.op == "-" else a * b)
        raise self.err(ShapeError, "network sizes are integers, dimension names or sums / "
                       "products of those", e.span)

    def check_net(self, st: A.NetDecl) -> NetInfo:
        """``net NAME : TYPE(key=size, ...)`` -> :class:`NetInfo` (see :data:`NET_TYPES`)."""
        if st.kind not in NET_TYPES:
            raise self.err(NameError_, f"unknown network type '{st.kind}' (known: "
                           f"{', '.join(NET_TYPES)})", st.kind_span,
                           did_you_mean(st.kind, NET_TYPES))
        spec = NET_TYPES[st.kind]
        if st.positional:
            raise self.err(ArgumentError, f"{st.kind} sizes are given by name, e.g. "
                           f"{st.kind}({', '.join(k + '=...' for k in spec['required'])})",
                           st.positional[0].span)
        allowed = list(spec["required"]) + list(spec["optional"])
        sizes: Dict[str, Channels] = dict(spec["optional"])
        seen = set()
        for k, v in st.kwargs:
            if k not in allowed:
                raise self.err(ArgumentError, f"{st.kind} has no size '{k}' (it takes: "
                               f"{', '.join(allowed)})", v.span, did_you_mean(k, allowed))
            if k in seen:
                raise self.err(ArgumentError, f"size '{k}' is given twice", v.span)
            seen.add(k)
            sizes[k] = self.net_size(v)
            if isinstance(sizes[k], int) and sizes[k] < (0 if k == "edge_in" else 1):
                raise self.err(ShapeError, f"size '{k}' must be at least 1", v.span)
            if isinstance(sizes[k], int):
                self.check_size(sizes[k], v.span, "net_size", f"size '{k}'")
        sizes = {k: sizes[k] for k in allowed if k in sizes}
        missing = [k for k in spec["required"] if k not in seen]
        if missing:
            raise self.err(ArgumentError, f"{st.kind} needs size{'s' if len(missing) > 1 else ''}"
                           f" {', '.join(missing)}: {spec['call']}", st.span)
        for k in ("layers", "blocks"):
            if k in sizes and not isinstance(sizes[k], int):
                raise self.err(ShapeError, f"'{k}' must be a number", st.span)
        return NetInfo(st.name, st.kind, sizes)

    def net_call(self, e: A.Call) -> Type:
        """Type of ``net(args)``; argument kinds and channels must fit the declared sizes."""
        net = self.nets[e.func]
        if e.kwargs:
            raise self.err(ArgumentError, f"network '{e.func}' takes positional arguments",
                           e.kwargs[0][1].span)
        ts = [self.expr(a) for a in e.args]
        if net.kind == "edge_gn":
            n = 2 if net.sizes["edge_in"] != 0 else 1
        else:
            n = 1 if net.kind == "mlp" else 2
        if len(ts) != n:
            raise self.err(ArgumentError, f"'{e.func}' ({net.kind}) takes {n} argument"
                           f"{'s' if n > 1 else ''}, got {len(ts)}: {NET_TYPES[net.kind]['call']}"
                           + (" (edge_in=0: no edge input)" if net.kind == "edge_gn" and n == 1
                              else ""), e.span)
        for a, t in zip(e.args, ts):
            if t.kind not in ("node", "edge"):
                raise self.err(KindError, f"'{e.func}' applies to node or edge values, got "
                               f"{t.describe()}", a.span)

        def need(k, a, t, size, what):
            if norm_channels(_chan_expr(t.channels)) != norm_channels(_chan_expr(size)):
                raise self.err(ShapeError, f"'{e.func}' expects {what} with {size} channels "
                               f"({k}={size}), got {t.describe()} with {t.channels}", a.span)
        if net.kind == "edge_gn":
            if ts[0].kind != "node":
                raise self.err(KindError, f"'{e.func}' (edge_gn) takes node inputs first, got "
                               f"{ts[0].describe()}", e.args[0].span)
            need("in", e.args[0], ts[0], net.sizes["in"], "node inputs")
            if n == 2:
                if ts[1].kind != "edge":
                    raise self.err(KindError, f"'{e.func}' (edge_gn) takes edge features "
                                   f"second, got {ts[1].describe()}; e.g. pos_j - pos_i",
                                   e.args[1].span)
                need("edge_in", e.args[1], ts[1], net.sizes["edge_in"], "edge features")
            return Type("edge", (net.out,))
        need("in", e.args[0], ts[0], net.sizes["in"], "an input")
        if net.kind == "gru":
            if ts[0].kind != ts[1].kind:
                raise self.err(KindError, f"'{e.func}' needs input and state of the same kind",
                               e.span)
            need("layers*hidden", e.args[1], ts[1], net.out, "a state")
        return Type(ts[0].kind, (net.out,))

    def check_domain(self, st: A.DomainDecl, inputs: Dict[str, Type]):
        """``domain pos : [lo, hi] x ...``: registers ``pos`` ``node[D]`` and x, y(, z) as inputs."""
        if self.domain is not None:
            raise self.err(FormError, f"only one domain is allowed (first on line "
                           f"{self.domain.span.line})", st.span)
        if len(st.bounds) not in (2, 3):
            raise self.err(ShapeError, f"a domain has 2 or 3 axes, got {len(st.bounds)}", st.span,
                           "write e.g. 'domain pos : [0, 1] x [0, 1]'")
        for k, v, span in st.options:
            if k == "scheme":
                if v not in SCHEMES:
                    raise self.err(NameError_, f"unknown scheme '{v}' (known: "
                                   f"{', '.join(SCHEMES)})", span, did_you_mean(str(v), SCHEMES))
            elif k not in DOMAIN_FLAGS or v is not None:
                raise self.err(NameError_, f"unknown domain option '{k}{'=' + v if v else ''}' "
                               f"(known: periodic, scheme=grid|lsq|mesh|auto)", span,
                               did_you_mean(k, DOMAIN_FLAGS + ("scheme",)))
        self.domain = st
        for lo, hi in st.bounds:
            for b in (lo, hi):
                for n in _names(b):
                    if n.id != "pi":
                        raise self.err(KindError, "domain bounds are numbers (pi allowed)",
                                       n.span)
        for axis, (lo, hi) in enumerate(st.bounds):
            a, b = self.bound_value(lo), self.bound_value(hi)
            if not a < b:
                raise self.err(ShapeError, f"axis {axis + 1} of domain '{st.name}' is empty or "
                               f"reversed: [{a:g}, {b:g}]; the lower bound must be below the "
                               "upper one", Span(lo.span.line, lo.span.column, hi.span.end_line,
                                                 hi.span.end_column))
        self.declare(st.name, st, st.span)
        inputs[st.name] = Type("node", (len(st.bounds),))
        for c in COORDINATES[:len(st.bounds)]:
            self.declare(c, st, st.span)
            inputs[c] = Type("node", (1,))

    def bound_value(self, e: A.Expr) -> float:
        """The value of a domain bound (numbers, pi, + - * / ^, elementwise functions)."""
        funcs = {"exp": math.exp, "log": math.log, "sqrt": math.sqrt, "tanh": math.tanh,
                 "sin": math.sin, "cos": math.cos, "abs": abs}
        try:
            if isinstance(e, A.Number):
                v = e.value
            elif isinstance(e, A.Name) and e.id == "pi":
                v = math.pi
            elif isinstance(e, A.Neg):
                v = -self.bound_value(e.operand)
            elif isinstance(e, A.BinOp) and e.op in "+-*/^":
                a, b = self.bound_value(e.left), self.bound_value(e.right)
                v = {"+": a + b, "-": a - b, "*": a * b}.get(e.op) if e.op in "+-*" else (
                    a / b if e.op == "/" else a ** b)
            elif isinstance(e, A.Call) and e.func in funcs and len(e.args) == 1:
                v = funcs[e.func](self.bound_value(e.args[0]))
            else:
                raise self.err(KindError, "domain bounds are numbers (pi allowed)", e.span)
            v = float(v)
        except (ZeroDivisionError, ValueError, OverflowError, TypeError):
            v = math.nan
        if not math.isfinite(v):
            raise self.err(FormError, "this domain bound is not a finite real number", e.span)
        return v

    def learn_type(self, d: A.LearnDecl) -> Type:
        shape = tuple(self.check_dim(x) for x in d.shape)
        if len(shape) > 2:
            raise self.err(ShapeError, "learnable tensors are scalars, vectors [c] or matrices "
                           "[rows, cols]", d.span)
        for c, span in d.constraints:
            if c not in CONSTRAINTS:
                raise self.err(NameError_, f"unknown constraint '{c}' (known: "
                               f"{', '.join(CONSTRAINTS)})", span, did_you_mean(c, CONSTRAINTS))
            if c in ("sym", "diag", "psd", "diag_dom") and (len(shape) != 2 or shape[0] != shape[1]):
                raise self.err(ShapeError, f"constraint '{c}' needs a square matrix, '{d.name}' "
                               f"has shape [{', '.join(map(str, shape))}]", span)
        if len(shape) == 2:
            return Type("matrix", shape)
        return Type("scalar", shape or (1,))

    def energy_type(self, name: str) -> Type:
        """Check ``energy NAME = expr``: a one-channel scalar built with sum_i / sum_ij."""
        if name in self._energy_types:
            return self._energy_types[name]
        d = self.energies[name]
        outer = getattr(self, "_energy", None)
        self._energy = name
        try:
            t = self.expr(d.value)
        finally:
            self._energy = outer
        if t.kind != "scalar" or t.channels != 1:
            raise self.err(EnergyError, f"energy '{name}' must be a scalar, got {t.describe()}; "
                           "sum node terms with sum_i(...) and edge terms with sum_ij(...), and "
                           "reduce channels with dot(...)", d.value.span)
        self._energy_types[name] = t
        return t

    def _only_receiver(self, e: A.Expr):
        """sum_i(...) of an edge-kind expression may only use receiver values x_i."""
        for x in subexpressions(e):
            if isinstance(x, A.Name):
                ep = endpoint(x.id)
                if x.id in EDGE_BUILTINS or (ep and ep[1] == "j") or (
                        x.id in self.lets and self.let_type(x.id).kind == "edge"):
                    raise self.err(KindError, f"sum_i sums over nodes, but '{x.id}' is an edge "
                                   "value; use sum_ij(...) for sums over edges", x.span)
            elif isinstance(x, A.Call) and x.func in ("grad", "softmax_j", "softmax_i",
                                                      "squareplus_j", "squareplus_i"):
                raise self.err(KindError, f"sum_i sums over nodes, but {x.func}(...) is an edge "
                               "value; use sum_ij(...) for sums over edges", x.span)

    def energy_call(self, e: A.Call) -> Type:
        """sum_i(node) / sum_ij(edge) -> scalar inside energies; var(E, x) -> x's type."""
        f = e.func
        nargs = 2 if f == "var" else 1
        if len(e.args) != nargs or e.kwargs:
            raise self.err(ArgumentError, f"{f} takes {nargs} argument{'s' if nargs > 1 else ''}, "
                           f"got {len(e.args) + len(e.kwargs)}", e.span)
        if f == "var":
            en, x = e.args
            if not (isinstance(en, A.Name) and en.id in self.energies):
                raise self.err(KindError, "var(E, x) takes a declared energy as its first "
                               "argument", en.span, did_you_mean(getattr(en, "id", ""),
                                                                 self.energies))
            if not (isinstance(x, A.Name) and x.id in self.fields):
                raise self.err(KindError, "var(E, x) differentiates with respect to an evolving "
                               "field, given by name", x.span,
                               did_you_mean(getattr(x, "id", ""), self.fields))
            if getattr(self, "_energy", None) is not None:
                raise self.err(EnergyError, "var(...) cannot be used inside an energy", e.span)
            self.energy_type(en.id)
            return self.fields[x.id]
        if getattr(self, "_energy", None) is None:
            raise self.err(FormError, f"{f}(...) is a sum over the whole graph and may only be "
                           "used in an energy", e.func_span)
        t = self.expr(e.args[0])
        if f == "sum_i":
            if t.kind == "edge":
                self._only_receiver(e.args[0])
            elif t.kind != "node":
                raise self.err(KindError, f"sum_i expects a node value, got {t.describe()}",
                               e.args[0].span)
        elif t.kind != "edge":
            raise self.err(KindError, f"sum_ij expects an edge value, got {t.describe()}"
                           + ("; use sum_i for node values" if t.kind == "node" else ""),
                           e.args[0].span)
        if t.channels != 1:
            raise self.err(ShapeError, f"{f} sums a one-channel value, got {t.describe()}; "
                           "reduce channels with dot(...) or norm(...)", e.args[0].span)
        return SCALAR

    def depends_on_state_or_learn(self, e: A.Expr) -> bool:
        return any(isinstance(x, A.Name) and not (
            x.id in self.params or x.id in self.dims or (x.id == "pi" and x.id not in self.decls))
            for x in subexpressions(e))

    def _value(self, e: A.Expr) -> Optional[float]:
        """The number a literal or a param with a literal value stands for, else None."""
        if isinstance(e, A.Number):
            return float(e.value)
        if isinstance(e, A.Neg):
            v = self._value(e.operand)
            return None if v is None else -v
        if isinstance(e, A.Name) and e.id in self.params:
            return self._value(self.params[e.id].value)
        return None

    def _integer(self, e: A.Expr) -> bool:
        """True if the exponent ``e`` is an integer (a literal, or a param's default value)."""
        v = self._value(e)
        return v is not None and float(v).is_integer()

    def _non_negative(self, e: A.Expr) -> bool:
        """True if ``e`` cannot be negative: relu / abs / exp / sigmoid / sqrt of anything, a
        non-negative number or param, and sums, products, quotients and powers of those."""
        if isinstance(e, A.Call):
            return e.func in ("relu", "abs", "exp", "sigmoid", "sqrt")
        if isinstance(e, A.BinOp) and e.op in "+*/^":
            return self._non_negative(e.left) and (e.op == "^" or self._non_negative(e.right))
        if isinstance(e, A.Name) and e.id in self.lets:
            return self._non_negative(self.lets[e.id].value)
        v = self._value(e)
        return v is not None and v >= 0

    def let_type(self, name: str) -> Type:
        if name in self.let_types:
            return self.let_types[name]
        d = self.lets[name]
        if name in self._resolving:
            chain = " -> ".join(self._resolving[self._resolving.index(name):] + [name])
            raise self.err(NameError_, f"'{name}' is defined in terms of itself ({chain})", d.span)
        self._resolving.append(name)
        t = self.expr(d.value)
        self._resolving.pop()
        if d.is_edge:
            if t.kind == "node":
                raise self.err(KindError, f"edge '{name}' must be an edge expression, got "
                               f"{t.describe()}; use x_i / x_j for endpoint values", d.value.span)
            if t.kind == "scalar":
                t = Type("edge", t.shape)
        if t.kind == "matrix":
            raise self.err(KindError, f"let '{name}' cannot be a matrix", d.value.span)
        self.let_types[name] = t
        return t

    # ------------------------------------------------------------ expressions
    def expr(self, e: A.Expr) -> Type:
        t = self.types.get(id(e))
        if t is None:
            t = self._expr(e)
            if t.kind == "sheaf":
                sheaf_check.check_sheaf_use(self, e)
            self.types[id(e)] = t
        return t

    def name(self, e: A.Name) -> Type:
        n = e.id
        if n in self.fields or n in self.inputs:
            t = self.fields.get(n) or self.inputs[n]
            if t.kind == "edge" and getattr(self, "_energy", None) is not None:
                raise self.err(EnergyError, f"edge input '{n}' cannot appear in energy "
                               f"'{self._energy}': var(...) needs its value on the reversed "
                               "edge, which is not given; use it in the flow instead "
                               f"(e.g. div({n} * grad(x)))", e.span)
            return t
        if n in self.lets:
            return self.let_type(n)
        if n in self.learns:
            return self.learn_types[n]
        if n in self.params or n in self.dims:
            return SCALAR
        if n in EDGE_BUILTINS:
            return Type("edge", (1,))
        if n in getattr(self, "nets", {}):
            raise self.err(KindError, f"network '{n}' must be called, e.g. {n}(...)", e.span)
        if n in getattr(self, "energies", {}):
            raise self.err(KindError, f"energy '{n}' can only be used as var({n}, field)", e.span)
        ep = endpoint(n)
        if ep and ep[0] not in self.decls:
            base = ep[0]
            known = list(self.decls) + [f"{b}_{s}" for b in self.decls for s in "ij"]
            raise self.err(NameError_, f"unknown name '{n}' (no node value '{base}' to take at "
                           f"endpoint {ep[1]})", e.span, did_you_mean(n, known))
        if ep:
            base_t = self.name(A.Name(ep[0], e.span))
            if base_t.kind != "node":
                raise self.err(KindError, f"'{n}' takes a node value at an edge endpoint, but "
                               f"'{ep[0]}' is {base_t.describe()}", e.span)
            return Type("edge", base_t.shape, base_t.stalk)
        if n in ("t", "pi"):
            return SCALAR
        raise self.err(NameError_, f"unknown name '{n}'", e.span,
                       did_you_mean(n, list(self.decls) + list(BUILTINS)))

    def _expr(self, e: A.Expr) -> Type:
        if isinstance(e, A.Number):
            return SCALAR
        if isinstance(e, A.Name):
            return self.name(e)
        if isinstance(e, A.Neg):
            t = self.expr(e.operand)
            if t.kind == "matrix":
                raise self.err(KindError, "a matrix can only be used on the right of '@'", e.span)
            return t
        if isinstance(e, A.BinOp):
            return self.binop(e)
        if isinstance(e, A.Index):
            t = self.expr(e.operand)
            if t.kind == "matrix":
                raise self.err(KindError, "channels of a matrix cannot be selected", e.span)
            c = resolve_channels(t.channels, {k: v for k, v in self.dims.items() if v})
            if e.stop <= e.start:
                raise self.err(ShapeError, "an empty channel range", e.span)
            if isinstance(c, int) and e.stop > c:
                raise self.err(ShapeError, f"channel {e.stop - 1} is out of range: the value has "
                               f"{c} channel(s) (numbered from 0)", e.span)
            if not isinstance(c, int):   # checked when the dimensions are bound
                self.index_checks.append((c, e.stop, e.span))
            return Type(t.kind, (e.stop - e.start,))
        return self.call(e)

    def combine(self, a: Type, b: Type, span, what: str) -> Type:
        if a.kind == "matrix" or b.kind == "matrix":
            raise self.err(KindError, f"a matrix can only be used on the right of '@' "
                           f"(in {what})", span)
        if a.stalk is not None or b.stalk is not None:
            return sheaf_check.combine_stalks(self, a, b, span, what)
        if {a.kind, b.kind} == {"node", "edge"}:
            raise self.err(KindError, f"cannot combine a node value with an edge value in {what}; "
                           "use x_i or x_j to take a node value at an edge's endpoint", span)
        kind = "edge" if "edge" in (a.kind, b.kind) else "node" if "node" in (a.kind, b.kind) \
            else "scalar"
        ca, cb = a.channels, b.channels
        if ca != cb and 1 not in (ca, cb):
            raise self.err(ShapeError, f"channel counts differ in {what}: {a.describe()} and "
                           f"{b.describe()}", span)
        return Type(kind, (cb if ca == 1 else ca,))

    def binop(self, e: A.BinOp) -> Type:
        if e.op in "+-*/":   # a chain a + b - c ... typed iteratively, left to right
            ops, chain, x = ("+-" if e.op in "+-" else "*/"), [], e
            while isinstance(x, A.BinOp) and x.op in ops and id(x) not in self.types:
                chain.append(x)
                x = x.left
            t = self.expr(x)
            for node in reversed(chain):
                t = self.combine(t, self.expr(node.right), node.span, f"'{node.op}'")
                self.types[id(node)] = t
            return t
        a = self.expr(e.left)
        b = self.expr(e.right)
        if e.op == "@" and (a.kind == "matrix" or a.stalk is not None) and b.kind != "sheaf":
            return sheaf_check.stalk_matmul(self, e, a, b)
        if e.op == "@":
            if b.kind != "matrix":
                raise self.err(KindError, f"the right operand of '@' must be a learnable matrix, "
                               f"got {b.describe()}", e.right.span)
            if a.kind == "matrix":
                raise self.err(KindError, "write products of matrices as x @ A @ B", e.left.span)
            if a.channels != b.shape[0]:
                raise self.err(ShapeError, f"'@' needs {b.shape[0]} channels on the left "
                               f"(matrix [{b.shape[0]}, {b.shape[1]}]), got {a.describe()}", e.span)
            return Type(a.kind if a.kind != "scalar" else "scalar", (b.shape[1],))
        if e.op == "^" and b.kind != "scalar":
            raise self.err(KindError, f"an exponent must be a scalar, got {b.describe()}",
                           e.right.span)
        if e.op == "^" and a.kind in ("node", "edge") and not self._integer(e.right) \
                and not self._non_negative(e.left):
            raise self.err(FormError, "a non-integer power of a value that can be negative is "
                           "undefined (NaN) for negative values", e.span,
                           "write the base so it cannot be negative, e.g. relu(x)^p or abs(x)^p "
                           "(exact for a state that stays >= 0), or use an integer exponent")
        return self.combine(a, b, e.span, f"'{e.op}'")

    def call(self, e: A.Call) -> Type:
        f = e.func
        if f in self.nets:
            return self.net_call(e)
        if f == "cat":
            if len(e.args) < 1 or e.kwargs:
                raise self.err(ArgumentError, "cat takes one or more values", e.span)
            ts = [self.expr(a) for a in e.args]
            kinds = {t.kind for t in ts}
            if "matrix" in kinds or "scalar" in kinds or "sheaf" in kinds:
                bad = next(a for a, t in zip(e.args, ts) if t.kind in ("matrix", "scalar", "sheaf"))
                raise self.err(KindError, "cat joins the channels of node or edge values, got "
                               f"{self.expr(bad).describe()}", bad.span)
            if kinds == {"node", "edge"}:
                raise self.err(KindError, "cat cannot join node and edge values; take node "
                               "values at an endpoint with x_i / x_j", e.span)
            return Type(kinds.pop(), (add_channels(*(t.channels for t in ts)),))
        if f not in BUILTINS:
            if f in self.decls:
                raise self.err(KindError, f"'{f}' is not a function", e.func_span)
            raise self.err(NameError_, f"unknown operator '{f}'", e.func_span,
                           did_you_mean(f, BUILTINS + ("cat",) + tuple(self.nets)))
        if f in ENERGY_OPS:
            return self.energy_call(e)
        if f in SHEAF_OPS and getattr(self, "_energy", None) is None:
            return sheaf_check.sheaf_call(self, e)
        if getattr(self, "_energy", None) is not None and f in ENERGY_UNSUPPORTED \
                and ENERGY_UNSUPPORTED[f]:
            raise self.err(EnergyError, f"{f} {ENERGY_UNSUPPORTED[f]}, so energy "
                           f"'{self._energy}' cannot be differentiated by var(...)", e.func_span)
        nargs = 2 if f == "dot" else 1
        heads = self.heads(e) if f == "dot" else None
        if len(e.args) != nargs or (e.kwargs and f != "dot"):
            raise self.err(ArgumentError, f"{f} takes {nargs} argument{'s' if nargs > 1 else ''}, "
                           f"got {len(e.args) + len(e.kwargs)}", e.span)
        if f == "init":
            if getattr(self, "discrete", False):
                raise self.err(FormError, "init(...) is the state at t = 0 of a continuous "
                               "model; a discrete-time model keeps what it needs in a 'state'",
                               e.func_span)
            a = e.args[0]
            if not (isinstance(a, A.Name) and a.id in self.fields):
                raise self.err(KindError, "init(...) takes an evolving field by name", a.span)
            return self.fields[a.id]
        ts = [self.expr(a) for a in e.args]
        t = ts[0]
        if t.kind == "matrix":
            raise self.err(KindError, f"{f} does not apply to a matrix", e.args[0].span)

        def need(kind):
            if t.kind != kind:
                arg = e.args[0]
                label = f" {arg.id}" if isinstance(arg, A.Name) else ""
                raise self.err(KindError, f"{f} expects {'an' if kind == 'edge' else 'a'} {kind} field, got {t.describe()}"
                               f"{label}", arg.span)
        if f in GEO_OPS:
            need("node")
            axes = len(self.domain.bounds) if self.domain else 0
            if not axes:
                raise self.err(FormError, f"{f} is a geometric operator and needs node "
                               "coordinates: declare a domain, e.g. 'domain pos : [0, 1] x [0, 1]'",
                               e.func_span)
            if f == "dz" and axes < 3:
                raise self.err(FormError, f"dz needs a 3-D domain, '{self.domain.name}' has "
                               f"{axes} axes", e.func_span)
            return Type("edge" if f == "dgrad" else "node", t.shape)
        if f in ("grad", "lap"):
            need("node")
            return Type("edge" if f == "grad" else "node", t.shape, t.stalk)
        if f in ("div", "sum_j", "mean_j"):
            need("edge")
            return Type("node", t.shape, t.stalk)
        if f in ("softmax_j", "squareplus_j", "softmax_i", "squareplus_i"):
            need("edge")
            return t
        if f == "dot":
            if ts[0].channels != ts[1].channels:
                raise self.err(ShapeError, f"dot needs equal channel counts, got "
                               f"{ts[0].describe()} and {ts[1].describe()}", e.span)
            c = ts[0].channels
            if isinstance(heads, int) and isinstance(c, int) and c % heads:
                raise self.err(ShapeError, f"dot with heads={heads} needs a channel count "
                               f"divisible by {heads}, got {ts[0].describe()}", e.span)
            if heads is not None:
                self.head_checks.append((c, heads, e.span))
            return Type(self.combine(ts[0], ts[1], e.span, "dot").kind, (heads or 1,))
        if f in ("norm", "mean_heads"):
            return Type(t.kind, (1,))
        if f == "standardize_i":
            need("node")
            return t
        return t  # elementwise

    def heads(self, e: A.Call):
        """The ``heads=H`` of ``dot(u, v, heads=H)`` (an integer or a dimension name), or None.

        Multi-head inner product: the channels split into H equal blocks, one inner product
        per block (Vaswani et al. 2017; GRAND / BLEND attention heads).
        """
        if not e.kwargs:
            return None
        if getattr(self, "_energy", None) is not None:
            raise self.err(EnergyError, f"multi-head dot is not supported in energies "
                           f"(energy '{self._energy}')", e.span)
        (key, value), *rest = e.kwargs
        if key != "heads" or rest:
            raise self.err(ArgumentError, "dot takes one keyword argument, heads=H", e.span)
        if isinstance(value, A.Number) and value.value == int(value.value) and value.value >= 1:
            return int(value.value)
        if isinstance(value, A.Name) and value.id in self.dims:
            return value.id
        raise self.err(ArgumentError, "heads must be a positive integer or a dimension name",
                       value.span)


def _names(e: A.Expr):
    """Every :class:`Name` in an expression."""
    if isinstance(e, A.Name):
        yield e
    elif isinstance(e, A.Call):
        for a in e.args:
            yield from _names(a)
    elif isinstance(e, A.BinOp):
        yield from _names(e.left)
        yield from _names(e.right)
    elif isinstance(e, (A.Neg, A.Index)):
        yield from _names(e.operand)


def check(spec: A.Spec) -> CheckedSpec:
    """Resolve names, kinds and shapes of a parsed spec.

    Raises:
        NameError_: unknown or duplicate names (with a did-you-mean suggestion).
        KindError: e.g. ``div`` applied to a node field, node and edge values mixed.
        ShapeError: channel counts that do not fit.
        FormError: a field without a ``dt`` equation, two equations for one field, ...
    """
    return _Checker(spec).run()


from . import sheaf_check  # noqa: E402  (sheaf_check imports this module)
