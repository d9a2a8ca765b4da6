"""Variational derivatives of graph energies: ``var(E, x)`` -> a node expression in graph operators.

An energy is a scalar ``E(x) = sum_i F(x)_i + sum_ij G(x)_ij`` (``SumI`` / ``SumIJ`` in the IR).
Its variational derivative is the node field ``g`` with ``dE = sum_i <g_i, dx_i>`` for every
perturbation ``dx``, so that ``dt(x) = -var(E, x)`` is the gradient flow of E and E decreases
along it (Di Giovanni et al. 2022, "Understanding convolution on graphs via energies", eq. 5).

It is derived by reverse-mode differentiation *on the expression tree*: :func:`variational`
walks E from the top with a cotangent expression (the symbolic adjoint) and pushes it through
each operator by its transpose:

=====================  ======================================================================
operator               cotangent pushed to the argument (c: cotangent of the result)
=====================  ======================================================================
u @ W                  c @ W^T (``Transpose``; W^T = W for sym / diag / psd / diag_dom)
u * v, u ^ n           product rule, n u^(n-1) c
u_i  (edge <- node)    sum_j c_ij                        (edge (i, j) sends c_ij to node i)
u_j  (edge <- node)    sum_j c_ji  = sum_j swap(c)_ij    (the neighbour's share, see below)
a built-in f(u, ...)   the ``derivative`` of its row in lang/builtins.py (:meth:`_Reverse.by_row`):
                       f'(u) for an elementwise function (``c f'(u)``), a pullback of the
                       arguments u, v, w, the result y and c (``dot``: ``c * v``, ``c * u``;
                       ``sum_j``: ``at_i(c)``; ``norm``: ``c * u / y``; ``squareplus_j``), an
                       equal expression to differentiate instead (``Rewrite``: ``grad`` is
                       ``at_j(u) - at_i(u)``, ``lap`` its stencil) or ``cat``'s channel slices
=====================  ======================================================================

The ``u_j`` rule assumes a symmetric graph ((i, j) in E iff (j, i) in E): then the contribution
of edge (i, j) to node j equals that of edge (j, i) to node i, so ``sum over edges of
<c_ij, dx_j> = sum_i <sum_j c_ji, dx_i>``. ``swap`` exchanges ``x_i`` and ``x_j`` in an edge
expression; ``abar_ij`` is symmetric, and each built-in's row says what it becomes (its ``swap``): ``grad``
changes sign, ``squareplus_j`` (normalised over the edges out of i) becomes ``squareplus_i``
(over the edges into j). For GRAFF's energy
``E = 1/2 sum_i <x_i, x_i Omega> - 1/2 sum_ij abar_ij <x_i, x_j W>`` this gives
``var(E, x) = 1/2 x (Omega + Omega^T) - 1/2 sum_j abar_ij x_j (W + W^T)``.
"""
from __future__ import annotations

import re
from typing import Callable, List

import sympy as sp

from pde2gnn.compiler.lang.builtins import (BUILTINS, CONSTRAINTS, NOT_APPLICABLE, SLICES,
                                            Rewrite)
from pde2gnn.compiler.symbolic import ops as O
from pde2gnn.compiler.symbolic.rewrite import bottom_up

#: constraints whose parametrisation is a symmetric matrix (W^T = W)
SYMMETRIC_CONSTRAINTS = tuple(n for n, c in CONSTRAINTS.items() if c.symmetric)


#: symbolic class -> its row (``exp`` and ``log`` are sympy's own classes)
ROWS = {cls: BUILTINS[n] for n, cls in O.FUNCTIONS.items() if isinstance(cls, type)}


def row_of(e: sp.Expr):
    """The row of lang/builtins.py that ``e``'s operator was lowered from, or None (sums,
    products, powers, ``@``, endpoints, networks: the structural rules of :class:`_Reverse`)."""
    return ROWS.get(type(e)) or BUILTINS.get(getattr(e.func, "spec_name", None) or "")


class EnergyDerivationError(ValueError):
    """var(...) met an operator it cannot differentiate; the caller attaches a source span."""


def swap(e: sp.Expr, kind: Callable[[sp.Expr], str]) -> sp.Expr:
    """The edge expression ``e`` with i and j exchanged (``e_ji`` from ``e_ij``).

    Args:
        e: an IR expression of edge (or lower) kind.
        kind: ``Analyzer.kind``-like function, ``'scalar' | 'node' | 'edge'``.
    """
    if kind(e) != "edge":
        return e
    if isinstance(e, O.AtI):
        return O.AtJ(e.args[0])
    if isinstance(e, O.AtJ):
        return O.AtI(e.args[0])
    if e == O.ABAR:
        return e
    row = row_of(e)
    args = [swap(a, kind) for a in e.args]
    if row is None and e.args:
        return e.func(*args)
    if row is None or row.swap not in ("args", "-") and row.swap not in O.FUNCTIONS:
        raise EnergyDerivationError(f"cannot exchange i and j in {sp.sstr(e)}"
                                    + (f": {row.name} {row.swap}" if row else ""))
    if row.swap == "-":         # grad(u)_ji = -grad(u)_ij
        return -e.func(*args)
    return (e.func if row.swap == "args" else O.FUNCTIONS[row.swap])(*args)


def tidy(e: sp.Expr, channels: Callable[[sp.Expr], int]) -> sp.Expr:
    """Pull one-channel factors out of ``@`` and numbers out of ``sum_j``; distribute over sums.

    ``(c * u) @ W -> c * (u @ W)`` for a one-channel c, ``(u + v) @ W -> u @ W + v @ W``,
    ``sum_j(k * e) -> k * sum_j(e)`` for a number k, so equal terms collect
    (``x @ W / 2 + (x / 2) @ W -> x @ W``).
    """
    def rule(x):
        if isinstance(x, O.MatMul):
            u, w = x.args
            if u.is_Add:
                return sp.Add(*[rule(O.MatMul(a, w)) for a in u.args])
            if u.is_Mul:
                single = [a for a in u.args if channels(a) == 1]
                if single and len(single) < len(u.args):
                    rest = [a for a in u.args if channels(a) != 1]
                    return sp.Mul(*single) * rule(O.MatMul(sp.Mul(*rest), w))
        if isinstance(x, (O.SumJ, O.AtI, O.AtJ)):
            u = x.args[0]
            if u.is_Add:
                return sp.Add(*[rule(type(x)(a)) for a in u.args])
            if u.is_Mul:
                num = [a for a in u.args if a.is_number]
                if num:
                    rest = [a for a in u.args if not a.is_number]
                    return sp.Mul(*num) * rule(type(x)(sp.Mul(*rest)))
        return x

    for _ in range(10):
        new = sp.expand(bottom_up(e, rule), mul=True, deep=True, power_exp=False, power_base=False,
                        log=False, multinomial=False, basic=False)
        if new == e:
            break
        e = new
    return e


def _count(channels) -> sp.Expr:
    """A channel count as a sympy value: a number, or the symbol of a dimension (``d``)
    bound when the program is compiled."""
    return sp.Integer(channels) if isinstance(channels, int) else sp.Symbol(str(channels))


class _Reverse:
    """Accumulates ``var(E, x)`` by pushing cotangents down the energy's expression tree."""

    def __init__(self, wrt: sp.Symbol, kind, channels, symmetric: set):
        self.wrt, self.kind, self.channels, self.symmetric = wrt, kind, channels, symmetric
        self.terms: List[sp.Expr] = []

    def uses(self, e: sp.Expr) -> bool:
        if isinstance(e, O.Init):
            return False
        if e == self.wrt:
            return True
        return any(self.uses(a) for a in e.args)

    def transpose(self, w: sp.Expr) -> sp.Expr:
        return w if (w.is_Symbol and w.name in self.symmetric) else O.Transpose(w)

    def pull(self, e: sp.Expr, rule: str, c: sp.Expr) -> sp.Expr:
        """The cotangent of one of ``e``'s arguments by a ``derivative`` rule of its row: an
        expression of the arguments ``u, v, w``, the result ``y`` and its cotangent ``c``."""
        names = {**O.FUNCTIONS, "at_i": O.AtI, "at_j": O.AtJ, "fill": O.Fill,
                 "swap": lambda x: swap(x, self.kind), "y": e, "c": c, **dict(zip("uvw", e.args))}
        if re.search(r"\bn\b", rule):      # the channels of u (mean_heads)
            names["n"] = _count(self.channels(e.args[0]))
        return sp.sympify(rule, locals=names, convert_xor=True)

    def back(self, e: sp.Expr, c: sp.Expr) -> None:
        """Add the contribution of sub-expression ``e`` with cotangent ``c`` (same shape)."""
        if not self.uses(e):
            return
        if e == self.wrt:
            self.terms.append(c)
        elif e.is_Add:
            for a in e.args:
                if self.uses(a) and self.channels(a) == 1 and self.channels(e) != 1:
                    raise EnergyDerivationError(f"one-channel term {sp.sstr(a)} broadcast over "
                                                "channels")
                self.back(a, c)
        elif e.is_Mul:
            for k, a in enumerate(e.args):
                if not self.uses(a):
                    continue
                if self.channels(a) == 1 and self.channels(e) != 1:
                    raise EnergyDerivationError(f"one-channel factor {sp.sstr(a)} broadcast "
                                                "over channels; write it with dot(...)")
                self.back(a, c * sp.Mul(*(e.args[:k] + e.args[k + 1:])))
        elif e.is_Pow:
            b, n = e.args
            if self.uses(n):
                raise EnergyDerivationError("the state in an exponent")
            self.back(b, c * n * b ** (n - 1))
        elif isinstance(e, O.MatMul):
            self.back(e.args[0], O.MatMul(c, self.transpose(e.args[1])))
        elif isinstance(e, O.AtI):
            self.back(e.args[0], O.SumJ(c))
        elif isinstance(e, O.AtJ):
            self.back(e.args[0], O.SumJ(swap(c, self.kind)))
        elif row_of(e) is not None:
            self.by_row(e, row_of(e), c)
        else:
            name = getattr(e.func, "spec_name", "") or e.func.__name__.lower()
            raise EnergyDerivationError(f"{name} cannot be differentiated")

    def by_row(self, e: sp.Expr, row, c: sp.Expr) -> None:
        """Push ``c`` through ``e`` by the ``derivative`` of its row (see :class:`Builtin`)."""
        if row.energy is not None or row.derivative in (None, NOT_APPLICABLE):
            raise EnergyDerivationError(f"{row.name} {row.energy}" if row.energy else
                                        f"built-in '{row.name}' declares no derivative rule "
                                        "for var(...) (the field 'derivative' of its row in "
                                        "lang/builtins.py)")
        rules = row.derivative
        if isinstance(rules, Rewrite):          # through an equal expression (its stencil)
            self.back(self.pull(e, rules, c), c)
        elif rules == SLICES:                   # cat: the channels each argument filled
            start = sp.Integer(0)
            for a in e.args:
                k = _count(self.channels(a))
                self.back(a, O.Slice(c, start, start + k))
                start += k
        elif row.group == "elementwise":        # f'(u): the cotangent becomes c f'(u)
            self.back(e.args[0], c * self.pull(e, rules, c))
        else:                                   # pullbacks, one per argument
            for a, r in zip(e.args, (rules,) if isinstance(rules, str) else rules):
                pulled = self.pull(e, r, c) if self.uses(a) else sp.Integer(0)
                if pulled != 0:                 # a comparison: derivative 0 almost everywhere
                    self.back(a, pulled)


def variational(energy: sp.Expr, wrt: sp.Symbol, kind, channels, symmetric=()) -> sp.Expr:
    """``var(E, x)``: the node expression g with dE = sum_i <g_i, dx_i> (symmetric graph).

    Args:
        energy: scalar IR expression made of ``SumI`` / ``SumIJ`` terms (``abar``, endpoints,
            ``@``, ``dot``, ``grad``, elementwise functions...).
        wrt: the field symbol x.
        kind, channels: ``Analyzer.kind`` / ``Analyzer.channels``-like functions.
        symmetric: names of matrices known to be symmetric (their transposes are dropped).

    Returns:
        g, a node-kind expression of the channels of x (``0`` if E does not depend on x).

    Raises:
        EnergyDerivationError: an operator whose row has no derivative (relu, abs, mean_j ...).
    """
    rev = _Reverse(wrt, kind, channels, set(symmetric))
    rev.back(energy, sp.Integer(1))
    return tidy(sp.Add(*rev.terms), channels)


def receiver_only(e: sp.Expr) -> sp.Expr:
    """Inside ``sum_i(...)``: read ``x_i`` as the node value x (the checker rejects ``x_j``),
    except inside a reduction over N(i) (a row that takes edge values: ``sum_j``,
    ``logsumexp_j``), where ``x_i`` stays an edge value: ``sum_i(sum_j(dot(x_i, x_j)))``."""
    if isinstance(e, O.AtI):
        return e.args[0]
    row = row_of(e) if e.args else None
    if row is not None and row.takes == "edge" or not e.args:
        return e
    return e.func(*[receiver_only(a) for a in e.args])
