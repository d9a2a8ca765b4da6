"""The code-generation rules: ``{IR type: rule}``, one rule per class of the stencil IR.

:meth:`pde2gnn.compiler.backend.codegen.CodeGen.emit` looks an expression's class up in
:data:`RULES` along its method resolution order (so ``SoftmaxI`` finds its own kernel and
``GraphNetApply`` its own rule before ``NetApply``'s); a class with no rule is a loud
:class:`~pde2gnn.errors.UnsupportedError` naming it. Every built-in with a kernel in its row
(:data:`pde2gnn.compiler.symbolic.ops.KERNELS`) gets the generic call rule; the structural
classes (sums, products, powers, ``@``, slices, networks, sheaf operators) have their own.

A rule is ``rule(gen, e, lv) -> str``: the Python source of ``e`` at level ``lv``, with
``gen.ref`` for the names of its sub-expressions and ``gen._arg`` for tensor arguments.
Imports: the symbolic IR and :mod:`pde2gnn.errors` only (the generator is passed in).
"""
from __future__ import annotations

from typing import Callable, Dict

import sympy as sp

from pde2gnn.compiler.symbolic import elementwise as E
from pde2gnn.compiler.symbolic import ops as O
from pde2gnn.compiler.symbolic import sheaf as S
from pde2gnn.compiler.symbolic.symbols import Level
from pde2gnn.errors import UnsupportedError


def _common_factor(e: sp.Add):
    """A non-numeric factor of every term of ``e`` (``c a + c b``), or None."""
    terms = [sp.Mul.make_args(a) for a in e.args]
    for f in terms[0]:
        if not f.is_Number and all(f in t for t in terms[1:]):
            return f
    return None


def _add(g, e, lv):
    c = _common_factor(e)
    if c is not None:            # c a + c b -> c (a + b): one product (and one in the backward)
        rest = sp.Add(*(a / c for a in e.args))
        return f"{g._paren(c, g.ref(c, lv), strict=True)} * ({g.ref(rest, lv)})"
    return " + ".join(g.ref(a, lv) for a in e.args).replace("+ -", "- ")


def _factors(g, e, lv):
    """The factors of product ``e`` as computed at level ``lv``: its numbers and its factors
    of a lower level multiplied together once, at their own level (``-x^3 * sigmoid(b)`` is
    ``x^3 * c``, ``c = -sigmoid(b)`` per solve), so that a number costs no product per
    evaluation."""
    low = [a for a in e.args if a.is_number or g.p.level(a) < lv]
    if len(low) < 2 or len(low) == len(e.args) or all(a.is_number for a in low):
        return e.args
    return (sp.Mul(*low), *(a for a in e.args if a not in low))


def _mul(g, e, lv):
    r = lambda a: g.ref(a, lv)  # noqa: E731
    num, den = [], []
    for a in _factors(g, e, lv):
        if a.is_Pow and a.args[1] == -1:
            den.append(a.args[0])
        elif a.is_Rational and a.q != 1 and a.p == 1:
            den.append(sp.Integer(a.q))
        else:
            num.append(a)
    code = " * ".join(g._paren(a, r(a)) for a in num) or "1.0"
    if num and num[0] == -1:
        code = "-" + " * ".join(g._paren(a, r(a)) for a in num[1:]) if len(num) > 1 \
            else "-1.0"
    for d in den:
        code = f"{code} / {g._paren(d, r(d), strict=True)}"
    return code


def _pow(g, e, lv):
    r = lambda a: g.ref(a, lv)  # noqa: E731
    b, x = e.args
    if x == sp.Rational(1, 2):
        return f"torch.sqrt({r(b)})"
    if x == -1:
        return f"1.0 / {g._paren(b, r(b), strict=True)}"
    if x == 2:
        return f"torch.square({r(b)})"
    if isinstance(b, E.Abs) and x.is_Number and x > 1:     # |u| ** p: one kernel, cheap backward
        return f"_G.abs_pow({r(b.args[0])}, {float(x)!r})"
    return f"{g._paren(b, r(b), strict=True)} ** {g._paren(x, r(x), strict=True)}"


def _edge_difference(e):
    """``u`` where ``e`` is ``u_j - u_i`` or ``u_i - u_j`` (either sign form), else None."""
    if not isinstance(e, sp.Add) or len(e.args) != 2:
        return None
    parts = []
    for t in e.args:
        sign = 1
        if t.is_Mul and len(t.args) == 2 and t.args[0] == -1:
            sign, t = -1, t.args[1]
        if not isinstance(t, O.ENDPOINTS):
            return None
        inner = t.args[0]
        if inner.could_extract_minus_sign():
            sign, inner = -sign, -inner
        parts.append((type(t), sign, inner))
    (c1, s1, u1), (c2, s2, u2) = parts
    return u1 if c1 is not c2 and s1 == -s2 and u1 == u2 else None


def _sum_j(g, e, lv):
    """``sum_j(abs(u_j - u_i) ** p)``, p > 1 a number -> ``_G.sum_abs_pow_diff(u, p)`` (the
    p-Dirichlet energy density in one kernel, ``backend/edge_power.py``); else ``_G.sum_j``."""
    a = e.args[0]
    if a.is_Pow and isinstance(a.args[0], E.Abs) and a.args[1].is_Number and a.args[1] > 1:
        u = _edge_difference(a.args[0].args[0])
        if u is not None:
            return f"_G.sum_abs_pow_diff({g.ref(u, lv)}, {float(a.args[1])!r})"
    return _kernel(O.KERNELS[O.SumJ], "edge" if issubclass(O.SumJ, O.EDGE_ROWS) else None)(
        g, e, lv)


def _net(g, e, lv):
    r = lambda a: g.ref(a, lv)  # noqa: E731
    net, *args = e.args
    if g._mlp_on_edges(e):
        parts = (f"('{a.side}', {r(a.args[0])})" if isinstance(a, O.ENDPOINTS)
                 else f"('e', {r(a)})" for a in args[0].args)
        return f"{r(net)}.on_edges(_G, {', '.join(parts)})"
    return f"{r(net)}({', '.join(g._arg(a, lv) for a in args)})"


def _graph_net(g, e, lv):
    net, *args = e.args
    return f"{g.ref(net, lv)}(_G, " + ", ".join(
        g._arg(a, lv, k) for a, k in zip(args, ("node", "edge"))) + ")"


def _on_rows(g, e, lv):
    """A node value on the rows of a prescribed source (:mod:`.sources`): ``_rows.take``."""
    name = g.row_sets[int(e.args[1])]
    src = name if lv == 0 else g._import(name, 0, lv)
    return f"_rows.take({src}, {g.ref(e.args[0], lv)})"


def _kernel(kernel: str, rows):
    """The call of a built-in's kernel (its row), a scalar argument repeated on every row
    for the kernels that need one per edge."""
    def rule(g, e, lv):
        return f"{kernel}({', '.join(g._arg(a, lv, rows) for a in e.args)})"
    return rule


def _dot(g, e, lv):
    """``dot(u_i, v_j)`` (either order: dot is symmetric) -> ``_G.dot_ij(u, v)``, the sampled
    product that never forms the two ``[E, c]`` gathers; any other dot -> ``_G.dot``."""
    a, b, *heads = e.args
    if isinstance(a, O.AtJ) and isinstance(b, O.AtI):
        a, b = b, a
    if isinstance(a, O.AtI) and isinstance(b, O.AtJ):
        args = [g._arg(a.args[0], lv), g._arg(b.args[0], lv)] + [g._arg(h, lv) for h in heads]
        return f"_G.dot_ij({', '.join(args)})"
    return f"_G.dot({', '.join(g._arg(x, lv) for x in e.args)})"


def _sheaf_rules():
    """Sheaf operators (:mod:`pde2gnn.compiler.symbolic.sheaf`): calls into
    :mod:`pde2gnn.compiler.backend.sheaf_ops`, imported by the generated source as ``_sheaf``."""
    def r(g, a, lv):
        return g.ref(a, lv)
    return {
        S.SheafMaps: lambda g, e, lv: f"_sheaf.restriction_maps(_G, {r(g, e.args[0], lv)}, "
                                      f"{g._arg(e.args[1], lv)}, {int(e.args[2])})",
        S.SheafOperator: lambda g, e, lv: f"_sheaf.operator(_G, {r(g, e.args[0], lv)}, "
                                          f"normalise={bool(e.args[1])})",
        S.SheafLap: lambda g, e, lv: f"_sheaf.apply(_G, {r(g, e.args[0], lv)}, "
                                     f"{g._arg(e.args[1], lv, 'node')})",
        S.SheafGrad: lambda g, e, lv: f"_sheaf.grad(_G, {r(g, e.args[0], lv)}, "
                                      f"{g._arg(e.args[1], lv, 'node')})",
        S.SheafDiv: lambda g, e, lv: f"_sheaf.div(_G, {r(g, e.args[0], lv)}, "
                                     f"{g._arg(e.args[1], lv, 'edge')})",
        S.StalkLeft: lambda g, e, lv: f"_sheaf.stalk_left({r(g, e.args[0], lv)}, "
                                      f"{g._arg(e.args[1], lv)}, {int(e.args[2])})",
        S.StalkRight: lambda g, e, lv: f"_sheaf.stalk_right({g._arg(e.args[0], lv)}, "
                                       f"{r(g, e.args[1], lv)}, {int(e.args[2])})",
        S.PerStalk: lambda g, e, lv: f"_sheaf.per_stalk({g._arg(e.args[0], lv)}, "
                                     f"{int(e.args[1])})",
    }


def right_product(g, code: str, w: sp.Expr, lv: Level) -> str:
    """Code of ``code @ w``. By a learnable constrained to its diagonal alone (``learn W : [d,
    d] diag``, :class:`~pde2gnn.compiler.backend.constraints.Diagonal`), a channel product by
    its diagonal, taken once per solve: the same values, without a dense ``[N, d] x [d, d]``
    product per evaluation (and its two in the backward pass)."""
    info = g.p.ir.constants.learnables.get(w.name) if w.is_Symbol else None
    if info is None or info.constraints != ("diag",):
        return f"{code} @ {g.ref(w, lv)}"
    L, key = g.levels[Level.SOLVE], ("diagonal", w)
    if key not in L.memo:
        L.memo[key] = L.new()
        L.lines.append(f"{L.memo[key]} = torch.diagonal({g.ref(w, Level.SOLVE)})")
    name = L.memo[key]
    return f"{code} * {name if lv == Level.SOLVE else g._import(name, Level.SOLVE, lv)}"


#: IR class -> code-generation rule (see the module docstring)
RULES: Dict[type, Callable] = {
    **{cls: _kernel(k, "edge" if issubclass(cls, O.EDGE_ROWS) else None)
       for cls, k in O.KERNELS.items()},
    O.Dot: _dot,
    O.SumJ: _sum_j,
    sp.Add: _add,
    sp.Mul: _mul,
    sp.Pow: _pow,
    O.Fill: lambda g, e, lv: f"_G.fill({float(e.args[0])!r}, {int(e.args[1])})",
    O.SumI: lambda g, e, lv: f"_G.{e.spec_name}({g._arg(e.args[0], lv)})",
    O.SumIJ: lambda g, e, lv: f"_G.{e.spec_name}({g._arg(e.args[0], lv)})",
    O.MatMul: lambda g, e, lv: right_product(g, g._paren(e.args[0], g._arg(e.args[0], lv)),
                                             e.args[1], lv),
    O.Transpose: lambda g, e, lv: f"{g.ref(e.args[0], lv)}.T",
    O.Slice: lambda g, e, lv: f"{g._paren(e.args[0], g.ref(e.args[0], lv), strict=True)}"
                              f"[..., {int(e.args[1])}:{int(e.args[2])}]",
    O.Cat: lambda g, e, lv: f"_G.cat([{', '.join(g._arg(a, lv) for a in e.args)}])",
    O.NetApply: _net,
    O.OnRows: _on_rows,
    O.GraphNetApply: _graph_net,
    # the rate as a literal: no tensor, no device sync
    O.Dropout: lambda g, e, lv: f"_G.dropout({g._arg(e.args[0], lv)}, {float(e.args[1])!r})",
    **_sheaf_rules(),
}


def rule_for(table: Dict[type, Callable], e: sp.Expr, what: str, where: str = ""):
    """The rule of ``e``'s class (or of the nearest base class with one) in ``table``.

    Raises:
        UnsupportedError: no class along ``type(e).__mro__`` has a rule; the message names
            the class and which ``what`` rule is missing (``where``: appended context).
    """
    for cls in type(e).__mro__:
        rule = table.get(cls)
        if rule is not None:
            return rule
    raise UnsupportedError(f"no {what} rule for {type(e).__name__}{where}")
