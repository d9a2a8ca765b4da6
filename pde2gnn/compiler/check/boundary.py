"""Boundary conditions: the ``bc`` declarations (``bc u : x = 0 dirichlet(g)``).

One of the rule sets of :class:`pde2gnn.compiler.check.checker.Checker` (its ``check_boundary`` pass).
A condition names a field, a node set and a condition of
:data:`pde2gnn.compiler.lang.builtins.BOUNDARY_KINDS`:

* a face of the ``domain`` (``x = 0``: the coordinate and one of its bounds), or ``walls``: every
  face that has no condition of its own;
* a ``node mask`` input (``input wall : node mask``), on any graph.

Values are expressions in ``t``, the coordinates, params and inputs (never a field or a
learnable); so are Robin's ``a`` and ``b`` (one channel; they may vary in space and time). The result,
:class:`BcInfo` per condition (``walls`` expanded to faces), is ``CheckedSpec.boundary``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

from pde2gnn.errors import ArgumentError, FormError, KindError, NameError_, did_you_mean
from pde2gnn.compiler.lang import ast as A
from pde2gnn.compiler.lang.builtins import BOUNDARY_KINDS
from pde2gnn.compiler.lang.kinds import Kind
from pde2gnn.compiler.types import COORDINATES, subexpressions


@dataclass(frozen=True)
class BcInfo:
    """One checked boundary condition.

    Attributes:
        field: the field it constrains; kind: ``dirichlet``, ``neumann`` or ``robin``.
        face: ``(axis, side)`` (side 0: the lower bound, 1: the upper) of a domain face, or None.
        mask: the ``node mask`` input it applies at, or None.
        args: the condition's expressions (``(g,)``, ``(q,)`` or ``(a, b, g)``).
        decl: the declaration (for locations).
    """

    field: str
    kind: str
    face: Optional[Tuple[int, int]]
    mask: Optional[str]
    args: Tuple[A.Expr, ...]
    decl: A.BcDecl


class BoundaryRules:
    def check_boundary(self) -> None:
        """Every ``bc`` declaration: the field, the node set, the condition, its values; no
        two conditions on one face or mask of a field."""
        sc = self.scope
        if sc.discrete and sc.series:     # frames, not times: nothing to interpolate at
            st = next(s for s in self.spec.statements
                      if isinstance(s, A.InputDecl) and s.name == sc.series[0])
            raise self.err(FormError, "a series input is interpolated at the solver's time t: "
                           "it belongs to continuous-time specs (dt(u) = ...)", st.span)
        decls = [st for st in self.spec.statements if isinstance(st, A.BcDecl)]
        out, seen = [], {}
        explicit = [d for d in decls if d.where != "walls"]
        for d in explicit + [d for d in decls if d.where == "walls"]:
            kind = self._bc_kind(d)
            for face, mask in self._bc_sets(d, kind):
                key = (d.field, face, mask)
                if key in seen:
                    if d.where == "walls" and seen[key].where != "walls":
                        continue       # walls: the faces without a condition of their own
                    raise self.err(FormError, f"two boundary conditions for '{d.field}' on "
                                   f"{self._set_text(face, mask)} (first on line "
                                   f"{seen[key].span.line})", d.where_span)
                seen[key] = d
                out.append(BcInfo(d.field, d.kind, face, mask, d.args, d))
        self.boundary = tuple(out)

    def _set_text(self, face, mask) -> str:
        if mask is not None:
            return f"mask '{mask}'"
        a, s = face
        lo, hi = self.scope.domain.bounds[a]
        return f"face {COORDINATES[a]} = {self._src((lo, hi)[s])}"

    def _src(self, e: A.Expr) -> str:
        sp_ = e.span
        lines = self.spec.source.splitlines()
        if sp_.line == sp_.end_line and 0 < sp_.line <= len(lines):
            return lines[sp_.line - 1][sp_.column - 1:sp_.end_column - 1]
        return "..."

    def _bc_kind(self, d: A.BcDecl):
        sc = self.scope
        if sc.discrete:
            raise self.err(FormError, "boundary conditions belong to continuous-time specs "
                           "(dt(u) = ...); a discrete-time model has no boundary", d.span)
        if d.field not in sc.fields or d.field in sc.states:
            raise self.err(NameError_, f"'{d.field}' is not an evolving field", d.field_span,
                           did_you_mean(d.field, tuple(sc.fields)))
        if d.field in sc.point_fields or sc.fields[d.field].stalk is not None:
            raise self.err(KindError, f"boundary conditions apply to node fields, '{d.field}' "
                           "is a point or stalk field", d.field_span)
        if d.kind not in BOUNDARY_KINDS:
            raise self.err(NameError_, f"unknown boundary condition '{d.kind}' (known: "
                           f"{', '.join(BOUNDARY_KINDS)}; periodic is a domain option)",
                           d.kind_span, did_you_mean(d.kind, tuple(BOUNDARY_KINDS)))
        kind = BOUNDARY_KINDS[d.kind]
        if len(d.args) != len(kind.args):
            raise self.err(ArgumentError, f"{d.kind} takes {len(kind.args)} argument"
                           f"{'s' if len(kind.args) > 1 else ''} ({', '.join(kind.args)}), got "
                           f"{len(d.args)}", d.span)
        ch = sc.fields[d.field].channels
        for name, e in zip(kind.args, d.args):
            t = self.expr(e)
            bad = next((x for x in subexpressions(e) if isinstance(x, A.Name) and (
                x.id in sc.fields or x.id in sc.learns or x.id in sc.lets)), None)
            if bad is not None or t.kind not in (Kind.SCALAR, Kind.NODE):
                raise self.err(KindError, f"the {name} of a {d.kind} condition is an expression "
                               "in t, the coordinates, params and inputs"
                               + (f", not '{bad.id}'" if bad is not None else
                                  f", got {t.describe()}"), (bad or e).span)
            ser = next((x for x in subexpressions(e) if isinstance(x, A.Name)
                        and x.id in sc.series), None)
            if ser is not None and (d.kind == "dirichlet" or name in ("a", "b")):
                raise self.err(FormError, f"'{ser.id}' is a series input: it may be a neumann or "
                               "robin value (or a source), not a dirichlet value (whose rows "
                               "need dg/dt) nor robin's a, b", ser.span)
            if t.channels not in (1, ch):
                raise self.err(KindError, f"the {name} of a {d.kind} condition has "
                               f"{t.channels} channels, the field '{d.field}' {ch}", e.span)
        if d.kind == "robin":
            for name, e in zip(("a", "b"), d.args[:2]):
                if self.expr(e).channels != 1:
                    raise self.err(KindError, f"robin's {name} has one channel (a scalar "
                                   "coefficient per node)", e.span)
            b = self._value(d.args[1])
            if b == 0:
                raise self.err(FormError, "robin(a, b, g) with b = 0 degenerates: it is "
                               "dirichlet(g / a); write that instead", d.args[1].span)
        return kind

    def _bc_sets(self, d: A.BcDecl, kind):
        """The (face, mask) pairs a declaration names."""
        sc, dom = self.scope, self.scope.domain
        if d.face is not None or d.where == "walls":
            what = f"'{d.face[0]} = ...'" if d.face is not None else "'walls'"
            if dom is None:
                raise self.err(FormError, f"{what} is a face of a domain, and the spec declares "
                               "none: add e.g. 'domain pos : [0, 1] x [0, 1]', or give a node "
                               "set 'input wall : node mask'", d.where_span)
            if self.domain_periodic():
                raise self.err(FormError, f"domain '{dom.name}' is periodic: it has no faces "
                               f"for {what}", d.where_span)
        if d.where == "walls":
            return [((a, s), None) for a in range(len(dom.bounds)) for s in (0, 1)]
        if d.face is not None:
            axis_name, value = d.face
            coords = COORDINATES[:len(dom.bounds)]
            if axis_name not in coords:
                raise self.err(NameError_, f"'{axis_name}' is not a coordinate of domain "
                               f"'{dom.name}' (its faces: " + ", ".join(
                                   f"{c} = {self._src(b)}" for c, bs in zip(coords, dom.bounds)
                                   for b in bs) + ")", d.where_span,
                               did_you_mean(axis_name, coords))
            a = coords.index(axis_name)
            v = self.bound_value(value)
            lo, hi = (self.bound_value(b) for b in dom.bounds[a])
            tol = 1e-12 * max(1.0, abs(lo), abs(hi))
            if abs(v - lo) > tol and abs(v - hi) > tol:
                raise self.err(FormError, f"domain '{dom.name}' has no face {axis_name} = "
                               f"{v:g}: its faces along {axis_name} are {axis_name} = "
                               f"{self._src(dom.bounds[a][0])} and {axis_name} = "
                               f"{self._src(dom.bounds[a][1])}", value.span)
            return [((a, 0 if abs(v - lo) <= tol else 1), None)]
        if d.where not in sc.inputs or d.where not in sc.masks:
            known = tuple(sc.masks) + (("walls",) if dom is not None else ())
            if d.where in sc.inputs:
                raise self.err(KindError, f"'{d.where}' is an input but not a node set: "
                               f"declare it 'input {d.where} : node mask'", d.where_span)
            raise self.err(NameError_, f"'{d.where}' is neither a face ('x = 0'), 'walls' nor "
                           "a 'node mask' input", d.where_span, did_you_mean(d.where, known))
        if not kind.on_masks:
            raise self.err(FormError, f"{d.kind} is a condition on a domain face; on a node "
                           "mask give dirichlet(g) or neumann(q)", d.kind_span)
        return [(None, d.where)]

    def domain_periodic(self) -> bool:
        dom = self.scope.domain
        return any(k == "periodic" for k, _, _ in dom.options) if dom is not None else False
