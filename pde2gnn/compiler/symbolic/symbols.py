"""The records the symbolic stages share: what each free symbol of the IR stands for.

Both the IR (:mod:`pde2gnn.compiler.symbolic.ir`) and the analyses it runs (:mod:`.analysis`,
:mod:`.geometry`) import these, so neither imports the other's module for them.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from pde2gnn.compiler.check import Type

class Level(IntEnum):
    """When a value changes, which is where the generated code computes it
    (:mod:`pde2gnn.compiler.backend.codegen`: one function per level)."""

    STATIC = 0   #: once per graph (dimensions, parameters, inputs, graph quantities)
    SOLVE = 1    #: once per solve (learnable parameters, networks, the initial state)
    STEP = 2     #: at every function evaluation (the state, t)


ROLE_LEVEL = {"dim": Level.STATIC, "param": Level.STATIC, "input": Level.STATIC,
              "graph": Level.STATIC, "learn": Level.SOLVE, "net": Level.SOLVE,
              "init": Level.SOLVE, "field": Level.STEP, "time": Level.STEP, "temp": Level.STEP,
              "series": Level.STEP}


@dataclass(frozen=True)
class SymbolInfo:
    """What a free symbol of the IR stands for.

    ``role`` is one of ``field input series param learn net dim time graph``, or ``temp`` (a node
    temporary of the discretised program, see :mod:`pde2gnn.compiler.discretize.stencil`); ``type`` is
    its kind and shape (for a ``net``: kind ``'net'``, shape ``(out channels,)``).
    ``level`` says when its value changes (:class:`Level`).
    """

    name: str
    role: str
    type: Type

    @property
    def level(self) -> Level:
        return ROLE_LEVEL[self.role]
