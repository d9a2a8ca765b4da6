"""The base class of the symbolic IR's operators (:mod:`pde2gnn.compiler.symbolic.ops` and
:mod:`pde2gnn.compiler.symbolic.elementwise` define them, the rows of lang/builtins.py name them)."""
from __future__ import annotations

import sympy as sp


class GraphOp(sp.Function):
    """Base class: an unevaluated graph operator printed in the spec language's syntax."""

    spec_name = ""

    @classmethod
    def eval(cls, *args):
        return None

    def _sympystr(self, printer):
        return f"{self.spec_name}({', '.join(printer._print(a) for a in self.args)})"
