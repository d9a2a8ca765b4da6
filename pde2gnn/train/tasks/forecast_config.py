"""Hyperparameters of graph-signal forecasting (:class:`ForecastConfig`) and the
scheduled-sampling schedule; the protocol is in :mod:`pde2gnn.train.tasks.forecasting`."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Optional

from pde2gnn.errors import OptionError
from pde2gnn.options import check_device, check_fields

LOSSES = ("mse", "mae")


@dataclass
class ForecastConfig:
    """Hyperparameters of :func:`train`.

    Attributes:
        n_in, n_out: observed and predicted frames per window (NOAA 12 / 12, synthetic 5 / 15).
        epochs: maximum number of epochs; patience: stop after this many epochs without a lower
            validation MAE (0: never stop early).
        lr, weight_decay: Adam.
        batch_size: windows per optimiser step.
        loss: ``mse`` (PA-DGN's training loss) or ``mae``.
        scheduled_sampling: feed the ground truth during training rollouts with probability
            :func:`teacher_forcing_prob` (``ss_k``: inverse-sigmoid decay constant, in optimiser
            steps; 100 gives p = 1/2 after 460 steps, about 8 NOAA epochs of 60 steps); off:
            the model always feeds its own predictions.
        grad_clip: clip the gradient norm to this value (0: no clipping).
        stride: frames between the starts of consecutive windows.
        max_windows_per_epoch: train on at most this many random windows per epoch (None: all).
        seed: torch / numpy seed of the run; threads: torch CPU threads (0: leave as is).
        device: torch device.
    """

    n_in: int = 12
    n_out: int = 12
    epochs: int = 50
    lr: float = 1e-3
    weight_decay: float = 5e-4
    batch_size: int = 16
    patience: int = 10
    loss: str = "mse"
    scheduled_sampling: bool = True
    ss_k: float = 100.0
    grad_clip: float = 0.0
    stride: int = 1
    max_windows_per_epoch: Optional[int] = None
    seed: int = 0
    threads: int = 0
    device: str = "cpu"

    def validate(self) -> None:
        """The numeric fields by their rules (:data:`pde2gnn.options.RULES`), the loss and
        the device.

        Raises:
            OptionError: naming the field.
        """
        check_fields(self)
        if self.loss not in LOSSES:
            raise OptionError(f"unknown loss '{self.loss}' (choose {', '.join(LOSSES)})")
        check_device(self.device, "device")

    def to_dict(self) -> dict:
        return asdict(self)


def teacher_forcing_prob(step: int, k: float) -> float:
    """Inverse-sigmoid decay of Bengio et al. (2015): ``k / (k + exp(step / k))``, the
    probability of feeding the ground truth at optimiser step ``step`` (k >= 1 in the paper;
    starts at k / (k + 1), is 1/2 near step ``k log k`` and decays to 0)."""
    return k / (k + math.exp(min(step / k, 700.0)))
