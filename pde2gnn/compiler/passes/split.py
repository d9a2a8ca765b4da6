"""Pass ``split``: which fused groups make up L of the split f(t, y) = L y + N(t, y), the form
implicit and IMEX methods solve with (DESIGN.md section 6).

A group is in L when its weights and channel mixings are frozen (level below the step: fixed
within one solve) and its source is a field or a temporary that has a linear part itself
(``lap(lap(u))``: L = L_outer L_inner through ``_red<k>``). Everything else (groups with
state-dependent weights, the remainder, constant sources) is N = f - L y.

Invariants: the program's expressions are unchanged (this pass only annotates it with a
:class:`SplitPlan`); the code generator writes ``linear(y, ...)`` = L y from the plan
(:attr:`pde2gnn.compiler.backend.codegen.CodeGen.split_source`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import FrozenSet, Tuple

import sympy as sp

from pde2gnn.compiler.discretize.program import StencilProgram
from pde2gnn.compiler.symbolic.symbols import Level


@dataclass(frozen=True)
class SplitPlan:
    """The split of one program.

    Attributes:
        linear: indices into ``program.groups`` of the groups in L.
        through: the temporaries with a linear part of their own, in order (L composes them).
        program: the program the plan was made for (its groups as the split saw them).
    """

    linear: FrozenSet[int]
    through: Tuple[str, ...]
    program: StencilProgram = field(repr=False, compare=False)

    @property
    def description(self) -> str:
        """The split as text (``explain --stage split``): the groups in L, what is left in N."""
        p = self.program
        lin, rest = [], []
        for k in _terms(p):
            g = p.groups[k]
            line = f"  {g.target} <- {g.describe()}"
            if k in self.linear:
                lin.append(line)
            else:
                why = "weights depend on the state" if not _frozen(p, g) else \
                    "source is not linear"
                rest.append(f"{line}    # {why}")
        for f, r in p.remainder.items():
            if r != 0:
                rest.append(f"  {f} <- {sp.sstr(r)}")
        return "\n".join(["# L y (implicit part, frozen within a solve):", *(lin or ["  0"]),
                          "# N(t, y) = f(t, y) - L y (explicit part):", *(rest or ["  0"])])


def _frozen(p: StencilProgram, g) -> bool:
    return all(p.analyzer.level(w) < Level.STEP for w in (*g.exprs, *g.right))


def _terms(p: StencilProgram):
    """Indices of the groups that contribute (not all weights zero)."""
    return [k for k, g in enumerate(p.groups) if g.weight_j != 0 or g.weight_i != 0
            or g.diag != 0]


def plan(p: StencilProgram) -> SplitPlan:
    """The :class:`SplitPlan` of ``p``."""
    fields = list(p.ir.rhs)
    has_linear = set(fields)
    terms = _terms(p)
    linear, through = set(), []
    for target in [*p.temps, *fields]:
        mine = [k for k in terms if p.groups[k].target == target and _frozen(p, p.groups[k])
                and p.groups[k].source in has_linear]
        linear.update(mine)
        if target not in has_linear and mine:
            has_linear.add(target)
            through.append(target)
    return SplitPlan(frozenset(linear), tuple(through), p)


def split(p: StencilProgram) -> StencilProgram:
    """The pass (see the module docstring): a new program, ``p`` unchanged."""
    return p.copy(split=plan(p))
