"""Pass ``stencils``: graph operators -> their edge-list stencils.

Rewrites, in every field's right-hand side and every probe (i receiving, j neighbour):
``grad(u) -> u_j - u_i``, ``div(F) -> sum_j F``, ``lap(u) -> sum_j (u_j - u_i)``,
``mean_j(e) -> deg_inv * sum_j e``, and a geometric operator (``dx``, ``dy``, ``lap`` under a
``domain``, :mod:`pde2gnn.compiler.symbolic.geometry`) -> its weighted stencil. Before that, the
operators of a field with boundary conditions take their boundary-aware forms
(:meth:`pde2gnn.compiler.discretize.boundary.BoundaryPlan.operators`; right-hand sides only).

Invariants: afterwards the program holds no ``grad`` / ``div`` / ``lap`` / ``mean_j`` / geometric
operator; nothing else changes (no expansion, no temporaries, no groups). Each stencil is the
operator's definition on the edge list, so the field's values are unchanged. A nested operator
(``lap(lap(u))``) is substituted as a shared subtree (the expression DAG grows linearly with the
depth); pass ``hoist_nested`` then gives each inner reduction a node temporary.
"""
from __future__ import annotations

import sympy as sp

from pde2gnn.compiler.discretize.program import DEG_INV, StencilProgram
from pde2gnn.compiler.symbolic import ops as O
from pde2gnn.compiler.symbolic.rewrite import bottom_up


def _rule(x: sp.Expr) -> sp.Expr:
    if hasattr(x, "stencil"):  # geometric operators (symbolic/geometry.py)
        return x.stencil()
    if isinstance(x, O.Grad):
        u = x.args[0]
        return O.AtJ(u) - O.AtI(u)
    if isinstance(x, O.Div):
        return O.SumJ(x.args[0])
    if isinstance(x, O.Lap):
        u = x.args[0]
        return O.SumJ(O.AtJ(u) - O.AtI(u))
    if isinstance(x, O.MeanJ):
        return DEG_INV * O.SumJ(x.args[0])
    return x


def substitute(e: sp.Expr) -> sp.Expr:
    """``e`` with every graph operator replaced by its stencil (bottom-up)."""
    return bottom_up(e, _rule)


def stencils(p: StencilProgram) -> StencilProgram:
    """The pass (see the module docstring): a new program, ``p`` unchanged."""
    an, bc = p.analyzer, p.bc
    q = p.copy()
    q.remainder = {f: substitute(bc.operators(e, an) if bc else e) for f, e in p.remainder.items()}
    q.probes = {k: substitute(e) for k, e in p.probes.items()}
    return q.copy()      # the boundary arrays the operators added
