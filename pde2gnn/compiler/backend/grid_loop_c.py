"""The C source of a traced step on a periodic grid (:mod:`.grid_loop`): the FX graph's rolls,
reshapes and node-wise arithmetic as one loop nest per group of stored values.

Every value read at a shifted grid point or by more than one consumer is stored (in a scratch
array, or in its output's slot; not at all where only its own loop reads it), every other one
inlined; stored values share one loop unless one reads another at a shifted point; scratch
arrays are reused by liveness; each loop runs over the grid's rows (the outer axes' shifts:
one modulo per row) and splits the last axis into the wrapped ends (``W(x)`` a modulo) and the
interior (``W(x) = x``: plain offsets, vectorised by the C compiler); each loop is its own
function with ``restrict`` arrays, so the compiler needs no alias checks."""
from __future__ import annotations

import math
import operator
from typing import Dict, List, Optional, Tuple

import torch
from torch.utils import _pytree as pytree

from pde2gnn.compiler.backend.grid_loop_ir import (_BIN, _CTYPE, _VIEWS, FUNCS, Kernel,
                                                   Unsupported, _Field)


class Emitter:
    """The FX graph of a traced step (``gm``; ``args`` its arguments, ``where`` each
    placeholder's argument index) as C: :meth:`compile` returns a :class:`Kernel`.

    Raises (from the constructor and :meth:`compile`):
        Unsupported: a graph it does not write, with the reason."""

    def __init__(self, gm, args, where):
        self.gm, self.args, self.where = gm, args, where
        state = [a for a in args if torch.is_tensor(a) and a.dim() >= 2]
        if not state:
            raise Unsupported("no [N, c] state among the arguments")
        y = state[0]
        if y.device.type != "cpu" or y.dtype not in _CTYPE:
            raise Unsupported(f"a {y.dtype} state on {y.device} (float32 / float64 on a CPU)")
        self.numel, self.dtype, self.T = y.numel(), y.dtype, _CTYPE[y.dtype]
        self.c, self.shape = y.shape[-1], tuple(y.shape)
        self.grid: Optional[Tuple[int, ...]] = None
        self.val: Dict = {}
        self.scalar_lines: List[str] = []
        self.scalar_args: List[int] = []
        self.field_args: List[int] = []

    # ---- the graph -> scalars and fields ------------------------------------------------
    def _meta_shape(self, node):
        v = node.meta.get("example_value")
        return tuple(v.shape) if v is not None and hasattr(v, "shape") else None

    def _const(self, v) -> str:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise Unsupported(f"a constant {v!r} of type {type(v).__name__}")
        return f"(({self.T}){float(v)!r})"

    def _scalar(self, text: str) -> Tuple[str, str]:
        name = f"s{len(self.scalar_lines)}"
        self.scalar_lines.append(f"    const {self.T} {name} = {text};")
        return ("s", name)

    def value(self, a):
        """A node's value (once per node): ``("f", field, shape)`` per grid point, ``("s",
        C expression)`` a scalar, ``("a", name, tensor)`` a scalar array argument."""
        if isinstance(a, torch.fx.Node):
            if a not in self.val:
                v = self._node(a)
                shape = self._meta_shape(a)
                if v[0] == "f" and (shape is None or _numel(shape) != self.numel):
                    raise Unsupported(f"{a.format_node()} is not of the state's size")
                self.val[a] = v
            return self.val[a]
        return ("s", self._const(a))

    def _node(self, n):
        target = n.target
        if n.op == "placeholder":
            t = self.args[self.where[n]]
            if tuple(t.shape) == self.shape:           # a state (not a [4, 4] tableau)
                self.field_args.append(self.where[n])
                return ("f", _Field("in", arg=len(self.field_args) - 1), tuple(t.shape))
            self.scalar_args.append(self.where[n])
            name = f"p{len(self.scalar_args) - 1}"
            return self._scalar(f"{name}[0]") if t.numel() == 1 and t.dim() == 0 else \
                ("a", name, t)
        if n.op == "call_function" and target is operator.getitem:
            base, idx = self.value(n.args[0]), n.args[1]
            if base[0] != "a":
                raise Unsupported(f"indexing of a computed tensor ({n.format_node()})")
            t = base[2]
            idx = idx if isinstance(idx, tuple) else (idx,)
            if len(idx) != t.dim() or not all(isinstance(i, int) for i in idx):
                raise Unsupported(f"an index other than one element ({n.format_node()})")
            flat = sum((i % s) * _numel(t.shape[k + 1:])      # passed contiguous
                       for k, (i, s) in enumerate(zip(idx, t.shape)))
            return self._scalar(f"{base[1]}[{flat}]")
        if n.op == "call_method" and target in _VIEWS or \
                n.op == "call_function" and target is torch.reshape:
            v = self.value(n.args[0])
            if v[0] != "f":
                raise Unsupported(f"{target} of a scalar")
            return ("f", v[1], self._meta_shape(n))      # its size checked by value()
        if target in ("transpose", "permute", torch.transpose, torch.permute):
            v = self.value(n.args[0])      # a batch of one state: [1, N, c] <-> [N, 1, c]
            dims = list(range(len(v[2])))
            if target in ("transpose", torch.transpose):
                a, b = (d % len(dims) for d in n.args[1:3])
                dims[a], dims[b] = dims[b], dims[a]
            else:
                dims = [d % len(dims) for d in (n.args[1] if isinstance(n.args[1], (list, tuple))
                                                else n.args[1:])]
            kept = [d for d in dims if v[2][d] != 1]
            if v[0] != "f" or kept != sorted(kept):
                raise Unsupported(f"a transpose that moves values ({n.format_node()}: a batch "
                                  "of several states)")
            return ("f", v[1], self._meta_shape(n))
        if n.op == "call_function" and target is torch.roll:
            return self._roll(n)
        name = target
        if name in _BIN or name in (operator.pow, torch.pow, "pow"):
            if len(n.args) != 2 or n.kwargs:
                raise Unsupported(f"{n.format_node()}")
            x, y = self.value(n.args[0]), self.value(n.args[1])
            for v in (x, y):
                if v[0] == "a":
                    raise Unsupported(f"arithmetic on a whole argument array ({n.format_node()})")
            op = _BIN.get(name, "pow")
            if x[0] == "s" and y[0] == "s":
                return self._scalar(_binary(op, x[1], y[1]))
            shape = x[2] if x[0] == "f" else y[2]
            return ("f", _Field(op, (x, y)), shape)
        if n.op == "call_function" and target in (operator.neg, torch.neg) or \
                n.op == "call_method" and target == "neg":
            x = self.value(n.args[0])
            return self._scalar(f"(-{x[1]})") if x[0] == "s" else ("f", _Field("neg", (x,)), x[2])
        if n.op == "call_function" and target in FUNCS and len(n.args) == 1 and not n.kwargs:
            x = self.value(n.args[0])
            if x[0] == "s":
                return self._scalar(f"{FUNCS[target]}({x[1]})")
            return ("f", _Field(FUNCS[target], (x,)), x[2])
        raise Unsupported(f"an operation the loop does not write: {n.format_node()}")

    def _roll(self, n):
        x = self.value(n.args[0])
        shifts, dims = (list(n.args[1:3]) + [n.kwargs.get("shifts"), n.kwargs.get("dims")])[:2] \
            if len(n.args) >= 3 else (n.kwargs.get("shifts", n.args[1] if len(n.args) > 1
                                                    else None), n.kwargs.get("dims"))
        shifts = [shifts] if isinstance(shifts, int) else list(shifts)
        dims = [dims] if isinstance(dims, int) else list(dims or [])
        if x[0] != "f" or len(dims) != len(shifts) or not dims:
            raise Unsupported(f"{n.format_node()}: a roll of the whole tensor or of a scalar")
        shape = x[2]
        if len(shape) < 2 or shape[-1] != self.c or _numel(shape[:-1]) * self.c != self.numel:
            raise Unsupported(f"{n.format_node()}: a roll of a tensor not shaped [*grid, c]")
        grid = tuple(shape[:-1])
        if self.grid is None:
            self.grid = grid
        elif self.grid != grid:
            raise Unsupported(f"two grids, {self.grid} and {grid}")
        d = [0] * len(grid)
        for s, a in zip(shifts, dims):
            a = a % len(shape)
            if a == len(shape) - 1:
                raise Unsupported("a roll along the channels")
            d[a] -= int(s)              # roll(x, s)[i] = x[i - s]
        d = [((v + m // 2) % m) - m // 2 for v, m in zip(d, grid)]
        x[1].shifted = True
        return ("f", _Field("shift", (x, tuple(d))), shape)

    # ---- fields -> loops --------------------------------------------------------------
    def compile(self) -> "Kernel":
        """The outputs' fields stored, scheduled into loops and written as C (module doc)."""
        out = next(n for n in self.gm.graph.nodes if n.op == "output")
        leaves, spec = pytree.tree_flatten(out.args[0])
        vals = [self.value(v) for v in leaves]
        if not vals or any(v[0] != "f" for v in vals):
            raise Unsupported("an output that is not a field of the state's size")
        if self.grid is None:
            raise Unsupported("no shifted grid product in the step")
        fields = self._order([v[1] for v in vals])
        stored = [f for f in fields if f.op != "in" and (f.shifted or f.users > 1)]
        for k, f in enumerate(stored):
            f.buf = k
        self.slot = {}                # a stored value that is an output: stored in its slot
        for k, v in enumerate(vals):
            if v[1].buf is not None:
                self.slot.setdefault(v[1].buf, k)
        groups = self._groups(stored, [v[1] for v in vals])
        n_tmp = self._assign(stored, groups)
        self.n_out = len(vals)
        return Kernel(self._source(groups, n_tmp), self.field_args, self.scalar_args, spec,
                      [v[2] for v in vals], n_tmp, self.numel, self.dtype, len(groups))

    def _assign(self, stored, groups) -> int:
        """Buffers by liveness: a stored value takes a buffer whose last reader is an earlier
        loop (so the scratch stays a few state-sized arrays, in cache). Returns their count."""
        ids = {id(f): f for f in stored}
        home = {id(it): g for g, (items, _) in enumerate(groups) for k, it in items if k == "t"}
        last = {}
        for g, (_, reads) in enumerate(groups):
            for i, _ in reads:
                if i in ids and home[i] != g:
                    last[i] = g
        #: stored values read by another loop (the others live in their loop's registers)
        self.written = set(last) | {id(f) for f in stored if f.buf in self.slot}
        free: List[int] = []
        ends: Dict[int, List[int]] = {}
        self.phys, count = {}, 0
        for g, (items, _) in enumerate(groups):
            for kind, it in items:
                if kind == "t" and id(it) not in self.written:
                    self.phys[it.buf] = None
                elif kind == "t" and it.buf in self.slot:
                    self.phys[it.buf] = f"o{self.slot[it.buf]}"
                elif kind == "t":
                    if free:
                        self.phys[it.buf] = free.pop()
                    else:
                        self.phys[it.buf], count = count, count + 1
                    ends.setdefault(last.get(id(it), g), []).append(self.phys[it.buf])
                    self.phys[it.buf] = f"t{self.phys[it.buf]}"
            free += ends.pop(g, [])
        return count

    def _order(self, roots) -> List[_Field]:
        """The fields the outputs need, inputs first; counts each field's readers."""
        order, seen = [], set()

        def visit(f):
            if id(f) in seen:
                return
            seen.add(id(f))
            for a in f.args:
                if _is_field(a):
                    a[1].users += 1
                    visit(a[1])
            order.append(f)
        for f in roots:
            visit(f)
        return order

    def _leaves(self, f, shift, acc, top=False):
        """Add to ``acc`` the ``(id, shift)`` of the inputs and stored values that f's
        expression at ``shift`` reads (``top``: f's own definition, not its buffer)."""
        if not top and (f.op == "in" or f.buf is not None):
            acc.add((id(f), shift))
        elif f.op == "shift":
            inner, d = f.args
            self._leaves(inner[1], tuple(p + q for p, q in zip(shift, d)), acc)
        else:
            for a in f.args:
                if _is_field(a):
                    self._leaves(a[1], shift, acc)

    def _groups(self, stored, outs):
        """``[(items, reads)]``: the stored values, then the outputs, in loops; a value joins
        the current loop unless it reads a value stored in that loop at a shifted point."""
        zero = (0,) * len(self.grid)
        groups: List[list] = []
        members: set = set()
        for kind, it in [("t", f) for f in stored] + [("o", (k, f)) for k, f in enumerate(outs)]:
            f = it if kind == "t" else it[1]
            acc: set = set()
            self._leaves(f, zero, acc, top=(kind == "t" or f.buf is None and f.op != "in"))
            if not groups or any(i in members and s != zero for i, s in acc):
                groups.append(([], set()))
                members = set()
            groups[-1][0].append((kind, it))
            groups[-1][1].update(acc)
            if kind == "t":
                members.add(id(f))
        return groups

    def _expr(self, f, shift, local, top=False) -> str:
        """The C expression of f at the current point shifted by ``shift`` (``top``: f's
        definition, not its buffer); ``local``: values of this loop, by field."""
        zero = all(v == 0 for v in shift)
        if f.op == "in":
            return f"x{f.arg}[{self._index(shift)}]"
        if f.buf is not None and not top:
            return local[id(f)] if zero and id(f) in local else \
                f"{self.phys[f.buf]}[{self._index(shift)}]"
        if f.op == "shift":
            inner, d = f.args
            return self._expr(inner[1], tuple(p + q for p, q in zip(shift, d)), local)
        parts = [a[1] if a[0] == "s" else self._expr(a[1], shift, local) for a in f.args]
        if f.op in ("+", "-", "*", "/", "pow"):
            return _binary(f.op, *parts)
        if f.op == "neg":
            return f"(-{parts[0]})"
        if f.op == "square":
            return f"({parts[0]} * {parts[0]})"
        return f"{f.op}({parts[0]})"

    def _index(self, shift) -> str:
        """The element at the current point shifted by ``shift`` (grid axes): the row of the
        outer shift, the last axis' offset wrapped by ``W`` near the row's ends."""
        q = shift[-1] * self.c
        return f"{_row(shift)} + W(q + {q})" if q else f"{_row(shift)} + q"

    def _source(self, groups, n_tmp) -> str:
        """The C source: one function per loop (its arrays as ``restrict`` parameters, so the
        C compiler vectorises without alias checks) and ``step``, which calls them in order."""
        T, grid, c = self.T, self.grid, self.c
        inner, outer = grid[-1] * c, grid[:-1]
        ns = len(self.scalar_lines)
        arrays = [f"const {T} *restrict x{k}" for k in range(len(self.field_args))] + \
            [f"{T} *restrict o{k}" for k in range(self.n_out)] + \
            [f"{T} *restrict t{k}" for k in range(n_tmp)]
        names = ", ".join([f"x{k}" for k in range(len(self.field_args))] +
                          [f"o{k}" for k in range(self.n_out)] + [f"t{k}" for k in range(n_tmp)])
        head = f"const {T} *restrict S, " + ", ".join(arrays)
        unpack = "".join(f"    const {T} s{k} = S[{k}];\n" for k in range(ns))
        lines = ["#include <tgmath.h>", "#include <stddef.h>"]
        zero = (0,) * len(grid)
        for g, (items, reads) in enumerate(groups):
            body, local = [], {}
            for kind, it in items:
                f = it if kind == "t" else it[1]
                if kind == "t":
                    name = f"v{len(local)}"
                    body.append(f"const {T} {name} = {self._expr(f, zero, local, True)};" + (
                        f" {self.phys[f.buf]}[r_ + q] = {name};" if self.phys[f.buf] else ""))
                    local[id(f)] = name
                elif f.buf is None or self.slot[f.buf] != it[0]:
                    body.append(f"o{it[0]}[r_ + q] = {self._expr(f, zero, local)};")
            last = [s[-1] for _, s in reads] or [0]
            lo, hi = max(0, -min(last)) * c, inner - max(0, max(last)) * c
            spans = ((0, lo, True), (lo, hi, False), (hi, inner, True)) if lo < hi \
                else ((0, inner, True),)
            lines += [f"static __attribute__((noinline)) void loop{g}({head})", "{",
                      unpack.rstrip("\n"),
                      f"    for (long r = 0; r < {_numel(outer)}; r++) {{"]
            rest = "r"
            for a in reversed(range(len(outer))):
                lines.append(f"        const long i{a} = {rest} % {outer[a]};")
                rest = f"({rest} / {outer[a]})"
            for sh in sorted({s[:-1] for _, s in reads} | {zero[:-1]}):
                off = " + ".join(f"((i{a} + {sh[a] % outer[a]}) % {outer[a]}) * "
                                 f"{_numel(outer[a + 1:]) * inner}" for a in range(len(outer)))
                lines.append(f"        const size_t {_row(sh + (0,))} = {off or '0'};")
            lines.append(f"        const size_t r_ = (size_t)r * {inner};")
            text = " ".join(body)
            for a, b, wrap in spans:
                if b > a:
                    w = f"(((x) + {inner}) % {inner})" if wrap else "(x)"
                    lines += [f"#define W(x) {w}", "        #pragma GCC ivdep",
                              f"        for (long q = {a}; q < {b}; q++) {{ {text} }}",
                              "#undef W"]
            lines += ["    }", "}"]
        params = [f"const {T} *restrict x{k}" for k in range(len(self.field_args))] + \
            [f"const {T} *restrict p{k}" for k in range(len(self.scalar_args))] + \
            [f"{T} *restrict out", f"{T} *restrict tmp"]
        lines += [f"void step({', '.join(params)})", "{"] + self.scalar_lines + \
            [f"    const {T} S[{max(ns, 1)}] = {{{', '.join(f's{k}' for k in range(ns)) or '0'}}};"] + \
            [f"    {T} *t{k} = tmp + (size_t){k} * {self.numel};" for k in range(n_tmp)] + \
            [f"    {T} *o{k} = out + (size_t){k} * {self.numel};" for k in range(self.n_out)] + \
            [f"    loop{g}(S, {names});" for g in range(len(groups))] + ["}"]
        return "\n".join(lines) + "\n"


def _is_field(a) -> bool:
    return isinstance(a, tuple) and len(a) == 3 and a[0] == "f"


def _row(shift) -> str:
    return "R_" + "_".join(str(v).replace("-", "m") for v in shift[:-1])


#: torch's special cases of a scalar exponent (pow_tensor_scalar), written the same way
_POW = {"2.0": "({x} * {x})", "3.0": "({x} * {x} * {x})", "0.5": "sqrt({x})", "-1.0": "(1 / {x})"}


def _binary(op: str, x: str, y: str) -> str:
    if op == "pow":
        e = y.split(")", 1)[1][:-1] if y.startswith("((") else None
        return _POW[e].format(x=x) if e in _POW else f"pow({x}, {y})"
    return f"({x} {op} {y})"


def _numel(shape) -> int:
    return math.prod(int(v) for v in shape)
