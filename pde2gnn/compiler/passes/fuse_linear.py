"""Pass ``fuse_linear``: the terms linear in the neighbour values -> fused sparse groups.

Every additive term of each temporary's and field's right-hand side (temporaries first, in
order) is classified. A term ``c * x`` or ``sum_j(w_ij * x_j)`` (and its ``x_i`` and ``@ W``
variants) whose weight has one channel is *linear in the neighbour values*; all such terms with
the same target, source (a field or a ``_red<k>`` temporary) and right matrices join one
:class:`~pde2gnn.compiler.discretize.program.LinearGroup` ``((A_w x) + diag * x) @ W``: ``A_w`` is
one sparse CSR matrix with the summed edge weights. A state-independent coefficient with
several channels outside a sum (``sigmoid(alpha) * sum_j(a * x_j)``, alpha ``[d]``) becomes the
group's channel-wise ``scale`` (its own group), so the split's L holds it too (GREAD's
per-channel diffusion rate). Groups whose weights depend on the state
are kept apart from the frozen ones (the split's L takes only frozen groups). Everything else
stays in the remainder, lowered to gather / scatter.

Invariants: ``target += group`` summed over the groups plus the remainder equals the right-hand
side before the pass (values unchanged, up to the rounding of reassociated sums); a group's
edge weights never hold a temporary (they may be built before the temporaries exist); probes
are not fused. Off with ``fuse=False`` (:func:`pde2gnn.compiler.passes.lower`).
"""
from __future__ import annotations

from typing import Dict, Optional, Set, Tuple

import sympy as sp

from pde2gnn.compiler.discretize.program import LinearGroup, StencilProgram
from pde2gnn.compiler.lang.kinds import Kind
from pde2gnn.compiler.symbolic import ops as O
from pde2gnn.compiler.symbolic.analysis import Analyzer


def unwrap_state(e: sp.Expr, fields) -> Optional[Tuple[str, str, Tuple[sp.Symbol, ...]]]:
    """``x`` / ``x_j`` / ``(x_j @ W1) @ W2`` -> (field, where, (W1, W2)); else None.

    ``where`` is ``'node'``, ``'i'`` or ``'j'``.
    """
    right = []
    while isinstance(e, O.MatMul):
        right.append(e.args[1])
        e = e.args[0]
    where = "node"
    if isinstance(e, (O.AtI, O.AtJ)):
        where = "i" if isinstance(e, O.AtI) else "j"
        e = e.args[0]
    if e.is_Symbol and e.name in fields:
        return e.name, where, tuple(reversed(right))
    return None


def split_state_factor(term: sp.Expr, fields, an: Analyzer, allow_state_weight: bool):
    """term = weight * state_factor with a one-channel weight -> (field, where, right, weight)."""
    factors = list(sp.Mul.make_args(term))
    for k in range(len(factors) - 1, -1, -1):
        u = unwrap_state(factors[k], fields)
        if u is None:
            continue
        weight = sp.Mul(*(factors[:k] + factors[k + 1:]))
        if not allow_state_weight and an.uses_state(weight):
            continue
        if u[2] and an.channels(weight) != 1:
            continue
        if u[1] != "node" and an.channels(weight) != 1:
            continue
        return (*u, weight)
    return None


class Fuser:
    """The groups of one program, by (target, source, right matrices, state-dependent weight).

    Args:
        an: the program's analyzer.
        fields: names that may be the source of a group (fields and ``_red<k>`` temporaries).
        nested: the ``_red<k>`` names (never inside a group's weights).
    """

    def __init__(self, an: Analyzer, fields: Set[str], nested: Set[str]):
        self.an, self.fields, self.nested = an, fields, nested
        self.groups: Dict[tuple, LinearGroup] = {}

    def group(self, target, source, right, dynamic=False, scale=sp.Integer(1)) -> LinearGroup:
        key = (target, source, right, dynamic) if scale == 1 else \
            (target, source, right, dynamic, scale)
        if key not in self.groups:
            self.groups[key] = LinearGroup(target, source, right, scale=scale)
        return self.groups[key]

    def fuse(self, target: str, e: sp.Expr) -> sp.Expr:
        """Move the linear terms of ``e`` into groups of ``target``; return the rest."""
        an, fields = self.an, self.fields
        rest = []
        for term in sp.Add.make_args(e):
            if term == 0:
                continue
            # node-local linear term: c * x  (c independent of the state)
            hit = split_state_factor(term, fields, an, allow_state_weight=False)
            if hit is not None and hit[1] == "node":
                g = self.group(target, hit[0], hit[2])
                g.diag += hit[3]
                continue
            # c * sum_j(edge terms): fuse the terms linear in x_j / x_i
            factors = sp.Mul.make_args(term)
            sums = [a for a in factors if isinstance(a, O.SumJ) and an.uses_state(a)]
            coef = sp.Mul(*[a for a in factors if a not in sums]) if len(sums) == 1 else None
            if coef is None or an.uses_state(coef):
                rest.append(term)
                continue
            # a coefficient with channels (alpha [d]) cannot go into one CSR matrix: it scales
            # the group's result channel-wise (LinearGroup.scale)
            parts = sp.Mul.make_args(coef)
            scale = sp.Mul(*[a for a in parts if an.channels(a) != 1])
            coef = sp.Mul(*[a for a in parts if an.channels(a) == 1])
            coef_e = O.AtI(coef) if an.kind(coef) == Kind.NODE else coef
            unfused = []
            for et in sp.Add.make_args(sums[0].args[0]):
                hit = split_state_factor(et, fields, an, allow_state_weight=True)
                # (a matrix weight is built before the temporaries: none of them in it)
                if hit is None or hit[1] == "node" or an.kind(hit[3]) == Kind.NODE or \
                        any(s.name in self.nested for s in hit[3].free_symbols):
                    unfused.append(et)
                    continue
                g = self.group(target, hit[0], hit[2], an.uses_state(hit[3]), scale)
                if hit[1] == "j":
                    g.weight_j += coef_e * hit[3]
                else:
                    g.weight_i += coef_e * hit[3]
            if unfused:
                rest.append(scale * coef * O.SumJ(sp.Add(*unfused)))
        return sp.Add(*rest)


def fuse_linear(p: StencilProgram) -> StencilProgram:
    """The pass (see the module docstring): a new program, ``p`` unchanged."""
    nested = list(p.temps)
    fuser = Fuser(p.analyzer, set(p.ir.rhs) | set(nested), set(nested))
    q = p.copy()
    for name in nested:          # inner first: each uses only the ones before it
        rest = fuser.fuse(name, q.remainder.pop(name))
        if rest != 0:
            q.remainder[name] = rest
    for f in p.ir.rhs:
        q.remainder[f] = fuser.fuse(f, q.remainder[f])
    q.groups = q.groups + list(fuser.groups.values())
    q.remainder = {**{f: q.remainder.pop(f) for f in p.ir.rhs}, **q.remainder}
    return q
