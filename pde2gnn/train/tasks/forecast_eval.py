"""Forecasting windows, rollout, masked loss and metrics (the protocol of
:mod:`pde2gnn.train.tasks.forecasting`): :class:`Normalizer`, :func:`window_index`,
:func:`rollout`, :func:`masked_loss`, :func:`evaluate` (the persistence baseline,
:class:`pde2gnn.models.forecasting.Persistence`, is a model)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
from torch import Tensor, nn

from pde2gnn.errors import OptionError
from pde2gnn.data.forecast import ForecastData, Split
from pde2gnn.models.forecasting import Persistence
from pde2gnn.train.tasks.forecast_config import ForecastConfig


# ---------------------------------------------------------------------------------------------
# normalisation and windows

@dataclass
class Normalizer:
    """Per-channel affine normalisation ``(x - mean) / std``.

    Attributes:
        mean, std: ``[C]`` float32, in the data's units.
    """

    mean: Tensor
    std: Tensor

    @classmethod
    def fit(cls, data: ForecastData, split: str = "train") -> "Normalizer":
        """Nan-aware mean and standard deviation of the split's frames, per channel.

        Raises:
            DataError: a channel has no finite value in the split.
        """
        from pde2gnn.errors import DataError
        sp = data.splits[split]
        x = data.series[sp.series, sp.start:sp.stop].reshape(-1, data.channels).double()
        ok = ~torch.isnan(x)
        n = ok.sum(0)
        if (n == 0).any():
            raise DataError(f"{data.source}: a channel has no observed value in the "
                            f"'{split}' split")
        mean = torch.where(ok, x, 0.0).sum(0) / n
        var = torch.where(ok, (x - mean) ** 2, 0.0).sum(0) / n
        std = var.sqrt()
        std = torch.where(std > 1e-12, std, torch.ones_like(std))
        return cls(mean.float(), std.float())

    def __call__(self, x: Tensor) -> Tensor:
        """``x [..., C]`` in data units -> normalised (NaN stays NaN)."""
        return (x - self.mean.to(x)) / self.std.to(x)

    def inverse(self, x: Tensor) -> Tensor:
        """Normalised ``[..., C]`` -> data units."""
        return x * self.std.to(x) + self.mean.to(x)


def window_index(split: Split, length: int, stride: int = 1) -> Tensor:
    """Every window of ``length`` frames inside the split's frame range.

    Returns:
        ``[W, 2]`` long: (series index, first frame) per window, series-major; a window covers
        frames ``first .. first + length - 1``.
    Raises:
        OptionError: the split has fewer than ``length`` frames.
    """
    if split.frames < length:
        raise OptionError(f"a window of {length} frames does not fit in the split's "
                          f"{split.frames} frames; lower --n-in / --n-out")
    starts = torch.arange(split.start, split.stop - length + 1, stride)
    s = split.series.repeat_interleave(len(starts))
    return torch.stack([s, starts.repeat(len(split.series))], 1)


def gather_windows(series: Tensor, index: Tensor, length: int) -> Tensor:
    """Cut windows out of ``series`` ``[S, T, N, C]`` at ``index`` ``[W, 2]`` (from
    :func:`window_index`) -> ``[W, length, N, C]``."""
    t = index[:, 1:2] + torch.arange(length)
    return series[index[:, 0:1], t]


# ---------------------------------------------------------------------------------------------
# rollout, loss, metrics

def _check_step(model: nn.Module, f: Tensor, out) -> None:
    if not (isinstance(out, tuple) and len(out) == 2):
        raise OptionError(f"{type(model).__name__}.forward must return (f_next, hidden)")
    if out[0].shape != f.shape:
        raise OptionError(f"{type(model).__name__} returned f_next of shape "
                          f"{list(out[0].shape)} for f of shape {list(f.shape)}")


def rollout(model: nn.Module, x_in: Tensor, n_out: int, target: Optional[Tensor] = None,
            teacher_prob: float = 0.0, generator: Optional[torch.Generator] = None,
            in_mask: Optional[Tensor] = None, target_mask: Optional[Tensor] = None,
            coin_rows: Optional[Tensor] = None, coin_batch: Optional[int] = None) -> Tensor:
    """Warm the model up on ``x_in`` and predict ``n_out`` frames.

    Args:
        model: a stepper (see the module docstring).
        x_in: observed frames ``[B, n_in, N, C]`` (normalised), NaN = missing.
        n_out: frames to predict.
        target: the true next frames ``[B, n_out, N, C]``, only read for teacher forcing.
        teacher_prob: probability of feeding ``target[:, h - 1]`` instead of the prediction at
            step h (drawn per window and step).
        generator: random source of the teacher-forcing draws.
        in_mask, target_mask: which entries are observed (default: not NaN); whatever the
            unobserved entries hold never reaches the model.
        coin_rows, coin_batch: with data-parallel training, this process holds rows
            ``coin_rows`` ``[B]`` of a global batch of ``coin_batch`` windows: the
            teacher-forcing coins are drawn for the whole global batch (the same generator
            state on every process) and these rows kept, so the draws are those of one
            process running the global batch.

    Returns:
        predictions ``[B, n_out, N, C]`` (normalised).
    """
    B, n_in = x_in.shape[:2]
    in_mask = ~torch.isnan(x_in) if in_mask is None else in_mask
    hidden = model.init_hidden(B)
    pred = None
    for t in range(n_in):
        obs = x_in[:, t]
        fill = torch.zeros_like(obs) if pred is None else pred
        f = torch.where(in_mask[:, t], obs, fill)
        out = model(f, hidden)
        if pred is None:
            _check_step(model, f, out)
        pred, hidden = out
    preds = [pred]
    use_truth = teacher_prob > 0 and target is not None
    if use_truth:
        target_mask = ~torch.isnan(target) if target_mask is None else target_mask
    for h in range(1, n_out):
        f = pred
        if use_truth:
            truth = torch.where(target_mask[:, h - 1], target[:, h - 1], pred)
            coin = torch.rand(coin_batch or B, generator=generator) < teacher_prob
            if coin_rows is not None:
                coin = coin[coin_rows.to(coin.device)]
            f = torch.where(coin.to(pred.device).view(B, *([1] * (pred.dim() - 1))), truth, pred)
        pred, hidden = model(f, hidden)
        preds.append(pred)
    return torch.stack(preds, 1)


def masked_loss(pred: Tensor, target: Tensor, kind: str = "mse",
                mask: Optional[Tensor] = None) -> Tensor:
    """Mean squared (``mse``) or absolute (``mae``) error over the valid entries.

    Args:
        pred, target: same shape, e.g. ``[B, n_out, N, C]``; ``target`` may hold NaN.
        mask: valid entries (default: ``target`` not NaN).

    Returns:
        a scalar; 0 (with zero gradient) when no entry is valid. Missing targets contribute
        nothing to the value or the gradient.
    """
    mask = ~torch.isnan(target) if mask is None else mask
    diff = torch.where(mask, pred - torch.where(mask, target, 0.0), 0.0)
    err = diff.abs() if kind == "mae" else diff ** 2
    return err.sum() / mask.sum().clamp(min=1)


@torch.no_grad()
def evaluate(model: nn.Module, data: ForecastData, split: str, config: ForecastConfig,
             norm: Normalizer, batch_size: int = 64) -> dict:
    """MAE of the model's rollouts on every window of a split, in the data's units.

    Returns:
        ``{'mae_per_horizon': [n_out] list, 'mae': mean over horizons, 'count': [n_out] valid
        entries per horizon, 'windows': W}``; a horizon with no valid entry has MAE NaN.
    """
    model.eval()
    L = config.n_in + config.n_out
    idx = window_index(data.splits[split], L, config.stride)
    n_windows = len(idx)
    rank, size = _world()
    if size > 1:          # data-parallel: each process evaluates every size-th window
        idx = idx[rank::size]
    sums = torch.zeros(config.n_out, dtype=torch.float64)
    counts = torch.zeros(config.n_out, dtype=torch.float64)
    std = norm.std.double()
    for b in range(0, len(idx), batch_size):
        w = norm(gather_windows(data.series, idx[b:b + batch_size], L)).to(config.device)
        pred = rollout(model, w[:, :config.n_in], config.n_out)
        tgt = w[:, config.n_in:]
        ok = ~torch.isnan(tgt)
        err = torch.where(ok, (pred - torch.where(ok, tgt, 0.0)).abs(), 0.0).double().cpu()
        sums += (err * std).sum(dim=(0, 2, 3))
        counts += ok.sum(dim=(0, 2, 3)).double().cpu()
    if size > 1:
        sums, counts = _all_reduce_sum(torch.stack([sums, counts]), config.device)
    mae = (sums / counts).numpy()  # NaN where nothing was observed
    return {"mae_per_horizon": mae.tolist(), "mae": float(np.nanmean(mae)) if
            np.isfinite(mae).any() else float("nan"), "count": counts.numpy().astype(int).tolist(),
            "windows": int(n_windows)}


def persistence_mae(data: ForecastData, config: ForecastConfig, split: str = "test") -> dict:
    """:func:`evaluate` of :class:`Persistence` (the last observed value, carried forward over
    missing entries, repeated for every horizon): a reference line that costs nothing."""
    return evaluate(Persistence(data.channels), data, split, config, Normalizer.fit(data))


# data-parallel reductions (torch.distributed; see forecasting.train)

def _world():
    """``(rank, world size)`` of the initialised torch.distributed group, else ``(0, 1)``."""
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _all_reduce_sum(t: Tensor, device) -> Tensor:
    """Sum of ``t`` over all processes (moved to ``device`` for nccl, returned on the CPU)."""
    import torch.distributed as dist
    x = t.to(device)
    dist.all_reduce(x)
    return x.cpu()
