"""Boundary conditions in the IR: one :class:`Boundary` per checked ``bc`` declaration.

:func:`lower_boundary` lowers the values to sympy (expressions in ``t``, the coordinates
``x, y, z``, params and inputs); :func:`bind_boundary` substitutes dimensions and params and
evaluates Robin's ``a`` and ``b`` to numbers where they are constant (``a``, ``b`` may also be
expressions in t, the coordinates and inputs: :attr:`Boundary.varying`). The discretisation
(:mod:`pde2gnn.compiler.discretize.boundary`) turns them into stencil weights and sources.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Dict, Optional, Tuple

import sympy as sp

from pde2gnn.errors import OptionError


@dataclass(frozen=True)
class Boundary:
    """A boundary condition of field ``field``.

    Attributes:
        kind: ``dirichlet`` (u = value), ``neumann`` (du/dn = value, outward normal n; on a mask:
            a flux into the node) or ``robin`` (a u + b du/dn = value).
        face: ``(axis, side)`` of a domain face (side 0: lower bound, 1: upper), or None.
        mask: the ``node mask`` input, or None.
        value: g (sympy, in t, coordinates, params, inputs); a, b: Robin's coefficients
            (numbers once bound, or expressions like g; Dirichlet is a = 1, b = 0, Neumann
            a = 0, b = 1).
        line: the line of the declaration (messages).
    """

    field: str
    kind: str
    face: Optional[Tuple[int, int]]
    mask: Optional[str]
    value: sp.Expr
    a: sp.Expr = sp.Integer(0)
    b: sp.Expr = sp.Integer(1)
    line: int = 0

    @property
    def varying(self) -> bool:
        """Robin's a or b is an expression (in t, the coordinates or inputs), not a number."""
        return self.kind == "robin" and not (self.a.is_number and self.b.is_number)

    @property
    def coefficients(self) -> Tuple[float, float]:
        """``(a, b)`` of a u + b du/dn = g as floats (after :func:`bind_boundary`)."""
        if self.kind == "dirichlet":
            return 1.0, 0.0
        return float(self.a), float(self.b)


def lower_boundary(checked, lower) -> Tuple[Boundary, ...]:
    """The checked conditions (``checked.boundary``) with values lowered by ``lower(expr)``."""
    out = []
    for c in checked.boundary:
        args = [lower(e) for e in c.args]
        a, b = (args[0], args[1]) if c.kind == "robin" else (
            (sp.Integer(1), sp.Integer(0)) if c.kind == "dirichlet" else
            (sp.Integer(0), sp.Integer(1)))
        out.append(Boundary(c.field, c.kind, c.face, c.mask, args[-1], a, b, c.decl.span.line))
    return tuple(out)


def bind_boundary(bcs, subs: Dict[sp.Symbol, sp.Expr]) -> Tuple[Boundary, ...]:
    """Substitute dimension and param values.

    Raises:
        OptionError: Robin's constant a or b is not a finite number with these params, or
            b = 0 (the condition degenerates to Dirichlet), or a value is not finite.
    """
    out = []
    for c in bcs:
        c = replace(c, value=c.value.xreplace(subs), a=c.a.xreplace(subs), b=c.b.xreplace(subs))
        if c.varying:
            if any(v.has(sp.zoo, sp.nan, sp.oo, -sp.oo) for v in (c.a, c.b)):
                raise OptionError(f"robin condition on line {c.line}: a or b is not finite with "
                                  "these params")
        elif c.kind == "robin":
            a, b = float(c.a), float(c.b)
            if not (math.isfinite(a) and math.isfinite(b)) or b == 0:
                raise OptionError(f"robin condition on line {c.line} has a = {a:g}, b = {b:g}: "
                                  "b must be a finite non-zero number (b = 0 is dirichlet)")
        if c.value.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
            raise OptionError(f"the value of the boundary condition on line {c.line} is not "
                              "finite with these params")
        out.append(c)
    return tuple(out)
