"""Discretisation: bound sympy IR -> :class:`StencilProgram`.

1. Graph operators are replaced by their stencils on the edge list (i receiving, j neighbour):
   ``grad(u) -> u_j - u_i``, ``div(F) -> sum_j F``, ``lap(u) -> sum_j (u_j - u_i)``,
   ``mean_j(e) -> deg_inv * sum_j e``.
2. Endpoint values are pushed to the leaves, linear operators (``sum_j``, ``@``) are distributed
   over sums and products are expanded, until a fixed point.
3. Every additive term is classified. A term ``c * x`` or ``sum_j(w_ij * x_j)`` (and its
   ``x_i`` and ``@ W`` variants) whose weight w has one channel is *linear in the neighbour
   values*; all such terms with the same target, source field and right matrix are fused into
   one :class:`LinearGroup` ``((A_w x) + diag * x) @ W``, where ``A_w`` is one sparse CSR matrix
   with the fused edge weights. Weights that do not depend on the state (also those built from
   ``init(x)``, as in GRAND-l) are assembled once per solve; state-dependent weights once per
   evaluation. Everything else is the *remainder*, lowered to gather / scatter message passing.
4. The node argument of a non-linear function (``relu(-X Omega + Abar X W)``, ``dx(u)^2``) is
   classified the same way: its linear terms become the groups of a node temporary ``_lin<k>``
   (one per distinct argument), computed by sparse products before the remainder.
5. A nested graph reduction (``lap(lap(u))``, ``grad(div(F))``) is not substituted into the
   outer stencil: the inner value becomes a node temporary ``_red<k>`` (:class:`_Hoister`),
   itself fused like a field, so the program is linear in the nesting depth.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import sympy as sp

from pde2gnn.compiler.check import Type
from pde2gnn.compiler.lang.kinds import Kind
from pde2gnn.compiler.symbolic import ops as O
from pde2gnn.compiler.symbolic.analysis import Analyzer
from pde2gnn.compiler.discretize.boundary import BoundaryPlan
from pde2gnn.compiler.symbolic.geometry import GEO_SYMBOLS, GEO_WEIGHTS
from pde2gnn.compiler.symbolic.ir import IR, SymbolInfo
from pde2gnn.compiler.symbolic.rewrite import bottom_up
from pde2gnn.compiler.symbolic.symbols import Level

DEG_INV = sp.Symbol("deg_inv")
GRAPH_SYMBOLS = {"deg_inv": SymbolInfo("deg_inv", "graph", Type(Kind.NODE, (1,))), **GEO_SYMBOLS}

_EXPAND = dict(mul=True, deep=True, power_exp=False, power_base=False, log=False,
               multinomial=False, basic=False)


@dataclass
class LinearGroup:
    """``out[target] += ((A x_src) + diag * x_src) @ W1 @ W2 ...`` with one sparse matrix A.

    ``weight_j`` (edge expression, one channel) are the off-diagonal entries A_ij;
    ``weight_i`` (edge expression) are summed over j into the diagonal; ``diag`` is a node or
    scalar coefficient of x_i itself. Any of them may be ``0``.
    """

    target: str
    source: str
    right: Tuple[sp.Symbol, ...]
    weight_j: sp.Expr = sp.Integer(0)
    weight_i: sp.Expr = sp.Integer(0)
    diag: sp.Expr = sp.Integer(0)

    def describe(self) -> str:
        x = self.source
        parts = []
        wj, wi = _readable(self.weight_j), _readable(self.weight_i)
        if wj != 0 and sp.simplify(wj + wi) == 0:
            parts.append(f"sum_j [{sp.sstr(wj)}] * ({x}_j - {x}_i)")
        else:
            if wj != 0:
                parts.append(f"sum_j [{sp.sstr(wj)}] * {x}_j")
            if wi != 0:
                parts.append(f"sum_j [{sp.sstr(wi)}] * {x}_i")
        if self.diag != 0:
            parts.append(f"[{sp.sstr(self.diag)}] * {x}_i")
        body = " + ".join(parts) or "0"
        if self.right:
            body = f"({body}) @ " + " @ ".join(sp.sstr(w) for w in self.right)
        return body


def _readable(w: sp.Expr) -> sp.Expr:
    """A weight for printing: numbers pulled out of endpoints, collected by geometric weight."""
    w = w.replace(lambda a: isinstance(a, (O.AtI, O.AtJ)) and a.args[0].is_Mul,
                  lambda a: sp.Mul(*[f if f.is_number else type(a)(f) for f in a.args[0].args]))
    geo = sorted((s for s in w.free_symbols if s.name in GEO_WEIGHTS), key=str)
    return sp.collect(sp.expand(w, **_EXPAND), geo) if geo else sp.simplify(w)


@dataclass
class StencilProgram:
    """The discretised spec: fused linear groups plus a message-passing remainder per field."""

    ir: IR
    groups: List[LinearGroup]
    #: per field (in ``ir.rhs`` order), then per node temporary that has one
    remainder: Dict[str, sp.Expr]
    analyzer: Analyzer = field(repr=False)
    #: probed let / edge values (stencils substituted, not fused), computed beside the step
    probes: Dict[str, sp.Expr] = field(default_factory=dict)
    #: node temporaries, in the order they are computed (each uses only the ones before it):
    #: ``_lin<k>``, the fused linear part of a non-linear function's argument (e.g.
    #: ``relu(Abar X W)``), and ``_red<k>``, a nested graph reduction (``lap(lap(u))``, see
    #: :class:`_Hoister`); each is its groups plus ``remainder[name]`` when it has one
    temps: List[str] = field(default_factory=list)
    #: static arrays of the boundary conditions (:class:`.boundary.BoundaryPlan.arrays`)
    boundary: Dict[str, tuple] = field(default_factory=dict)

    def _group_lines(self, target: str) -> List[str]:
        out = []
        for g in self.groups:
            if g.target == target:
                lv = max(self.analyzer.level(e) for e in (g.weight_j, g.weight_i, g.diag))
                when = ("per graph", "per solve", "per evaluation")[lv]
                out.append(f"{g.describe()}    # sparse CSR, weights built {when}")
        return out

    def __str__(self) -> str:
        lines = []
        for f in self.ir.rhs:
            terms = self._group_lines(f)
            r = self.remainder.get(f, sp.Integer(0))
            const = [a for a in sp.Add.make_args(r) if a != 0 and self.analyzer.level(a) < Level.STEP]
            mp = [a for a in sp.Add.make_args(r) if a != 0 and self.analyzer.level(a) == Level.STEP]
            if const:
                terms.append(f"{sp.sstr(sp.Add(*const))}    # source term, computed per solve")
            if mp:
                how = "gather / scatter" if any(self.analyzer.level(x) == Level.STEP for a in mp
                                                 for x in a.atoms(O.SumJ, O.AtI, O.AtJ,
                                                                  O.GraphNetApply)) \
                    else "node-wise"
                terms.append(f"{sp.sstr(sp.Add(*mp))}    # per evaluation ({how})")
            op = "next" if self.ir.discrete else "dt"
            lines.append(f"{op}({f})_i =\n    " + ("\n  + ".join(terms) if terms else "0"))
        for name in self.temps:
            terms = self._group_lines(name)
            if name in self.remainder:
                terms.append(f"{sp.sstr(self.remainder[name])}    # per evaluation")
            lines.append(f"  where {name}_i =\n    " + "\n  + ".join(terms))
        lines += self._geometry_legend()
        return "\n".join(lines)

    def _geometry_legend(self) -> List[str]:
        """One line per geometric weight the program uses (see :mod:`..symbolic.geometry`)."""
        exprs = [e for g in self.groups for e in (g.weight_j, g.weight_i, g.diag)]
        exprs += list(self.remainder.values())
        used = sorted({s.name for e in exprs for s in e.free_symbols} & set(GEO_WEIGHTS))
        if not used:
            return []
        dom = self.ir.constants.domain
        out = [f"geometric weights (static, once per graph from '{dom.name}', scheme {dom.scheme}; "
               "auto = grid on a regular grid graph, else lsq):"]
        return out + [f"  {n}_ij: {GEO_WEIGHTS[n]}" for n in used]


# ------------------------------------------------------------------ rewriting
class _Hoister:
    """Node temporaries ``_red<k>`` for nested graph reductions (``lap(lap(u))``, a chain of
    ``let a_k = lap(a_{k-1}) + a_{k-1}``).

    An operator that reads a node value at the ends of the edges (``grad``, ``lap``, ``dx``...,
    an endpoint ``u_j``) gets, when ``u`` itself contains a reduction ``sum_j`` and changes at
    every evaluation, the temporary ``_red<k> = u`` as its argument instead of ``u``'s stencil.
    Substituting the stencil would give 2^depth unfused gather / scatter terms; with the
    temporary the program (and its compile time) is linear in the nesting depth, and every level
    is one sparse product (:func:`discretize` fuses ``_red<k>`` like a field).
    """

    def __init__(self, an: Analyzer):
        self.an = an
        self.temps: Dict[sp.Expr, sp.Symbol] = {}   # stencilled value -> its temporary

    def __call__(self, u: sp.Expr) -> sp.Expr:
        an = self.an
        if u in self.temps:
            return self.temps[u]
        if u.is_Atom or an.kind(u) != "node" or an.level(u) != Level.STEP or not u.has(O.SumJ):
            return u
        t = self.temps[u] = sp.Symbol(f"_red{len(self.temps)}")
        an.add(SymbolInfo(t.name, "temp", Type(Kind.NODE, (an.channels(u),))))
        return t

    def definitions(self) -> Dict[str, sp.Expr]:
        """``{name: value}`` in creation order (inner first), each value in terms of the
        temporaries before it."""
        items = list(self.temps.items())
        return {t.name: self.use(u, items[:k]) for k, (u, t) in enumerate(items)}

    def use(self, e: sp.Expr, items=None) -> sp.Expr:
        """``e`` with every hoisted value replaced by its temporary, outermost first. sympy's
        ``subs`` also finds a value whose terms were flattened into a larger sum (``let a2 =
        lap(a1) + a1`` then ``lap(a2) + a2``), which keeps the chain linear."""
        for u, t in reversed(list(self.temps.items()) if items is None else items):
            e = e.subs(u, t)
        return e


#: operators whose one argument is a node value read at the edges' ends
_NODE_ARGUMENT = (O.Grad, O.Lap, O.AtI, O.AtJ)


def _stencils(e: sp.Expr, hoist: Optional[_Hoister] = None) -> sp.Expr:
    """Replace grad / div / lap / mean_j by their edge-list stencils (with ``hoist``: nested
    reductions read through node temporaries, see :class:`_Hoister`)."""
    def rule(x):
        if hoist is not None and (isinstance(x, _NODE_ARGUMENT) or hasattr(x, "stencil")):
            u = hoist(x.args[0])
            if u is not x.args[0]:
                x = x.func(u)
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
    return bottom_up(e, rule)


class _Normaliser:
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
            new = sp.expand(bottom_up(e, self.rule), **_EXPAND)
            if new == e:
                break
            e = new
        return e


# ------------------------------------------------------------------ classification
def _unwrap_state(e: sp.Expr, fields) -> Optional[Tuple[str, str, Tuple[sp.Symbol, ...]]]:
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


def _split_state_factor(term: sp.Expr, fields, an: Analyzer, allow_state_weight: bool):
    """term = weight * state_factor with a one-channel weight -> (field, where, right, weight)."""
    factors = list(sp.Mul.make_args(term))
    for k in range(len(factors) - 1, -1, -1):
        u = _unwrap_state(factors[k], fields)
        if u is None:
            continue
        weight = sp.Mul(*(factors[:k] + factors[k + 1:]))
        if not allow_state_weight and an.uses_state(weight):
            continue
        if (u[2] or u[1] != "node") and an.channels(weight) != 1:
            continue
        return (*u, weight)
    return None


def discretize(ir: IR) -> StencilProgram:
    """Lower a bound IR (see :meth:`IR.bind`) to a :class:`StencilProgram`."""
    an = Analyzer({**ir.symbols, **GRAPH_SYMBOLS}, ir.dims)
    norm = _Normaliser(an)
    hoist = _Hoister(an)
    bc = BoundaryPlan(ir)      # boundary conditions: discretize/boundary.py
    rhs = {f: _stencils(bc.operators(e, an) if bc else e, hoist) for f, e in ir.rhs.items()}
    probes = {p: _stencils(e, hoist) for p, e in ir.probes.items()}
    nested = hoist.definitions()
    rhs = {f: hoist.use(e) for f, e in rhs.items()}
    probes = {p: norm(hoist.use(e)) for p, e in probes.items()}
    fields = set(ir.rhs) | set(nested)   # temporaries are sources of sparse products too
    groups: Dict[tuple, LinearGroup] = {}

    def group(target, source, right, dynamic=False) -> LinearGroup:
        key = (target, source, right, dynamic)
        if key not in groups:
            groups[key] = LinearGroup(target, source, right)
        return groups[key]

    def fuse(target: str, e: sp.Expr) -> sp.Expr:
        """Move the linear terms of ``e`` into groups of ``target``; return the rest."""
        rest = []
        for term in sp.Add.make_args(e):
            if term == 0:
                continue
            # node-local linear term: c * x  (c independent of the state)
            hit = _split_state_factor(term, fields, an, allow_state_weight=False)
            if hit is not None and hit[1] == "node":
                g = group(target, hit[0], hit[2])
                g.diag += hit[3]
                continue
            # c * sum_j(edge terms): fuse the terms linear in x_j / x_i
            factors = sp.Mul.make_args(term)
            sums = [a for a in factors if isinstance(a, O.SumJ) and an.uses_state(a)]
            coef = sp.Mul(*[a for a in factors if a not in sums]) if len(sums) == 1 else None
            if coef is None or an.uses_state(coef) or an.channels(coef) != 1:
                rest.append(term)
                continue
            coef_e = O.AtI(coef) if an.kind(coef) == Kind.NODE else coef
            unfused = []
            for et in sp.Add.make_args(sums[0].args[0]):
                hit = _split_state_factor(et, fields, an, allow_state_weight=True)
                # (a matrix weight is built before the temporaries: none of them in it)
                if hit is None or hit[1] == "node" or an.kind(hit[3]) == Kind.NODE or \
                        any(s.name in nested for s in hit[3].free_symbols):
                    unfused.append(et)
                    continue
                g = group(target, hit[0], hit[2], an.uses_state(hit[3]))
                if hit[1] == "j":
                    g.weight_j += coef_e * hit[3]
                else:
                    g.weight_i += coef_e * hit[3]
            if unfused:
                rest.append(coef * O.SumJ(sp.Add(*unfused)))
        return sp.Add(*rest)

    def fuse_inside(e: sp.Expr) -> sp.Expr:
        """Fuse the linear part of the node argument of a non-linear function (relu(Abar X W),
        standardize_i(...)) into a temporary ``_lin<k>`` computed by sparse products."""
        if not e.args or e.is_Atom or isinstance(e, O.NetApply):
            return e
        args = tuple(fuse_inside(a) for a in e.args)
        e = e.func(*args) if args != e.args else e
        if isinstance(e, sp.Function) and not isinstance(e, (O.MatMul, O.SumJ, O.AtI, O.AtJ)) \
                and len(e.args) == 1:
            return e.func(temporary(e.args[0]))
        if e.is_Pow and an.kind(e.exp) == Kind.SCALAR and not an.uses_state(e.exp):
            return temporary(e.base) ** e.exp     # dx(u)^2, 1/sqrt(deg_inv*lap(u)), ...
        return e

    def temporary(a: sp.Expr) -> sp.Expr:
        """``a`` (a non-linear function's node argument) with its linear part fused into a new
        temporary ``_lin<k>`` (reused for a repeated ``a``), or ``a`` if no product is gained."""
        if an.kind(a) != Kind.NODE or not an.uses_state(a) or a in made:
            return made.get(a, a)
        name = f"_lin{len(temps)}"
        rest = fuse(name, a)
        mine = [k for k in groups if k[0] == name]
        if any(groups[k].weight_j != 0 or groups[k].weight_i != 0 for k in mine):
            temps.append(name)
            an.add(SymbolInfo(name, "temp", Type(Kind.NODE, (an.channels(a),))))
            made[a] = sp.Symbol(name) + rest
            return made[a]
        for k in mine:  # no sparse product to gain: leave the argument as it was
            del groups[k]
        return a

    temps: List[str] = []
    made: Dict[sp.Expr, sp.Expr] = {}   # argument -> its temporary (plus the unfused rest)
    remainder: Dict[str, sp.Expr] = {}
    if bc:
        norm = (lambda n: lambda e: n(bc.eliminate(n(e), an)))(norm)
    for name, value in nested.items():   # inner first: each uses only the ones before it
        rest = fuse_inside(fuse(name, norm(value)))
        temps.append(name)
        if rest != 0:
            remainder[name] = rest
    for f, e in rhs.items():
        remainder[f] = fuse_inside(fuse(f, norm(e)))
        if bc:      # Dirichlet rows: zero in L, dg/dt in the source
            remainder[f] = bc.mask_rows(f, [g for g in groups.values() if g.target == f],
                                        remainder[f], an)
    # fields first, as the code generator and the printer expect
    remainder = {**{f: remainder.pop(f) for f in ir.rhs}, **remainder}
    return StencilProgram(ir, list(groups.values()), remainder, an, probes, temps,
                          dict(bc.arrays))
