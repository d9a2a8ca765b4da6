"""The vocabulary of the C loop generator (:mod:`.grid_loop`, :mod:`.grid_loop_c`): the
operations it writes, its per-point values and the kernel it describes."""
from __future__ import annotations

import operator
from typing import List, NamedTuple, Optional

import torch

#: node-wise functions the loop writes in C (``<tgmath.h>``: the type-generic versions)
FUNCS = {torch.tanh: "tanh", torch.exp: "exp", torch.log: "log", torch.sin: "sin",
         torch.cos: "cos", torch.sqrt: "sqrt", torch.abs: "fabs", torch.square: "square"}
_BIN = {operator.add: "+", operator.sub: "-", operator.mul: "*", operator.truediv: "/",
        torch.add: "+", torch.sub: "-", torch.mul: "*", torch.div: "/",
        "add": "+", "sub": "-", "mul": "*", "div": "/"}
_VIEWS = ("reshape", "view", "expand_as", "expand", "contiguous")
_CTYPE = {torch.float64: "double", torch.float32: "float"}


class Unsupported(Exception):
    """The traced step is not one this module writes as a loop; the message says why."""


class _Field:
    """A per-point value: an input array (``arg``), a stored buffer, or an expression."""

    def __init__(self, op: str, args=(), arg: Optional[int] = None):
        self.op, self.args, self.arg = op, args, arg
        self.users, self.shifted, self.buf = 0, False, None



class Kernel(NamedTuple):
    """What :meth:`Emitter.compile` writes: the C ``source`` of ``step(x..., p..., out, tmp)``,
    the argument indices of its state arrays (``inputs``) and scalar arrays (``scalars``), the
    outputs' pytree ``spec`` and ``shapes``, ``stored`` scratch arrays of ``numel`` values of
    ``dtype``, and the ``loops`` over the grid per call."""
    source: str
    inputs: List[int]
    scalars: List[int]
    spec: object
    shapes: list
    stored: int
    numel: int
    dtype: torch.dtype
    loops: int
