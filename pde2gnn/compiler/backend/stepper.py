"""The compiled discrete-time model: one step f(t) -> f(t+1) of a ``next(...)`` spec.

A discrete-time spec has one observed ``field`` (the signal, C channels) and any number of
hidden ``state`` s; its ``next(x) = ...`` equations all read the values at frame t and together
give the values at frame t+1 (PA-DGN, Seo, Meng & Liu, ICLR 2020: the learned finite-difference
update and the recurrent graph network are both of this form).
"""
from __future__ import annotations

from typing import Mapping, Optional, Tuple

import torch
from torch import Tensor, nn

from pde2gnn.compiler.discretize.program import StencilProgram
from pde2gnn.errors import DataError
from pde2gnn.compiler.backend.module import VectorField


class Stepper(nn.Module):
    """One step of a compiled discrete-time spec on one graph, batched over trajectories.

    Args:
        program: the discretised spec (a ``next(...)`` model).
        edge_index: ``[2, E]`` (row 0 source j, row 1 target i), num_nodes: N.
        inputs: tensors for the spec's ``input`` declarations ``[N, c]`` (e.g. ``pos``
            ``[N, 2]``), bound once, as for :class:`~pde2gnn.compiler.backend.module.VectorField`.

    Attributes:
        channels: C, the width of the observed field.
        state_channels: widths of the hidden states, in declaration order.
        update: the generated update map (a :class:`VectorField` whose ``step`` returns the
            next values); its ``source`` is the generated code, its parameters the model's.

    ``forward(f [B, N, C], hidden) -> (f_next [B, N, C], new hidden)`` with ``hidden`` a tuple
    of ``[B, N, c_k]`` (from :meth:`init_hidden` at the first step). All B trajectories are
    computed at once. ``f`` must be finite (fill missing observations before calling).

    Raises:
        DataError: wrong shapes of ``f`` or of the hidden states.
    """

    def __init__(self, program: StencilProgram, edge_index: Tensor, num_nodes: int,
                 inputs: Optional[Mapping[str, Tensor]] = None):
        super().__init__()
        self.update = VectorField(program, edge_index, num_nodes, inputs)
        consts = program.ir.constants
        self.field = consts.observed[0]
        self.states = consts.states
        self.channels = consts.fields[self.field].channels
        self.state_channels = tuple(consts.fields[h].channels for h in self.states)
        self.num_nodes = num_nodes

    @property
    def source(self) -> str:
        """The generated Python code of the update."""
        return self.update.source

    def init_hidden(self, batch: int) -> Tuple[Tensor, ...]:
        """Zeros for each hidden state, ``[batch, N, c]`` each; ``()`` without states."""
        ref = self.update.graph.deg
        return tuple(torch.zeros(batch, self.num_nodes, c, dtype=ref.dtype, device=ref.device)
                     for c in self.state_channels)

    def forward(self, f: Tensor, hidden: Tuple[Tensor, ...] = ()) -> Tuple[Tensor, tuple]:
        ref = self.update.graph.deg
        if not torch.is_tensor(f) or f.dtype != ref.dtype or f.device != ref.device:
            what = f"{f.dtype} on {f.device}" if torch.is_tensor(f) else type(f).__name__
            raise DataError(f"the signal must be a {ref.dtype} tensor on {ref.device} (the "
                            f"model's dtype and device; move one with .to(...)), got {what}")
        if f.dim() != 3 or f.shape[1] != self.num_nodes or f.shape[2] != self.channels:
            raise DataError(f"the signal must have shape [B, {self.num_nodes}, "
                            f"{self.channels}], got {list(f.shape)}")
        hidden = tuple(hidden)
        if len(hidden) != len(self.states) or any(
                h.shape != (f.shape[0], self.num_nodes, c)
                for h, c in zip(hidden, self.state_channels)):
            raise DataError(f"hidden must be {len(self.states)} tensor(s) of shapes "
                            f"{[[f.shape[0], self.num_nodes, c] for c in self.state_channels]} "
                            f"(init_hidden(B) gives them), got "
                            f"{[list(h.shape) for h in hidden]}")
        y = torch.cat([f, *hidden], dim=-1) if hidden else f
        self.update.prepare(y)
        out = self.update(torch.zeros((), dtype=y.dtype, device=y.device), y)
        widths = (self.channels,) + self.state_channels
        parts = torch.split(out, widths, dim=-1)
        return parts[0], tuple(parts[1:])
