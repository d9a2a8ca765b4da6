"""The records the symbolic stages share: what each free symbol of the IR stands for.

Both the IR (:mod:`pde2gnn.symbolic.ir`) and the analyses it runs (:mod:`.analysis`,
:mod:`.geometry`) import these, so neither imports the other's module for them.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..check import Type

ROLE_LEVEL = {"dim": 0, "param": 0, "input": 0, "graph": 0, "learn": 1, "net": 1, "init": 1,
              "field": 2, "time": 2, "temp": 2}


@dataclass(frozen=True)
class SymbolInfo:
    """What a free symbol of the IR stands for.

    ``role`` is one of ``field input param learn net dim time graph``, or ``temp`` (a node
    temporary of the discretised program, see :mod:`pde2gnn.discretize.stencil`); ``type`` is
    its kind and shape (for a ``net``: kind ``'net'``, shape ``(out channels,)``).
    ``level`` says when its value changes: 0 static (once per graph), 1 once per solve
    (learnable parameters, the initial state), 2 at every function evaluation (the state, t).
    """

    name: str
    role: str
    type: Type

    @property
    def level(self) -> int:
        return ROLE_LEVEL[self.role]
