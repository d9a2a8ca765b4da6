"""The network of the dynamics task (NDCN, Zang & Wang 2020, "Neural Dynamics on Complex
Networks"): encoder -> compiled vector field integrated over time -> decoder. The data, loss and
loop are :mod:`pde2gnn.train.tasks.dynamics`.
"""
from __future__ import annotations

from torch import Tensor, nn

from pde2gnn.errors import OptionError
from pde2gnn.integrate.solve import ODEBlock, SolverConfig


class DynamicsModel(nn.Module):
    """encoder -> compiled vector field integrated by torchdiffeq -> decoder.

    Args:
        field: the compiled :class:`~pde2gnn.compiler.backend.module.VectorField` (state ``[N, width]``).
        encoder, decoder: build NDCN's encoder Linear(1, width)-tanh-Linear(width, width) /
            decoder Linear(width, 1); without an encoder the width must be 1.
        solver: solver options.
        scale: the model works on x / scale (the task sets max |x(0)|), so that an
            embedding-free field sees O(1) values whatever the units; its output is multiplied
            back. A linear change of variables: the model class is unchanged.

    ``forward(x0 [N, 1], times [K])`` -> x_hat ``[K, N, 1]`` (times increasing, times[0] = 0).
    Raises :class:`SolverError` when the solve fails or diverges.
    """

    def __init__(self, field, encoder: bool, decoder: bool, solver: SolverConfig,
                 scale: float = 1.0):
        super().__init__()
        self.scale = float(scale)
        w = field.state_width
        if not encoder and w != 1:
            raise OptionError(f"without an encoder the state must have one channel; the field "
                              f"has {w} (set hidden = 1 or encoder = true)")
        self.encoder = nn.Sequential(nn.Linear(1, w), nn.Tanh(), nn.Linear(w, w)) if encoder \
            else nn.Identity()
        self.decoder = nn.Linear(w, 1) if decoder else nn.Identity()
        if not decoder and w != 1:
            raise OptionError(f"without a decoder the state must have one channel, got {w}")
        self.ode = ODEBlock(field, 1.0, solver)

    def forward(self, x0: Tensor, times: Tensor) -> Tensor:
        return self.decoder(self.ode(self.encoder(x0 / self.scale), times)) * self.scale
