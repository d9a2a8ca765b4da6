"""Declarations: names (reserved, built-in, twice), dimensions, size limits, learnable shapes and
let types.

One of the rule sets of :class:`pde2gnn.check.checker.Checker`; every method reads and
writes the checker's state (declared names, types, dimensions).
"""
from __future__ import annotations

import math
from typing import Optional

from ..errors import FormError, KindError, NameError_, ShapeError, did_you_mean
from ..lang import ast as A
from ..lang.builtins import CONSTRAINTS as CONSTRAINT_TABLE
from ..lang.parser import KEYWORDS
from .types import (BUILTINS, CONSTRAINTS, COORDINATES, LIMITS, RESERVED, Channels, Type,
                    nesting_depth, statement_exprs, subexpressions)


class DeclarationRules:
    # ------------------------------------------------------------ declarations
    def declare(self, name: str, decl, span):
        if name in KEYWORDS or name in RESERVED:
            raise self.err(NameError_, f"'{name}' is reserved and cannot be declared", span)
        if name.startswith("_"):
            raise self.err(NameError_, f"names starting with '_' are reserved for generated "
                           f"code: '{name}'", span)
        dom = self.domain
        if dom is not None and name in COORDINATES[:len(dom.bounds)] and decl is not dom:
            raise self.err(NameError_, f"'{name}' is a coordinate of domain '{dom.name}' "
                           f"(line {dom.span.line}): with a domain, "
                           f"{', '.join(COORDINATES[:len(dom.bounds)])} name the node "
                           "coordinates; rename this declaration", span)
        if name in BUILTINS:
            raise self.err(NameError_, f"'{name}' is a built-in operator and cannot be redeclared",
                           span)
        if name in self.decls:
            first, second = sorted((self.decls[name].span, span),
                                   key=lambda sp: (sp.line, sp.column))
            raise self.err(NameError_, f"'{name}' is declared twice (first on line {first.line})",
                           second)
        self.decls[name] = decl

    def check_dim(self, dim: Optional[A.Dim]) -> Channels:
        if dim is None:
            return 1
        if isinstance(dim.value, int):
            if dim.value < 1:
                raise self.err(ShapeError, "a dimension must be at least 1", dim.span)
            return dim.value
        d = self.decls.get(dim.value) or next(
            (st for st in self.spec.statements if getattr(st, "name", None) == dim.value
             and not isinstance(st, (A.DimDecl, A.ModelDecl))), None)
        if d is not None and not isinstance(d, A.DimDecl):
            raise self.err(NameError_, f"'{dim.value}' is used as a dimension but declared as "
                           f"something else on line {d.span.line}", dim.span)
        self.dims.setdefault(dim.value, None)
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
            return Type("matrix", shape)
        return Type("scalar", shape or (1,))

    def let_type(self, name: str) -> Type:
        if name in self.let_types:
            return self.let_types[name]
        d = self.lets[name]
        if name in self._resolving:
            chain = " -> ".join(self._resolving[self._resolving.index(name):] + [name])
            raise self.err(NameError_, f"'{name}' is defined in terms of itself ({chain})", d.span)
        self._resolving.append(name)
        t = self.expr(d.value)
        self._resolving.pop()
        if d.is_edge:
            if t.kind == "node":
                raise self.err(KindError, f"edge '{name}' must be an edge expression, got "
                               f"{t.describe()}; use x_i / x_j for endpoint values", d.value.span)
            if t.kind == "scalar":
                t = Type("edge", t.shape)
        if t.kind == "matrix":
            raise self.err(KindError, f"let '{name}' cannot be a matrix", d.value.span)
        self.let_types[name] = t
        return t
