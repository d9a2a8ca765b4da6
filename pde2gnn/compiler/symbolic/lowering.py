"""Lowering of expressions: checked AST -> sympy (``let`` names inlined, ``x_i`` -> ``AtI(x)``,
``@`` -> ``MatMul``, ``var(E, x)`` -> the derived variational derivative, the built-ins by
their rows' symbolic classes), and the symbol table of a spec.

:func:`pde2gnn.compiler.symbolic.ir.lower` builds the whole :class:`~.ir.IR` with it.
"""
from __future__ import annotations

from typing import Dict

import sympy as sp

from pde2gnn.compiler.check import SHEAF_OPS, CheckedSpec, Type, endpoint
from pde2gnn.errors import EnergyError, SpecError
from pde2gnn.compiler.lang import ast as A
from pde2gnn.compiler.lang.kinds import Kind
from pde2gnn.compiler.lang.visit import children
from pde2gnn.compiler.symbolic import ops as O
from pde2gnn.compiler.symbolic.analysis import Analyzer
from pde2gnn.compiler.symbolic.energy import (SYMMETRIC_CONSTRAINTS, EnergyDerivationError,
                                              variational)
from pde2gnn.compiler.symbolic.geometry import GEO_FUNCTIONS, GeoLap
from pde2gnn.compiler.symbolic.sheaf import lower_sheaf_call, lower_stalk_matmul, per_stalk
from pde2gnn.compiler.symbolic.symbols import SymbolInfo


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
