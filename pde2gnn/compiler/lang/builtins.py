"""The built-ins of the language as data: one record per operator, constraint and network type.

Every stage reads these tables instead of keeping its own list: the checker (arity, keyword
arguments, the kinds an operator takes and gives, its channel rule, whether it may appear in an
energy), the lowering (:data:`pde2gnn.compiler.symbolic.ops.FUNCTIONS`: the symbolic class), the
discretisation (the stencil an operator is replaced by) and the code generator / reference
interpreter (the kernel it calls). Adding an elementwise function is one :class:`Builtin` row
here and its kernel; ``tests/test_builtins.py`` checks that every row can be lowered.

Kinds: ``node`` (one row per node), ``edge`` (one row per edge (i, j)), ``scalar`` (no row
axis) and ``matrix`` (a learnable ``[rows, cols]``, only on the right of ``@``).
No torch or sympy here: symbolic classes and kernels are named, and resolved by their stages.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple, Union

from pde2gnn.compiler.lang.kinds import Kind


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


_NOT_SYMMETRIC = "is not symmetric in i and j"
_KINK = "is not differentiable at 0"
_NO_SHEAF = "is not supported in energies"
_NO_TRANSPOSE = ("has no derivative rule for var(...) (the transpose of its geometric stencil) "
                 "and is not supported in energies")
#: comparisons are piecewise constant: derivative 0 almost everywhere (undefined at the switch)
_STEP = ("0", "0")
#: y_ij = sp(u_ij) / S_i, S_i = sum_k sp(u_ik), sp(s) = (s + sqrt(s^2 + 4)) / 2, sp'/sp =
#: 1 / sqrt(s^2 + 4): the cotangent of u_ij is y_ij (c_ij - sum_k c_ik y_ik) / sqrt(u_ij^2 + 4)
_SQUAREPLUS_J = "y * (c - at_i(sum_j(c * y))) / sqrt(u^2 + 4)"
#: the same normalised over the edges (k, j) into j: their sum is sum_j of the swapped value, at j
_SQUAREPLUS_I = "y * (c - at_j(sum_j(swap(c * y)))) / sqrt(u^2 + 4)"

#: every built-in operator, by name (``cat`` and the energy operators are checked specially)
BUILTINS: Dict[str, Builtin] = {b.name: b for b in (
    # graph operators (i receives, j is the neighbour)
    Builtin("grad", "graph", "x_j - x_i", takes=Kind.NODE, gives=Kind.EDGE, symbolic="Grad",
            stencil="u_j - u_i"),
    Builtin("div", "graph", "sum over N(i) of an edge value", takes=Kind.EDGE, gives=Kind.NODE,
            symbolic="Div", stencil="sum_j F"),
    Builtin("lap", "graph", "sum_j (x_j - x_i), negative semi-definite", takes=Kind.NODE,
            gives=Kind.NODE, symbolic="Lap", stencil="sum_j (u_j - u_i)"),
    Builtin("sum_j", "graph", "sum over N(i)", takes=Kind.EDGE, gives=Kind.NODE, symbolic="SumJ",
            kernel="_G.sum_j"),
    Builtin("mean_j", "graph", "mean over N(i)", takes=Kind.EDGE, gives=Kind.NODE, symbolic="MeanJ",
            stencil="deg_inv * sum_j e", kernel="_G.mean_j",
            energy="is not supported in energies (use sum_j)"),
    Builtin("max_j", "graph", "maximum over N(i), channel by channel (0 without neighbours)",
            takes=Kind.EDGE, gives=Kind.NODE, symbolic="MaxJ", kernel="_G.max_j",
            energy="is not differentiable where two neighbours tie"),
    Builtin("max_ij", "graph", "maximum over all edges and channels, on every edge (one "
            "channel; per graph of a batch)", takes=Kind.EDGE, gives=Kind.EDGE, channels="one",
            symbolic="MaxIJ", kernel="_G.max_ij",
            energy="couples all edges and is not supported in energies", edge_rows=True),
    Builtin("softmax_j", "graph", "softmax over N(i)", takes=Kind.EDGE, symbolic="SoftmaxJ",
            kernel="_G.softmax_j", energy=_NOT_SYMMETRIC, edge_rows=True),
    Builtin("squareplus_j", "graph", "squareplus normalised over N(i) (BLEND)", takes=Kind.EDGE,
            symbolic="SquareplusJ", kernel="_G.squareplus_j", edge_rows=True,
            derivative=_SQUAREPLUS_J),
    Builtin("softmax_i", "graph", "softmax over the edges leaving j", takes=Kind.EDGE,
            symbolic="SoftmaxI", kernel="_G.softmax_i", energy=_NOT_SYMMETRIC, edge_rows=True),
    Builtin("squareplus_i", "graph", "squareplus normalised over the edges leaving j",
            takes=Kind.EDGE, symbolic="SquareplusI", kernel="_G.squareplus_i", edge_rows=True,
            derivative=_SQUAREPLUS_I),
    # channel operators
    Builtin("dot", "vector", "inner product over channels (per head with heads=H)", nargs=2,
            keywords=("heads",), channels="heads", symbolic="Dot", kernel="_G.dot", liftable=True),
    Builtin("norm", "vector", "Euclidean norm over channels", channels="one", symbolic="Norm",
            kernel="_G.norm", liftable=True),
    Builtin("mean_heads", "vector", "mean over channels (attention heads)", channels="one",
            symbolic="MeanHeads", kernel="_G.mean_heads", derivative="c * fill(1, n) / n",
            liftable=True),
    Builtin("init", "vector", "the state at t = 0", symbolic="Init"),
    Builtin("cat", "vector", "channels side by side", symbolic="Cat", kernel="_G.cat",
            liftable=True),
    Builtin("mean_i", "vector", "mean over all nodes, channel by channel, on every node (per "
            "graph of a batch)", takes=Kind.NODE, symbolic="MeanI", kernel="_G.mean_i",
            energy="couples all nodes and is not supported in energies"),
    Builtin("standardize_i", "vector", "(u - mean_i u) / sqrt(var_i u + 1e-5) per graph",
            takes=Kind.NODE, symbolic="StandardizeI", kernel="_G.standardize_i",
            energy="couples all nodes and is not supported in energies"),
    # elementwise functions
    Builtin("exp", "elementwise", "e^u", symbolic="exp", kernel="torch.exp",
            derivative="exp(u)", liftable=True),
    Builtin("log", "elementwise", "natural logarithm", symbolic="log", kernel="torch.log",
            derivative="1 / u", liftable=True),
    Builtin("sqrt", "elementwise", "square root", symbolic="sqrt", derivative="1 / (2 * sqrt(u))"),
    Builtin("tanh", "elementwise", "hyperbolic tangent", symbolic="Tanh", kernel="torch.tanh",
            derivative="1 - tanh(u)^2", liftable=True),
    Builtin("sigmoid", "elementwise", "1 / (1 + e^-u)", symbolic="Sigmoid",
            kernel="torch.sigmoid", derivative="sigmoid(u) * (1 - sigmoid(u))", liftable=True),
    Builtin("relu", "elementwise", "max(u, 0)", symbolic="Relu", kernel="torch.relu",
            energy=_KINK, liftable=True),
    Builtin("sin", "elementwise", "sine", symbolic="Sin", kernel="torch.sin",
            derivative="cos(u)", liftable=True),
    Builtin("cos", "elementwise", "cosine", symbolic="Cos", kernel="torch.cos",
            derivative="-sin(u)", liftable=True),
    Builtin("abs", "elementwise", "|u|", symbolic="Abs", kernel="torch.abs", energy=_KINK,
            liftable=True),
    Builtin("elu", "elementwise", "u for u > 0, exp(u) - 1 otherwise (NSD's activation)",
            symbolic="Elu", kernel="torch.nn.functional.elu",
            energy="is not supported in energies", liftable=True),
    Builtin("dropout", "elementwise", "u with each entry zeroed with probability p and the rest "
            "scaled by 1 / (1 - p), while training; u in evaluation (Srivastava et al. 2014). "
            "p: a number or a param in [0, 1)", nargs=2, symbolic="Dropout",
            kernel="_G.dropout", energy="is random (a new mask at every evaluation)"),
    Builtin("detach", "elementwise", "u, but no gradient flows back through it (stop-gradient: "
            "torch's detach)", symbolic="Detach", kernel="torch.detach",
            energy="stops the gradient that var(...) follows",
            liftable=True),
    # comparisons and the conditional: a < b is lt(a, b) (1.0 where true, 0.0 where false), so
    # masks and piecewise coefficients are written from coordinates, t and params
    Builtin("lt", "compare", "a < b: 1 where true, 0 where false (written a < b)", nargs=2,
            symbolic="Lt", kernel="_G.lt", derivative=_STEP, liftable=True),
    Builtin("le", "compare", "a <= b: 1 where true, 0 where false (written a <= b)", nargs=2,
            symbolic="Le", kernel="_G.le", derivative=_STEP, liftable=True),
    Builtin("gt", "compare", "a > b: 1 where true, 0 where false (written a > b)", nargs=2,
            symbolic="Gt", kernel="_G.gt", derivative=_STEP, liftable=True),
    Builtin("ge", "compare", "a >= b: 1 where true, 0 where false (written a >= b)", nargs=2,
            symbolic="Ge", kernel="_G.ge", derivative=_STEP, liftable=True),
    Builtin("eq", "compare", "a == b: 1 where equal, 0 elsewhere (written a == b)", nargs=2,
            symbolic="Eq", kernel="_G.eq", derivative=_STEP, liftable=True),
    Builtin("where", "compare", "where(c, a, b): a where c != 0, b elsewhere (piecewise values)",
            nargs=3, symbolic="Where", kernel="_G.where",
            derivative=("0", "where(u, c, 0)", "where(u, 0, c)"),
            liftable=True),
    # energies only
    Builtin("sum_i", "energy", "sum over all nodes (a scalar)", symbolic="SumI",
            kernel="_G.sum_i"),
    Builtin("sum_ij", "energy", "sum over all edges (a scalar)", symbolic="SumIJ",
            kernel="_G.sum_ij"),
    Builtin("var", "energy", "variational derivative var(E, x) of an energy", nargs=2),
    # sheaf operators on stalk fields node[d, k] (checked in check/sheaf.py, lowered in
    # symbolic/sheaf.py, kernels in backend/sheaf_ops.py)
    Builtin("restriction", "sheaf", "learned restriction maps F_ij from the two end stalks",
            nargs=2, keywords=("kind",), energy=_NO_SHEAF, stencil="symbolic/sheaf.py",
            kernel="_sheaf.restriction_maps"),
    Builtin("sheaf_grad", "sheaf", "F_ji x_j - F_ij x_i", nargs=2, energy=_NO_SHEAF,
            stencil="symbolic/sheaf.py", kernel="_sheaf.grad"),
    Builtin("sheaf_div", "sheaf", "sum_j F_ij^T y_ij", nargs=2, energy=_NO_SHEAF,
            stencil="symbolic/sheaf.py", kernel="_sheaf.div"),
    Builtin("sheaf_lap", "sheaf", "sheaf_div(F, sheaf_grad(F, x)) = -L_F x", nargs=2,
            energy=_NO_SHEAF, stencil="symbolic/sheaf.py", kernel="_sheaf.apply"),
    Builtin("sheaf_nlap", "sheaf", "-(D + I)^-1/2 L_F (D + I)^-1/2 x (NSD)", nargs=2,
            energy=_NO_SHEAF, stencil="symbolic/sheaf.py", kernel="_sheaf.apply"),
    # geometric operators (need a `domain`)
    Builtin("dx", "geometry", "d/dx on the node coordinates", takes=Kind.NODE, gives=Kind.NODE,
            stencil="geometric weights (discretize/geometry.py)",
            energy=_NO_TRANSPOSE),
    Builtin("dy", "geometry", "d/dy on the node coordinates", takes=Kind.NODE, gives=Kind.NODE,
            stencil="geometric weights (discretize/geometry.py)",
            energy=_NO_TRANSPOSE),
    Builtin("dz", "geometry", "d/dz on the node coordinates (3-D domains)", takes=Kind.NODE,
            gives=Kind.NODE, stencil="geometric weights (discretize/geometry.py)",
            energy=_NO_TRANSPOSE),
    Builtin("dgrad", "geometry", "directional derivative along each edge", takes=Kind.NODE,
            gives=Kind.EDGE, stencil="geometric weights (discretize/geometry.py)",
            energy=_NO_TRANSPOSE),
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


@dataclass(frozen=True)
class BoundaryKind:
    """A boundary condition of a ``bc`` declaration (``bc u : x = 0 dirichlet(g)``).

    Attributes:
        name: as written; args: the names of its arguments, in order.
        doc: what it prescribes (n is the outward unit normal of a face).
        on_masks: may be given on a ``node mask`` input (any graph), not only on a face.
    """

    name: str
    args: Tuple[str, ...]
    doc: str
    on_masks: bool = True


#: the boundary conditions a ``bc`` declaration may give; ``periodic`` stays a domain option
BOUNDARY_KINDS: Dict[str, BoundaryKind] = {k.name: k for k in (
    BoundaryKind("dirichlet", ("g",), "u = g on the face / at the masked nodes (their values "
                 "are eliminated from the other nodes' stencils and follow dg/dt)"),
    BoundaryKind("neumann", ("q",), "du/dn = q on a face (outward normal derivative); on a "
                 "node mask, q is a flux into each masked node, added to lap(u) there"),
    BoundaryKind("robin", ("a", "b", "g"), "a u + b du/dn = g on a face (a, b constant numbers "
                 "or params, b != 0; b = 0 is dirichlet); on a node mask, the flux "
                 "(g - a u) / b into each masked node, added to lap(u) there"),
)}


def names(group: str) -> Tuple[str, ...]:
    """The built-ins of one group, in table order."""
    return tuple(n for n, b in BUILTINS.items() if b.group == group)


@dataclass(frozen=True)
class Constraint:
    """A constraint on a learnable matrix or vector (``learn W : [d, d] sym``).

    Attributes:
        name: as written.
        square: needs a square matrix.
        symmetric: the constrained matrix is symmetric (so ``var`` may use W = W^T).
        parametrisation: how the backend keeps it (:mod:`pde2gnn.compiler.backend.constraints`).
    """

    name: str
    square: bool
    symmetric: bool
    parametrisation: str


#: named initial values of a matrix ``learn`` (``learn W : [d, d] = eye``) -> what they give;
#: the backend calls ``torch.nn.init.<name>_`` (:func:`pde2gnn.compiler.backend.module._make_learnable`)
INITIALISERS: Dict[str, str] = {
    "eye": "the identity matrix (ones on the diagonal of a rectangular one)",
    "orthogonal": "a random (semi-)orthogonal matrix (Saxe et al. 2014)",
}

CONSTRAINTS: Dict[str, Constraint] = {c.name: c for c in (
    Constraint("sym", True, True, "W = (A + A^T) / 2"),
    Constraint("diag", True, True, "W = diag(a)"),
    Constraint("positive", False, False, "W = softplus(A), entrywise > 0"),
    Constraint("psd", True, True, "W = A A^T"),
    Constraint("antisym", True, False, "W = A - A^T, W^T = -W (A-DGN, Gravina et al. 2023: "
               "purely imaginary spectrum, a non-dissipative flow)"),
    Constraint("diag_dom", True, True, "W = W0 + diag(q * rowsum|W0| + r), W0 symmetric with "
               "zero diagonal (GRAFF-DD)"),
)}


@dataclass(frozen=True)
class NetType:
    """A learnable network type (``net msg : mlp(in=3, out=4)``): required sizes, optional
    sizes with their defaults, and the call it takes."""

    name: str
    required: Tuple[str, ...]
    optional: Dict[str, int] = field(default_factory=dict)
    call: str = ""


#: ``mlp`` and ``gru`` act row by row (node- or edge-wise); ``edge_gn`` is a graph network
NET_TYPES: Dict[str, NetType] = {t.name: t for t in (
    NetType("mlp", ("in", "out"), {"hidden": 64, "layers": 2},
            "mlp(u): u node or edge [in] -> same kind [out]"),
    NetType("gru", ("in", "hidden"), {"layers": 1},
            "gru(u, h): u [in], h [layers*hidden] -> new h [layers*hidden]"),
    NetType("edge_gn", ("in", "out"), {"edge_in": 0, "hidden": 64, "blocks": 2},
            "edge_gn(v) or edge_gn(v, e): v node [in], e edge [edge_in] -> edge [out]"),
)}


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
