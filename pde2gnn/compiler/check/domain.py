"""The ``domain`` declaration: bounds, options (periodic, scheme=...) and coordinates.

One of the rule sets of :class:`pde2gnn.compiler.check.checker.Checker`, run by its declaration pass.
"""
from __future__ import annotations

import dataclasses
import math
from pde2gnn.errors import FormError, KindError, NameError_, ShapeError, did_you_mean
from pde2gnn.compiler.lang import ast as A
from pde2gnn.compiler.lang.builtins import BUILTINS
from pde2gnn.compiler.lang.kinds import Kind
from pde2gnn.compiler.lang.visit import walk
from pde2gnn.compiler.types import COORDINATES, DOMAIN_FLAGS, SCHEMES, Type


class DomainRules:
    def check_domain(self, st: A.DomainDecl):
        """``domain pos : [lo, hi] x ...``: declares ``pos`` ``node[D]`` and x, y(, z) as inputs
        of the scope (part of the declaration pass)."""
        if self.scope.domain is not None:
            raise self.err(FormError, f"only one domain is allowed (first on line "
                           f"{self.scope.domain.span.line})", st.span)
        if len(st.bounds) not in (1, 2, 3):
            raise self.err(ShapeError, f"a domain has 1, 2 or 3 axes, got {len(st.bounds)}",
                           st.span, "write e.g. 'domain pos : [0, 1] x [0, 1]'")
        for k, v, span in st.options:
            if k == "scheme":
                if v not in SCHEMES:
                    raise self.err(NameError_, f"unknown scheme '{v}' (known: "
                                   f"{', '.join(SCHEMES)})", span, did_you_mean(str(v), SCHEMES))
            elif k not in DOMAIN_FLAGS or v is not None:
                raise self.err(NameError_, f"unknown domain option '{k}{'=' + v if v else ''}' "
                               f"(known: periodic, scheme=grid|lsq|mesh|auto)", span,
                               did_you_mean(k, DOMAIN_FLAGS + ("scheme",)))
        self.scope.domain = st
        for lo, hi in st.bounds:
            for b in (lo, hi):
                for n in walk(b):
                    if isinstance(n, A.Name) and n.id != "pi" and n.id not in self._params():
                        raise self.err(KindError, "domain bounds are numbers, pi and params",
                                       n.span, did_you_mean(n.id, tuple(self._params())))
        for axis, (lo, hi) in enumerate(st.bounds):
            a, b = self.bound_value(lo), self.bound_value(hi)
            if not a < b:
                raise self.err(ShapeError, f"axis {axis + 1} of domain '{st.name}' is empty or "
                               f"reversed: [{a:g}, {b:g}]; the lower bound must be below the "
                               "upper one", dataclasses.replace(
                                   lo.span, end_line=hi.span.end_line,
                                   end_column=hi.span.end_column))
        self.declare(st.name, st, st.span)
        self.scope.inputs[st.name] = Type(Kind.NODE, (len(st.bounds),))
        for c in COORDINATES[:len(st.bounds)]:
            self.declare(c, st, st.span)
            self.scope.inputs[c] = Type(Kind.NODE, (1,))

    def _params(self) -> dict:
        """The spec's ``param`` declarations by name (the domain is checked before the scope
        has them)."""
        return {st.name: st for st in self.spec.statements if isinstance(st, A.ParamDecl)}

    def bound_value(self, e: A.Expr, _seen: tuple = ()) -> float:
        """The value of a domain bound (numbers, pi, params at their declared values,
        + - * / ^, the elementwise functions whose row names a ``fold``); :meth:`IR.bind` evaluates it again with the params
        given there."""
        funcs = {n: getattr(math, b.fold) for n, b in BUILTINS.items() if b.fold}
        try:
            if isinstance(e, A.Number):
                v = e.value
            elif isinstance(e, A.Name) and e.id == "pi":
                v = math.pi
            elif isinstance(e, A.Name) and e.id in self._params() and e.id not in _seen:
                v = self.bound_value(self._params()[e.id].value, _seen + (e.id,))
            elif isinstance(e, A.Neg):
                v = -self.bound_value(e.operand, _seen)
            elif isinstance(e, A.BinOp) and e.op in "+-*/^":
                a, b = self.bound_value(e.left, _seen), self.bound_value(e.right, _seen)
                v = {"+": a + b, "-": a - b, "*": a * b}.get(e.op) if e.op in "+-*" else (
                    a / b if e.op == "/" else a ** b)
            elif isinstance(e, A.Call) and e.func in funcs and len(e.args) == 1:
                v = funcs[e.func](self.bound_value(e.args[0], _seen))
            else:
                raise self.err(KindError, "domain bounds are numbers, pi and params", e.span)
            v = float(v)
        except (ZeroDivisionError, ValueError, OverflowError, TypeError):
            v = math.nan
        if not math.isfinite(v):
            raise self.err(FormError, "this domain bound is not a finite real number", e.span)
        return v
