"""The one bottom-up rewrite of sympy IR expressions, shared by the energy derivation
(:mod:`pde2gnn.compiler.symbolic.energy`), the stencil stage (:mod:`pde2gnn.compiler.discretize.stencil`) and the
code generator (:mod:`pde2gnn.compiler.backend.codegen`)."""
from __future__ import annotations

from typing import Callable, Dict, Optional

import sympy as sp


def bottom_up(e: sp.Expr, rule: Callable[[sp.Expr], sp.Expr],
              memo: Optional[Dict[sp.Expr, sp.Expr]] = None) -> sp.Expr:
    """Apply ``rule`` to every subexpression of ``e``, children first (a node is rebuilt from
    its rewritten children before ``rule`` sees it). Shared subexpressions (a ``let`` used
    twice) are rewritten once through ``memo``, so the time is linear in the expression DAG."""
    memo = {} if memo is None else memo
    if e in memo:
        return memo[e]
    out = e
    if e.args and not e.is_Atom:
        new_args = tuple(bottom_up(a, rule, memo) for a in e.args)
        if new_args != e.args:
            out = e.func(*new_args)
    memo[e] = out = rule(out)
    return out
