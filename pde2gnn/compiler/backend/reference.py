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
from typing import Dict

import sympy as sp
import torch
from torch import Tensor

from pde2gnn.compiler.discretize.stencil import StencilProgram
from pde2gnn.errors import UnsupportedError
from pde2gnn.compiler.lang.kinds import Kind
from pde2gnn.compiler.symbolic import ops as O
from pde2gnn.compiler.symbolic import sheaf as S
from pde2gnn.compiler.backend import sheaf_ops

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
        if isinstance(e, O.Init):
            return self.init[e.args[0].name]
        if e.is_Add:
            out = 0.0
            for a in e.args:
                out = out + self.eval(a)
            return out
        if e.is_Mul:
            out = 1.0
            for a in e.args:
                out = out * self.eval(a)
            return out
        if e.is_Pow:
            b, x = self.eval(e.args[0]), self.eval(e.args[1])
            return b ** x if torch.is_tensor(b) or torch.is_tensor(x) else math.pow(b, x)
        if isinstance(e, O.Fill):
            return self.G.fill(float(e.args[0]), int(e.args[1]))
        if isinstance(e, O.MatMul):
            return self.arg(e.args[0]) @ self.eval(e.args[1])
        if isinstance(e, O.Transpose):
            return self.eval(e.args[0]).T
        if isinstance(e, O.Slice):
            u, a, b = e.args
            return self.arg(u)[..., int(a):int(b)]
        if isinstance(e, O.Cat):
            return self.G.cat([self.arg(a) for a in e.args])
        if isinstance(e, O.Dot):
            heads = int(e.args[2]) if len(e.args) == 3 else 1
            return self.G.dot(self.arg(e.args[0]), self.arg(e.args[1]), heads)
        if isinstance(e, O.GraphNetApply):
            net, u, *rest = e.args
            return self.leaf(net)(self.G, self.G.rows(self.arg(u), "node"),
                                  *(self.G.rows(self.arg(a), "edge") for a in rest))
        if isinstance(e, O.NetApply):
            net, *args = e.args
            return self.leaf(net)(*(self.arg(a) for a in args))
        if isinstance(e, S.SHEAF_CLASSES):
            return self.sheaf(e)
        if e.func in _TORCH:
            return _TORCH[e.func](self.arg(e.args[0]))
        if e.func in _GRAPH:
            rows = "edge" if isinstance(e, O.EDGE_ROWS) else None
            return getattr(self.G, _GRAPH[e.func])(*(self.arg(a, rows) for a in e.args))
        raise UnsupportedError(f"the reference interpreter has no rule for "
                               f"{type(e).__name__}")

    def sheaf(self, e: sp.Expr):
        """A sheaf operator: the kernels of :mod:`pde2gnn.compiler.backend.sheaf_ops`."""
        a, G = e.args, self.G
        if isinstance(e, S.SheafMaps):
            return sheaf_ops.restriction_maps(G, self.leaf(a[0]), self.arg(a[1]), int(a[2]))
        if isinstance(e, S.SheafOperator):
            return sheaf_ops.operator(G, self.eval(a[0]), normalise=bool(a[1]))
        if isinstance(e, S.SheafLap):
            return sheaf_ops.apply(G, self.eval(a[0]), self.arg(a[1], "node"))
        if isinstance(e, S.SheafGrad):
            return sheaf_ops.grad(G, self.eval(a[0]), self.arg(a[1], "node"))
        if isinstance(e, S.SheafDiv):
            return sheaf_ops.div(G, self.eval(a[0]), self.arg(a[1], "edge"))
        if isinstance(e, S.StalkLeft):
            return sheaf_ops.stalk_left(self.eval(a[0]), self.arg(a[1]), int(a[2]))
        if isinstance(e, S.StalkRight):
            return sheaf_ops.stalk_right(self.arg(a[0]), self.eval(a[1]), int(a[2]))
        return sheaf_ops.per_stalk(self.arg(a[0]), int(a[1]))

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
        return out

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


def interpret(field, t: Tensor, y: Tensor, y0: Tensor) -> Tensor:
    """Evaluate a compiled field's program without fusion: ``dy/dt`` (or, for a discrete-time
    model's update map, the next values) ``[N, D]`` or ``[B, N, D]``, like ``field(t, y)``
    after ``field.prepare(y0)``.

    Args:
        field: a :class:`~pde2gnn.compiler.backend.module.VectorField` (its program, graph, inputs and
            learnables are used; its generated code is not).
        t: time, a 0-dim tensor. y, y0: the state and the initial state, ``[N, D]`` /
            ``[B, N, D]``.

    Raises:
        UnsupportedError: the program holds an operator the interpreter has no rule for.
    """
    return _Interpreter(field.program, field, t, y, y0).run()
