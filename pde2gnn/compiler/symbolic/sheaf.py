"""Sheaf operators in the sympy IR (see :mod:`pde2gnn.compiler.check.sheaf` for the language).

==================  ===========  ===============================================================
class               kind         meaning
==================  ===========  ===============================================================
SheafMaps(F, u, d)  edge         restriction maps of network F from node value u (stalk d): the
                                 map F_ij at the i end of every directed edge (i, j)
SheafOperator(M,n)  graph level  the sheaf Laplacian L_F of maps M (n = 1: normalised,
                                 (D + I)^-1/2 L_F (D + I)^-1/2), assembled once where M is fixed
SheafLap(L, x)      node         -L x (negative semi-definite, like ``lap``)
SheafGrad(M, x)     edge         F_ji x_j - F_ij x_i
SheafDiv(M, y)      node         sum_j F_ij^T y_ij
StalkLeft(W, u, d)  as u         (I ⊗ W) u: W mixes the d stalk coordinates
StalkRight(u, W, d) as u         u W per stalk coordinate: W mixes the k channels
PerStalk(v, k)      scalar       v [d] repeated k times each: a per-stalk-coordinate coefficient
==================  ===========  ===============================================================

The classes answer the analyser's questions themselves (``analysis_kind``,
``analysis_channels``); the stencil stage leaves them as they are (they are neither linear
stencils nor endpoint values), and the code generator calls :mod:`pde2gnn.compiler.backend.sheaf_ops`.
"""
from __future__ import annotations

import sympy as sp

from pde2gnn.compiler.check import resolve_channels
from pde2gnn.compiler.lang.kinds import Kind
from pde2gnn.compiler.symbolic.ops import GraphOp


class _SheafOp(GraphOp):
    _kind = Kind.NODE

    def analysis_kind(self, an) -> Kind:
        return self._kind

    def analysis_channels(self, an) -> int:
        return an.channels(self.args[1])


class SheafMaps(_SheafOp):
    nargs = 3
    spec_name = "restriction"
    _kind = Kind.EDGE

    def analysis_channels(self, an) -> int:
        return 1

    def _sympystr(self, printer):
        return f"restriction[{self.args[0]}]({printer._print(self.args[1])})"


class SheafOperator(_SheafOp):
    nargs = 2
    spec_name = "sheaf_operator"
    _kind = Kind.SCALAR

    def analysis_channels(self, an) -> int:
        return 1

    def _sympystr(self, printer):
        return f"{'Delta' if self.args[1] else 'L'}[{printer._print(self.args[0])}]"


class SheafLap(_SheafOp):
    nargs = 2
    spec_name = "sheaf_lap"

    def _sympystr(self, printer):
        op = self.args[0]
        name = "sheaf_nlap" if op.args[1] else "sheaf_lap"
        return f"{name}({printer._print(op.args[0])}, {printer._print(self.args[1])})"


class SheafGrad(_SheafOp):
    nargs = 2
    spec_name = "sheaf_grad"
    _kind = Kind.EDGE


class SheafDiv(_SheafOp):
    nargs = 2
    spec_name = "sheaf_div"


class StalkLeft(_SheafOp):
    nargs = 3
    spec_name = "stalk_left"

    def analysis_kind(self, an) -> Kind:
        return an.kind(self.args[1])

    def analysis_channels(self, an) -> int:
        w = an.symbols[self.args[0].name].type.shape[0]
        return int(resolve_channels(w, an.dims)) * an.channels(self.args[1]) // int(self.args[2])

    def _sympystr(self, printer):
        return f"({self.args[0]} @ {printer._print(self.args[1])})"


class StalkRight(_SheafOp):
    nargs = 3
    spec_name = "stalk_right"

    def analysis_kind(self, an) -> Kind:
        return an.kind(self.args[0])

    def analysis_channels(self, an) -> int:
        w = an.symbols[self.args[1].name].type.shape[1]
        return int(resolve_channels(w, an.dims)) * int(self.args[2])

    def _sympystr(self, printer):
        return f"({printer._print(self.args[0])} @ {self.args[1]})"


class PerStalk(_SheafOp):
    nargs = 2
    spec_name = "per_stalk"
    _kind = Kind.SCALAR

    def analysis_channels(self, an) -> int:
        return an.channels(self.args[0]) * int(self.args[1])


SHEAF_CLASSES = (SheafMaps, SheafOperator, SheafLap, SheafGrad, SheafDiv, StalkLeft,
                 StalkRight, PerStalk)


def dim_expr(c) -> sp.Expr:
    """A channel count (int, dimension name or sympy expression) as a sympy expression."""
    return sp.Symbol(c) if isinstance(c, str) else sp.sympify(c)


def lower_sheaf_call(lw, e) -> sp.Expr:
    """Lower ``restriction(...)`` / ``sheaf_*(F, x)`` (``lw`` a :class:`~.lowering._Lowerer`)."""
    c = lw.c
    if e.func == "restriction":
        name = next(n for n, d in c.lets.items() if d.value is e)
        info = c.sheaves[name]
        u = lw.expr(e.args[0]).args[0]          # u_i -> u
        return SheafMaps(sp.Symbol(name), u, dim_expr(info.d))
    maps, x = lw.expr(e.args[0]), lw.expr(e.args[1])
    if e.func == "sheaf_grad":
        return SheafGrad(maps, x)
    if e.func == "sheaf_div":
        return SheafDiv(maps, x)
    return SheafLap(SheafOperator(maps, sp.Integer(int(e.func == "sheaf_nlap"))), x)


def lower_stalk_matmul(lw, e, a: sp.Expr, b: sp.Expr):
    """``W @ x`` / ``x @ W`` on stalk values, or None for a plain matrix product."""
    tl = lw.c.types.get(id(e.left))
    if tl is None:
        return None
    if tl.kind == Kind.MATRIX:
        tr = lw.c.types[id(e.right)]
        return StalkLeft(a, b, dim_expr(tr.stalk))
    if tl.stalk is not None:
        return StalkRight(a, b, dim_expr(tl.stalk))
    return None


def per_stalk(lw, v: sp.Expr, operand, whole) -> sp.Expr:
    """``v`` wrapped in :class:`PerStalk` when it is a learnable [d] vector multiplying (or
    added to) a ``node[d, k]`` value in the chain ``whole``."""
    from pde2gnn.compiler.check import channel_expr as _chan_expr, norm_channels, stalk_channels
    t, tw = lw.c.types.get(id(operand)), lw.c.types.get(id(whole))
    if t is None or tw is None or tw.stalk is None or t.kind != Kind.SCALAR or t.channels == 1:
        return v
    same = lambda a, b: norm_channels(_chan_expr(a)) == norm_channels(_chan_expr(b))  # noqa
    if same(t.channels, tw.stalk) and not same(t.channels, tw.channels):
        return PerStalk(v, dim_expr(stalk_channels(tw)))
    return v
