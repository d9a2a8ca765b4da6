"""E(n)-equivariance checking of specs with evolving point coordinates (``field p : coords[n]``).

Every value of a spec that declares a ``coords`` field is given one of three transformation
classes under x -> Q x + b (Q orthogonal, b a translation) applied to every point:

- ``invariant`` (I): unchanged, e.g. features, numbers, ``dot(p_i - p_j, p_i - p_j)``;
- ``vector`` (V): rotated, not translated (x -> Q x), e.g. ``p_i - p_j``, ``grad(p)``,
  ``(p_i - p_j) * m_ij``, a velocity ``dt(p)``;
- ``point`` (P): rotated and translated, e.g. ``p``, ``init(p)``, ``p + v``, ``mean_j(p_j)``.

The rules are those of EGNN (Satorras, Hoogeboom & Welling, ICML 2021, eqs. 3-6): only
invariants enter networks and nonlinearities; coordinates are updated along relative vectors
scaled by invariant edge scalars. A spec breaking them (a raw coordinate fed to a network, a
coordinate multiplied by a point, a coordinate channel picked out with ``p[0]``) gets a located
:class:`~pde2gnn.errors.KindError` "breaks E(n) equivariance". Opt-out: declare the field
``node[n]`` instead of ``coords[n]``; it is then an ordinary feature and nothing is checked.
"""
from __future__ import annotations

from typing import Dict

from pde2gnn.errors import KindError, UnsupportedError
from pde2gnn.compiler.lang import ast as A
from pde2gnn.compiler.lang.builtins import BUILTINS, rule
from pde2gnn.compiler.types import endpoint

I, V, P = "invariant", "vector", "point"

_HINT = ("only invariants (features, dot(p_i - p_j, p_i - p_j), norm(p_i - p_j)) may enter "
         "networks and nonlinearities; to opt out, declare the field 'node[n]' instead of "
         "'coords[n]'")


class _Equivariance:
    def __init__(self, checked):
        self.c = checked
        self.points = set(checked.point_fields)
        self.cache: Dict[str, str] = {}

    def fail(self, msg: str, span):
        return KindError(f"{msg}: breaks E(n) equivariance", span, _HINT)

    def name_class(self, name: str, span) -> str:
        base = name
        ep = endpoint(name)
        if ep is not None and name not in self.c.lets and name not in self.c.fields:
            base = ep[0]
        if base in self.points:
            return P
        if base in self.c.lets:
            if base not in self.cache:
                self.cache[base] = I      # a let cannot refer to itself (the checker ensures it)
                self.cache[base] = self.expr(self.c.lets[base].value)
            return self.cache[base]
        return I

    def expr(self, e) -> str:
        if isinstance(e, A.Number):
            return I
        if isinstance(e, A.Name):
            return self.name_class(e.id, e.span)
        if isinstance(e, A.Neg):
            k = self.expr(e.operand)
            if k == P:
                raise self.fail("negating a point reflects it through the origin", e.span)
            return k
        if isinstance(e, A.BinOp):
            return self.binop(e)
        if isinstance(e, A.Index):
            if self.expr(e.operand) != I:
                raise self.fail("picking coordinate channels out of a point or vector", e.span)
            return I
        if isinstance(e, A.Call):
            return self.call(e)
        kids = [getattr(e, f) for f in getattr(e, "__dataclass_fields__", {})]
        for k in kids:
            if isinstance(k, (A.Number, A.Name, A.Neg, A.BinOp, A.Index, A.Call)) \
                    and self.expr(k) != I:
                raise self.fail("a point or vector in an unsupported expression", e.span)
        return I

    def binop(self, e: A.BinOp) -> str:
        a, b = self.expr(e.left), self.expr(e.right)
        if e.op in "+-":
            table = {(I, I): I, (V, V): V, (P, V): P, (V, P): P if e.op == "+" else None,
                     (P, P): V if e.op == "-" else None}
            k = table.get((a, b))
            if k is None:
                what = "adding two points" if (a, b) == (P, P) else \
                    "subtracting a point from a vector" if (a, b) == (V, P) else \
                    "adding an invariant to a point or vector"
                raise self.fail(what, e.span)
            return k
        if e.op == "*":
            if (a, b) == (I, I):
                return I
            if I in (a, b) and V in (a, b):
                return V
            raise self.fail("a product of points or vectors (only vector * invariant scalar "
                            "is equivariant)" if P not in (a, b) else
                            "scaling a point (not translation equivariant; scale p_i - p_j)",
                            e.span)
        if e.op == "/":
            if b == I and a in (I, V):
                return a
            raise self.fail("dividing by, or dividing, a point or vector", e.span)
        if (a, b) != (I, I):
            raise self.fail(f"'{e.op}' applied to a point or vector (it mixes coordinate "
                            "channels)", e.span)
        return I

    def call(self, e: A.Call) -> str:
        ks = [self.expr(a) for a in e.args]
        for _, v in e.kwargs:
            if self.expr(v) != I:
                raise self.fail(f"a point or vector as an option of {e.func}", v.span)
        f = e.func
        if f in self.c.nets:
            for a, k in zip(e.args, ks):
                if k != I:
                    raise self.fail(f"network '{f}' is fed a raw {k} (rotating or translating "
                                    "the inputs changes its output)", a.span)
            return I
        b = BUILTINS.get(f)
        try:
            cls = rule(b, "equivariance") if b is not None else None
        except UnsupportedError as err:
            raise UnsupportedError(err.message, e.func_span) from None
        if cls not in _CLASSES:
            raise UnsupportedError(f"built-in '{f}' declares an unknown equivariance class "
                                   f"{cls!r} (known: {', '.join(_CLASSES)})", e.func_span)
        return _CLASSES[cls](self, e, ks)


def _same(eq, e, ks):                 # init(p): the class of its argument
    return ks[0]


def _inner(eq, e, ks):                # dot: of two invariants or two vectors
    if ks in ([I, I], [V, V]):
        return I
    raise eq.fail(f"{e.func} of a point, or of a vector with a feature", e.span)


def _norm(eq, e, ks):                 # the length of a vector
    if ks[0] == P:
        raise eq.fail(f"{e.func} of a point (its distance to the origin)", e.span)
    return I


def _difference(eq, e, ks):           # grad, lap: differences of points are vectors
    return V if ks[0] == P else ks[0]


def _convex(eq, e, ks):               # mean_j: a convex combination of points is a point
    return ks[0]


def _linear(eq, e, ks):               # sum_j, div: invariant weights keep vectors vectors
    if ks[0] == P:
        raise eq.fail(f"{e.func} of points (weights summing to 1 are needed: mean_j, or a sum "
                      "of differences p_i - p_j)", e.span)
    return ks[0]


def _invariant(eq, e, ks):            # nonlinearities, normalisations, concatenations
    for a, k in zip(e.args, ks):
        if k != I:
            raise eq.fail(f"'{e.func}' applied to a {k} (only invariants may enter "
                          "nonlinearities, normalisations and concatenations)", a.span)
    return I


#: the ``equivariance`` classes of the rows of lang/builtins.py -> their rule
_CLASSES = {"same": _same, "inner": _inner, "norm": _norm, "difference": _difference,
            "convex": _convex, "linear": _linear, "invariant": _invariant}


def check_equivariance(checked) -> Dict[str, str]:
    """Check the E(n) equivariance of a spec with ``coords`` fields.

    Args:
        checked: a :class:`~pde2gnn.compiler.check.CheckedSpec` with ``point_fields`` set.

    Returns:
        The transformation class (``'invariant'``, ``'vector'``, ``'point'``) of every ``let`` /
        ``edge`` definition.

    Raises:
        KindError: located at the offending subexpression ("... breaks E(n) equivariance"),
            also when ``dt(p)`` of a coordinate field is not a vector (a velocity), ``next(p)``
            not a point, or the update of a feature field is not invariant.
    """
    eq = _Equivariance(checked)
    for name in checked.lets:
        eq.name_class(name, checked.lets[name].span)
    for f, equation in checked.equations.items():
        k = eq.expr(equation.rhs)
        if f in eq.points:
            want = P if equation.op == "next" else V
            if k != want and not (k == I and isinstance(equation.rhs, A.Number)
                                  and equation.rhs.value == 0):
                raise eq.fail(f"{equation.op}({f}) of a coordinate field must be a {want}, "
                              f"got a{'n' if k == I else ''} {k}", equation.rhs.span)
        elif k != I:
            raise eq.fail(f"{equation.op}({f}) of a feature field must be invariant, got a {k}",
                          equation.rhs.span)
    return dict(eq.cache)
