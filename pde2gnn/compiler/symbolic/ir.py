"""Lowering: :class:`~pde2gnn.compiler.check.CheckedSpec` -> sympy IR (one expression per field).

``let`` names are inlined, endpoint names ``x_i`` become ``AtI(x)``, ``@`` becomes ``MatMul``;
params and dimensions stay symbols until :func:`IR.bind` substitutes their values.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Dict, Mapping, Optional, Tuple

import sympy as sp

from pde2gnn.compiler.check import LIMITS, SHEAF_OPS, CheckedSpec, Type, endpoint, resolve_channels
from pde2gnn.errors import EnergyError, OptionError, SpecError
from pde2gnn.compiler.lang import ast as A
from pde2gnn.compiler.lang.builtins import INITIALISERS
from pde2gnn.compiler.lang.kinds import Kind
from pde2gnn.compiler.lang.visit import children
from pde2gnn.compiler.symbolic import ops as O
from pde2gnn.compiler.symbolic.analysis import Analyzer
from pde2gnn.compiler.symbolic.boundary import bind_boundary, lower_boundary
from pde2gnn.compiler.symbolic.constants import Box, Constants, Domain, LearnInfo
from pde2gnn.compiler.symbolic.energy import (SYMMETRIC_CONSTRAINTS, EnergyDerivationError,
                                              variational)
from pde2gnn.compiler.symbolic.geometry import GEO_FUNCTIONS, GeoLap
from pde2gnn.compiler.symbolic.sheaf import lower_sheaf_call, lower_stalk_matmul, per_stalk
from pde2gnn.compiler.symbolic.symbols import (SymbolInfo)  # noqa: F401  (part of the IR's interface)


@dataclass
class IR:
    """The sympy IR of a spec: ``rhs[f]`` is the right-hand side of ``dt(f)`` (or, for a
    discrete-time model, of ``next(f)``: the value of f at the next frame)."""

    name: str
    symbols: Dict[str, SymbolInfo]
    rhs: Dict[str, sp.Expr]
    checked: CheckedSpec = field(repr=False)
    dims: Dict[str, int] = field(default_factory=dict)
    params: Dict[str, float] = field(default_factory=dict)
    #: named ``let`` / ``edge`` values to compute beside the equations (see :func:`lower`)
    probes: Dict[str, sp.Expr] = field(default_factory=dict)
    #: the declarations with dimensions and params bound, set by :meth:`bind`: all the backend
    #: reads besides the equations (None before binding)
    constants: Optional[Constants] = field(default=None, repr=False)
    #: boundary conditions (:class:`pde2gnn.compiler.symbolic.boundary.Boundary`), values in sympy
    boundary: Tuple = ()

    def __str__(self) -> str:
        op = "next" if self.discrete else "dt"
        return "\n".join(f"{op}({f}) = {sp.sstr(e)}" for f, e in self.rhs.items())

    @property
    def discrete(self) -> bool:
        """True for a discrete-time model (``next`` equations)."""
        return self.checked.discrete

    def channels(self, name: str) -> int:
        """Channels of a field or input once dimensions are bound."""
        return resolve_channels(self.symbols[name].type.channels, self.dims)

    def bind_params(self, params: Optional[Mapping[str, float]] = None) -> "IR":
        """Substitute only the given param overrides (dimensions stay symbolic), for printing.

        Raises:
            OptionError: an unknown param, or a value that is not a finite number.
        """
        subs = {}
        for k, v in (params or {}).items():
            if k not in self.checked.params:
                raise OptionError(f"spec '{self.name}' has no param '{k}' (it has: "
                                  f"{', '.join(self.checked.params) or 'none'})")
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
                raise OptionError(f"param '{k}' must be a finite number, got {v!r}")
            subs[sp.Symbol(k)] = sp.Float(v) if v != int(v) else sp.Integer(int(v))
        return replace(self, rhs={f: e.xreplace(subs) for f, e in self.rhs.items()})

    def bind(self, dims: Optional[Mapping[str, int]] = None,
             params: Optional[Mapping[str, float]] = None) -> "IR":
        """Substitute dimension sizes and parameter values, and evaluate the declarations with
        them into :attr:`constants` (:class:`~pde2gnn.compiler.symbolic.constants.Constants`).

        Args:
            dims: sizes of symbolic dimensions, e.g. ``{'d': 64}``; dimensions declared with a
                default (``dim k = 16``) may be omitted.
            params: overrides of ``param`` values.

        Raises:
            OptionError: a dimension has no size, or an unknown dimension / param is given, or
                a param value that is not a finite number within float32's range.
            SpecError: a param or a learnable's initial value in the spec is not a finite
                number within float32's range.
        """
        dims = dict(dims or {})
        params = dict(params or {})
        for k in dims:
            if k not in self.checked.dims:
                raise OptionError(f"spec '{self.name}' has no dimension '{k}' (it has: "
                                  f"{', '.join(self.checked.dims) or 'none'})")
        for k in params:
            if k not in self.checked.params:
                raise OptionError(f"spec '{self.name}' has no param '{k}' (it has: "
                                  f"{', '.join(self.checked.params) or 'none'})")
        bound = {}
        for k, default in self.checked.dims.items():
            v = dims.get(k, default)
            if v is None:
                raise OptionError(f"dimension '{k}' of spec '{self.name}' has no size: pass it "
                                  f"(e.g. dims={{'{k}': 64}} or --dim {k}=64)")
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
                    or v != int(v):
                raise OptionError(f"dimension '{k}' must be an integer, got {v!r}")
            if not 1 <= int(v) <= LIMITS["channels"]:
                raise OptionError(f"dimension '{k}' must be between 1 and {LIMITS['channels']} "
                                  f"(the channels limit, PDE2GNN_LIMITS=channels=N), got {v}")
            bound[k] = int(v)
        subs = {sp.Symbol(k): sp.Integer(v) for k, v in bound.items()}
        values = {}
        c = self.checked
        for k, decl in c.params.items():
            if k in params:
                try:
                    values[k] = float(params[k])
                except (TypeError, ValueError):
                    raise OptionError(f"param '{k}' must be a number, got {params[k]!r}") \
                        from None
                if not abs(values[k]) <= FLOAT32_MAX:
                    raise OptionError(f"param '{k}' must be a finite number within +-"
                                      f"{FLOAT32_MAX:.3g} (float32, the dtype models are built "
                                      f"in), got {params[k]!r}")
                continue
            v = lower_expr(c, decl.value).xreplace(subs).xreplace(
                {sp.Symbol(n): x for n, x in values.items()})
            values[k] = _finite_value(v, c, decl.value, f"param '{k}'", FLOAT32_MAX)
        subs.update({sp.Symbol(k): sp.Float(v) if v != int(v) else sp.Integer(int(v))
                     for k, v in values.items()})
        constants = _constants(c, bound, subs)
        _check_parameter_count(c, bound)
        for ch, heads, span in c.head_checks:
            n, h = resolve_channels(ch, bound), resolve_channels(heads, bound)
            if int(n) % int(h):
                names = sorted({str(x) for x in (ch, heads) if not isinstance(x, int)})
                raise OptionError(f"with dimensions {', '.join(repr(k) for k in names)} = "
                                  f"{[bound.get(k) for k in names]}, dot(..., heads={h}) on line "
                                  f"{span.line} needs a channel count ({n}) divisible by {h}")
        for ch, stop, span in c.index_checks:
            n = resolve_channels(ch, bound)
            if isinstance(n, int) and stop > n:
                names = sorted(str(x) for x in sp.sympify(ch).free_symbols) \
                    if not isinstance(ch, str) else [ch]
                raise OptionError(f"with dimensions {', '.join(repr(k) for k in names)} = "
                                  f"{[bound.get(k) for k in names]}, the channel selection on "
                                  f"line {span.line}, column {span.column} needs at least "
                                  f"{stop} channels, the value has {n}")
        rhs = {f: e.xreplace(subs) for f, e in self.rhs.items()}
        probes = {f: e.xreplace(subs) for f, e in self.probes.items()}
        for f, e in {**rhs, **probes}.items():
            if e.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
                raise OptionError(f"with params {values} the right-hand side of '{f}' is not "
                                  "finite (a division by zero?): choose other values of "
                                  + ", ".join(f"'{k}'" for k in values))
            big = [a for a in e.atoms(sp.Number) if abs(float(a)) > FLOAT32_MAX]
            if big:
                raise OptionError(f"with params {values} the right-hand side of '{f}' holds the "
                                  f"constant {float(big[0]):.3g}, beyond float32's range "
                                  f"(+-{FLOAT32_MAX:.3g}, the dtype models are built in): "
                                  "choose smaller values of "
                                  + (", ".join(f"'{k}'" for k in values) or "its numbers"))
            for d in e.atoms(O.Dropout):
                if not (d.args[1].is_Number and 0 <= float(d.args[1]) < 1):
                    raise OptionError(f"with params {values} a dropout rate in the right-hand "
                                      f"side of '{f}' is {d.args[1]}: it must be in [0, 1)")
        return replace(self, rhs=rhs, dims=bound, params=values, probes=probes,
                       constants=constants, boundary=bind_boundary(self.boundary, subs))


def _constants(c: CheckedSpec, dims: Dict[str, int], subs: Dict[sp.Symbol, sp.Expr]) -> Constants:
    """The :class:`Constants` of ``c`` with dimensions ``dims`` and the dimension and param
    values ``subs`` bound.

    Raises:
        SpecError: a learnable's initial value is not a finite number within float32's range.
        OptionError: a size that is not an integer with these dimensions.
    """
    def size(x) -> int:
        v = resolve_channels(x, dims)
        if not isinstance(v, int):
            raise OptionError(f"with dimensions {dims}, the size {x} of spec '{c.name}' is "
                              f"{v}, not an integer")
        return v

    def bound(t: Type) -> Type:
        return replace(t, shape=tuple(size(x) for x in t.shape),
                       stalk=None if t.stalk is None else size(t.stalk))

    learnables = {}
    for k, d in c.learns.items():
        if isinstance(d.init, A.Name) and d.init.id in INITIALISERS:
            init = d.init.id        # a named initialiser (checked: an unconstrained matrix)
        else:
            init = None if d.init is None else _finite_value(
                lower_expr(c, d.init).xreplace(subs), c, d.init, f"the initial value of '{k}'",
                FLOAT32_MAX)
        shape = tuple(size(x) for x in c.learn_types[k].shape) if d.shape else ()
        learnables[k] = LearnInfo(shape, init, tuple(n for n, _ in d.constraints))
    for n, v in c.sheaves.items():
        if v.lowpass and size(v.d) < 2:   # the checker caught a literal stalk; this is a dim
            raise OptionError(f"with dimensions {dims}, the stalk of sheaf '{n}' (node[{v.d}, "
                              f"...]) is {size(v.d)}, but restriction(..., lowpass=true) needs "
                              f"2 or more: choose '{v.d}' >= 2")
    domain = None
    if c.domain is not None:   # numbers, pi and params: see check/domain.py
        low, high = (tuple(_finite_value(lower_expr(c, b[k]).xreplace(subs), c, b[k],
                                         "this domain bound") for b in c.domain.bounds)
                     for k in (0, 1))
        for a, (lo, hi) in enumerate(zip(low, high)):
            if not lo < hi:
                raise OptionError(f"with params {dict((str(k), v) for k, v in subs.items())} "
                                  f"axis {a + 1} of domain '{c.domain.name}' is empty or "
                                  f"reversed: [{lo:g}, {hi:g}]")
        domain = Domain(c.domain.name, Box(low, high, bool(c.domain_option("periodic", False))),
                        c.domain_option("scheme", "auto"), c.coordinates)
    return Constants(
        fields={n: bound(t) for n, t in c.fields.items()}, states=tuple(c.states),
        point_fields=tuple(c.point_fields),
        inputs={n: bound(t) for n, t in c.inputs.items()}, domain=domain,
        learnables=learnables,
        nets={n: replace(v, sizes={k: size(x) for k, x in v.sizes.items()})
              for n, v in c.nets.items()},
        sheaves={n: replace(v, d=size(v.d), k=size(v.k)) for n, v in c.sheaves.items()},
        energies=bool(c.energies), masks=tuple(c.masks),
        series=tuple(c.series))


#: the largest float32: params and initial values must fit the dtype models are built in
FLOAT32_MAX = 3.4028234663852886e38


def _finite_value(v: sp.Expr, c: CheckedSpec, e: A.Expr, what: str, bound=1.7e308) -> float:
    """``float(v)`` of a bound constant expression; a located SpecError if it is not a finite
    real number within +-``bound`` (float32's range for learnable initial values)."""
    try:
        x = complex(v)
        ok = x.imag == 0 and math.isfinite(x.real) and abs(x.real) <= bound
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise SpecError(f"{what} is not a finite number within +-{bound:.3g}: {sp.sstr(v)}",
                        e.span, c.spec.source, c.spec.filename)
    return x.real


def _check_parameter_count(c: CheckedSpec, dims: Dict[str, int]) -> None:
    """OptionError if the learnable tensors and networks would exceed LIMITS['parameters']."""
    def size(x):
        return int(resolve_channels(x, dims)) if not isinstance(x, int) else x
    total = 0
    for n, t in c.learn_types.items():
        total += math.prod(size(x) for x in t.shape)
    for net in c.nets.values():
        s = {k: size(v) for k, v in net.sizes.items()}
        h = s.get("hidden", 1)
        ins = s.get("in", 1) + s.get("edge_in", 0)
        total += (ins + s.get("out", h) + 2) * h * 3 * max(s.get("layers", 1), s.get("blocks", 1)) \
            + h * h * max(s.get("layers", 2) - 2, 0)
    if total > LIMITS["parameters"]:
        raise OptionError(f"spec '{c.name}' with dimensions {dims} has about {total:,} "
                          f"learnable parameters, above the limit of {LIMITS['parameters']:,} "
                          "(PDE2GNN_LIMITS=parameters=N raises it)")


#: the built-in edge coefficient abar_ij = 1 / sqrt(deg_i deg_j), computed once per graph
ABAR_INFO = SymbolInfo("abar", "graph", Type(Kind.EDGE, (1,)))


class _Lowerer:
    def __init__(self, checked: CheckedSpec):
        self.c = checked
        self.memo: Dict[str, sp.Expr] = {}
        self.energy_memo: Dict[str, sp.Expr] = {}

    def var(self, e: A.Call) -> sp.Expr:
        """``var(E, x)``: lower E and differentiate it (see :mod:`pde2gnn.compiler.symbolic.energy`)."""
        en, x = e.args[0].id, e.args[1].id
        if en not in self.energy_memo:
            self.energy_memo[en] = self.expr(self.c.energies[en].value)
        an = Analyzer({**symbol_table(self.c), "abar": ABAR_INFO}, {})
        sym = {n for n, d in self.c.learns.items()
               if any(c in SYMMETRIC_CONSTRAINTS for c, _ in d.constraints)}
        try:
            return variational(self.energy_memo[en], sp.Symbol(x), an.kind, an.channels, sym)
        except EnergyDerivationError as err:
            raise EnergyError(f"cannot derive var({en}, {x}): {err}", e.span, self.c.spec.source,
                              self.c.spec.filename) from None

    def name(self, n: str) -> sp.Expr:
        c = self.c
        if n in c.lets:
            if n not in self.memo:
                self.memo[n] = self.expr(c.lets[n].value)
            return self.memo[n]
        if n == "abar_ij":
            return O.ABAR
        if n in c.fields or n in c.inputs or n in c.learns or n in c.params or n in c.dims \
                or n == "t":
            return sp.Symbol(n)
        if n == "pi":
            return sp.pi
        base, side = endpoint(n)
        return (O.AtI if side == "i" else O.AtJ)(self.name(base))

    def expr(self, e: A.Expr) -> sp.Expr:
        """Lower one AST expression. A constant result keeps its channel count (``Fill``) when
        that is not 1, and a non-finite or complex constant is a located error."""
        v = self._expr(e)
        if v.is_number:
            self._finite(v, e)
            t = self.c.types.get(id(e))
            if t is not None and t.kind != Kind.MATRIX and t.channels != 1 and \
                    not v.has(O.GraphOp):   # a plain number (a Fill or sigmoid(Fill) keeps its own)
                return O.Fill(v, sp.Symbol(t.channels) if isinstance(t.channels, str)
                              else sp.sympify(t.channels))
        return v

    def _chain(self, e: A.BinOp) -> sp.Expr:
        """A left-leaning chain ``a + b - c ...`` or ``a * b / c ...`` lowered iteratively
        (one sympy Add / Mul, not one per operator: linear time, no deep recursion)."""
        ops = ("+", "-") if e.op in "+-" else ("*", "/")
        e0, rights = e, []
        while isinstance(e, A.BinOp) and e.op in ops:
            rights.append((e.op, e.right))
            e = e.left
        terms = [per_stalk(self, self.expr(e), e, e0)]
        for op, r in reversed(rights):
            v = per_stalk(self, self.expr(r), r, e0)
            terms.append(v if op in "+*" else (-v if op == "-" else 1 / v))
            self._finite(terms[-1], r)
        out = sp.Add(*terms) if ops[0] == "+" else sp.Mul(*terms)
        self._finite((out.as_coeff_Add() if ops[0] == "+" else out.as_coeff_Mul())[0], e0)
        return out

    def _finite(self, v: sp.Expr, e: A.Expr):
        """Raise a located SpecError if the number ``v`` (the value of ``e``) is not finite
        and real."""
        bad = _not_real_finite(v) if v.is_number else ""
        if bad:
            raise SpecError(f"this expression is {bad}", e.span, self.c.spec.source,
                            self.c.spec.filename)

    def _expr(self, e: A.Expr) -> sp.Expr:
        if isinstance(e, A.Number):
            v = e.value
            return sp.Integer(int(v)) if v == int(v) and abs(v) < 1e15 else sp.Float(v)
        if isinstance(e, A.Name):
            return self.name(e.id)
        if isinstance(e, A.Neg):
            return -self.expr(e.operand)
        if isinstance(e, A.Index):
            u, t = self.expr(e.operand), self.c.types.get(id(e.operand))
            if t is not None and t.kind == Kind.SCALAR and t.channels == 1:
                return u          # x[0] of a one-channel scalar (t, a scalar learnable) is x
            return O.Slice(u, sp.Integer(e.start), sp.Integer(e.stop))
        if isinstance(e, A.BinOp):
            if e.op in "+-*/":
                return self._chain(e)
            a, b = self.expr(e.left), self.expr(e.right)
            if e.op == "^":
                return a ** b
            stalk = lower_stalk_matmul(self, e, a, b)
            if stalk is not None:
                return stalk
            if a.is_number and not isinstance(a, O.Fill):  # 1-channel constant @ W
                a = O.Fill(a, sp.Integer(1))
            return O.MatMul(a, b)
        if e.func == "var":
            return self.var(e)
        if e.func in SHEAF_OPS:
            return lower_sheaf_call(self, e)
        args = [self.expr(a) for a in e.args] + [self.expr(v) for _, v in e.kwargs]
        if e.func in self.c.nets:
            net = self.c.nets[e.func]
            return (O.NetApply if net.row_wise else O.GraphNetApply)(sp.Symbol(e.func), *args)
        if e.func in GEO_FUNCTIONS or (e.func == "lap" and self.c.domain is not None):
            return GEO_FUNCTIONS.get(e.func, GeoLap)(*args)
        if e.func == "sum_i":
            from pde2gnn.compiler.symbolic.energy import receiver_only
            args = [receiver_only(args[0])]
        return O.FUNCTIONS[e.func](*args)


def _not_real_finite(v: sp.Expr) -> str:
    """Why a constant cannot be computed in floating point ('' if it can)."""
    if v.has(sp.zoo, sp.nan) or v.has(sp.oo) or v.has(-sp.oo):
        return "not finite (a division by zero, or a number beyond +-1.8e308)"
    if any(not f.is_finite or abs(float(f)) > 1.7e308 for f in v.atoms(sp.Float)):
        return "not finite (a number beyond +-1.8e308)"
    if v.has(sp.I) or v.has(sp.re) or v.has(sp.im):
        return "complex (e.g. the square root or logarithm of a negative number)"
    return ""


def lower_expr(checked: CheckedSpec, e: A.Expr) -> sp.Expr:
    """Lower one checked AST expression to sympy."""
    return _Lowerer(checked).expr(e)


def lower(checked: CheckedSpec, probes: Tuple[str, ...] = ()) -> IR:
    """Lower a checked spec to the sympy IR (dimensions and params still symbolic).

    ``var(E, x)`` is replaced by the derived variational derivative; ``abar_ij`` becomes the
    graph-level symbol ``abar``. ``probes`` names ``let`` / ``edge`` declarations whose values
    the compiled module also returns (e.g. PA-DGN's learned gradient, per edge).

    Raises:
        OptionError: a probe is not a ``let`` / ``edge`` declaration of the spec.
    """
    lw = _Lowerer(checked)
    symbols = symbol_table(checked)
    rhs = {f: lw.expr(checked.equations[f].rhs) for f in checked.fields}
    for p in probes:
        if p not in checked.lets:
            raise OptionError(f"spec '{checked.name}' has no let / edge value '{p}' to probe "
                              f"(it has: {', '.join(checked.lets) or 'none'})")
    probed = {p: lw.name(p) for p in probes}
    if any(e.has(O.ABAR) for e in list(rhs.values()) + list(probed.values())):
        symbols["abar"] = ABAR_INFO
    return IR(checked.name, symbols, rhs, checked, probes=probed,
              boundary=lower_boundary(checked, lw.expr))


def derived_flows(checked: CheckedSpec) -> Dict[str, sp.Expr]:
    """``{'var(E, x)': expression}`` for every var(...) in the equations (for check / explain)."""
    lw, out = _Lowerer(checked), {}
    stack = [eq.rhs for eq in reversed(checked.equations.values())]
    while stack:
        e = stack.pop()
        if isinstance(e, A.Call) and e.func == "var":
            out[f"var({e.args[0].id}, {e.args[1].id})"] = lw.var(e)
            continue
        if isinstance(e, A.Name) and e.id in checked.lets:
            stack.append(checked.lets[e.id].value)
        stack.extend(reversed(children(e)))
    return out


def symbol_table(checked: CheckedSpec) -> Dict[str, SymbolInfo]:
    """SymbolInfo of every declared name (fields, inputs, learnables, params, dims, t)."""
    symbols: Dict[str, SymbolInfo] = {}
    for n, t in checked.fields.items():
        symbols[n] = SymbolInfo(n, "field", t)
    for n, t in checked.inputs.items():
        symbols[n] = SymbolInfo(n, "series" if n in checked.series else "input", t)
    for n, t in checked.learn_types.items():
        symbols[n] = SymbolInfo(n, "learn", t)
    for n, net in checked.nets.items():
        symbols[n] = SymbolInfo(n, "net", Type(Kind.NET, (net.out,)))
    for n in checked.sheaves:          # restriction-map networks (edge F = restriction(...))
        symbols[n] = SymbolInfo(n, "net", Type(Kind.NET, (1,)))
    for n in checked.params:
        symbols[n] = SymbolInfo(n, "param", Type(Kind.SCALAR))
    for n in checked.dims:
        symbols[n] = SymbolInfo(n, "dim", Type(Kind.SCALAR))
    symbols["t"] = SymbolInfo("t", "time", Type(Kind.SCALAR))
    return symbols
