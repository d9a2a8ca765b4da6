"""Boundary conditions in the discretisation: IR rewrites that keep the fusion.

A field ``u`` with conditions (:class:`pde2gnn.compiler.symbolic.boundary.Boundary`) is discretised so
that its right-hand side is still fused linear groups (one CSR product per source) plus a
source, and its linear part L (the state-independent groups) holds every term linear in ``u``
(DESIGN.md section 6: f = L y + N(t, y), prescribed values and fluxes in N):

1. *Wall conditions* (Neumann, Robin on a face; Dirichlet on a face of a cell-centred grid):
   every geometric operator applied to ``u`` itself, ``lap(u)``, ``dx(u)``..., uses weights of
   its own, ``geo_lap__u`` (edges), ``geo_lap__u_c`` (a diagonal) and a source coefficient
   ``geo_lap__u_s<k>`` per face, computed from the coordinates by
   :mod:`pde2gnn.compiler.discretize.boundary_weights` (ghost nodes / the boundary rows of the least-squares
   fit / the boundary integral of the cotangent Laplacian):
   ``lap(u) -> sum_j(W'_ij (u_j - u_i)) + C_i u_i + sum_k S^k_i g_k(t, wall_k(p_i))``, where
   ``wall_k`` projects a node onto face k (the value is taken at the wall). A Robin condition
   whose a or b varies (in t, the coordinates or inputs) keeps them out of the static arrays:
   ``S^k_i (g_k - a_k u_i) / (b_k + a_k d^k_i)`` with ``S^k`` the geometric factor and ``d^k``
   the wall distance of the flux (h / 2 on a cell-centred grid's ``lap``, else 0); its ``u``
   term is a diagonal, frozen (in L) when a, b do not depend on t.
2. *Dirichlet nodes* (nodes on a Dirichlet face of a vertex-centred grid, lsq or mesh; the nodes
   of a Dirichlet mask): eliminated unknowns. Every neighbour value ``u_j`` is replaced by
   ``(1 - M_j) u_j + sum_k m^k_j g_k(t, p_j)`` (``m^k`` the node set of condition k, ``M`` their
   union): the first part folds into the static CSR weights, the second is a source (per solve
   when g does not depend on t; otherwise sympy pulls the time factors out of the sums where g
   is a sum of products, so an evaluation multiplies a static vector by a number). The rows of
   the Dirichlet nodes are ``dg/dt``: the state there follows g when it starts at g(0).
3. *Fluxes on masks* (``neumann(q)`` on a node mask): ``lap(u) -> lap(u) + m q``;
   ``robin(a, b, g)`` on a node mask is the flux q = (g - a u) / b (Newton cooling towards
   g / a with conductance a / b): ``lap(u) -> lap(u) + m (g - a u) / b``, its ``-m a / b u``
   a diagonal in the linear part.

Operators applied to anything other than ``u`` itself (``lap(u * v)``, ``dx(k * dx(u))``'s
outer ``dx``) keep the default zero-flux / one-sided weights, but read ``u`` through step 2.
"""
from __future__ import annotations

from typing import Dict, List, Tuple

import sympy as sp

from pde2gnn.compiler.check import Type
from pde2gnn.compiler.lang.kinds import Kind
from pde2gnn.compiler.symbolic import ops as O
from pde2gnn.compiler.symbolic.geometry import GeoLap, GeoOp
from pde2gnn.compiler.symbolic.rewrite import bottom_up
from pde2gnn.compiler.symbolic.symbols import SymbolInfo

T = sp.Symbol("t")


class BoundaryPlan:
    """The rewrites of one bound IR's conditions (see the module docstring).

    Attributes:
        arrays: ``{name: (field, what, op, k)}`` of the static arrays the rewrites use, for the
            compiled module to compute (``what``: ``edge``, ``diag``, ``source``, ``delta`` or ``mask``;
            ``op`` the geometric weight, e.g. ``geo_lap``; ``k`` the face's index in
            :meth:`faces`).
    """

    def __init__(self, ir):
        self.ir = ir
        self.bcs = ir.boundary
        self.fields = tuple(dict.fromkeys(c.field for c in self.bcs))
        dom = ir.constants.domain if ir.constants is not None else None
        self.box = dom.box if dom is not None else None
        self.coords = dom.coordinates if dom is not None else ()
        self.arrays: Dict[str, Tuple] = {}

    def __bool__(self) -> bool:
        return bool(self.bcs)

    def faces(self, f: str) -> List:
        """The face conditions of field ``f``, in declaration order (k indexes them)."""
        return [c for c in self.bcs if c.field == f and c.face is not None]

    def _array(self, name: str, spec: Tuple, an, kind=Kind.NODE) -> sp.Symbol:
        if name not in self.arrays:
            self.arrays[name] = spec
            an.add(SymbolInfo(name, "graph", Type(kind, (1,))))
        return sp.Symbol(name)

    def _wall(self, c, e: sp.Expr = None) -> sp.Expr:
        """The value of a face condition (or ``e``, its Robin a or b) at the wall point of
        each node."""
        a, s = c.face
        return (c.value if e is None else e).xreplace({sp.Symbol(self.coords[a]): sp.Float(
            (self.box.low, self.box.high)[s][a])})

    def dirichlet_sets(self, f: str, an) -> List[Tuple[sp.Expr, sp.Expr]]:
        """``[(m, g)]``: each Dirichlet node set of ``f`` (a static face mask or a mask input)
        with its value."""
        out = []
        for k, c in enumerate(self.faces(f)):
            if c.kind == "dirichlet":
                out.append((self._array(f"bc__{f}_m{k}", (f, "mask", None, k), an), c.value))
        out += [(sp.Symbol(c.mask), c.value) for c in self.bcs
                if c.field == f and c.mask is not None and c.kind == "dirichlet"]
        return out

    # ---------------------------------------------------------------- step 1 and 3
    def operators(self, e: sp.Expr, an) -> sp.Expr:
        """Geometric operators of a field with face conditions, and ``lap`` of a field with
        mask fluxes, replaced by their boundary-aware forms (before the stencils)."""
        def rule(x):
            if not (isinstance(x, (GeoOp, O.Lap)) and x.args[0].is_Symbol
                    and x.args[0].name in self.fields):
                return x
            f = x.args[0].name
            out = x
            faces = self.faces(f)
            if isinstance(x, GeoOp) and faces:
                w = x.weight
                axis = {"geo_dx": 0, "geo_dy": 1, "geo_dz": 2}.get(w)
                u = x.args[0]
                out = O.SumJ(self._array(f"{w}__{f}", (f, "edge", w, None), an, Kind.EDGE)
                             * (O.AtJ(u) - O.AtI(u))) \
                    + self._array(f"{w}__{f}_c", (f, "diag", w, None), an) * u
                for k, c in enumerate(faces):
                    if axis is not None and c.face[0] != axis:
                        continue       # d/dx is not changed by a face normal to y
                    g = self._wall(c)
                    if c.varying:      # the factor S times q = (g - a u) / (b + a delta)
                        a, b = self._wall(c, c.a), self._wall(c, c.b)
                        d = self._array(f"{w}__{f}_d{k}", (f, "delta", w, k), an)
                        out += self._array(f"{w}__{f}_s{k}", (f, "source", w, k), an) * \
                            (g - a * u) / (b + a * d)
                    elif g != 0:
                        out += self._array(f"{w}__{f}_s{k}", (f, "source", w, k), an) * g
            if isinstance(x, (GeoLap, O.Lap)):
                for c in self.bcs:
                    if c.field == f and c.mask is not None and c.kind == "neumann":
                        out += sp.Symbol(c.mask) * c.value
                    elif c.field == f and c.mask is not None and c.kind == "robin":
                        a, b = (c.a, c.b) if c.varying else map(sp.Float, c.coefficients)
                        out += sp.Symbol(c.mask) * (c.value - a * x.args[0]) / b  # flux in
            return out
        return bottom_up(e, rule)

    # ---------------------------------------------------------------- step 2
    def eliminate(self, e: sp.Expr, an) -> sp.Expr:
        """Neighbour values of Dirichlet nodes replaced by the prescribed values (after the
        stencils and the normalisation: ``u_j`` are leaves)."""
        subs = {}
        for f in self.fields:
            sets = self.dirichlet_sets(f, an)
            if sets:
                u = sp.Symbol(f)
                M = sp.Add(*[m for m, _ in sets])
                subs[O.AtJ(u)] = (1 - O.AtJ(M)) * O.AtJ(u) + sp.Add(
                    *[O.AtJ(m) * O.AtJ(g) for m, g in sets])
        return e.xreplace(subs) if subs else e

    def mask_rows(self, f: str, groups, rest: sp.Expr, an) -> sp.Expr:
        """The rows of ``f``'s Dirichlet nodes: its linear groups' weights multiplied by
        ``1 - M`` (zero rows in L, in place) and its remainder ``rest`` returned as
        ``(1 - M) rest + sum_k m^k dg_k/dt`` (M = 0 for a field without Dirichlet nodes),
        arranged for the code generator: the static terms
        as one value (computed per solve), the terms that depend on t only grouped by their
        time factor (``sin(t) * V`` with V static: one number times one vector per factor), and
        only the state-dependent terms multiplied by ``1 - M`` at each evaluation."""
        from pde2gnn.compiler.symbolic.symbols import Level
        rows = self.rows(f, an)
        if rows is None:        # no Dirichlet node: only the sources grouped by time factor
            if f not in self.fields:
                return rest
            rows, groups = (sp.Integer(1), sp.Integer(0)), []
        for g in groups:
            g.weight_j, g.weight_i = (O.AtI(rows[0]) * w for w in (g.weight_j, g.weight_i))
            g.diag = rows[0] * g.diag
        keep, fixed, timed = [], [], {}
        for a in sp.Add.make_args(rest):
            if an.level(a) < Level.STEP:
                fixed.append(a)
            elif any(an.symbols[x.name].role in ("field", "temp") for x in a.free_symbols
                     if x.name in an.symbols):
                keep.append(a)
            else:
                for b in sp.Add.make_args(sp.expand(rows[0] * a)):
                    timed.setdefault(b, None)
        timed = [b for b in list(timed) + list(sp.Add.make_args(sp.expand(rows[1]))) if b != 0]
        groups: Dict[sp.Expr, list] = {}
        for b in timed:
            fs = sp.Mul.make_args(b)
            tf = sp.Mul(*[x for x in fs if an.level(x) == Level.STEP])
            groups.setdefault(tf, []).append(sp.Mul(*[x for x in fs if an.level(x) < Level.STEP]))
        c, rest = sp.Add(*keep).as_coeff_Mul()      # -u^3 (1 - M) as u^3 (M - 1): one pass
        out = rows[0] * sp.Add(*fixed) + rest * sp.expand(c * rows[0])
        return out + sp.Add(*[sp.Mul(tf, sp.Add(*v), evaluate=False) for tf, v in groups.items()])

    def rows(self, f: str, an):
        """``(1 - M, source)`` of field ``f``: the factor of its right-hand side (zero at its
        Dirichlet nodes) and what those rows are instead (sum_k m^k dg_k/dt); None if ``f``
        has no Dirichlet node."""
        sets = self.dirichlet_sets(f, an)
        if not sets:
            return None
        return 1 - sp.Add(*[m for m, _ in sets]), sp.Add(*[m * sp.diff(g, T) for m, g in sets])
