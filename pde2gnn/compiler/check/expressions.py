"""Expressions: kinds (scalar / node / edge / matrix) and channel shapes of names, operators and
built-in calls (rules from lang/builtins.py).

One of the rule sets of :class:`pde2gnn.compiler.check.checker.Checker`; every method reads and
writes the checker's state (declared names, types, dimensions).
"""
from __future__ import annotations

from typing import Optional

from pde2gnn.errors import (ArgumentError, EnergyError, FormError, KindError, NameError_,
                            ShapeError, UnsupportedError, did_you_mean)
from pde2gnn.compiler.lang import ast as A
from pde2gnn.compiler.lang.builtins import BUILTINS as BUILTIN_TABLE
from pde2gnn.compiler.lang.builtins import EDGE_BUILTINS, rule
from pde2gnn.compiler.check import sheaf
from pde2gnn.compiler.lang.kinds import Kind
from pde2gnn.compiler.types import (BUILTINS, ENERGY_OPS, SCALAR, SHEAF_OPS, Type,
                    add_channels, endpoint, resolve_channels, subexpressions)


class ExpressionRules:
    def depends_on_state_or_learn(self, e: A.Expr) -> bool:
        return any(isinstance(x, A.Name) and not (
            x.id in self.scope.params or x.id in self.scope.dims or (x.id == "pi" and x.id not in self.scope.decls))
            for x in subexpressions(e))

    def _value(self, e: A.Expr) -> Optional[float]:
        """The number a literal or a param with a literal value stands for, else None."""
        if isinstance(e, A.Number):
            return float(e.value)
        if isinstance(e, A.Neg):
            v = self._value(e.operand)
            return None if v is None else -v
        if isinstance(e, A.Name) and e.id in self.scope.params:
            return self._value(self.scope.params[e.id].value)
        return None

    def _integer(self, e: A.Expr) -> bool:
        """True if the exponent ``e`` is an integer (a literal, or a param's default value)."""
        v = self._value(e)
        return v is not None and float(v).is_integer()

    def _non_negative(self, e: A.Expr) -> bool:
        """True if ``e`` cannot be negative: a call its row's ``sign`` says is (``nonneg``:
        relu, abs, exp, sigmoid, sqrt, norm, ...; ``preserves``: with non-negative arguments),
        a non-negative number or param, and sums, products, quotients and powers of those.

        Raises:
            UnsupportedError: the row of a called built-in declares no ``sign``.
        """
        if isinstance(e, A.Call):
            b = BUILTIN_TABLE.get(e.func)
            sign = self.row_rule(b, "sign", e.func_span) if b is not None else "any"
            return sign == "nonneg" or sign == "preserves" and all(
                self._non_negative(a) for a in e.args)
        if isinstance(e, A.BinOp) and e.op in "+*/^":
            return self._non_negative(e.left) and (e.op == "^" or self._non_negative(e.right))
        if isinstance(e, A.Name) and e.id in self.scope.lets:
            return self._non_negative(self.scope.lets[e.id].value)
        v = self._value(e)
        return v is not None and v >= 0

    def row_rule(self, b, concern: str, span):
        """:func:`~pde2gnn.compiler.lang.builtins.rule`, located at ``span`` when it fails."""
        try:
            return rule(b, concern)
        except UnsupportedError as err:
            raise self.err(UnsupportedError, err.message, span) from None

    # ------------------------------------------------------------ expressions
    def expr(self, e: A.Expr) -> Type:
        t = self.types.get(id(e))
        if t is None:
            t = self._expr(e)
            if t.kind == Kind.SHEAF:
                sheaf.check_sheaf_use(self, e)
            self.types[id(e)] = t
        return t

    def name(self, e: A.Name) -> Type:
        n = e.id
        if n in self.scope.fields or n in self.scope.inputs:
            t = self.scope.fields.get(n) or self.scope.inputs[n]
            if t.kind == Kind.EDGE and self._energy is not None:
                raise self.err(EnergyError, f"edge input '{n}' cannot appear in energy "
                               f"'{self._energy}': var(...) needs its value on the reversed "
                               "edge, which is not given; use it in the flow instead "
                               f"(e.g. div({n} * grad(x)))", e.span)
            return t
        if n in self.scope.lets:
            return self.let_type(n)
        if n in self.scope.learns:
            return self.learn_types[n]
        if n in self.scope.params or n in self.scope.dims:
            return SCALAR
        if n in EDGE_BUILTINS:
            return Type(Kind.EDGE, (1,))
        if n in self.scope.nets:
            raise self.err(KindError, f"network '{n}' must be called, e.g. {n}(...)", e.span)
        if n in self.scope.energies:
            raise self.err(KindError, f"energy '{n}' can only be used as var({n}, field)", e.span)
        ep = endpoint(n)
        if ep and ep[0] not in self.scope.decls:
            base = ep[0]
            known = list(self.scope.decls) + [f"{b}_{s}" for b in self.scope.decls for s in "ij"]
            raise self.err(NameError_, f"unknown name '{n}' (no node value '{base}' to take at "
                           f"endpoint {ep[1]})", e.span, did_you_mean(n, known))
        if ep:
            base_t = self.name(A.Name(ep[0], e.span))
            if base_t.kind != Kind.NODE:
                raise self.err(KindError, f"'{n}' takes a node value at an edge endpoint, but "
                               f"'{ep[0]}' is {base_t.describe()}", e.span)
            return Type(Kind.EDGE, base_t.shape, base_t.stalk)
        if n in ("t", "pi"):
            return SCALAR
        raise self.err(NameError_, f"unknown name '{n}'", e.span,
                       did_you_mean(n, list(self.scope.decls) + list(BUILTINS)))

    def _expr(self, e: A.Expr) -> Type:
        if isinstance(e, A.Number):
            return SCALAR
        if isinstance(e, A.Name):
            return self.name(e)
        if isinstance(e, A.Neg):
            t = self.expr(e.operand)
            if t.kind == Kind.MATRIX:
                raise self.err(KindError, "a matrix can only be used on the right of '@'", e.span)
            return t
        if isinstance(e, A.BinOp):
            return self.binop(e)
        if isinstance(e, A.Index):
            t = self.expr(e.operand)
            if t.kind == Kind.MATRIX:
                raise self.err(KindError, "channels of a matrix cannot be selected", e.span)
            if self._energy is not None and self._depends_on_field(e.operand):
                raise self.err(EnergyError, "a channel slice of the state cannot be "
                               f"differentiated by var(...), so it cannot appear in energy "
                               f"'{self._energy}'", e.span, "write the energy on the whole "
                               "field, e.g. with dot(x, x @ P) for a projection P")
            c = resolve_channels(t.channels, {k: v for k, v in self.scope.dims.items() if v})
            if e.stop <= e.start:
                raise self.err(ShapeError, "an empty channel range", e.span)
            if isinstance(c, int) and e.stop > c:
                raise self.err(ShapeError, f"channel {e.stop - 1} is out of range: the value has "
                               f"{c} channel(s) (numbered from 0)", e.span)
            if not isinstance(c, int):   # checked when the dimensions are bound
                self.index_checks.append((c, e.stop, e.span))
            return Type(t.kind, (e.stop - e.start,))
        return self.call(e)

    def combine(self, a: Type, b: Type, span, what: str) -> Type:
        if a.kind == Kind.MATRIX or b.kind == Kind.MATRIX:
            raise self.err(KindError, f"a matrix can only be used on the right of '@' "
                           f"(in {what})", span)
        if a.stalk is not None or b.stalk is not None:
            return sheaf.combine_stalks(self, a, b, span, what)
        if {a.kind, b.kind} == {"node", "edge"}:
            raise self.err(KindError, f"cannot combine a node value with an edge value in {what}; "
                           "use x_i or x_j to take a node value at an edge's endpoint", span)
        kind = "edge" if "edge" in (a.kind, b.kind) else "node" if "node" in (a.kind, b.kind) \
            else "scalar"
        ca, cb = a.channels, b.channels
        if ca != cb and 1 not in (ca, cb):
            raise self.err(ShapeError, f"channel counts differ in {what}: {a.describe()} and "
                           f"{b.describe()}", span)
        return Type(kind, (cb if ca == 1 else ca,))

    def binop(self, e: A.BinOp) -> Type:
        if e.op in "+-*/":   # a chain a + b - c ... typed iteratively, left to right
            ops, chain, x = ("+-" if e.op in "+-" else "*/"), [], e
            while isinstance(x, A.BinOp) and x.op in ops and id(x) not in self.types:
                chain.append(x)
                x = x.left
            t = self.expr(x)
            for node in reversed(chain):
                t = self.combine(t, self.expr(node.right), node.span, f"'{node.op}'")
                self.types[id(node)] = t
            return t
        a = self.expr(e.left)
        b = self.expr(e.right)
        if e.op == "@" and (a.kind == Kind.MATRIX or a.stalk is not None) and b.kind != Kind.SHEAF:
            return sheaf.stalk_matmul(self, e, a, b)
        if e.op == "@":
            if b.kind != Kind.MATRIX:
                raise self.err(KindError, f"the right operand of '@' must be a learnable matrix, "
                               f"got {b.describe()}", e.right.span)
            if a.kind == Kind.MATRIX:
                raise self.err(KindError, "write products of matrices as x @ A @ B", e.left.span)
            if a.channels != b.shape[0]:
                raise self.err(ShapeError, f"'@' needs {b.shape[0]} channels on the left "
                               f"(matrix [{b.shape[0]}, {b.shape[1]}]), got {a.describe()}", e.span)
            return Type(a.kind, (b.shape[1],))
        if e.op == "^" and b.kind != Kind.SCALAR:
            raise self.err(KindError, f"an exponent must be a scalar, got {b.describe()}",
                           e.right.span)
        if e.op == "^" and a.kind in ("node", "edge") and not self._integer(e.right) \
                and not self._non_negative(e.left):
            raise self.err(FormError, "a non-integer power of a value that can be negative is "
                           "undefined (NaN) for negative values", e.span,
                           "write the base so it cannot be negative, e.g. relu(x)^p or abs(x)^p "
                           "(exact for a state that stays >= 0), or use an integer exponent")
        return self.combine(a, b, e.span, f"'{e.op}'")

    def call(self, e: A.Call) -> Type:
        f = e.func
        if f in self.scope.nets:
            return self.net_call(e)
        if self._energy is not None and f in BUILTIN_TABLE:
            self.energy_use(e, BUILTIN_TABLE[f])
        if f == "cat":
            if len(e.args) < 1 or e.kwargs:
                raise self.err(ArgumentError, "cat takes one or more values", e.span)
            ts = [self.expr(a) for a in e.args]
            kinds = {t.kind for t in ts}
            if kinds & {Kind.MATRIX, Kind.SCALAR, Kind.SHEAF}:
                bad = next(a for a, t in zip(e.args, ts)
                           if t.kind in (Kind.MATRIX, Kind.SCALAR, Kind.SHEAF))
                raise self.err(KindError, "cat joins the channels of node or edge values, got "
                               f"{self.expr(bad).describe()}", bad.span)
            if kinds == {Kind.NODE, Kind.EDGE}:
                raise self.err(KindError, "cat cannot join node and edge values; take node "
                               "values at an endpoint with x_i / x_j", e.span)
            return Type(kinds.pop(), (add_channels(*(t.channels for t in ts)),))
        if f not in BUILTINS:
            if f in self.scope.decls:
                raise self.err(KindError, f"'{f}' is not a function", e.func_span)
            raise self.err(NameError_, f"unknown operator '{f}'", e.func_span,
                           did_you_mean(f, BUILTINS + ("cat",) + tuple(self.scope.nets)))
        if f in ENERGY_OPS:
            return self.energy_call(e)
        if f in SHEAF_OPS and self._energy is None:
            return sheaf.sheaf_call(self, e)
        b = BUILTIN_TABLE[f]
        heads = self.heads(e) if "heads" in b.keywords else None
        if len(e.args) != b.nargs or (e.kwargs and not b.keywords):
            raise self.err(ArgumentError, f"{f} takes {b.nargs} argument"
                           f"{'s' if b.nargs > 1 else ''}, got {len(e.args) + len(e.kwargs)}",
                           e.span)
        if f == "init":
            if self.scope.discrete:
                raise self.err(FormError, "init(...) is the state at t = 0 of a continuous "
                               "model; a discrete-time model keeps what it needs in a 'state'",
                               e.func_span)
            a = e.args[0]
            if not (isinstance(a, A.Name) and a.id in self.scope.fields):
                raise self.err(KindError, "init(...) takes an evolving field by name", a.span)
            return self.scope.fields[a.id]
        ts = [self.expr(a) for a in e.args]
        t = ts[0]
        if b.group == "compare":      # lt(a, b) / where(c, a, b): the arguments broadcast
            for a, ta in zip(e.args, ts):
                if ta.kind == Kind.MATRIX or ta.stalk is not None:
                    raise self.err(KindError, f"{f} compares node, edge or scalar values, got "
                                   f"{ta.describe()}", a.span)
            for ta in ts[1:]:
                t = self.combine(t, ta, e.span, f)
            return t
        if t.kind == Kind.MATRIX:
            raise self.err(KindError, f"{f} does not apply to a matrix", e.args[0].span)
        if f == "dropout":
            self.dropout_rate(e.args[1])
        if b.takes is not None and t.kind != b.takes:
            arg = e.args[0]
            label = f" {arg.id}" if isinstance(arg, A.Name) else ""
            raise self.err(KindError, f"{f} expects {'an' if b.takes == Kind.EDGE else 'a'} "
                           f"{b.takes} field, got {t.describe()}{label}", arg.span)
        if b.axes:                    # dx, dgrad: node coordinates; dz: a 3-D domain
            axes = len(self.scope.domain.bounds) if self.scope.domain else 0
            if not axes:
                raise self.err(FormError, f"{f} is a geometric operator and needs node "
                               "coordinates: declare a domain, e.g. 'domain pos : [0, 1] x [0, 1]'",
                               e.func_span)
            if axes < b.axes:
                raise self.err(FormError, f"{f} needs a {b.axes}-D domain, "
                               f"'{self.scope.domain.name}' has {axes} axes", e.func_span)
        if b.channels == "heads":     # dot(u, v) / dot(u, v, heads=H)
            if ts[0].channels != ts[1].channels:
                raise self.err(ShapeError, f"dot needs equal channel counts, got "
                               f"{ts[0].describe()} and {ts[1].describe()}", e.span)
            c = ts[0].channels
            if isinstance(heads, int) and isinstance(c, int) and c % heads:
                raise self.err(ShapeError, f"dot with heads={heads} needs a channel count "
                               f"divisible by {heads}, got {ts[0].describe()}", e.span)
            if heads is not None:
                self.head_checks.append((c, heads, e.span))
            return Type(self.combine(ts[0], ts[1], e.span, "dot").kind, (heads or 1,))
        if b.channels == "one":
            return Type(b.gives or t.kind, (1,))
        return Type(b.gives or t.kind, t.shape, t.stalk)   # a stalk field stays one

    def dropout_rate(self, p: A.Expr) -> None:
        """The rate of ``dropout(u, p)``: a number in [0, 1) or a ``param`` (its bound value is
        checked by the lowering), so the generated code holds it as a constant.

        Raises:
            ArgumentError: anything else, located at ``p``.
        """
        if isinstance(p, A.Name) and p.id in self.scope.params:
            return
        if isinstance(p, A.Number) and 0 <= p.value < 1:
            return
        raise self.err(ArgumentError, "the rate of dropout(u, p) must be a number in [0, 1) or "
                       "a param", p.span)

    def heads(self, e: A.Call):
        """The ``heads=H`` of ``dot(u, v, heads=H)`` (an integer or a dimension name), or None.

        Multi-head inner product: the channels split into H equal blocks, one inner product
        per block (Vaswani et al. 2017; GRAND / BLEND attention heads).
        """
        if not e.kwargs:
            return None
        if self._energy is not None:
            raise self.err(EnergyError, f"multi-head dot is not supported in energies "
                           f"(energy '{self._energy}')", e.span)
        (key, value), *rest = e.kwargs
        if key != "heads" or rest:
            raise self.err(ArgumentError, "dot takes one keyword argument, heads=H", e.span)
        if isinstance(value, A.Number) and value.value == int(value.value) and value.value >= 1:
            return int(value.value)
        if isinstance(value, A.Name) and value.id in self.scope.dims:
            return value.id
        raise self.err(ArgumentError, "heads must be a positive integer or a dimension name",
                       value.span)
