"""The built-ins of the language as data: one row per operator holds all its rules.

Every stage reads these rows instead of keeping its own list by name: the checker (arity,
keyword arguments, the kinds an operator takes and gives, its channel rule, whether a field may
pass through it in an energy, non-negativity, the domain axes it needs), the E(n) equivariance
check (its class), the lowering (:data:`pde2gnn.compiler.symbolic.ops.FUNCTIONS`: the symbolic
class), ``var`` (its derivative and its i <-> j exchange), the discretisation (the stencil an
operator is replaced by), the code generator and reference interpreter (the kernel it calls)
and the language reference (``docs/gen_reference.py``: its documentation line). Adding an
operator is one :class:`Builtin` row here and its kernel (docs/guide/architecture.md, "Adding
an operator"); ``tests/compiler/test_rows.py`` and ``tests/compiler/test_builtins.py`` check
every row at once. The declaration tables (constraints, networks, boundary conditions) are in
:mod:`pde2gnn.compiler.lang.declarations`.

Kinds: ``node`` (one row per node), ``edge`` (one row per edge (i, j)), ``scalar`` (no row
axis) and ``matrix`` (a learnable ``[rows, cols]``, only on the right of ``@``).
No torch or sympy here: symbolic classes and kernels are named, and resolved by their stages.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple, Union

from pde2gnn.compiler.lang.declarations import (BOUNDARY_KINDS, CONSTRAINTS,  # noqa: F401
                                                INITIALISERS, NET_TYPES, BoundaryKind,
                                                Constraint, NetType)
from pde2gnn.compiler.lang.kinds import Kind
from pde2gnn.errors import UnsupportedError


@dataclass(frozen=True)
class Builtin:
    """One built-in operator of the language.

    Attributes:
        name: as written in a spec, e.g. ``softmax_j``.
        group: ``graph`` (uses the edges), ``vector`` (acts on channels), ``elementwise``,
            ``energy`` (``sum_i``, ``sum_ij``, ``var``: energies only), ``geometry`` (needs a
            ``domain``) or ``sheaf`` (stalk fields; their own checker, lowering and kernels).
        doc: one line: what it computes.
        nargs: number of positional arguments.
        keywords: keyword arguments it accepts (``dot(u, v, heads=H)``).
        takes: the kind its (first) argument must have, ``node`` or ``edge``; ``None``: any
            non-matrix value.
        gives: the kind of the result; ``None``: the argument's kind.
        channels: ``same`` (the argument's channels), ``one`` (a reduction over channels) or
            ``heads`` (one per attention head: ``dot(..., heads=H)``).
        energy: ``None`` if it may appear in an ``energy`` (``var`` can differentiate it, and
            it is symmetric under i <-> j where that matters); else the reason it may not,
            completing "<name> ..., so the energy cannot be differentiated".
        symbolic: the class in :mod:`pde2gnn.compiler.symbolic.ops` (or a sympy function: ``exp``,
            ``log``, ``sqrt``) the lowering builds.
        stencil: for an operator the discretisation replaces by edge-list arithmetic, the rule
            (documentation of :mod:`pde2gnn.compiler.discretize.stencil`); ``None`` if it reaches the
            code generator as it is.
        kernel: the call the generated code makes, ``torch.<fn>`` or ``_G.<method>`` of
            :class:`~pde2gnn.compiler.backend.graph_ops.GraphOps`; ``None`` for an operator replaced by
            its stencil, or one the generator lowers structurally (``init``, ``sqrt``).
        derivative: the rule ``var`` differentiates it by, an expression read by
            :mod:`pde2gnn.compiler.symbolic.energy` (``None`` if the row has none). For an
            elementwise function f: f'(u) of the argument ``u``, e.g. ``1 - tanh(u)^2`` (the
            cotangent c of the result becomes ``c * f'(u)``). For an operator that couples the
            entries of its argument (``squareplus_j`` normalises over N(i)): the cotangent
            pushed to ``u`` itself (a vector-Jacobian product), an expression of ``u``, the
            result ``y`` and its cotangent ``c``, with the graph operators, ``at_i`` / ``at_j``
            (a node value at the edge's receiver / neighbour), ``swap`` (i <-> j in an edge
            value, on a symmetric graph), ``fill`` and ``n`` (the channels of ``u``); for
            several arguments a tuple, one pullback per argument, named ``u``, ``v``, ``w``
            (``where``). The linear graph operators and the channel products (``grad``,
            ``div``, ``lap``, ``sum_j``, ``dot``, ``norm``, ``cat``, ``sum_i``, ``sum_ij``,
            ``init``) are differentiated by the structural rules of that module instead.
        edge_rows: the kernel needs one row per edge even for a constant argument.
        liftable: an elementwise function of endpoint values is computed on nodes and gathered
            (``f(u_i) -> f(u)_i``).
        swap: the value with i and j exchanged, for ``var``'s neighbour rule (an edge result
            only): ``args`` (the operator of the swapped arguments), ``-`` (it changes sign:
            ``grad``) or the name of its partner (``softmax_j`` <-> ``softmax_i``).
        sign: non-negativity, read by the checker (a non-integer power needs a base >= 0):
            ``nonneg`` (never negative), ``preserves`` (>= 0 when its arguments are) or ``any``.
        equivariance: its class under x -> Q x + b of ``coords`` fields
            (:mod:`pde2gnn.compiler.check.equivariance`): ``invariant`` (only invariants in),
            ``same`` (the argument's class), ``inner`` (``dot``), ``norm``, ``difference``
            (points -> vectors: ``grad``), ``convex`` (points stay points: ``mean_j``) or
            ``linear`` (vectors stay vectors, points refused: ``sum_j``).
        axes: the number of ``domain`` axes it needs (0: none; ``dz``: 3).
        fold: the :mod:`math` function that evaluates it on a number (domain bounds, constant
            folding), ``None`` if none.

    ``None`` in ``derivative`` (with no ``energy`` reason), ``sign`` or ``equivariance`` is an
    undeclared rule: the stage that needs it raises an error naming the row and the field
    (:func:`rule`); ``tests/compiler/test_rows.py`` checks every row declares them all.
    """

    name: str
    group: str
    doc: str
    nargs: int = 1
    keywords: Tuple[str, ...] = ()
    takes: Optional[Kind] = None
    gives: Optional[Kind] = None
    channels: str = "same"
    energy: Optional[str] = None
    symbolic: str = ""
    stencil: Optional[str] = None
    kernel: Optional[str] = None
    derivative: Union[str, Tuple[str, ...], None] = None
    edge_rows: bool = False
    liftable: bool = False
    swap: str = "args"
    sign: Optional[str] = None
    equivariance: Optional[str] = None
    axes: int = 0
    fold: Optional[str] = None


class Rewrite(str):
    """A ``derivative`` that differentiates the operator through an equal expression of ``u``
    (its stencil: ``grad`` is ``at_j(u) - at_i(u)``)."""


class Always(str):
    """An ``energy`` reason that keeps the operator out of energies even when no evolving field
    passes through it (a plain reason refuses it only where a field does: applied to inputs,
    params and coordinates alone it is a constant of ``var``)."""


#: ``derivative`` of ``cat``: the channels of the cotangent each argument filled (``Slice``)
SLICES = "slices"
#: a concern that does not apply to the row (``var`` is the derivative itself)
NOT_APPLICABLE = "n/a"
#: the concerns every row declares, by field (``derivative``: or an ``energy`` reason)
CONCERNS = ("derivative", "sign", "equivariance", "doc")


def rule(b: Builtin, concern: str):
    """The value of ``concern`` (a field of :class:`Builtin`) in row ``b``.

    Raises:
        UnsupportedError: the row does not declare it; the message names the row and the
            field (a caller with a source span re-raises it located).
    """
    v = getattr(b, concern)
    if v is None or v == "":
        raise UnsupportedError(f"built-in '{b.name}' declares no {concern} rule (the field "
                       f"'{concern}' of its row in pde2gnn/compiler/lang/builtins.py)")
    return v


_KINK = "is not differentiable at 0"
_NO_SHEAF = Always("is not supported in energies")
_NO_TRANSPOSE = "has no derivative rule for var(...) (the transpose of its geometric stencil)"
#: comparisons are piecewise constant: derivative 0 almost everywhere (undefined at the switch)
_STEP = ("0", "0")
#: softmax_j: y_ij = exp(u_ij) / sum_k exp(u_ik), dy_ij/du_ik = y_ij (delta_jk - y_ik): the
#: cotangent of u_ij is y_ij (c_ij - sum_k c_ik y_ik) (softmax_i: the same over the edges into j)
#: y_ij = sp(u_ij) / S_i, S_i = sum_k sp(u_ik), sp(s) = (s + sqrt(s^2 + 4)) / 2, sp'/sp =
#: 1 / sqrt(s^2 + 4): the cotangent of u_ij is y_ij (c_ij - sum_k c_ik y_ik) / sqrt(u_ij^2 + 4)
_SQUAREPLUS_J = "y * (c - at_i(sum_j(c * y))) / sqrt(u^2 + 4)"
#: the same normalised over the edges (k, j) into j: their sum is sum_j of the swapped value, at j
_SQUAREPLUS_I = "y * (c - at_j(sum_j(swap(c * y)))) / sqrt(u^2 + 4)"
_GEO = "geometric weights (discretize/geometry.py)"
_E = dict(group="elementwise", equivariance="invariant", liftable=True)
_C = dict(group="compare", nargs=2, equivariance="invariant", sign="nonneg", derivative=_STEP,
          liftable=True)
_S = dict(group="sheaf", nargs=2, energy=_NO_SHEAF, stencil="symbolic/sheaf.py", sign="any",
          equivariance="invariant")
_G = dict(group="geometry", takes=Kind.NODE, stencil=_GEO, energy=_NO_TRANSPOSE, sign="any",
          equivariance="invariant")

#: every built-in operator, by name (``cat`` and the energy operators are checked specially)
BUILTINS: Dict[str, Builtin] = {b.name: b for b in (
    # graph operators (i receives, j is the neighbour)
    Builtin("grad", "graph", "x_j - x_i", takes=Kind.NODE, gives=Kind.EDGE, symbolic="Grad",
            stencil="u_j - u_i", derivative=Rewrite("at_j(u) - at_i(u)"), swap="-", sign="any",
            equivariance="difference"),
    Builtin("div", "graph", "sum over N(i) of an edge value", takes=Kind.EDGE, gives=Kind.NODE,
            symbolic="Div", stencil="sum_j F", derivative="at_i(c)", sign="preserves",
            equivariance="linear"),
    Builtin("lap", "graph", "sum_j (x_j - x_i), negative semi-definite", takes=Kind.NODE,
            gives=Kind.NODE, symbolic="Lap", stencil="sum_j (u_j - u_i)",
            derivative=Rewrite("sum_j(at_j(u) - at_i(u))"), sign="any",
            equivariance="difference"),
    Builtin("sum_j", "graph", "sum over N(i)", takes=Kind.EDGE, gives=Kind.NODE, symbolic="SumJ",
            kernel="_G.sum_j", derivative="at_i(c)", sign="preserves", equivariance="linear"),
    Builtin("mean_j", "graph", "mean over N(i)", takes=Kind.EDGE, gives=Kind.NODE, symbolic="MeanJ",
            stencil="deg_inv * sum_j e", kernel="_G.mean_j",
            energy="is not supported in energies (use sum_j)", sign="preserves",
            equivariance="convex"),
    Builtin("max_j", "graph", "maximum over N(i), channel by channel (0 without neighbours)",
            takes=Kind.EDGE, gives=Kind.NODE, symbolic="MaxJ", kernel="_G.max_j",
            energy="is not differentiable where two neighbours tie", sign="preserves",
            equivariance="invariant"),
    Builtin("logsumexp_j", "graph", "log sum over N(i) of exp, channel by channel: a smooth "
            "maximum, max_j <= logsumexp_j <= max_j + log deg_i (0 without neighbours)",
            takes=Kind.EDGE, gives=Kind.NODE, symbolic="LogsumexpJ", kernel="_G.logsumexp_j",
            derivative="at_i(c) * softmax_j(u)", sign="any", equivariance="invariant"),
    Builtin("max_ij", "graph", "maximum over all edges and channels, on every edge (one "
            "channel; per graph of a batch)", takes=Kind.EDGE, gives=Kind.EDGE, channels="one",
            symbolic="MaxIJ", kernel="_G.max_ij",
            energy="couples all edges and is not supported in energies", edge_rows=True,
            sign="preserves", equivariance="invariant"),
    Builtin("softmax_j", "graph", "softmax over N(i)", takes=Kind.EDGE, gives=Kind.EDGE, symbolic="SoftmaxJ",
            kernel="_G.softmax_j", derivative="y * (c - at_i(sum_j(c * y)))", edge_rows=True,
            swap="softmax_i",
            sign="nonneg", equivariance="invariant"),
    Builtin("squareplus_j", "graph", "squareplus normalised over N(i) (BLEND)", takes=Kind.EDGE,
            gives=Kind.EDGE, symbolic="SquareplusJ", kernel="_G.squareplus_j", edge_rows=True,
            derivative=_SQUAREPLUS_J, swap="squareplus_i", sign="nonneg",
            equivariance="invariant"),
    Builtin("softmax_i", "graph", "softmax over the edges leaving j", takes=Kind.EDGE,
            gives=Kind.EDGE, symbolic="SoftmaxI", kernel="_G.softmax_i", edge_rows=True,
            derivative="y * (c - at_j(sum_j(swap(c * y))))",
            swap="softmax_j", sign="nonneg", equivariance="invariant"),
    Builtin("squareplus_i", "graph", "squareplus normalised over the edges leaving j",
            takes=Kind.EDGE, gives=Kind.EDGE, symbolic="SquareplusI", kernel="_G.squareplus_i", edge_rows=True,
            derivative=_SQUAREPLUS_I, swap="squareplus_j", sign="nonneg",
            equivariance="invariant"),
    # channel operators
    Builtin("dot", "vector", "inner product over channels (per head with heads=H)", nargs=2,
            keywords=("heads",), channels="heads", symbolic="Dot", kernel="_G.dot", liftable=True,
            derivative=("c * v", "c * u"), sign="any", equivariance="inner"),
    Builtin("norm", "vector", "Euclidean norm over channels", channels="one", symbolic="Norm",
            kernel="_G.norm", liftable=True, derivative="c * u / y", sign="nonneg",
            equivariance="norm"),
    Builtin("mean_heads", "vector", "mean over channels (attention heads)", channels="one",
            symbolic="MeanHeads", kernel="_G.mean_heads", derivative="c * fill(1, n) / n",
            liftable=True, sign="preserves", equivariance="invariant"),
    Builtin("init", "vector", "the state at t = 0", symbolic="Init", derivative="0",
            sign="preserves", equivariance="same"),
    Builtin("cat", "vector", "channels side by side", symbolic="Cat", kernel="_G.cat",
            liftable=True, derivative=SLICES, sign="preserves", equivariance="invariant"),
    Builtin("mean_i", "vector", "mean over all nodes, channel by channel, on every node (per "
            "graph of a batch)", takes=Kind.NODE, symbolic="MeanI", kernel="_G.mean_i",
            energy="couples all nodes and is not supported in energies", sign="preserves",
            equivariance="invariant"),
    Builtin("standardize_i", "vector", "(u - mean_i u) / sqrt(var_i u + 1e-5) per graph",
            takes=Kind.NODE, symbolic="StandardizeI", kernel="_G.standardize_i",
            energy="couples all nodes and is not supported in energies", sign="any",
            equivariance="invariant"),
    # elementwise functions
    Builtin("exp", doc="e^u", symbolic="exp", kernel="torch.exp", derivative="exp(u)",
            sign="nonneg", fold="exp", **_E),
    Builtin("log", doc="natural logarithm", symbolic="log", kernel="torch.log",
            derivative="1 / u", sign="any", fold="log", **_E),
    Builtin("sqrt", doc="square root", symbolic="sqrt", derivative="1 / (2 * sqrt(u))",
            sign="nonneg", fold="sqrt", **{**_E, "liftable": False}),
    Builtin("tanh", doc="hyperbolic tangent", symbolic="Tanh", kernel="torch.tanh",
            derivative="1 - tanh(u)^2", sign="any", fold="tanh", **_E),
    Builtin("sigmoid", doc="1 / (1 + e^-u)", symbolic="Sigmoid", kernel="torch.sigmoid",
            derivative="sigmoid(u) * (1 - sigmoid(u))", sign="nonneg", **_E),
    Builtin("relu", doc="max(u, 0)", symbolic="Relu", kernel="torch.relu", energy=_KINK,
            sign="nonneg", **_E),
    Builtin("sin", doc="sine", symbolic="Sin", kernel="torch.sin", derivative="cos(u)",
            sign="any", fold="sin", **_E),
    Builtin("cos", doc="cosine", symbolic="Cos", kernel="torch.cos", derivative="-sin(u)",
            sign="any", fold="cos", **_E),
    Builtin("abs", doc="|u|", symbolic="Abs", kernel="torch.abs", energy=_KINK, sign="nonneg",
            fold="fabs", **_E),
    Builtin("elu", doc="u for u > 0, exp(u) - 1 otherwise (NSD's activation)", symbolic="Elu",
            kernel="torch.nn.functional.elu", energy="is not supported in energies", sign="any",
            **_E),
    Builtin("dropout", doc="u with each entry zeroed with probability p and the rest scaled by "
            "1 / (1 - p), while training; u in evaluation (Srivastava et al. 2014). p: a "
            "number or a param in [0, 1)", nargs=2, symbolic="Dropout", kernel="_G.dropout",
            energy=Always("is random (a new mask at every evaluation)"), sign="preserves",
            **{**_E, "liftable": False}),
    Builtin("detach", doc="u, but no gradient flows back through it (stop-gradient: torch's "
            "detach)", symbolic="Detach", kernel="torch.detach",
            energy="stops the gradient that var(...) follows", sign="preserves", **_E),
    # comparisons and the conditional: a < b is lt(a, b) (1.0 where true, 0.0 where false), so
    # masks and piecewise coefficients are written from coordinates, t and params
    Builtin("lt", doc="a < b: 1 where true, 0 where false (written a < b)", symbolic="Lt",
            kernel="_G.lt", **_C),
    Builtin("le", doc="a <= b: 1 where true, 0 where false (written a <= b)", symbolic="Le",
            kernel="_G.le", **_C),
    Builtin("gt", doc="a > b: 1 where true, 0 where false (written a > b)", symbolic="Gt",
            kernel="_G.gt", **_C),
    Builtin("ge", doc="a >= b: 1 where true, 0 where false (written a >= b)", symbolic="Ge",
            kernel="_G.ge", **_C),
    Builtin("eq", doc="a == b: 1 where equal, 0 elsewhere (written a == b)", symbolic="Eq",
            kernel="_G.eq", **_C),
    Builtin("where", doc="where(c, a, b): a where c != 0, b elsewhere (piecewise values)",
            symbolic="Where", kernel="_G.where", **{**_C, "nargs": 3, "sign": "preserves",
            "derivative": ("0", "where(u, c, 0)", "where(u, 0, c)")}),
    # energies only
    Builtin("sum_i", "energy", "sum over all nodes (a scalar)", symbolic="SumI",
            kernel="_G.sum_i", derivative="c", sign="preserves", equivariance="invariant"),
    Builtin("sum_ij", "energy", "sum over all edges (a scalar)", symbolic="SumIJ",
            kernel="_G.sum_ij", derivative="c", sign="preserves", equivariance="invariant"),
    Builtin("var", "energy", "variational derivative var(E, x) of an energy", nargs=2,
            derivative=NOT_APPLICABLE, sign="any", equivariance="invariant"),
    # sheaf operators on stalk fields node[d, k] (checked in check/sheaf.py, lowered in
    # symbolic/sheaf.py, kernels in backend/sheaf_ops.py)
    Builtin("restriction", doc="learned restriction maps F_ij from the two end stalks",
            keywords=("kind",), kernel="_sheaf.restriction_maps", **_S),
    Builtin("sheaf_grad", doc="F_ji x_j - F_ij x_i", kernel="_sheaf.grad", **_S),
    Builtin("sheaf_div", doc="sum_j F_ij^T y_ij", kernel="_sheaf.div", **_S),
    Builtin("sheaf_lap", doc="sheaf_div(F, sheaf_grad(F, x)) = -L_F x", kernel="_sheaf.apply",
            **_S),
    Builtin("sheaf_nlap", doc="-(D + I)^-1/2 L_F (D + I)^-1/2 x (NSD)", kernel="_sheaf.apply",
            **_S),
    # geometric operators (need a `domain` with at least `axes` axes)
    Builtin("dx", doc="d/dx on the node coordinates", gives=Kind.NODE, axes=1, **_G),
    Builtin("dy", doc="d/dy on the node coordinates", gives=Kind.NODE, axes=2, **_G),
    Builtin("dz", doc="d/dz on the node coordinates", gives=Kind.NODE, axes=3, **_G),
    Builtin("dgrad", doc="directional derivative along each edge", gives=Kind.EDGE, axes=1,
            swap="-", **_G),
)}

#: built-in edge coefficients (graph level): abar_ij = 1 / sqrt(deg_i deg_j)
EDGE_BUILTINS = ("abar_ij",)

#: per-graph values the generated code reads from the graph (``_G.<name>``) and the stencil
#: stage introduces by name: ``abar`` (abar_ij), ``deg_inv`` (mean_j) and the geometric
#: weights of :mod:`pde2gnn.compiler.discretize.geometry` -> what each holds
GRAPH_VALUES: Dict[str, str] = {
    "abar": "the entries 1 / sqrt(deg_i deg_j) of abar_ij",
    "deg_inv": "1 / deg_i (0 for an isolated node), the weight of mean_j",
    "geo_dx": "d/dx: central differences +-1/(2h) (grid), least-squares gradient (lsq), "
              "area-weighted face gradients (mesh)",
    "geo_dy": "d/dy: as d/dx along the second axis",
    "geo_dz": "d/dz: as d/dx along the third axis",
    "geo_lap": "Laplacian: 1/h^2 per axis neighbour (grid), quadratic least squares (lsq), "
               "cotangent weights / barycentric area (mesh)",
    "geo_dgrad": "1 / |p_j - p_i|",
}


def names(group: str) -> Tuple[str, ...]:
    """The built-ins of one group, in table order."""
    return tuple(n for n, b in BUILTINS.items() if b.group == group)


#: names a spec may not declare, with what they already are: the one table the checker reads
#: (besides the grammar's keywords and the rule that names starting with '_' belong to the
#: generated code: ``_lin<k>``, ``_c<k>``, ``_d_<field>``, ``_init_<field>``...)
RESERVED: Dict[str, str] = {
    "t": "the time",
    "pi": "the constant 3.14159...",
    "torch": "the module the generated code imports",
    **{n: "a built-in operator" for n in BUILTINS},
    **{n: "a built-in edge coefficient, the entries of D^-1/2 A D^-1/2" for n in EDGE_BUILTINS},
    **{n: f"a value the generated code reads from the graph: {d.split(':')[0]}"
       for n, d in GRAPH_VALUES.items()},
    **{n: f"a named initial value of a learnable matrix, as in 'learn W : [d, d] = {n}'"
       for n in INITIALISERS},
}


def reserved(name: str) -> Optional[str]:
    """Why ``name`` cannot be declared in a spec (see :data:`RESERVED`), or None if it can."""
    if name.startswith("_"):
        return "a name starting with '_' (reserved for the generated code)"
    return RESERVED.get(name)
