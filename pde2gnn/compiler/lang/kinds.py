"""The kinds of values in a spec: what a value is attached to.

A :class:`Kind` is a ``str`` enum, so ``Kind.NODE == "node"`` and a kind prints as its name in
the language (``node``); the checker's :class:`~pde2gnn.compiler.types.Type` always holds one.
"""
from __future__ import annotations

from enum import Enum


class Kind(str, Enum):
    """The kind of a value (:class:`~pde2gnn.compiler.types.Type`)."""

    SCALAR = "scalar"   #: one value for the whole graph (parameters, dimensions, t)
    NODE = "node"       #: one row per node, ``[N, c]``
    EDGE = "edge"       #: one row per directed edge, ``[E, c]``
    MATRIX = "matrix"   #: a learnable ``[rows, cols]`` matrix
    SHEAF = "sheaf"     #: restriction maps on the edge ends (``edge F = restriction(...)``)
    NET = "net"         #: a network (a symbol of the IR, not a value)

    __str__ = str.__str__
    __format__ = str.__format__
