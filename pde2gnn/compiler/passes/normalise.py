"""Pass ``normalise``: endpoints pushed to the leaves, ``sum_j`` and ``@`` distributed, products
expanded, until a fixed point.

Rewrites ``(a * b)_j -> a_j * b_j``, ``(u + v)_i -> u_i + v_i``, ``c_j -> c`` for a scalar c,
``sum_j(a + b) -> sum_j(a) + sum_j(b)``, ``sum_j(c * e) -> c * sum_j(e)`` (c scalar),
``sum_j(e) @ W -> sum_j(e @ W)``, ``(u + v) @ W -> u @ W + v @ W``, ``(c * u) @ W -> c * (u @ W)``
(c one channel), then sympy's ``expand`` of products over sums (powers and functions kept).
With boundary conditions, the neighbour values ``u_j`` of a field with Dirichlet nodes then read
the prescribed values (:meth:`pde2gnn.compiler.discretize.boundary.BoundaryPlan.eliminate`) and the
result is normalised again (fields and temporaries only; probes keep the plain form).

Invariants: afterwards every right-hand side is a sum of products whose state factors are
``x``, ``x_i``, ``x_j`` or those times matrices, the form pass ``fuse_linear`` classifies;
each rewrite is an identity of the operators (linearity of gathers, sums and matrix products),
so the field's values are unchanged (up to rounding of the reassociated sums); with Dirichlet
nodes, for every state that takes the prescribed values there (the states the solve keeps).
"""
from __future__ import annotations

import sympy as sp

from pde2gnn.compiler.discretize.program import EXPAND, StencilProgram
from pde2gnn.compiler.lang.kinds import Kind
from pde2gnn.compiler.symbolic import ops as O
from pde2gnn.compiler.symbolic.analysis import Analyzer
from pde2gnn.compiler.symbolic.rewrite import bottom_up


class Normaliser:
    """Pushes endpoints to leaves and distributes the linear operators sum_j and @."""

    def __init__(self, an: Analyzer):
        self.an = an

    def rule(self, x: sp.Expr) -> sp.Expr:
        an = self.an
        if isinstance(x, (O.AtI, O.AtJ)):
            u, side = x.args[0], type(x)
            if an.kind(u) == Kind.SCALAR:
                return u
            if u.is_Add:
                return sp.Add(*[self.rule(side(a)) for a in u.args])
            if u.is_Mul:
                return sp.Mul(*[self.rule(side(a)) for a in u.args])
            if u.is_Pow and an.kind(u.args[1]) == Kind.SCALAR:
                return self.rule(side(u.args[0])) ** u.args[1]
            if isinstance(u, O.MatMul):
                return O.MatMul(self.rule(side(u.args[0])), u.args[1])
            return x
        if isinstance(x, O.SumJ):
            e = x.args[0]
            if e.is_Add:
                return sp.Add(*[self.rule(O.SumJ(a)) for a in e.args])
            if e.is_Mul:
                scal = [a for a in e.args if an.kind(a) == Kind.SCALAR]
                if scal:
                    rest = [a for a in e.args if an.kind(a) != "scalar"]
                    return sp.Mul(*scal) * self.rule(O.SumJ(sp.Mul(*rest)))
            return x
        if isinstance(x, O.MatMul):
            u, w = x.args
            if isinstance(u, O.SumJ):
                return self.rule(O.SumJ(O.MatMul(u.args[0], w)))
            if u.is_Add:
                return sp.Add(*[self.rule(O.MatMul(a, w)) for a in u.args])
            if u.is_Mul:
                single = [a for a in u.args if an.channels(a) == 1]
                if single and len(single) < len(u.args):
                    rest = [a for a in u.args if an.channels(a) != 1]
                    return sp.Mul(*single) * self.rule(O.MatMul(sp.Mul(*rest), w))
            return x
        return x

    def __call__(self, e: sp.Expr) -> sp.Expr:
        for _ in range(20):
            new = sp.expand(bottom_up(e, self.rule), **EXPAND)
            if new == e:
                break
            e = new
        return e


def normalise(p: StencilProgram) -> StencilProgram:
    """The pass (see the module docstring): a new program, ``p`` unchanged."""
    an, bc = p.analyzer, p.bc
    plain = Normaliser(an)
    norm = (lambda e: plain(bc.eliminate(plain(e), an))) if bc else plain
    q = p.copy()
    q.probes = {k: plain(e) for k, e in p.probes.items()}
    for name in [*p.temps, *p.ir.rhs]:      # the order of the boundary arrays eliminate adds
        if name in p.remainder:
            q.remainder[name] = norm(p.remainder[name])
    return q.copy()
