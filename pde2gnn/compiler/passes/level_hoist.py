"""Pass ``level_hoist``: every value is computed at the lowest level it can be.

The generated module has one function per level (:class:`~pde2gnn.compiler.symbolic.symbols.Level`):
``static`` (once per graph: geometry, degrees, values of inputs only), ``prepare`` (once per
solve: constrained parameters, anything built from ``init(x)``) and ``step`` (every
evaluation). This pass records the level of every subexpression of the program's roots in
:attr:`StencilProgram.levels` (the latest level of its symbols; ``init(x)`` counts as per
solve); the code generator defines a subexpression whose level is below the function it is
used in at its own level and imports it from ``_S`` / ``_C``.

Invariants: the program's expressions are unchanged (an annotation only); a subexpression's
level is never below one of its arguments' levels.
"""
from __future__ import annotations

from typing import Dict, List

import sympy as sp

from pde2gnn.compiler.discretize.program import StencilProgram
from pde2gnn.compiler.passes.cse import roots
from pde2gnn.compiler.symbolic.symbols import Level


def levels(p: StencilProgram) -> Dict[sp.Expr, Level]:
    """The level of each distinct subexpression of the program's roots."""
    an, out = p.analyzer, {}
    stack = roots(p)
    while stack:
        x = stack.pop()
        if x in out:
            continue
        out[x] = an.level(x)
        stack.extend(a for a in x.args if a.args)
    return out


def hoisted(p: StencilProgram) -> Dict[Level, List[sp.Expr]]:
    """The values computed before the step, by level: every subexpression whose level is
    below its parent's (a root's parent is the step), outermost first."""
    out: Dict[Level, List[sp.Expr]] = {Level.STATIC: [], Level.SOLVE: []}
    seen = set()

    def visit(e, parent):
        if e in seen or not e.args or e.is_number:
            return
        seen.add(e)
        own = p.level(e)
        if own < parent:
            out[own].append(e)
        for a in e.args:
            visit(a, own)
    for r in roots(p):
        visit(r, Level.STEP)
    return out


def level_hoist(p: StencilProgram) -> StencilProgram:
    """The pass (see the module docstring): a new program, ``p`` unchanged."""
    return p.copy(levels=levels(p))


def show(p: StencilProgram) -> str:
    """The program and its hoisted values (``explain --after level_hoist``)."""
    lines, plan = [str(p)], hoisted(p)
    for lv, title in ((Level.STATIC, "once per graph (static)"),
                      (Level.SOLVE, "once per solve (prepare)")):
        vals = plan[lv]
        lines.append(f"# computed {title}:")
        lines += [f"  {sp.sstr(e)}" for e in vals] or ["  none"]
    return "\n".join(lines)
