"""The source term of a sparse product with boundary conditions: its code generation.

With boundary conditions (:mod:`pde2gnn.compiler.discretize.boundary`) a field's right-hand
side is ``A @ u + r(t, u)``: one CSR product and a remainder ``r``. The remainder splits in two:

- the state-dependent part (a reaction ``(1 - M) (u - u^3)``...), added as the product's bias
  (``bias + A @ u`` in one ``torch.addmm``, :func:`bias_code`);
- the *prescribed* part, the Dirichlet values ``g`` read through the eliminated unknowns, the
  boundary fluxes, ``dg/dt`` on the Dirichlet rows: a sum ``sum_k c_k(t) v_k`` of scalar time
  factors ``c_k(t)`` (``sin(t)``, ``cos(t)``; a constant value stays in the bias) times node vectors ``v_k``
  fixed by the graph. The vectors are zero off the boundary (the Dirichlet / flux rows and
  their neighbours), so they are stacked once per graph on their ``n_b`` non-zero rows
  (:func:`~pde2gnn.compiler.backend.source_rows.stack`), and an evaluation adds
  ``sum_k c_k(t) v_k`` into those rows of the product's output
  (:func:`~pde2gnn.compiler.backend.source_rows.add`): O(n_b) work, no pass over the N nodes
  per time factor (before: one ``[N, 1]`` pass per time factor and one per sum, 1.13-1.19x
  an evaluation without the condition, ``benchmarks/boundary.py``);
- the terms that depend on t and the state together and vanish off the boundary (a Robin
  flux ``S (g - a u) / (b + a d)`` whose ``a`` or ``b`` depends on t, :func:`on_rows`):
  computed on the same rows, from the state gathered there
  (:func:`~pde2gnn.compiler.backend.source_rows.take`), and added with the prescribed part
  (before: on every node, 4.1-4.8x an evaluation without the condition).

Code generation only (no torch); the generated code imports the kernels,
:mod:`pde2gnn.compiler.backend.source_rows`, as ``_rows``.
"""
from __future__ import annotations

from typing import Dict, List, Tuple

import sympy as sp

from pde2gnn.compiler.lang.kinds import Kind
from pde2gnn.compiler.symbolic import ops as O
from pde2gnn.compiler.passes.cse import is_constant
from pde2gnn.compiler.symbolic.symbols import Level

def split(an, rem: sp.Expr) -> Tuple[sp.Expr, Dict[sp.Expr, sp.Expr]]:
    """``rem = rest + sum_k c_k v_k``: the terms of ``rem`` that are a time factor (a scalar
    that changes at every evaluation without the state: ``sin(t)``, ``t * k``) times a node
    vector fixed by the graph (:attr:`Level.STATIC`), grouped by factor ``{c_k: v_k}``;
    a static term without a time factor is grouped under 1 when there are time factors
    (:func:`product_with_source` keeps it in the product's static bias); ``rest`` is
    everything else: the state's terms, per-solve sources, node-valued time series, and a
    static source alone (which costs nothing as the product's static bias)."""
    rest, terms = [], {}
    for a in sp.Add.make_args(rem):
        num, a1 = a.as_coeff_Mul()
        fs = sp.Mul.make_args(a1)
        vec = sp.Mul(*[x for x in fs if an.level(x) < Level.STEP])
        fac = sp.Mul(*[x for x in fs if an.level(x) == Level.STEP])
        if vec != 1 and an.level(vec) == Level.STATIC and an.kind(vec) == Kind.NODE and \
                an.kind(fac) == Kind.SCALAR and an.channels(fac) == 1 and \
                not any(an.symbols[s.name].role in ("field", "temp", "series")
                        for s in fac.free_symbols if s.name in an.symbols):
            terms[fac] = terms.get(fac, 0) + num * vec
        else:
            rest.append(a)
    if list(terms) == [1]:       # constant only: the product's static bias, no work at all
        return rem, {}
    return sp.Add(*rest), terms


#: the IR classes a term evaluated on the boundary rows may contain: row-wise arithmetic and
#: elementwise functions (no reduction over neighbours, no network, no ``init``)
_ROWWISE = (sp.Add, sp.Mul, sp.Pow, O.MatMul, O.Slice) + O.LIFTABLE


def _sparse(e: sp.Expr, sparse: set) -> bool:
    """Is ``e`` zero wherever the node vectors ``sparse`` names are (a factor of one of them,
    or a sum of such terms)?"""
    if e.is_Symbol:
        return e.name in sparse
    if e.is_Mul:
        return any(_sparse(x, sparse) for x in e.args)
    return e.is_Add and all(_sparse(x, sparse) for x in e.args)


def _rowwise(an, e: sp.Expr) -> bool:
    for x in sp.preorder_traversal(e):
        if x.is_Symbol:
            info = an.symbols.get(x.name)
            if info is None or info.role in ("net", "series") or info.type.kind == Kind.EDGE:
                return False
        elif not (x.is_Number or isinstance(x, _ROWWISE)):
            return False
    return True


def boundary_arrays(p) -> set:
    """The names of the node vectors that are zero off the boundary in program ``p``: the
    faces' geometric source factors ``geo_<op>__<f>_s<k>``, the Dirichlet face masks and the
    node masks of conditions."""
    return {n for n, v in p.boundary.items() if v[1] in ("source", "mask")} | \
        {c.mask for c in p.ir.boundary if c.mask is not None}


def on_rows(an, rest: sp.Expr, sparse: set) -> Tuple[sp.Expr, List[sp.Expr], sp.Expr]:
    """``rest = other + R`` with R the terms to evaluate on the boundary rows only: terms that
    change at every evaluation (t and the state together, e.g. a Robin flux
    ``S (g - a u) / (b + a d)`` whose ``a`` or ``b`` depends on t), are a product with one
    of the node vectors ``sparse`` names (``S``, a mask: zero off the boundary,
    :func:`boundary_arrays`), and are row-wise (:data:`_ROWWISE`). Returns
    ``(other, supports, R)``: the static node factors of R's terms (their non-zero rows are
    R's rows) and R (0 when there is none)."""
    other, supports, terms = [], [], []

    def take(a) -> bool:
        if an.level(a) == Level.STEP and _sparse(a, sparse) and _rowwise(an, a):
            supports.append(sp.Mul(*[x for x in sp.Mul.make_args(a)
                                     if an.level(x) == Level.STATIC and an.kind(x) == Kind.NODE]))
            terms.append(a)
            return True
        return False

    for a in sp.Add.make_args(rest):
        if take(a):
            continue
        sums = [x for x in sp.Mul.make_args(a) if x.is_Add and an.level(x) == Level.STEP]
        if len(sums) != 1:          # F (A_1 + A_2 + ...), F fixed (the 1 - M of Dirichlet
            other.append(a)         # rows): its terms F A_k that vanish off the boundary
            continue
        F = sp.Mul(*[x for x in sp.Mul.make_args(a) if x is not sums[0]])
        left = [b for b in sums[0].args if not take(sp.Mul(F, b))]
        other.append(a if len(left) == len(sums[0].args) else F * sp.Add(*left))
    return sp.Add(*other), list(dict.fromkeys(supports)), sp.factor_terms(sp.Add(*terms))


def _restrict(an, e: sp.Expr, k: int) -> sp.Expr:
    """``e`` with every node symbol read on the rows of prescribed source ``k`` (``OnRows``),
    and in each sum the terms fixed per graph or per solve summed apart (computed once at
    their own level instead of once per evaluation)."""
    e = e.xreplace({s: O.OnRows(s, k) for s in e.free_symbols
                    if s.name in an.symbols and an.kind(s) == Kind.NODE})
    state = [x for x in e.atoms(O.OnRows) if an.level(x) == Level.STEP]

    def hoist(x):
        if not x.args or isinstance(x, O.OnRows):
            return x
        x = x.func(*[hoist(a) for a in x.args])
        if x.is_Add:            # 1 - u - u y -> 1 - u (1 + y): the state read once
            x = sp.collect(x, state)
        if x.is_Add:
            lo = [a for a in x.args if an.level(a) < Level.STEP]
            if 1 < len(lo) < len(x.args):
                return sp.Add(sp.Add(*lo), *[a for a in x.args if a not in lo], evaluate=False)
        return x
    return hoist(e)


def _number_code(an, e: sp.Expr):
    """The code of a time factor on ``_t = _rows.time(t)`` (a Python float where that is
    safe): numbers, t, sums, products, non-negative integer powers, ``sin`` and ``cos``
    (``_rows.sin``: math on a number, torch on a tensor), which cannot fail on a number;
    None for anything else (division, ``exp``, parameters that learn: the torch code)."""
    if e.is_Number:
        return repr(float(e))
    if e.is_Symbol:
        info = an.symbols.get(e.name)
        return "_t" if info is not None and info.role == "time" else None
    if e.is_Pow and not (e.exp.is_Integer and e.exp >= 0):
        return None
    if not (e.is_Add or e.is_Mul or e.is_Pow or isinstance(e, (O.Sin, O.Cos))):
        return None
    args = [_number_code(an, a) for a in e.args]
    if None in args:
        return None
    if isinstance(e, (O.Sin, O.Cos)):
        return f"_rows.{e.spec_name}({args[0]})"
    op = " + " if e.is_Add else " * " if e.is_Mul else " ** "
    return "(" + op.join(args) + ")"


def product_with_source(gen, term: str, rem: sp.Expr, target: sp.Symbol) -> str:
    """The code of ``term + rem`` for a sparse product's code ``term`` (``_G.spmm...(...)``)
    into field ``target``:
    ``rem``'s prescribed part (:func:`split`) and its terms evaluated on the boundary rows
    (:func:`on_rows`) stacked at the static level
    (:func:`~pde2gnn.compiler.backend.source_rows.stack`) and added into the product's output
    on those rows at each evaluation (:func:`~pde2gnn.compiler.backend.source_rows.add`); the
    rest of ``rem`` (the state's terms elsewhere, static sources) is the product's bias
    (:func:`bias_code`)."""
    an = gen.an
    rest, terms = split(an, rem)
    rest += terms.pop(sp.Integer(1), 0)     # a static part: in the bias, computed once
    rest, supports, R = on_rows(an, rest, boundary_arrays(gen.p))
    product = term if rest == 0 else f"{term[:-1]}, {bias_code(gen, rest)})"
    if not terms and R == 0:
        return product
    static = gen.levels[Level.STATIC]
    name = static.new()
    vecs = "".join(gen.ref(v, Level.STATIC) + ", " for v in terms.values())
    sup = "".join(gen.ref(v, Level.STATIC) + ", " for v in supports)
    static.lines.append(f"{name} = _rows.stack(({vecs}), ({sup}), {an.channels(target)})"
                        "  # the prescribed source")
    facs = ""
    for c in terms:
        num = _number_code(an, c)
        if num is not None:
            gen.levels[Level.STEP].loads.setdefault("_t", "_t = _rows.time(t)")
        facs += (gen.ref(c, Level.STEP) if num is None else num) + ", "
    args = f"{gen._import(name, Level.STATIC, Level.STEP)}, ({facs})"
    if R != 0:
        gen.row_sets.append(name)
        args += f", {gen.ref(_restrict(an, R, len(gen.row_sets) - 1), Level.STEP)}"
    if rest == 0:       # the product's only bias: a buffer with the rows written
        return f"{term[:-1]}, _rows.bias({args}, like={gen._leaf(target, Level.STEP)}))"
    return f"_rows.add({product}, {args})"      # into the output of a product with a bias


def bias_code(gen, rem: sp.Expr) -> str:
    """Code for a source ``rem`` added as a sparse product's bias. One state term times a
    frozen node vector (the ``(1 - M)`` of Dirichlet rows) plus terms without the state is
    one ``torch.addcmul`` (one pass over the nodes instead of a product and a sum)."""
    an = gen.an
    parts = sp.Add.make_args(rem)
    state = [a for a in parts if an.level(a) == Level.STEP and any(
        an.symbols[x.name].role in ("field", "temp") for x in a.free_symbols
        if x.name in an.symbols)]
    fixed = sp.Add(*[a for a in parts if not state or a is not state[0]])
    if len(state) == 1 and isinstance(state[0], sp.Mul) and len(parts) > 1 and \
            not is_constant(fixed):
        first = gen.ref(fixed, Level.STEP)     # torch.addcmul / add want a tensor first
        fs = sp.Mul.make_args(state[0])
        frozen = [x for x in fs if an.level(x) < Level.STEP and not is_constant(x)]
        dyn = sp.Mul(*[x for x in fs if x not in frozen])
        if frozen and dyn != 1:
            return (f"torch.addcmul({first}, {gen.ref(dyn, Level.STEP)}, "
                    f"{gen.ref(sp.Mul(*frozen), Level.STEP)})")
        c, dyn = state[0].as_coeff_Mul()
        if c != 1 and dyn.free_symbols:        # -u^3 + g: one torch.add with alpha = -1
            return f"torch.add({first}, {gen.ref(dyn, Level.STEP)}, alpha={float(c)!r})"
    return gen.ref(rem, Level.STEP)
