"""Pass ``fuse_inside``: the linear part of a non-linear function's argument -> a node temporary
``_lin<k>`` computed by sparse products.

In what pass ``fuse_linear`` left in the remainder, the node argument of a one-argument
function (``relu(-X Omega + Abar X W)``, ``standardize_i(Abar X W)``, ``tanh(lap(u))``) and the
base of a power with a constant exponent (``dx(u)^2``, ``1 / sqrt(deg_inv * lap(u))``) are
classified like a right-hand side: its linear terms become the groups of a new temporary
``_lin<k>`` (one per distinct argument) and the argument becomes ``_lin<k> + rest``. An argument without a sparse product
to gain (no edge weight among its linear terms) is left as it was. Innermost arguments first;
network applications are not entered.

Invariants: the temporaries are numbered by their position in :attr:`StencilProgram.temps`
(``_red<k>`` of pass ``hoist_nested`` included): each is placed before the ``_red<k>`` or field
whose remainder created it, and its groups right after that target's own groups, so the
code generator computes everything in one forward order. ``_lin<k>`` has groups only (no
remainder of its own): the field's values are unchanged. Off with ``fuse=False``.
"""
from __future__ import annotations

from typing import List

import sympy as sp

from pde2gnn.compiler.check import Type
from pde2gnn.compiler.discretize.program import StencilProgram
from pde2gnn.compiler.lang.kinds import Kind
from pde2gnn.compiler.passes.fuse_linear import Fuser
from pde2gnn.compiler.symbolic import ops as O
from pde2gnn.compiler.symbolic.ir import SymbolInfo


class _Inside:
    def __init__(self, fuser: Fuser, temps: List[str]):
        self.fuser, self.an, self.temps = fuser, fuser.an, temps
        self.made = {}      # argument -> its temporary (plus the unfused rest)

    def __call__(self, e: sp.Expr) -> sp.Expr:
        """``e`` with the arguments of its non-linear functions fused (innermost first)."""
        if not e.args or e.is_Atom or isinstance(e, O.NetApply):
            return e
        args = tuple(self(a) for a in e.args)
        e = e.func(*args) if args != e.args else e
        if isinstance(e, sp.Function) and not isinstance(e, (O.MatMul, O.SumJ, O.AtI, O.AtJ)) \
                and len(e.args) == 1:
            return e.func(self.temporary(e.args[0]))
        if e.is_Pow and self.an.kind(e.exp) == Kind.SCALAR and not self.an.uses_state(e.exp):
            return self.temporary(e.base) ** e.exp     # dx(u)^2, 1/sqrt(deg_inv*lap(u)), ...
        return e

    def temporary(self, a: sp.Expr) -> sp.Expr:
        """``a`` (a non-linear function's node argument) with its linear part fused into a new
        temporary ``_lin<k>`` (reused for a repeated ``a``), or ``a`` if no product is gained."""
        an, groups = self.an, self.fuser.groups
        if an.kind(a) != Kind.NODE or not an.uses_state(a) or a in self.made:
            return self.made.get(a, a)
        name = f"_lin{len(self.temps)}"
        rest = self.fuser.fuse(name, a)
        mine = [k for k in groups if k[0] == name]
        if any(groups[k].weight_j != 0 or groups[k].weight_i != 0 for k in mine):
            self.temps.append(name)
            an.add(SymbolInfo(name, "temp", Type(Kind.NODE, (an.channels(a),))))
            self.made[a] = sp.Symbol(name) + rest
            return self.made[a]
        for k in mine:  # no sparse product to gain: leave the argument as it was
            del groups[k]
        return a


def fuse_inside(p: StencilProgram) -> StencilProgram:
    """The pass (see the module docstring): a new program, ``p`` unchanged."""
    nested = [t for t in p.temps if t.startswith("_red")]
    fuser = Fuser(p.analyzer, set(p.ir.rhs) | set(nested), set(nested))
    temps: List[str] = []
    inside = _Inside(fuser, temps)
    q = p.copy()
    groups = []
    for target in [*nested, *p.ir.rhs]:
        known = set(fuser.groups)
        if target in q.remainder:
            q.remainder[target] = inside(q.remainder[target])
        groups += [g for g in q.groups if g.target == target]
        groups += [g for k, g in fuser.groups.items() if k not in known]
        if target in nested:
            temps.append(target)
    q.groups, q.temps = groups, temps
    return q
