"""Forecasting heads beside the compiled steppers (``pde2gnn.compiler.compile_stepper``): the
stepper interface ``init_hidden(batch) -> hidden``, ``forward(f [B, N, c], hidden) -> (f_next,
hidden)`` that :mod:`pde2gnn.train.tasks.forecasting` trains and evaluates.
"""
from __future__ import annotations

from torch import Tensor, nn


class Persistence(nn.Module):
    """Persistence baseline: f(t + 1) = f(t), no hidden state, no parameters."""

    def __init__(self, channels: int = 1):
        super().__init__()
        self.channels = channels

    def init_hidden(self, batch: int) -> tuple:
        return ()

    def forward(self, f: Tensor, hidden: tuple):
        return f, hidden
