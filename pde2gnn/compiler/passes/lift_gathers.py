"""Pass ``lift_gathers``: ``f(u_i, v_i) -> (f(u, v))_i`` (and the same for j): computed on the
N nodes and gathered once, not on the E edges.

Applies to the element-wise operations (``+``, ``*``, powers, ``@``, slices, networks of node
values, the built-ins whose row is *liftable*) when every argument is read at the same end or
is a scalar (matrices included); graph networks are not lifted. Rewrites every group weight,
remainder and probe, children first, shared subexpressions once.

Invariants: gathering commutes with element-wise operations, so the values are unchanged
(exactly: the same floating-point operations on fewer rows); kinds are unchanged.
"""
from __future__ import annotations

import sympy as sp

from pde2gnn.compiler.discretize.program import StencilProgram
from pde2gnn.compiler.lang.kinds import Kind
from pde2gnn.compiler.symbolic import ops as O
from pde2gnn.compiler.symbolic.rewrite import bottom_up

#: computed on nodes and gathered (f(u_i, v_i) -> f(u, v)_i) when every argument is at one end
ELEMENTWISE = (sp.Add, sp.Mul, sp.Pow, O.MatMul, O.Slice, O.NetApply) + O.LIFTABLE


def lift(e: sp.Expr, an, memo=None) -> sp.Expr:
    """``e`` with its gathers lifted (see the module docstring); ``an`` is the program's
    :class:`~pde2gnn.compiler.symbolic.analysis.Analyzer`, ``memo`` shared between calls."""
    return bottom_up(e, lambda x: _lift(x, an), memo)


def _lift(e: sp.Expr, an) -> sp.Expr:
    if not e.args or e.is_Atom:
        return e
    args = e.args
    if isinstance(e, ELEMENTWISE) and not isinstance(e, O.GraphNetApply):
        for side in (O.AtI, O.AtJ):
            if any(isinstance(a, side) for a in args) and all(
                    isinstance(a, side) or an.kind(a) == Kind.SCALAR for a in args):
                inner = [a.args[0] if isinstance(a, side) else a for a in args]
                return side(e.func(*inner))
    return e


def lift_gathers(p: StencilProgram) -> StencilProgram:
    """The pass (see the module docstring): a new program, ``p`` unchanged."""
    an, memo = p.analyzer, {}
    q = p.copy()
    for g in q.groups:
        g.weight_j, g.weight_i, g.diag = (lift(w, an, memo) for w in (g.weight_j, g.weight_i,
                                                                       g.diag))
        g.scale = lift(g.scale, an, memo)
    q.remainder = {k: lift(e, an, memo) for k, e in p.remainder.items()}
    q.probes = {k: lift(e, an, memo) for k, e in p.probes.items()}
    return q
