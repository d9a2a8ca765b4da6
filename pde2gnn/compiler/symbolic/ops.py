"""Graph operators as sympy ``Function`` classes: the vocabulary of the symbolic IR.

For a graph G = (V, E) with edges (i, j), i the receiving node and j its neighbour:

============  ==============  ===============================================================
class         kind            meaning
============  ==============  ===============================================================
Grad(u)       node -> edge    (grad u)_ij = u_j - u_i
Div(F)        edge -> node    (div F)_i = sum_{j in N(i)} F_ij
Lap(u)        node -> node    div(grad u) = sum_j (u_j - u_i)  (negative semi-definite)
AtI(u)        node -> edge    u_i, the value at the receiving node of each edge
AtJ(u)        node -> edge    u_j, the value at the neighbour
SumJ(e)       edge -> node    sum over N(i) (same as Div, kept apart for readability)
MeanJ(e)      edge -> node    mean over N(i)
MaxIJ(e)      edge -> edge    the maximum over all edges and channels, on every edge (one
                              channel; per graph of a batch); made from its table row
SoftmaxJ(e)   edge -> edge    softmax over N(i): exp(e_ij) / sum_k exp(e_ik)
SquareplusJ   edge -> edge    squareplus over N(i): sp(e_ij) / sum_k sp(e_ik),
                              sp(s) = (s + sqrt(s^2 + 4)) / 2  (BLEND, Chamberlain et al. 2021)
SoftmaxI,     edge -> edge    the same normalised over the edges leaving j instead (column-
SquareplusI                   normalised attention): exp(e_ij) / sum_{k: j in N(k)} exp(e_kj)
MatMul(u, W)  same kind       channel mixing u @ W
Dot(u, v)     same kind       sum over channels of u * v (one channel)
Dot(u, v, H)  same kind       H heads: one inner product per block of channels/H (H channels)
MeanHeads(e)  same kind       mean over channels (averages the heads of a multi-head attention)
Norm(u)       same kind       Euclidean norm over channels (one channel)
MeanI         node -> node    per channel over all nodes: mean_i u, on every node
StandardizeI  node -> node    per channel over all nodes: (u - mean_i u) / sqrt(var_i u + 1e-5)
Init(x)       node            the state at t = 0 (constant during a solve)
Sigmoid, ...  elementwise     the elementwise functions, comparisons, ``Where`` and ``Dropout``
                              of :mod:`pde2gnn.compiler.symbolic.elementwise` (re-exported here)
Fill(c, n)    scalar          the constant c in each of n channels: a constant expression whose
                              channel count matters, e.g. the 0 * x in cat(x, 0 * x)
SumI(u)       node -> scalar  sum over all nodes (energies only)
SumIJ(e)      edge -> scalar  sum over all edges (i, j) (energies only)
Transpose(W)  matrix          W^T (from variational derivatives of quadratic forms)
Cat(u, v..)   same kind       channel concatenation
Slice(u,a,b)  same kind       channels a..b-1 of u (``u[a:b]``, ``u[k]``)
NetApply      same kind       a row-wise learnable network (mlp, gru): NetApply(net, u[, h])
GraphNetApply node -> edge    a graph network (edge_gn): GraphNetApply(net, v[, e])
ABAR          edge            abar_ij = 1 / sqrt(deg_i deg_j), i.e. D^-1/2 A D^-1/2 (static)
============  ==============  ===============================================================
"""
from __future__ import annotations

import math

import sympy as sp

from pde2gnn.compiler.lang.builtins import BUILTINS
from pde2gnn.compiler.symbolic.elementwise import (  # noqa: F401  (re-exported)
    Abs, Cos, Detach, Dropout, Elu, Eq, Ge, Gt, Le, Lt, Relu, Sigmoid, Sin, Tanh, Where,
    _Compare, _Elementwise)
from pde2gnn.compiler.symbolic.graph_op import GraphOp


class Grad(GraphOp):
    nargs = 1
    spec_name = "grad"


class Div(GraphOp):
    nargs = 1
    spec_name = "div"


class Lap(GraphOp):
    nargs = 1
    spec_name = "lap"


class SumJ(GraphOp):
    nargs = 1
    spec_name = "sum_j"


class MeanJ(GraphOp):
    nargs = 1
    spec_name = "mean_j"


class SoftmaxJ(GraphOp):
    nargs = 1
    spec_name = "softmax_j"


class SquareplusJ(GraphOp):
    nargs = 1
    spec_name = "squareplus_j"


class SoftmaxI(SoftmaxJ):
    """Column-normalised softmax (a subclass, so every rule for softmax_j applies)."""

    spec_name = "softmax_i"


class SquareplusI(SquareplusJ):
    """Column-normalised squareplus (a subclass, so every rule for squareplus_j applies)."""

    spec_name = "squareplus_i"


class Dot(GraphOp):
    nargs = (2, 3)
    spec_name = "dot"

    def _sympystr(self, printer):
        a = ", ".join(printer._print(x) for x in self.args[:2])
        return f"dot({a}, heads={self.args[2]})" if len(self.args) == 3 else f"dot({a})"


class MeanHeads(GraphOp):
    nargs = 1
    spec_name = "mean_heads"


class Norm(GraphOp):
    nargs = 1
    spec_name = "norm"


class MeanI(GraphOp):
    """The mean over all nodes, channel by channel, the same on every node (one graph at a
    time): ``u -> 1/N sum_i u_i``. Not local, so not in energies. GRAND++'s source term uses
    it for the mean of the labelled nodes' initial features (Thorpe et al. 2022)."""

    nargs = 1
    spec_name = "mean_i"

    @classmethod
    def eval(cls, u):
        if u.is_number:   # a constant is its own mean
            return u
        return None


class StandardizeI(GraphOp):
    """Standardisation over the nodes, channel by channel (one graph at a time).

    ``(u - mean_i u) / sqrt(var_i u + 1e-5)`` with the biased variance: batch normalisation in
    training mode without the affine part (Ioffe & Szegedy 2015), which is what GRAFF's reference
    code applies to its update with ``conv_batch_norm = "layerwise"``. Not local: every node's
    value depends on all nodes, so it has no place in an energy.
    """

    nargs = 1
    spec_name = "standardize_i"

    @classmethod
    def eval(cls, u):
        if u.is_number:   # a constant (also a Fill) is the same on every node: (u - mean) = 0
            return sp.Integer(0)
        return None


class Init(GraphOp):
    nargs = 1
    spec_name = "init"


class Fill(GraphOp):
    """``Fill(c, n)``: the number c in each of n channels (n an integer or a dimension symbol).

    The lowering wraps a constant in it where a value's channel count matters (``cat(x, 0*x)``,
    ``dot``, ``@``); in arithmetic it broadcasts like a number.
    """

    nargs = 2
    spec_name = "fill"


class MatMul(GraphOp):
    """``u @ W``: right-multiplication of the channel axis by a matrix."""

    nargs = 2
    spec_name = "matmul"

    def _sympystr(self, printer):
        return f"({printer._print(self.args[0])} @ {printer._print(self.args[1])})"


class _Endpoint(GraphOp):
    nargs = 1
    side = ""

    @classmethod
    def eval(cls, u):
        if u.is_Number:
            return u
        return None

    def _sympystr(self, printer):
        a = self.args[0]
        inner = printer._print(a)
        return f"{inner}_{self.side}" if a.is_Symbol or isinstance(a, Init) else \
            f"({inner})_{self.side}"


class AtI(_Endpoint):
    side = "i"
    spec_name = "at_i"


class AtJ(_Endpoint):
    side = "j"
    spec_name = "at_j"


class SumI(GraphOp):
    """Sum over all nodes of a node value: a scalar (used in energies)."""

    nargs = 1
    spec_name = "sum_i"


class SumIJ(GraphOp):
    """Sum over all edges (i, j) of an edge value: a scalar (used in energies)."""

    nargs = 1
    spec_name = "sum_ij"


class Transpose(GraphOp):
    """``W^T`` of a learnable matrix; symmetric-constrained matrices are their own transpose."""

    nargs = 1
    spec_name = "transpose"

    def _sympystr(self, printer):
        return f"{printer._print(self.args[0])}^T"


class Cat(GraphOp):
    """``cat(u, v, ...)``: channels side by side (all node or all edge values)."""

    spec_name = "cat"


class Slice(GraphOp):
    """``u[a:b]``: channels a, ..., b-1 of u (a row-wise operation)."""

    nargs = 3
    spec_name = "slice"

    @classmethod
    def eval(cls, u, a, b):
        if isinstance(u, Fill):
            return Fill(u.args[0], b - a) if b - a != 1 else u.args[0]
        if u.is_number and not u.has(GraphOp):
            return u
        return None

    def _sympystr(self, printer):
        u, a, b = self.args
        inner = printer._print(u)
        inner = inner if u.is_Symbol or isinstance(u, GraphOp) else f"({inner})"
        return f"{inner}[{a}]" if b == a + 1 else f"{inner}[{a}:{b}]"


class NetApply(GraphOp):
    """A row-wise learnable network (``mlp``, ``gru``) applied to node or edge values.

    ``NetApply(net, u)`` or ``NetApply(net, u, h)``; ``net`` is the symbol of the ``net``
    declaration (role ``net``). Opaque to the symbolic stages: it is only moved, shared and
    hoisted, never differentiated.
    """

    spec_name = "net"

    def _sympystr(self, printer):
        net, *args = self.args
        return f"{net}({', '.join(printer._print(a) for a in args)})"


class GraphNetApply(NetApply):
    """A graph network (``edge_gn``): node inputs (and edge features) -> one value per edge."""


class OnRows(GraphOp):
    """``OnRows(u, k)``: the node value u on the rows of the code generator's k-th prescribed
    source only (``[..., n_b, c]``, :func:`pde2gnn.compiler.backend.source_rows.take`), for
    terms that vanish off the boundary rows (:mod:`pde2gnn.compiler.backend.sources`). Made by
    the code generator, never by the spec; its kind and channels are u's."""

    nargs = 2
    spec_name = "on_rows"

    def analysis_kind(self, an):
        return an.kind(self.args[0])

    def analysis_channels(self, an):
        return an.channels(self.args[0])


#: The built-in edge coefficient ``abar_ij`` (graph level, one channel).
ABAR = sp.Symbol("abar")

ENDPOINTS = (AtI, AtJ)
EDGE_REDUCTIONS = (SumJ, MeanJ, Div)


def _table_class(b) -> type:
    """The symbolic class of a built-in that has no hand-written class, made from its row in
    :mod:`pde2gnn.compiler.lang.builtins`: a function of ``b.nargs`` arguments, opaque to the
    symbolic stages (kinds and channels come from the row). An elementwise one is folded on
    numbers by the row's ``fold`` (a :mod:`math` function) if it names one, and
    differentiated by the row's ``derivative`` (a language expression of ``u``)."""
    body = {"spec_name": b.name, "nargs": b.nargs,
            "__doc__": f"``{b.name}``: {b.doc} (made from its row in pde2gnn.compiler.lang.builtins)."}
    if b.group != "elementwise":
        return type(b.symbolic, (GraphOp,), body)

    def fdiff(self, argindex=1):
        if b.derivative is None:
            return super(cls, self).fdiff(argindex)   # unevaluated: var(...) reports it
        return sp.sympify(b.derivative, locals={**FUNCTIONS, "u": self.args[0]},
                          convert_xor=True)

    cls = type(b.symbolic, (_Elementwise,), {
        **body, "_math": staticmethod(getattr(math, b.fold)) if b.fold else None,
        "fdiff": fdiff})
    return cls


def _symbolic(b):
    if b.symbolic in globals():
        return globals()[b.symbolic]
    if b.group == "elementwise" and b.symbolic.islower() and hasattr(sp, b.symbolic):
        return getattr(sp, b.symbolic)        # exp, log, sqrt
    globals()[b.symbolic] = _table_class(b)
    return globals()[b.symbolic]


#: spec name -> symbolic class, for every built-in with one (lang/builtins.py)
FUNCTIONS = {}
for _b in BUILTINS.values():
    if _b.symbolic:
        FUNCTIONS[_b.name] = _symbolic(_b)

#: symbolic class -> the kernel the generated code calls (``torch.<fn>`` / ``_G.<method>``)
KERNELS = {FUNCTIONS[n]: b.kernel for n, b in BUILTINS.items() if b.kernel and n in FUNCTIONS}
KERNELS.update({AtI: "_G.gather_i", AtJ: "_G.gather_j"})
#: classes whose kernel needs one row per edge even for a constant argument
EDGE_ROWS = tuple(FUNCTIONS[n] for n, b in BUILTINS.items() if b.edge_rows)
#: classes computed on nodes and gathered when all their arguments are at one endpoint
LIFTABLE = tuple(FUNCTIONS[n] for n, b in BUILTINS.items() if b.liftable)
