"""Pass ``hoist_nested``: nested graph reductions -> node temporaries ``_red<k>``.

An operator that reads a node value ``u`` at the ends of the edges (after pass ``stencils``:
every ``u_i`` / ``u_j``) gets, when ``u`` itself contains a reduction ``sum_j`` and changes at
every evaluation, the temporary ``_red<k> = u`` instead (``lap(lap(u))``, a chain of
``let a_k = lap(a_{k-1}) + a_{k-1}``). Without it the normalisation would distribute the outer
stencil over the inner one: 2^depth unfused gather / scatter terms; with it the program (and
its compile time) is linear in the nesting depth, and every level is one sparse product (the
fusing passes treat ``_red<k>`` like a field).

Invariants: temporaries are numbered in the order they are found (children first, fields
then probes), each defined in terms of the ones before it only (:attr:`StencilProgram.temps`
is that order; its value is ``remainder['_red<k>']``); every occurrence of a hoisted value, also
one flattened into a larger sum, reads the temporary. Values are unchanged: a temporary holds
exactly the value it replaces.
"""
from __future__ import annotations

from typing import Dict

import sympy as sp

from pde2gnn.compiler.check import Type
from pde2gnn.compiler.discretize.program import StencilProgram
from pde2gnn.compiler.lang.kinds import Kind
from pde2gnn.compiler.symbolic import ops as O
from pde2gnn.compiler.symbolic.analysis import Analyzer
from pde2gnn.compiler.symbolic.ir import SymbolInfo
from pde2gnn.compiler.symbolic.rewrite import bottom_up
from pde2gnn.compiler.symbolic.symbols import Level


class Hoister:
    """The temporaries of one program: ``hoister(u)`` is ``u`` or its temporary."""

    def __init__(self, an: Analyzer):
        self.an = an
        self.temps: Dict[sp.Expr, sp.Symbol] = {}   # stencilled value -> its temporary

    def __call__(self, u: sp.Expr) -> sp.Expr:
        an = self.an
        if u in self.temps:
            return self.temps[u]
        if u.is_Atom or an.kind(u) != Kind.NODE or an.level(u) != Level.STEP or not u.has(O.SumJ):
            return u
        t = self.temps[u] = sp.Symbol(f"_red{len(self.temps)}")
        an.add(SymbolInfo(t.name, "temp", Type(Kind.NODE, (an.channels(u),))))
        return t

    def rule(self, x: sp.Expr) -> sp.Expr:
        """The bottom-up rule: an endpoint ``u_i`` / ``u_j`` of a hoisted ``u`` reads its
        ``_red<k>``."""
        if isinstance(x, O.ENDPOINTS):
            u = self(x.args[0])
            if u is not x.args[0]:
                return x.func(u)
        return x

    def definitions(self) -> Dict[str, sp.Expr]:
        """``{name: value}`` in creation order (inner first), each value in terms of the
        temporaries before it."""
        items = list(self.temps.items())
        return {t.name: self.use(u, items[:k]) for k, (u, t) in enumerate(items)}

    def use(self, e: sp.Expr, items=None) -> sp.Expr:
        """``e`` with every hoisted value replaced by its temporary, outermost first. sympy's
        ``subs`` also finds a value whose terms were flattened into a larger sum (``let a2 =
        lap(a1) + a1`` then ``lap(a2) + a2``), which keeps the chain linear."""
        for u, t in reversed(list(self.temps.items()) if items is None else items):
            e = e.subs(u, t)
        return e


def hoist_nested(p: StencilProgram) -> StencilProgram:
    """The pass (see the module docstring): a new program, ``p`` unchanged."""
    h = Hoister(p.analyzer)
    rhs = {f: bottom_up(e, h.rule) for f, e in p.remainder.items()}
    probes = {k: bottom_up(e, h.rule) for k, e in p.probes.items()}
    nested = h.definitions()
    q = p.copy()
    q.remainder = {**{f: h.use(e) for f, e in rhs.items()}, **nested}
    q.probes = {k: h.use(e) for k, e in probes.items()}
    q.temps = list(p.temps) + list(nested)
    return q
