"""Elementwise functions of the symbolic IR: applied entry by entry, so row-wise on node and
edge values (part of the vocabulary of :mod:`pde2gnn.compiler.symbolic.ops`, which re-exports
them).

============  ===============================================================================
class         meaning
============  ===============================================================================
Sigmoid, Relu 1 / (1 + e^-u), max(u, 0)
Tanh, Sin,    kept unevaluated (sympy's own tanh / sin / cos / Abs query the assumption system
Cos, Abs      at every nesting level, which is exponential in depth, and rewrite abs(exp(u))
              to exp(re(u)) since IR symbols carry no assumptions); folded on numbers
Elu           ELU, u for u > 0 and exp(u) - 1 otherwise (NSD's activation)
Detach        u, with no gradient back through it (torch.detach); a number is folded to itself;
              no derivative (kept out of energies)
Lt ... Eq     comparisons: 1 where true, 0 elsewhere (folded on numbers); derivative 0
Where(c,a,b)  a where c != 0, b elsewhere
Dropout(u, p) inverted dropout with rate p while training, u in evaluation; no derivative
              (kept out of energies)
============  ===============================================================================

Their kernels, derivatives for ``var`` and other rules are in their rows of lang/builtins.py.
"""
from __future__ import annotations

import math

import sympy as sp

from pde2gnn.compiler.lang.builtins import BUILTINS
from pde2gnn.compiler.symbolic.graph_op import GraphOp


def _fold(name: str):
    """The function that folds built-in ``name`` on a number: its row's ``fold``."""
    return staticmethod(getattr(math, BUILTINS[name].fold))


class Sigmoid(GraphOp):
    nargs = 1
    spec_name = "sigmoid"

    def _eval_is_real(self):
        return True

    def fdiff(self, argindex=1):
        s = Sigmoid(self.args[0])
        return s * (1 - s)


class Relu(GraphOp):
    nargs = 1
    spec_name = "relu"


class _Elementwise(GraphOp):
    """An elementwise function kept unevaluated except on plain numbers (folded to a Float)."""

    nargs = 1
    _math = None

    @classmethod
    def eval(cls, u):
        if cls._math is not None and u.is_Number and u.is_finite:
            return sp.Float(cls._math(float(u)))
        return None


class Tanh(_Elementwise):
    spec_name = "tanh"
    _math = _fold("tanh")

    def fdiff(self, argindex=1):
        return 1 - Tanh(self.args[0]) ** 2


class Sin(_Elementwise):
    spec_name = "sin"
    _math = _fold("sin")

    def fdiff(self, argindex=1):
        return Cos(self.args[0])


class Cos(_Elementwise):
    spec_name = "cos"
    _math = _fold("cos")

    def fdiff(self, argindex=1):
        return -Sin(self.args[0])


class Elu(_Elementwise):
    """ELU (Clevert et al. 2016): u for u > 0, exp(u) - 1 otherwise (alpha = 1)."""

    spec_name = "elu"
    _math = staticmethod(lambda u: u if u > 0 else math.expm1(u))


class Detach(_Elementwise):
    """Stop-gradient: the value u, through which autograd sends no gradient (``torch.detach``).
    No ``fdiff``: the table keeps it out of energies, the one place the IR is differentiated."""

    spec_name = "detach"

    @classmethod
    def eval(cls, u):
        return u if u.is_Number else None     # a number carries no gradient: kept exact


class _Compare(GraphOp):
    """``lt(a, b)`` ... ``eq(a, b)``: 1 where the comparison holds, 0 elsewhere (folded on
    numbers). Piecewise constant: the derivative is 0 almost everywhere."""

    nargs = 2
    _op = None

    @classmethod
    def eval(cls, a, b):
        if a.is_Number and b.is_Number:
            return sp.Integer(int(cls._op(float(a), float(b))))
        return None

    def fdiff(self, argindex=1):
        return sp.Integer(0)


class Lt(_Compare):
    spec_name, _op = "lt", staticmethod(lambda a, b: a < b)


class Le(_Compare):
    spec_name, _op = "le", staticmethod(lambda a, b: a <= b)


class Gt(_Compare):
    spec_name, _op = "gt", staticmethod(lambda a, b: a > b)


class Ge(_Compare):
    spec_name, _op = "ge", staticmethod(lambda a, b: a >= b)


class Eq(_Compare):
    spec_name, _op = "eq", staticmethod(lambda a, b: a == b)


class Where(GraphOp):
    """``where(c, a, b)``: a where c != 0, b elsewhere; folded when c is a number."""

    nargs = 3
    spec_name = "where"

    @classmethod
    def eval(cls, c, a, b):
        if c.is_Number:
            return a if c != 0 else b
        if a == b:
            return a
        return None

    def fdiff(self, argindex=1):
        c = self.args[0]
        return {1: sp.Integer(0), 2: Where(c, 1, 0), 3: Where(c, 0, 1)}[argindex]


class Dropout(GraphOp):
    """``Dropout(u, p)``: inverted dropout of u with rate p (a number once params are bound).
    Random while training, so it has no ``fdiff`` and the table keeps it out of energies; two
    equal ``Dropout`` expressions are one value, so they share one mask."""

    nargs = 2
    spec_name = "dropout"

    @classmethod
    def eval(cls, u, p):
        if p.is_Number and p == 0:
            return u      # rate 0: the identity, exactly
        return u if u.is_Number and u == 0 else None


class Abs(_Elementwise):
    spec_name = "abs"
    _math = _fold("abs")
