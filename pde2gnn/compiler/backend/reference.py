"""An unfused reference interpreter of a :class:`~pde2gnn.compiler.discretize.StencilProgram`.

It evaluates the discretised equations the plain way, expression by expression, to check the
generated code against: every linear group ``((A x) + diag * x) @ W`` is computed as
``sum_j(w_ij * x_j) + sum_j(w'_ij) * x_i + diag * x_i`` by gather and scatter (no sparse CSR
matrix, no frozen diagonal folded into it, no Krylov form), networks of concatenated edge
values get the whole concatenation (no block-wise first layer), nothing is hoisted to
``prepare`` or ``static`` and nothing is shared. Operators other than the fused products use
the same graph kernels (:class:`~pde2gnn.compiler.backend.graph_ops.GraphOps`) as the generated code.
A compiled field and this interpreter should agree to rounding; ``tests/test_reference.py``
checks every library spec (in the manner of py-pde's ``check_implementation``).

It is slow (sympy trees walked in Python at every call) and meant for tests only.
"""
from __future__ import annotations

import functools
import math
from typing import Callable, Dict, Optional

import sympy as sp
import torch
from torch import Tensor

from pde2gnn.compiler.discretize.program import StencilProgram
from pde2gnn.compiler.lang.kinds import Kind
from pde2gnn.compiler.symbolic import ops as O
from pde2gnn.compiler.symbolic import sheaf as S
from pde2gnn.compiler.backend import sheaf_ops
from pde2gnn.compiler.backend.emit import rule_for

#: kernels of the built-in table: torch functions and GraphOps methods by symbolic class
_TORCH = {c: functools.reduce(getattr, k.split(".")[1:], torch) for c, k in O.KERNELS.items()
          if k.startswith("torch.")}
_GRAPH = {c: k.split(".", 1)[1] for c, k in O.KERNELS.items() if k.startswith("_G.")}


class _Interpreter:
    def __init__(self, program: StencilProgram, field, t: Tensor, y: Tensor, y0: Tensor):
        self.p, self.an, self.G = program, program.analyzer, field.graph
        self.inputs, self.learned, self.t = field._inputs(), field.learned(), t
        self.env: Dict[str, Tensor] = {}
        self.init: Dict[str, Tensor] = {}
        start = 0
        for f in program.ir.rhs:
            c = program.ir.channels(f)
            self.env[f], self.init[f] = y[..., start:start + c], y0[..., start:start + c]
            start += c

    def tensor(self, v):
        return torch.as_tensor(v, dtype=self.G.deg.dtype, device=self.G.deg.device)

    def leaf(self, s: sp.Symbol):
        role = self.an.symbols[s.name].role
        if role == "graph":
            return getattr(self.G, s.name)
        if role == "time":
            return self.t
        if role in ("field", "temp"):
            return self.env[s.name]
        return (self.inputs if role == "input" else self.learned)[s.name]

    def arg(self, a: sp.Expr, rows=None):
        """A function argument as a tensor; a scalar repeated on every edge for ``rows``."""
        v = self.eval(a)
        v = self.tensor(v) if not torch.is_tensor(v) else v
        if v.dim() == 0:
            v = v.reshape(1)
        return self.G.rows(v, rows) if rows and self.an.kind(a) == Kind.SCALAR else v

    def eval(self, e: sp.Expr):
        if e.is_number and not e.atoms(O.GraphOp):
            return float(e)
        if e.is_Symbol:
            return self.leaf(e)
        return rule_for(RULES, e, "reference interpreter")(self, e)

    def group(self, g) -> Tensor:
        """One linear group, unfused: gather, multiply, scatter."""
        x = self.env[g.source]
        out = 0.0
        if g.weight_j != 0:
            out = out + self.G.sum_j(self.arg(g.weight_j, "edge") * self.G.gather_j(x))
        if g.weight_i != 0:
            out = out + self.G.sum_j(self.arg(g.weight_i, "edge")) * x
        if g.diag != 0:
            out = out + self.eval(g.diag) * x
        for w in g.right:
            out = out @ self.eval(w)
        return out if g.scale == 1 else self.eval(g.scale) * out

    def run(self) -> Tensor:
        parts = {}
        for f in [*self.p.temps, *self.p.ir.rhs]:   # temporaries first, in their order
            value = 0.0
            for g in self.p.groups:
                if g.target == f:
                    value = value + self.group(g)
            if f in self.p.remainder:
                value = value + self.eval(self.p.remainder[f])
            if f in self.p.temps:
                self.env[f] = value
            else:
                parts[f] = torch.zeros_like(self.env[f]) + value
        return torch.cat([parts[f] for f in self.p.ir.rhs], dim=-1)


def _add(it, e):
    out = 0.0
    for a in e.args:
        out = out + it.eval(a)
    return out


def _mul(it, e):
    out = 1.0
    for a in e.args:
        out = out * it.eval(a)
    return out


def _pow(it, e):
    b, x = it.eval(e.args[0]), it.eval(e.args[1])
    return b ** x if torch.is_tensor(b) or torch.is_tensor(x) else math.pow(b, x)


def _graph_net(it, e):
    net, u, *rest = e.args
    return it.leaf(net)(it.G, it.G.rows(it.arg(u), "node"),
                        *(it.G.rows(it.arg(a), "edge") for a in rest))


def _net(it, e):
    net, *args = e.args
    return it.leaf(net)(*(it.arg(a) for a in args))


def _torch_kernel(fn):
    return lambda it, e: fn(it.arg(e.args[0]))


def _graph_kernel(method: str, rows):
    return lambda it, e: getattr(it.G, method)(*(it.arg(a, rows) for a in e.args))


def _sheaf_rules():
    """Sheaf operators: the kernels of :mod:`pde2gnn.compiler.backend.sheaf_ops`."""
    so = sheaf_ops
    return {
        S.SheafMaps: lambda it, e: so.restriction_maps(it.G, it.leaf(e.args[0]),
                                                       it.arg(e.args[1]), int(e.args[2])),
        S.SheafOperator: lambda it, e: so.operator(it.G, it.eval(e.args[0]),
                                                   normalise=bool(e.args[1])),
        S.SheafLap: lambda it, e: so.apply(it.G, it.eval(e.args[0]), it.arg(e.args[1], "node")),
        S.SheafGrad: lambda it, e: so.grad(it.G, it.eval(e.args[0]), it.arg(e.args[1], "node")),
        S.SheafDiv: lambda it, e: so.div(it.G, it.eval(e.args[0]), it.arg(e.args[1], "edge")),
        S.StalkLeft: lambda it, e: so.stalk_left(it.eval(e.args[0]), it.arg(e.args[1]),
                                                 int(e.args[2])),
        S.StalkRight: lambda it, e: so.stalk_right(it.arg(e.args[0]), it.eval(e.args[1]),
                                                   int(e.args[2])),
        S.PerStalk: lambda it, e: so.per_stalk(it.arg(e.args[0]), int(e.args[1])),
    }


#: IR class -> evaluation rule ``rule(interpreter, e) -> tensor``, looked up along the class's
#: method resolution order (:func:`~pde2gnn.compiler.backend.emit.rule_for`); built-ins with a
#: kernel in their row call it, the structural classes have their own rules
RULES: Dict[type, Callable] = {
    **{c: _torch_kernel(fn) for c, fn in _TORCH.items()},
    **{c: _graph_kernel(m, "edge" if issubclass(c, O.EDGE_ROWS) else None)
       for c, m in _GRAPH.items()},
    O.Init: lambda it, e: it.init[e.args[0].name],
    sp.Add: _add,
    sp.Mul: _mul,
    sp.Pow: _pow,
    O.Fill: lambda it, e: it.G.fill(float(e.args[0]), int(e.args[1])),
    O.MatMul: lambda it, e: it.arg(e.args[0]) @ it.eval(e.args[1]),
    O.Transpose: lambda it, e: it.eval(e.args[0]).T,
    O.Slice: lambda it, e: it.arg(e.args[0])[..., int(e.args[1]):int(e.args[2])],
    O.Cat: lambda it, e: it.G.cat([it.arg(a) for a in e.args]),
    O.Dot: lambda it, e: it.G.dot(it.arg(e.args[0]), it.arg(e.args[1]),
                                  int(e.args[2]) if len(e.args) == 3 else 1),
    O.NetApply: _net,
    O.GraphNetApply: _graph_net,
    **_sheaf_rules(),
}


def interpret(field, t: Tensor, y: Tensor, y0: Tensor,
              program: Optional[StencilProgram] = None) -> Tensor:
    """Evaluate a compiled field's program without fusion: ``dy/dt`` (or, for a discrete-time
    model's update map, the next values) ``[N, D]`` or ``[B, N, D]``, like ``field(t, y)``
    after ``field.prepare(y0)``.

    Args:
        field: a :class:`~pde2gnn.compiler.backend.module.VectorField` (its program, graph, inputs and
            learnables are used; its generated code is not).
        t: time, a 0-dim tensor. y, y0: the state and the initial state, ``[N, D]`` /
            ``[B, N, D]``.
        program: the program to evaluate instead of ``field.program``: the same bound IR after
            any of the lowering passes from ``stencils`` on (:mod:`pde2gnn.compiler.passes`),
            evaluated with the field's graph, inputs and learnables.

    Raises:
        UnsupportedError: the program holds an operator the interpreter has no rule for.
    """
    return _Interpreter(program or field.program, field, t, y, y0).run()
