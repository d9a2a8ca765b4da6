"""Code generation: :class:`~pde2gnn.compiler.discretize.StencilProgram` -> Python source for torch.

The generated module has three functions, one per *level* of the values it computes:

- ``static(_G, _I)``: quantities fixed by the graph and the inputs (e.g. a Laplacian's weights);
  computed once per graph, device and dtype, returned as a dict ``_S``.
- ``prepare(_G, _I, _L, _S, _y0)``: quantities fixed during one solve: constrained learnable
  parameters, anything built from ``init(x)`` (e.g. GRAND-l's attention), the fused sparse
  matrices' values; returned as a dict ``_C``.
- ``step(t, y, _G, _I, _L, _S, _C)``: the vector field f(t, y), called by the ODE solver (for a
  discrete-time model: the state at the next frame). ``y`` is ``[N, D]`` or batched
  ``[B, N, D]``: every kernel works on the last two axes (nodes or edges, channels).

Learnable networks (``net`` declarations) are modules passed in ``_L`` with the parameters.
With probes (named ``let`` / ``edge`` values requested at compile time), ``step`` returns
``(value, {name: tensor})``.

The program comes through the code-generation passes (:mod:`pde2gnn.compiler.passes`):
``split`` (the groups of L), ``lift_gathers`` (node-level work before gathering to edges,
``(x0 @ W)_i`` rather than ``x0_i @ W``), ``cse`` (shared subexpressions, computed once) and
``level_hoist`` (each expression computed at the lowest level it can be); this module writes
out what they decided. The source only contains names of the spec (checked identifiers),
generated names starting with ``_``, numeric literals and calls into ``torch`` and the graph
kernels :class:`~pde2gnn.compiler.backend.graph_ops.GraphOps`: nothing of the spec text is
evaluated.
"""
from __future__ import annotations

import keyword
import re
from typing import Dict, List

import sympy as sp

from pde2gnn.compiler.backend.emit import RULES, right_product, rule_for
from pde2gnn.compiler import passes
from pde2gnn.compiler.discretize.program import StencilProgram
from pde2gnn.compiler.passes.cse import is_constant, roots as program_roots
from pde2gnn.compiler.backend.sources import product_with_source
from pde2gnn.compiler.symbolic import ops as O
from pde2gnn.compiler.lang.kinds import Kind
from pde2gnn.compiler.symbolic.symbols import Level

#: names the generated functions use themselves (``step(t, y, ...)``)
_TAKEN = ("t", "y", "torch")


def py_name(name: str) -> str:
    """The Python variable of spec name ``name``: itself, unless it is a Python keyword
    (``lambda``, ``None``, ``class``...) or a name the generated code uses (``y``); then
    ``_u_<name>`` (spec names cannot start with ``_``, so this never collides)."""
    return f"_u_{name}" if keyword.iskeyword(name) or name in _TAKEN else name


class _Level:
    def __init__(self, name: str, prefix: str):
        self.name, self.prefix = name, prefix
        self.lines: List[str] = []
        self.loads: Dict[str, str] = {}
        self.memo: Dict[sp.Expr, str] = {}
        self.count = 0

    def new(self) -> str:
        self.count += 1
        return f"_{self.prefix}{self.count - 1}"


class CodeGen:
    """Generates the source; :attr:`source` is the text, :attr:`exports` the cross-level names."""

    def __init__(self, program: StencilProgram):
        self.p = program
        self.an = program.analyzer
        self.levels = [_Level("static", "s"), _Level("prepare", "c"), _Level("step", "v")]
        self.exported: List[set] = [set(), set(), set()]
        ir = program.ir
        self.field_slices = {}
        start = 0
        for f in ir.rhs:
            c = ir.channels(f)
            self.field_slices[f] = (start, start + c)
            start += c
        self.state_width = start
        self.row_sets: List[str] = []    # static names of prescribed sources (sources.py)
        self.source = self._generate()

    # ------------------------------------------------------------- expressions
    def _leaf(self, e: sp.Symbol, lv: Level) -> str:
        info = self.an.symbols[e.name]
        L = self.levels[lv]
        if info.role == "graph":
            return f"_G.{e.name}"
        if info.role == "time":
            return "t"
        if info.role in ("field", "temp"):
            return py_name(e.name)
        if info.role == "series":    # a given time series at t: graph_ops.series_at
            L.loads.setdefault(e.name, f"{py_name(e.name)} = _G.series_at(_I['{e.name}'], "
                                       f"_I['{e.name}__times'], t)")
            return py_name(e.name)
        src = {"input": "_I", "learn": "_L", "net": "_L"}[info.role]
        L.loads.setdefault(e.name, f"{py_name(e.name)} = {src}['{e.name}']")
        return py_name(e.name)

    def ref(self, e: sp.Expr, lv: Level) -> str:
        """Code for value ``e`` usable at level ``lv`` (hoisting it to its own level)."""
        if is_constant(e):
            return repr(float(e))
        if e.is_Symbol:
            return self._leaf(e, lv)
        if isinstance(e, O.Init):  # defined in prepare; imported from _C where used later
            name = f"_init_{e.args[0].name}"
            return name if lv == Level.SOLVE else self._import(name, Level.SOLVE, lv)
        own = self.p.level(e)
        if own < lv:
            name = self.define(e, own)
            return self._import(name, own, lv)
        if e in self.p.shared:
            return self.define(e, lv)
        return self.emit(e, lv)

    def _import(self, name: str, own: int, lv: Level) -> str:
        self.exported[own].add(name)
        src = "_S" if own == Level.STATIC else "_C"
        self.levels[lv].loads.setdefault(name, f"{name} = {src}['{name}']")
        return name

    def define(self, e: sp.Expr, lv: Level) -> str:
        L = self.levels[lv]
        if e in L.memo:
            return L.memo[e]
        code = self.emit(e, lv)
        name = L.new()
        L.lines.append(f"{name} = {code}")
        L.memo[e] = name
        return name

    def emit(self, e: sp.Expr, lv: Level) -> str:
        """The source of ``e`` by the rule of its class (:data:`~pde2gnn.compiler.backend.emit.RULES`).

        Raises:
            UnsupportedError: no code generation rule for the class of ``e``.
        """
        rule = rule_for(RULES, e, "code generation", f" (in model '{self.p.ir.name}')")
        return rule(self, e, lv)

    def _arg(self, a: sp.Expr, lv: int, rows=None) -> str:
        """Code of a function argument: a tensor, also for a constant (``_G.fill(c, 1)``);
        ``rows`` (``'node'`` / ``'edge'``) repeats a scalar value on every node / edge."""
        code = f"_G.fill({float(a)!r}, 1)" if is_constant(a) else self.ref(a, lv)
        if rows is not None and self.an.kind(a) == Kind.SCALAR:
            code = f"_G.rows({code}, '{rows}')"
        return code

    def _mlp_on_edges(self, e: O.NetApply) -> bool:
        """Is ``e`` an ``mlp`` of a concatenation of edge values, some of them node values read
        at an end (``msg(cat(h_i, h_j, rel))``)? Then its first layer is taken block by block,
        node blocks once per node (:meth:`~pde2gnn.compiler.backend.nets.MLP.on_edges`)."""
        net, *args = e.args
        if isinstance(e, O.GraphNetApply) or len(args) != 1 or not isinstance(args[0], O.Cat) \
                or self.p.ir.constants.nets[net.name].kind != "mlp":
            return False
        parts = args[0].args
        return any(isinstance(a, O.ENDPOINTS) for a in parts) and all(
            isinstance(a, O.ENDPOINTS) or self.an.kind(a) == Kind.EDGE for a in parts)

    @staticmethod
    def _paren(e: sp.Expr, code: str, strict: bool = False) -> str:
        simple = code.replace("_", "").replace(".", "").isalnum() or (
            code.endswith(")") and code.count("(") == 1 and not code.startswith("("))
        if e.is_Add or (strict and not simple) or code.startswith("-"):
            return f"({code})"
        return code

    # ------------------------------------------------------------- program
    def _generate(self) -> str:
        p = self.p
        it = iter(program_roots(p))
        step = self.levels[Level.STEP]
        contributions: Dict[str, List[str]] = {f: [] for f in [*p.ir.rhs, *p.temps]}
        matrices: Dict[sp.Expr, str] = {}   # one CSR value vector per distinct weight
        dynamic = set()   # targets whose value depends on the state (else: a constant source)
        # with boundary conditions, a target's source is the bias of its first plain sparse
        # product (``bias + A @ x`` in one call, graph_ops._csr_product); specs without them
        # keep their code (the goldens)
        bias_slot: Dict[str, int] = {}
        self.split_terms: Dict[int, str] = {}   # group index -> its code, for the split
        for k, g in enumerate(p.groups):
            wj, wi, dg = next(it), next(it), next(it)
            sc = next(it) if g.scale != 1 else None
            term = None
            diag = dg if wi == 0 else dg + O.SumJ(wi)
            # a frozen one-channel diagonal joins the frozen off-diagonal entries in one CSR
            # matrix on the edges-plus-loops pattern: one sparse product per evaluation
            fold = wj != 0 and diag != 0 and self.an.channels(diag) == 1 and \
                max(self.p.level(wj), self.p.level(diag)) < Level.STEP
            if wj != 0:
                key = (wj, diag) if fold else (wj, 0)
                if key not in matrices:
                    lvw = max(self.p.level(wj), self.p.level(diag)) if fold \
                        else self.p.level(wj)
                    vals = self.levels[lvw].new()
                    code = f"_G.edge_values({self.ref(wj, lvw)})"
                    if fold:
                        code = f"_G.with_diagonal({code}, {self.ref(diag, lvw)})"
                    self.levels[lvw].lines.append(
                        f"{vals} = {code}  # A[i, j]{' + diagonal' if fold else ''} of "
                        f"{g.target} <- {g.source}")
                    matrices[key] = self._import(vals, lvw, Level.STEP) if lvw < Level.STEP \
                        else vals
                term = f"_G.{'spmm_loops' if fold else 'spmm'}({matrices[key]}, " \
                    f"{py_name(g.source)})"
                if not (diag != 0 and not fold) and not g.right and sc is None and \
                        p.ir.boundary:
                    bias_slot.setdefault(g.target, len(contributions[g.target]))
            if diag != 0 and not fold:
                dterm = py_name(g.source)   # x * 1.0 is x exactly: no product (a copy)
                if not (diag.is_Number and diag == 1):
                    dterm = f"{self._paren(diag, self.ref(diag, Level.STEP))} * {dterm}"
                term = dterm if term is None else f"{term} + {dterm}"
            if term is None:
                continue
            for w in g.right:
                term = right_product(self, f"({term})", w, Level.STEP)
            if sc is not None:      # a coefficient with channels outside the sparse sum
                term = f"{self._paren(sc, self.ref(sc, Level.STEP))} * ({term})"
            contributions[g.target].append(term)
            dynamic.add(g.target)
            self.split_terms[k] = term
        rems = {f: next(it) for f in p.remainder}
        # affine with a frozen operator: f(t, y) = L y + c, L = the groups, c = the constant
        # remainders; rk.AffineStep then integrates it through the Krylov vectors of L
        self.affine = not p.ir.discrete and not p.temps and not p.probes and \
            all(self.p.level(w) < Level.STEP
                for g in p.groups for w in g.exprs) \
            and all(self.p.level(r) < Level.STEP for r in rems.values())
        linear = {f: list(terms) for f, terms in contributions.items()}
        for name in p.temps:  # node temporaries, in order (see StencilProgram.temps)
            terms = contributions.pop(name)
            if name in rems:
                terms.append(self.ref(rems.pop(name), Level.STEP))
            step.lines.append(f"{name} = " + " + ".join(terms))
        for f, rem in rems.items():
            if rem != 0 and f in bias_slot:
                k = bias_slot[f]     # the product's bias and its prescribed rows (sources.py)
                contributions[f][k] = product_with_source(self, contributions[f][k], rem,
                                                            sp.Symbol(f))
                if self.p.level(rem) == Level.STEP:
                    dynamic.add(f)
            elif rem != 0:
                contributions[f].append(self.ref(rem, Level.STEP))
                if self.p.level(rem) == Level.STEP:
                    dynamic.add(f)
        probes = {name: self.ref(next(it), Level.STEP) for name in p.probes}
        outs = []
        for f, terms in contributions.items():
            name, pf = f"_d_{f}", py_name(f)
            expr = " + ".join(f"({t})" if " + " in t or " - " in t else t for t in terms) \
                if terms else f"torch.zeros_like({pf})"
            if terms and f not in dynamic:
                expr = f"torch.zeros_like({pf}) + {expr}"  # a constant or per-solve source
            step.lines.append(f"{name} = {expr}")
            if terms:   # a sum of terms may broadcast smaller than the state: a constant, t
                step.lines.append(f"{name} = {name} if {name}.shape == {pf}.shape "
                                  f"else {name}.expand_as({pf})")
            outs.append(name)
        step.lines = [ln for ln in step.lines if ln]
        if probes:
            step.lines.append("_probes = {" + ", ".join(f"'{k}': {v}" for k, v in probes.items())
                              + "}")
        return self._assemble(outs, bool(probes), linear if self.affine else None)

    def _function(self, header: str, level: _Level, pre: List[str], ret: str) -> List[str]:
        body = pre + list(level.loads.values()) + level.lines + [f"return {ret}"]
        return ["", "", f"def {header}:"] + ["    " + ln for ln in body]

    def _slices(self, state: str, fmt: str) -> List[str]:
        """The fields' columns of ``state``, ``fmt.format(field)`` each: one ``split`` when the
        fields tile the state in order (its backward is one ``cat`` of the fields' gradients,
        where a slice per field would fill a zero state-sized gradient for each), else one
        slice per field."""
        names = [fmt.format(py_name(f) if fmt == '{}' else f) for f in self.field_slices]
        bounds = list(self.field_slices.values())
        if len(names) == 1:
            return [f"{names[0]} = {state}"]
        if all(bounds[k][1] == bounds[k + 1][0] for k in range(len(bounds) - 1)) \
                and bounds[0][0] == 0:
            widths = ", ".join(str(b - a) for a, b in bounds)
            return [f"{', '.join(names)} = {state}.split([{widths}], dim=-1)"]
        return [f"{n} = {state}[..., {a}:{b}]" for n, (a, b) in zip(names, bounds)]

    def _linear(self, terms: Dict[str, List[str]]) -> List[str]:
        """``linear(y, ...)``: L y, the state-linear part of an affine ``step`` (its sparse
        products and channel mixings without the constant source)."""
        V = self.levels[Level.STEP]
        lines, outs = [], []
        for f, ts in terms.items():
            lines.append(f"_l_{f} = " + (" + ".join(f"({t})" if " + " in t or " - " in t else t
                                                 for t in ts) if ts
                                        else f"torch.zeros_like({py_name(f)})"))
            outs.append(f"_l_{f}")
        used = " ".join(lines)
        loads = [ln for name, ln in V.loads.items() if re.search(rf"\b{name}\b", used)]
        ret = outs[0] if len(outs) == 1 else f"torch.cat([{', '.join(outs)}], dim=-1)"
        body = self._slices("y", "{}") + loads + lines + [f"return {ret}"]
        return ["", "", "def linear(y, _G, _I, _L, _S, _C):",
                '    """L y: the state-linear part of step (affine field f = L y + c)."""'] + \
            ["    " + ln for ln in body]

    def _split_plan(self):
        """The lines of L y (``lines``) from the plan of pass ``split``
        (:class:`~pde2gnn.compiler.passes.split.SplitPlan`): a target's terms are the codes of
        its groups in L, each source read through its own linear part (``_q<temp>`` for a
        temporary that has one)."""
        plan = self.p.split
        fields = list(self.field_slices)
        linear_of: Dict[str, str] = {f: py_name(f) for f in fields}
        lines: List[str] = []
        for target in [*self.p.temps, *fields]:
            terms = []
            for k in sorted(plan.linear):
                g = self.p.groups[k]
                if g.target != target or k not in self.split_terms:
                    continue
                code, src = self.split_terms[k], py_name(g.source)
                terms.append(code if linear_of[g.source] == src else
                             re.sub(rf"\b{re.escape(src)}\b", linear_of[g.source], code))
            if target in fields:
                lines.append(f"_l_{target} = " + (" + ".join(
                    f"({t})" if " + " in t or " - " in t else t for t in terms) if terms
                    else f"torch.zeros_like({py_name(target)})"))
            elif terms:
                linear_of[target] = f"_q{target}"
                lines.append(f"_q{target} = " + " + ".join(terms))
        return lines

    @property
    def split_source(self) -> str:
        """Source of ``linear(y, _G, _I, _L, _S, _C)`` = L y, the linear part of the split
        f(t, y) = L y + N(t, y) (DESIGN.md section 6): the fused CSR groups whose weights and
        channel mixings do not depend on the state, composed through the node temporaries of
        nested reductions (``lap(lap(u))``: L = L_outer L_inner). Everything else (groups with
        state-dependent weights, the remainder, constant sources) is N = f - L y; for an
        affine field N is constant. Executed beside :attr:`source`, which it leaves unchanged.
        """
        V = self.levels[Level.STEP]
        fields = list(self.field_slices)
        lines = self._split_plan()
        used = " ".join(lines)
        loads = [ln for name, ln in V.loads.items() if re.search(rf"\b{name}\b", used)]
        outs = [f"_l_{f}.expand_as({py_name(f)})" for f in fields]
        ret = outs[0] if len(outs) == 1 else f"torch.cat([{', '.join(outs)}], dim=-1)"
        body = self._slices("y", "{}") + loads + lines + [f"return {ret}"]
        return "\n".join(["import torch", "", "",
                          "def linear(y, _G, _I, _L, _S, _C):",
                          '    """L y: the linear part of the split f = L y + N (frozen '
                          'within one solve)."""'] + ["    " + ln for ln in body]) + "\n"

    def split_description(self) -> str:
        """The split as text: the groups in L (frozen weights) and what is left in N."""
        return self.p.split.description

    def _assemble(self, outs: List[str], probes: bool = False,
                  linear: Dict[str, List[str]] = None) -> str:
        S, C, V = self.levels
        exports = ["{" + ", ".join(f"'{n}': {n}" for n in sorted(names)) + "}"
                   for names in self.exported[:2]]
        out = ["import torch"]
        out += self._function("static(_G, _I)", S, [], exports[0])
        out += self._function("prepare(_G, _I, _L, _S, _y0)", C,
                              self._slices("_y0", "_init_{}"), exports[1])
        ret = outs[0] if len(outs) == 1 else f"torch.cat([{', '.join(outs)}], dim=-1)"
        out += self._function("step(t, y, _G, _I, _L, _S, _C)", V, self._slices("y", "{}"),
                              f"{ret}, _probes" if probes else ret)
        if linear is not None:
            out += self._linear(linear)
        if any("_rows." in ln for ln in out):    # prescribed sources (backend/source_rows.py)
            out.insert(1, "from pde2gnn.compiler.backend import source_rows as _rows")
        if any("_sheaf." in ln for ln in out):   # sheaf kernels (backend/sheaf_ops.py)
            out.insert(1, "from pde2gnn.backend import sheaf_ops as _sheaf")
        return "\n".join(out) + "\n"


def generate(program: StencilProgram) -> CodeGen:
    """Generate the Python source of a program's vector field (see module docstring). A
    program that has not been through the code-generation passes (a discretised one,
    :func:`pde2gnn.compiler.discretize.discretize`) is run through them first."""
    missing = [q for q in passes.BACKEND if q.name not in program.passes]
    if missing:
        program = passes.lower(program, missing)
    return CodeGen(program)
