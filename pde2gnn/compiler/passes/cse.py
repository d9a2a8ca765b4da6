"""Pass ``cse``: common subexpressions, each computed once.

Counts the references to every subexpression of the program's roots (group weights, then
remainders, then probes): one per distinct parent in the expression DAG, plus one per root. A
subexpression with more than one reference (a ``let`` used twice, ``x_j - x_i`` inside both an
attention score and a message) is :attr:`StencilProgram.shared`: the code generator binds it to
a variable at its level and reads that variable everywhere.

Invariants: the program's expressions are unchanged (an annotation only); numbers are never
shared (they are literals in the code).
"""
from __future__ import annotations

from collections import Counter
from typing import Iterable, List

import sympy as sp

from pde2gnn.compiler.discretize.program import StencilProgram
from pde2gnn.compiler.symbolic import ops as O


def is_constant(e: sp.Expr) -> bool:
    """A plain number (possibly irrational, e.g. sqrt(2)); graph operators of numbers are not."""
    return e.is_number and not e.atoms(O.GraphOp)


def roots(p: StencilProgram) -> List[sp.Expr]:
    """The expressions the code generator starts from, in its order."""
    out = [w for g in p.groups for w in g.exprs]
    return out + list(p.remainder.values()) + list(p.probes.values())


def count_uses(exprs: Iterable[sp.Expr]) -> Counter:
    """References to each subexpression (from distinct parents in the DAG, plus the roots),
    visiting each distinct subexpression once."""
    uses: Counter = Counter()
    seen: set = set()
    for e in exprs:
        stack = [e]
        if e.args and not is_constant(e):
            uses[e] += 1
        while stack:
            x = stack.pop()
            if x in seen:
                continue
            seen.add(x)
            for a in x.args:
                if a.args and not is_constant(a):
                    uses[a] += 1
                    stack.append(a)
    return uses


def cse(p: StencilProgram) -> StencilProgram:
    """The pass (see the module docstring): a new program, ``p`` unchanged."""
    return p.copy(shared=frozenset(e for e, n in count_uses(roots(p)).items() if n > 1))


def show(p: StencilProgram) -> str:
    """The program and its shared subexpressions (``explain --after cse``)."""
    shared = sorted((sp.sstr(e) for e in p.shared or ()), key=lambda s: (len(s), s))
    return str(p) + "\n# shared subexpressions (each computed once):\n" + \
        ("\n".join(f"  {s}" for s in shared) if shared else "  none")
