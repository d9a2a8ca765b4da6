"""Checking of stalk fields and sheaf operators (a rule set of :mod:`pde2gnn.compiler.check`).

A field ``x : node[d, k]`` carries a d-dimensional stalk with k channels per stalk coordinate
at every node (Hansen & Ghrist 2019; Bodnar, Di Giovanni, Chamberlain, Liò, Bronstein, "Neural
Sheaf Diffusion", NeurIPS 2022): N x d x k numbers, held as d * k channels, stalk-major
(channel a * k + b is stalk coordinate a, channel b). On such values:

==============================  ===============================================================
written                         meaning
==============================  ===============================================================
``edge F = restriction(u_i,     per directed edge (i, j) the map F_ij : R^d -> R^d at the i end,
u_j, kind=K)``                  F_ij = Phi([u_i, u_j]) with Phi one learnable linear layer on the
                                two flattened stalks; K = diag (tanh, d entries), orthogonal
                                (tanh, then d Householder reflections: O(d)), general (tanh,
                                d x d) or identity (F = I, no parameters); weights=true scales
                                both maps of an edge by a learned sigmoid weight (NSD's edge
                                weights); lowpass=true fixes the last stalk coordinate's map
                                to 1 (the plain graph Laplacian there, NSD's add_lp) and
                                learns the first d - 1
``sheaf_grad(F, x)``            node -> edge: F_ji x_j - F_ij x_i
``sheaf_div(F, y)``             edge -> node: sum_j F_ij^T y_ij
``sheaf_lap(F, x)``             node -> node: sheaf_div(F, sheaf_grad(F, x)) = -L_F x
``sheaf_nlap(F, x)``            node -> node: -(D + I)^-1/2 L_F (D + I)^-1/2 x, NSD's normalised
                                Delta_F (D the block diagonal of L_F)
``W @ x``                       (I ⊗ W) x: W [d', d] mixes the stalk coordinates
``x @ W``                       x W: W [k, k'] mixes the channels of every stalk coordinate
``v * x`` (v a learnable [d])   v scales stalk coordinate a by v_a (NSD's epsilons)
==============================  ===============================================================

With identity maps the sheaf operators are ``grad``, ``div`` and ``lap`` (⊗ I_d).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from pde2gnn.errors import (ArgumentError, FormError, KindError, NameError_, ShapeError,
                            did_you_mean)
from pde2gnn.compiler.lang import ast as A
from pde2gnn.compiler.lang.kinds import Kind
from pde2gnn.compiler.types import Type, channel_expr, endpoint, norm_channels, stalk_channels

#: kinds of restriction maps (:class:`pde2gnn.compiler.backend.sheaf.Restriction`)
MAP_KINDS = ("diag", "orthogonal", "general", "identity")
SHEAF_USERS = ("sheaf_grad", "sheaf_div", "sheaf_lap", "sheaf_nlap")
FLAGS = ("weights", "lowpass")      # restriction's true / false options (SheafInfo fields)


@dataclass(frozen=True)
class SheafInfo:
    """A checked ``edge NAME = restriction(u_i, u_j, kind=KIND)``: map kind, stalk dimension d
    and the channels k of the stalks the network reads (ints or dimension names / expressions)."""

    name: str
    kind: str
    d: object
    k: object
    weights: bool = False       # weights=true: learned edge weights scale both maps
    lowpass: bool = False       # lowpass=true: the last stalk coordinate's map fixed to 1


def stalk_field_type(ck, st: A.FieldDecl, t):
    """The type of ``field x : node[d, k]``: node values with d * k channels and stalk d.

    Raises:
        KindError: a stalk on a ``coords`` field.
    """
    if st.kind != "node":
        raise ck.err(KindError, f"a stalk field lives on nodes: write '{st.name} : node[d, k]'",
                     st.span)
    d = ck.check_dim(st.stalk)
    return Type(Kind.NODE, (norm_channels(channel_expr(d) * channel_expr(t.channels)),), d)


def _same(a, b) -> bool:
    return norm_channels(channel_expr(a)) == norm_channels(channel_expr(b))


def combine_stalks(ck, a, b, span, what: str):
    """``a op b`` where one side is a stalk value: the plain rule, keeping the stalk; a
    learnable ``[d]`` vector times a ``node[d, k]`` value scales each stalk coordinate."""
    if "sheaf" in (a.kind, b.kind):
        raise ck.err(KindError, "restriction maps can only be the first argument of "
                     f"{', '.join(SHEAF_USERS)} (in {what})", span)
    for s, o in ((a, b), (b, a)):
        if s.stalk is not None and o.kind == Kind.SCALAR and o.channels != 1 and \
                not _same(o.channels, s.channels) and _same(o.channels, s.stalk):
            return Type(s.kind, s.shape, s.stalk)
    if a.stalk is not None and b.stalk is not None and not _same(a.stalk, b.stalk):
        raise ck.err(ShapeError, f"stalk dimensions differ in {what}: {a.describe()} and "
                     f"{b.describe()}", span)
    t = ck.combine(replace(a, stalk=None), replace(b, stalk=None), span, what)
    stalk = a.stalk if a.stalk is not None and _same(t.channels, a.channels) else \
        b.stalk if b.stalk is not None and _same(t.channels, b.channels) else None
    return Type(t.kind, t.shape, stalk)


def stalk_matmul(ck, e: A.BinOp, a, b):
    """``W @ x`` (stalk mixing, W [d', d]) or ``x @ W`` (channel mixing, W [k, k']) on a value
    ``x`` of a ``node[d, k]`` field.

    Raises:
        KindError: ``W @ u`` with u not a stalk value, or ``u @ v`` with v not a matrix.
        ShapeError: W does not fit the stalk (d) or the channels (k).
    """
    if a.kind == Kind.MATRIX:
        if b.kind == Kind.MATRIX:
            raise ck.err(KindError, "write products of matrices as x @ A @ B", e.left.span)
        if b.stalk is None:
            raise ck.err(KindError, "W @ u mixes the stalk coordinates of a value of a "
                         f"node[d, k] field ((I ⊗ W) u), got {b.describe()}; mix channels with "
                         "u @ W", e.right.span)
        if not _same(a.shape[1], b.stalk):
            raise ck.err(ShapeError, f"'@' needs a matrix with {b.stalk} columns to mix the "
                         f"stalk of {b.describe()}, got matrix [{a.shape[0]}, {a.shape[1]}]",
                         e.span)
        c = norm_channels(channel_expr(a.shape[0]) * channel_expr(stalk_channels(b)))
        return Type(b.kind, (c,), a.shape[0])
    if b.kind != Kind.MATRIX:
        raise ck.err(KindError, f"the right operand of '@' must be a learnable matrix, got "
                     f"{b.describe()}", e.right.span)
    k = stalk_channels(a)
    if not _same(b.shape[0], k):
        raise ck.err(ShapeError, f"'@' on {a.describe()} mixes its {k} channels per stalk "
                     f"coordinate: it needs a matrix with {k} rows, got matrix [{b.shape[0]}, "
                     f"{b.shape[1]}]", e.span)
    return Type(a.kind, (norm_channels(channel_expr(a.stalk) * channel_expr(b.shape[1])),), a.stalk)


def restriction_decls(ck, lets) -> dict:
    """``id(call) -> name`` of the ``restriction(...)`` calls that are the value of an ``edge``
    declaration (a ``let`` of one is an error)."""
    for name, d in lets.items():
        if not d.is_edge and isinstance(d.value, A.Call) and d.value.func == "restriction":
            raise ck.err(FormError, f"restriction maps live on edges: write 'edge {name} = "
                         "restriction(...)'", d.span)
    return {id(d.value): name for name, d in lets.items()
            if d.is_edge and isinstance(d.value, A.Call) and d.value.func == "restriction"}


def check_sheaf_use(ck, e) -> None:
    """Restriction maps may only be named (as the first argument of a sheaf operator)."""
    if isinstance(e, A.Name) or (isinstance(e, A.Call) and e.func == "restriction"):
        return
    raise ck.err(KindError, "restriction maps can only be the first argument of "
                 f"{', '.join(SHEAF_USERS)}", e.span)


def _endpoint_name(e):
    return endpoint(e.id) if isinstance(e, A.Name) else None


def sheaf_call(ck, e: A.Call):
    """Type of ``restriction(...)`` and of the sheaf operators (see the module docstring)."""
    f = e.func
    if f == "restriction":
        return _restriction(ck, e)
    if len(e.args) != 2 or e.kwargs:
        raise ck.err(ArgumentError, f"{f} takes 2 arguments, restriction maps and a value: "
                     f"{f}(F, {'y' if f == 'sheaf_div' else 'x'})", e.span)
    fa, xa = e.args
    ft = ck.expr(fa)
    if ft.kind != Kind.SHEAF or fa.id not in ck.sheaves:
        raise ck.err(KindError, f"the first argument of {f} must be restriction maps declared "
                     f"with 'edge F = restriction(...)', got {ft.describe()}", fa.span)
    xt = ck.expr(xa)
    want = "edge" if f == "sheaf_div" else "node"
    if xt.kind != want or xt.stalk is None:
        raise ck.err(KindError, f"{f} expects {'an' if want == 'edge' else 'a'} {want} value of "
                     f"a node[d, k] field (d-dimensional stalks), got {xt.describe()}", xa.span)
    if not _same(xt.stalk, ft.stalk):
        raise ck.err(ShapeError, f"{f}: the maps of '{fa.id}' act on stalks of dimension "
                     f"{ft.stalk}, the value has stalks of dimension {xt.stalk}", xa.span)
    stalk_channels(xt)
    return Type(Kind.EDGE if f == "sheaf_grad" else Kind.NODE, xt.shape, xt.stalk)


def _restriction(ck, e: A.Call):
    name = ck.scope.restrictions.get(id(e))
    if name is None:
        raise ck.err(FormError, "restriction(...) declares a sheaf: write it as the whole value "
                     "of an edge declaration, 'edge F = restriction(x_i, x_j, kind=diag)', and "
                     "pass F to the sheaf operators", e.func_span)
    if len(e.args) != 2:
        raise ck.err(ArgumentError, f"restriction takes the stalks at both ends, "
                     f"restriction(x_i, x_j, kind=...), got {len(e.args)} positional "
                     "argument(s)", e.span)
    kinds = dict(e.kwargs)
    for k, v in e.kwargs:
        if k not in ("kind",) + FLAGS:
            raise ck.err(ArgumentError, f"restriction has no option '{k}' (it takes kind="
                         f"{'|'.join(MAP_KINDS)}, weights=true|false and lowpass=true|false)",
                         v.span, did_you_mean(k, ("kind",) + FLAGS))
    flags = {}
    for f in FLAGS:
        fv = kinds.get(f)
        if fv is not None and not (isinstance(fv, A.Name) and fv.id in ("true", "false")):
            raise ck.err(ArgumentError, f"restriction's {f}= is true or false", fv.span)
        flags[f] = fv is not None and fv.id == "true"
    if "kind" not in kinds:
        raise ck.err(ArgumentError, f"restriction needs kind={'|'.join(MAP_KINDS)}", e.span)
    kv = kinds["kind"]
    if not isinstance(kv, A.Name) or kv.id not in MAP_KINDS:
        raise ck.err(NameError_, f"unknown restriction kind "
                     f"'{getattr(kv, 'id', '...')}' (known: {', '.join(MAP_KINDS)})", kv.span,
                     did_you_mean(getattr(kv, "id", ""), MAP_KINDS))
    ta, tb = (ck.expr(a) for a in e.args)
    for a, t in zip(e.args, (ta, tb)):
        if t.kind != Kind.EDGE or t.stalk is None:
            raise ck.err(KindError, "restriction reads the stalks of a node[d, k] field at both "
                         f"ends of each edge, e.g. restriction(x_i, x_j, ...); got "
                         f"{t.describe()}", a.span)
    ea, eb = (_endpoint_name(a) for a in e.args)
    if not (ea and eb and ea[0] == eb[0] and ea[1] == "i" and eb[1] == "j"):
        raise ck.err(FormError, "restriction takes one node value at the receiving end and at "
                     "the neighbour, in that order: restriction(u_i, u_j, ...)", e.span)
    if flags["lowpass"] and isinstance(ta.stalk, int) and ta.stalk < 2:
        raise ck.err(ShapeError, "restriction(..., lowpass=true) fixes one stalk coordinate and "
                     f"learns the others: it needs a stalk of 2 or more, got {ta.stalk}", e.span)
    ck.sheaves[name] = SheafInfo(name, kv.id, ta.stalk, stalk_channels(ta), **flags)
    return Type(Kind.SHEAF, (1,), ta.stalk)
