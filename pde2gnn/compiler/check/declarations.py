"""Declarations: the declaration pass that builds the scope (:mod:`.scope`), names (reserved,
built-in, twice), dimensions, size limits, learnable shapes and let types.

One of the rule sets of :class:`pde2gnn.compiler.check.checker.Checker`.
"""
from __future__ import annotations

import math
from typing import Optional

from pde2gnn.errors import FormError, KindError, NameError_, ShapeError, did_you_mean
from pde2gnn.compiler.lang import ast as A
from pde2gnn.compiler.check import sheaf
from pde2gnn.compiler.lang.builtins import CONSTRAINTS as CONSTRAINT_TABLE
from pde2gnn.compiler.lang.builtins import reserved
from pde2gnn.compiler.lang.kinds import Kind
from pde2gnn.compiler.lang.parser import KEYWORDS
from pde2gnn.compiler.types import (CONSTRAINTS, COORDINATES, GRAPH_METHODS, LIMITS, Channels, Type,
                    nesting_depth, statement_exprs, subexpressions)

#: declarations that add one name each
NAMED = (A.FieldDecl, A.InputDecl, A.StateDecl, A.NetDecl, A.ParamDecl, A.LearnDecl, A.LetDecl,
         A.EnergyDecl)


class DeclarationRules:
    # ------------------------------------------------------------ the declaration pass
    def declare_all(self) -> None:
        """Build :attr:`scope` from the statements: the domain, the dimensions, then every
        name (so a shape may use a dimension declared further down), then the types the
        declarations give (fields, inputs, networks) and the statements by kind."""
        s, sc = self.spec, self.scope
        sc.models = tuple(st for st in s.statements if isinstance(st, A.ModelDecl))
        if len(sc.models) > 1:
            raise self.err(FormError, "a spec declares exactly one model", sc.models[1].span)
        for st in s.statements:
            if isinstance(st, A.DomainDecl):
                self.check_domain(st)
        for st in s.statements:
            if isinstance(st, A.DimDecl):
                self.declare(st.name, st, st.span)
                sc.dims[st.name] = st.value
        tables = {A.ParamDecl: sc.params, A.LearnDecl: sc.learns, A.LetDecl: sc.lets,
                  A.EnergyDecl: sc.energies}
        for st in s.statements:
            if isinstance(st, NAMED):
                self.declare(st.name, st, st.span)
                if type(st) in tables:
                    tables[type(st)][st.name] = st
            elif isinstance(st, A.GraphDecl):
                if sc.graph is not None:
                    raise self.err(FormError, "only one graph clause is allowed", st.span)
                if st.method not in GRAPH_METHODS:
                    raise self.err(NameError_, f"unknown graph construction '{st.method}'",
                                   st.span, did_you_mean(st.method, GRAPH_METHODS))
                sc.graph = st
            elif isinstance(st, A.Equation):
                self._add_equation(st)
        fields, states, coords = {}, [], []
        for st in s.statements:
            if isinstance(st, (A.StateDecl, A.InputDecl)) and st.stalk is not None:
                raise self.err(KindError, "only a field can have a stalk (node[d, k]); write "
                               f"'{st.name} : node[channels]'", st.stalk.span)
            if isinstance(st, A.StateDecl):
                if st.kind != "node":
                    raise self.err(KindError, f"states live on nodes: write '{st.name} : "
                                   "node[...]'", st.span)
                fields[st.name] = Type(Kind.NODE, (self.check_dim(st.dim),))
                states.append(st.name)
            elif isinstance(st, A.NetDecl):
                sc.nets[st.name] = self.check_net(st)
            elif isinstance(st, (A.FieldDecl, A.InputDecl)):
                field = isinstance(st, A.FieldDecl)
                kind = "node"
                if st.kind == "coords" and field:
                    coords.append(st.name)
                elif st.kind == "edge" and not field:
                    kind = "edge"   # given per edge (edge_weight / edge_attr)
                elif st.kind != "node":
                    raise self.err(KindError, f"{'fields' if field else 'inputs'} live on nodes:"
                                   f" write '{st.name} : node[...]'"
                                   + ("" if field else " (inputs may also be 'edge[...]')"),
                                   st.span)
                t = Type(kind, (self.check_dim(st.dim),))
                if not field and st.flag is not None:
                    word, span = st.flag
                    if word not in ("mask", "series"):
                        raise self.err(NameError_, f"unknown input flag '{word}' (known: mask, "
                                       "series)", span, did_you_mean(word, ("mask", "series")))
                    if word == "series":
                        if kind != "node":
                            raise self.err(KindError, "a series is given per node and time: "
                                           f"write 'input {st.name} : node[c] series'", st.span)
                        sc.series += (st.name,)
                    elif kind != "node" or t.channels != 1:
                        raise self.err(KindError, f"a mask is one boolean per node: write "
                                       f"'input {st.name} : node mask'", st.span)
                    else:
                        sc.masks += (st.name,)
                if field and st.stalk is not None:
                    t = sheaf.stalk_field_type(self, st, t)
                (fields if field else sc.inputs)[st.name] = t
        # the observed field(s) first, then the hidden states: the order of the state vector
        sc.fields = {**{f: t for f, t in fields.items() if f not in states},
                     **{f: fields[f] for f in states}}
        sc.states, sc.point_fields = tuple(states), tuple(coords)
        sc.restrictions = sheaf.restriction_decls(self, sc.lets)

    def _add_equation(self, st: A.Equation) -> None:
        equations = self.scope.equations
        first = next(iter(equations.values()), None)
        if first is not None and first.op != st.op:
            raise self.err(FormError, f"a model is either continuous (dt(x) = ...) or "
                           f"discrete-time (next(x) = ...), not both: line "
                           f"{first.span.line} uses {first.op}(...)", st.span)
        if st.field in equations:
            raise self.err(FormError, f"field '{st.field}' has two {st.op} equations "
                           f"(first on line {equations[st.field].span.line})", st.span)
        equations[st.field] = st

    # ------------------------------------------------------------ declarations
    def declare(self, name: str, decl, span):
        why = "a keyword of the language" if name in KEYWORDS else reserved(name)
        if why is not None:
            raise self.err(NameError_, f"'{name}' is reserved ({why}) and cannot be declared",
                           span, "choose another name")
        dom = self.scope.domain
        if dom is not None and name in COORDINATES[:len(dom.bounds)] and decl is not dom:
            raise self.err(NameError_, f"'{name}' is a coordinate of domain '{dom.name}' "
                           f"(line {dom.span.line}): with a domain, "
                           f"{', '.join(COORDINATES[:len(dom.bounds)])} name the node "
                           "coordinates; rename this declaration", span)
        if name in self.scope.decls:
            first, second = sorted((self.scope.decls[name].span, span),
                                   key=lambda sp: (sp.line, sp.column))
            raise self.err(NameError_, f"'{name}' is declared twice (first on line {first.line})",
                           second)
        self.scope.decls[name] = decl

    def check_dim(self, dim: Optional[A.Dim]) -> Channels:
        if dim is None:
            return 1
        if isinstance(dim.value, int):
            if dim.value < 1:
                raise self.err(ShapeError, "a dimension must be at least 1", dim.span)
            return dim.value
        d = self.scope.decls.get(dim.value)
        if d is not None and not isinstance(d, A.DimDecl):
            raise self.err(NameError_, f"'{dim.value}' is used as a dimension but declared as "
                           f"something else on line {d.span.line}", dim.span)
        self.scope.dims.setdefault(dim.value, None)
        return dim.value

    def check_numbers(self):
        """Every number finite, every expression within the nesting cap (before any work)."""
        for st in self.spec.statements:
            for e in statement_exprs(st):
                depth = nesting_depth(e)
                if depth > LIMITS["depth"]:
                    raise self.err(FormError, f"this expression is nested {depth} levels deep; "
                                   f"the limit is {LIMITS['depth']}", e.span,
                                   "raise it with PDE2GNN_LIMITS=depth=N")
                for x in subexpressions(e):
                    if isinstance(x, A.Number) and not math.isfinite(x.value):
                        raise self.err(FormError,
                                       "this number is beyond the floating-point range "
                                       "(+-1.8e308)", x.span)
            if isinstance(st, A.DimDecl):
                self.check_size(st.value, st.span, "channels", f"dimension '{st.name}'")
            dims = [st.dim] if isinstance(st, (A.FieldDecl, A.InputDecl, A.StateDecl)) else \
                list(st.shape) if isinstance(st, A.LearnDecl) else []
            for d in dims:
                if d is not None and isinstance(d.value, int):
                    self.check_size(d.value, d.span, "channels", "a channel count")

    def check_size(self, value: int, span, limit: str, what: str):
        if value < 1 and limit == "channels":
            raise self.err(ShapeError, f"{what} must be at least 1, got {value}", span)
        if value > LIMITS[limit]:
            raise self.err(ShapeError, f"{what} is {value}, above the limit of "
                           f"{LIMITS[limit]}", span,
                           f"raise it with PDE2GNN_LIMITS={limit}=N if you mean it")

    def learn_type(self, d: A.LearnDecl) -> Type:
        shape = tuple(self.check_dim(x) for x in d.shape)
        if len(shape) > 2:
            raise self.err(ShapeError, "learnable tensors are scalars, vectors [c] or matrices "
                           "[rows, cols]", d.span)
        for c, span in d.constraints:
            if c not in CONSTRAINTS:
                raise self.err(NameError_, f"unknown constraint '{c}' (known: "
                               f"{', '.join(CONSTRAINTS)})", span, did_you_mean(c, CONSTRAINTS))
            if CONSTRAINT_TABLE[c].square and (len(shape) != 2 or shape[0] != shape[1]):
                raise self.err(ShapeError, f"constraint '{c}' needs a square matrix, '{d.name}' "
                               f"has shape [{', '.join(map(str, shape))}]", span)
        if len(shape) == 2:
            return Type(Kind.MATRIX, shape)
        return Type(Kind.SCALAR, shape or (1,))

    def let_type(self, name: str) -> Type:
        if name in self.let_types:
            return self.let_types[name]
        d = self.scope.lets[name]
        if name in self._resolving:
            chain = " -> ".join(self._resolving[self._resolving.index(name):] + [name])
            raise self.err(NameError_, f"'{name}' is defined in terms of itself ({chain})", d.span)
        self._resolving.append(name)
        t = self.expr(d.value)
        self._resolving.pop()
        if d.is_edge:
            if t.kind == Kind.NODE:
                raise self.err(KindError, f"edge '{name}' must be an edge expression, got "
                               f"{t.describe()}; use x_i / x_j for endpoint values", d.value.span)
            if t.kind == Kind.SCALAR:
                t = Type(Kind.EDGE, t.shape)
        if t.kind == Kind.MATRIX:
            raise self.err(KindError, f"let '{name}' cannot be a matrix", d.value.span)
        self.let_types[name] = t
        return t
