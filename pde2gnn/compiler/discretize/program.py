"""The program every lowering pass reads and writes: :class:`StencilProgram`, its fused
:class:`LinearGroup` s and the printed form (``pde2gnn explain --stage stencil`` /
``--after PASS``).

Before the fusing passes a program is all *remainder* (one expression per field and per node
temporary, evaluated by gather / scatter); the fusing passes (:mod:`pde2gnn.compiler.passes`)
move its terms that are linear in the neighbour values into groups, one sparse matrix each, and
the code-generation passes annotate it (:attr:`StencilProgram.split`, ``shared``, ``levels``).
Every form evaluates to the same vector field (:mod:`pde2gnn.compiler.backend.reference`).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Dict, FrozenSet, List, Optional, Tuple

import sympy as sp

from pde2gnn.compiler.check import Type
from pde2gnn.compiler.lang.kinds import Kind
from pde2gnn.compiler.symbolic import ops as O
from pde2gnn.compiler.symbolic.analysis import Analyzer
from pde2gnn.compiler.symbolic.geometry import GEO_SYMBOLS, GEO_WEIGHTS
from pde2gnn.compiler.symbolic.ir import IR, SymbolInfo
from pde2gnn.compiler.symbolic.symbols import Level

#: 1 / (in-degree) of each node, the weight of ``mean_j``
DEG_INV = sp.Symbol("deg_inv")
GRAPH_SYMBOLS = {"deg_inv": SymbolInfo("deg_inv", "graph", Type(Kind.NODE, (1,))), **GEO_SYMBOLS}

#: sympy's ``expand`` as the normalisation uses it: products over sums only
EXPAND = dict(mul=True, deep=True, power_exp=False, power_base=False, log=False,
               multinomial=False, basic=False)


@dataclass
class LinearGroup:
    """``out[target] += scale * (((A x_src) + diag * x_src) @ W1 @ W2 ...)`` with one sparse
    matrix A.

    ``weight_j`` (edge expression, one channel) are the off-diagonal entries A_ij;
    ``weight_i`` (edge expression) are summed over j into the diagonal; ``diag`` is a node or
    scalar coefficient of x_i itself. Any of them may be ``0``. ``scale`` (default 1) is a
    state-independent coefficient with several channels outside a sparse sum
    (``sigmoid(alpha) * sum_j(a * x_j)``, alpha ``[d]``): one CSR matrix cannot hold it, so it
    multiplies the group's result channel-wise.
    """

    target: str
    source: str
    right: Tuple[sp.Symbol, ...]
    weight_j: sp.Expr = sp.Integer(0)
    weight_i: sp.Expr = sp.Integer(0)
    diag: sp.Expr = sp.Integer(0)
    scale: sp.Expr = sp.Integer(1)

    @property
    def exprs(self) -> Tuple[sp.Expr, ...]:
        """The group's expressions, in the code generator's order: ``weight_j``, ``weight_i``,
        ``diag`` and, when it is not 1, ``scale``."""
        out = (self.weight_j, self.weight_i, self.diag)
        return out if self.scale == 1 else out + (self.scale,)

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
        if self.scale != 1:
            body = f"[{sp.sstr(self.scale)}] * ({body})"
        return body


def _readable(w: sp.Expr) -> sp.Expr:
    """A weight for printing: numbers pulled out of endpoints, collected by geometric weight."""
    w = w.replace(lambda a: isinstance(a, (O.AtI, O.AtJ)) and a.args[0].is_Mul,
                  lambda a: sp.Mul(*[f if f.is_number else type(a)(f) for f in a.args[0].args]))
    geo = sorted((s for s in w.free_symbols if s.name in GEO_WEIGHTS), key=str)
    return sp.collect(sp.expand(w, **EXPAND), geo) if geo else sp.simplify(w)


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
    #: the boundary conditions' rewrites (:class:`.boundary.BoundaryPlan`), shared by the passes
    bc: Any = field(default=None, repr=False)
    #: the passes run so far, in order (:data:`pde2gnn.compiler.passes.PASSES`)
    passes: Tuple[str, ...] = ()
    #: pass ``split``: which groups make up L of f = L y + N
    #: (:class:`~pde2gnn.compiler.passes.split.SplitPlan`)
    split: Any = field(default=None, repr=False)
    #: pass ``cse``: the subexpressions used more than once (each computed once)
    shared: Optional[FrozenSet[sp.Expr]] = field(default=None, repr=False)
    #: pass ``level_hoist``: the :class:`Level` of every subexpression (where it is computed)
    levels: Optional[Dict[sp.Expr, Level]] = field(default=None, repr=False)

    def copy(self, **changes) -> "StencilProgram":
        """A copy a pass may change: its own groups, dicts and temporaries list (the sympy
        expressions are immutable; the analyzer and the boundary plan are shared, they only
        accumulate the names later passes introduce)."""
        out = replace(self, groups=[replace(g) for g in self.groups],
                      remainder=dict(self.remainder), probes=dict(self.probes),
                      temps=list(self.temps), **changes)
        if self.bc:
            out.boundary = dict(self.bc.arrays)
        return out

    def level(self, e: sp.Expr) -> Level:
        """Where ``e`` is computed: its entry in :attr:`levels` (pass ``level_hoist``), else the
        analyzer's answer (an expression the code generator composes itself)."""
        lv = self.levels.get(e) if self.levels is not None else None
        return self.analyzer.level(e) if lv is None else lv

    def _group_lines(self, target: str) -> List[str]:
        out = []
        for g in self.groups:
            if g.target == target:
                lv = max(self.analyzer.level(e) for e in g.exprs)
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
        exprs = [e for g in self.groups for e in g.exprs]
        exprs += list(self.remainder.values())
        used = sorted({s.name for e in exprs for s in e.free_symbols} & set(GEO_WEIGHTS))
        if not used:
            return []
        dom = self.ir.constants.domain
        out = [f"geometric weights (static, once per graph from '{dom.name}', scheme {dom.scheme}; "
               "auto = grid on a regular grid graph, else lsq):"]
        return out + [f"  {n}_ij: {GEO_WEIGHTS[n]}" for n in used]


