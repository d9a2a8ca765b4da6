"""The sympy IR: :class:`~pde2gnn.compiler.check.CheckedSpec` -> one expression per field.

:func:`lower` builds it with the expression lowering of :mod:`.lowering` (``let`` names
inlined, endpoint names ``x_i`` -> ``AtI(x)``, ``@`` -> ``MatMul``); params and dimensions stay
symbols until :meth:`IR.bind` substitutes their values and checks sizes and constants.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Dict, Mapping, Optional, Tuple

import sympy as sp

from pde2gnn.compiler.check import LIMITS, CheckedSpec, Type, resolve_channels
from pde2gnn.errors import OptionError, SpecError
from pde2gnn.compiler.lang import ast as A
from pde2gnn.compiler.lang.builtins import INITIALISERS
from pde2gnn.compiler.symbolic import ops as O
from pde2gnn.compiler.symbolic.boundary import bind_boundary, lower_boundary
from pde2gnn.compiler.symbolic.constants import Box, Constants, Domain, LearnInfo
from pde2gnn.compiler.symbolic.lowering import ABAR_INFO, _Lowerer, lower_expr, symbol_table
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

