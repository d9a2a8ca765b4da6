"""Graph-signal forecasting with a discrete-time model (PA-DGN, Seo, Meng & Liu, ICLR 2020).

The model is any ``nn.Module`` with the *stepper* interface (what
``pde2gnn.compiler.compile_stepper`` builds from a discrete-time spec)::

    channels: int                                # C, width of the observed field
    init_hidden(batch) -> tuple                  # each hidden state [B, N, c] (zeros); () if none
    forward(f, hidden) -> (f_next, new_hidden)   # f, f_next [B, N, C]

Protocol (:func:`rollout`): a window is ``n_in`` observed frames followed by ``n_out`` frames to
predict. The model is warmed up on the observed frames (each fed in turn, the hidden state
carried); its output after the last observed frame is the 1-step prediction; it is then rolled
out ``n_out - 1`` more steps feeding its own predictions — or, in training with scheduled
sampling (Bengio et al., NeurIPS 2015), the ground truth with probability
``k / (k + exp(step / k))`` (inverse-sigmoid decay in optimiser steps, per window and step).

Missing values (NaN) are never propagated:

* **inputs**: a missing entry of a fed frame is replaced by the model's own prediction of that
  frame (made at the previous step); in the first frame of a window, where there is no
  prediction yet, by 0 in normalised units, i.e. the training-set mean. For the persistence
  model this is "last observation carried forward" within the window.
* **targets**: masked out of the loss and the metrics (a masked mean over the valid entries;
  a window whose targets are all missing contributes nothing, and a batch with no valid target
  gives a zero loss with zero gradients).

Values are normalised with the training split's nan-aware mean and standard deviation per
channel (:class:`Normalizer`); the model sees and predicts normalised values. The training loss
is the MSE (``loss='mse'``, as PA-DGN trained) or MAE (``loss='mae'``) over every valid
predicted entry of a batch, all horizons pooled. Reported metrics are MAE in the data's units
(°C for NOAA) per horizon: ``mae_per_horizon[h - 1]`` is the mean absolute error of the
h-step-ahead prediction over every valid entry of the split's windows. Early stopping on the
validation MAE (mean over horizons); the test MAE is the one at the best validation epoch.
"""
from __future__ import annotations

import copy
import math
import time
from typing import Callable, List, Optional, Union

import numpy as np
import torch
from torch import Tensor, nn
from pde2gnn.progress import bar as progress_bar

from pde2gnn.errors import OptionError, SolverError
from pde2gnn.data.forecast import ForecastData
from pde2gnn.train.tasks.forecast_config import ForecastConfig, teacher_forcing_prob
from pde2gnn.train.tasks.forecast_eval import (Normalizer, _all_reduce_sum, _world, evaluate, gather_windows,
                            masked_loss, rollout, window_index)


# ---------------------------------------------------------------------------------------------
# data-parallel helpers (torch.distributed; see train)

class _Rollout(nn.Module):
    """A stepper's whole rollout as one forward, so that DistributedDataParallel sees one
    forward (warm-up and ``n_out`` steps) per backward."""

    def __init__(self, stepper: nn.Module):
        super().__init__()
        self.stepper = stepper

    def forward(self, x_in, n_out, target, teacher_prob, generator, coin_rows, coin_batch):
        return rollout(self.stepper, x_in, n_out, target, teacher_prob, generator,
                       coin_rows=coin_rows, coin_batch=coin_batch)


def _rank_batches(order: Tensor, batch_size: int, rank: int, size: int):
    """This process's share of every global batch of ``order`` ``[W, 2]`` windows (``order``
    is the epoch's permutation, the same on every process): global batch j is
    ``order[j * batch_size:(j + 1) * batch_size]``, as for one process, and rank r takes its
    rows r, r + size, ... Nothing is padded or dropped (``DistributedSampler`` would repeat
    windows to even out the shares, which changes the step), so a batch needs no particular
    size. A rank left without a row (a last batch smaller than ``size``) gets row 0 with
    weight 0: it still runs the forward and backward that DDP's gradient all-reduce needs,
    and adds nothing.

    Yields:
        ``(windows [b, 2], rows [b], global batch size, weight)``; ``rows`` are the local
        windows' positions in the global batch (for the teacher-forcing coins), ``weight``
        is 1.0, or 0.0 for the stand-in row.
    """
    for b in range(0, len(order), batch_size):
        batch = order[b:b + batch_size]
        rows = torch.arange(rank, len(batch), size)
        weight = 1.0
        if len(rows) == 0:
            rows, weight = torch.zeros(1, dtype=torch.long), 0.0
        yield batch[rows], rows, len(batch), weight


# ---------------------------------------------------------------------------------------------
# training

def num_parameters(model: nn.Module) -> int:
    """Trainable parameters (elements)."""
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))


ModelFn = Callable[[ForecastData], nn.Module]


def train(model_fn: Union[ModelFn, nn.Module], data: ForecastData, config: ForecastConfig,
          progress: bool = True, log: Optional[Callable[[str], None]] = None,
          return_model: bool = False) -> dict:
    """Train one model with early stopping on the validation MAE; test at the best epoch.

    Args:
        model_fn: builds the stepper from the data (called after seeding with
            ``config.seed``), or a ready module.
        data: the series, graph and splits (:mod:`pde2gnn.data.forecast`).
        config: hyperparameters (``config.seed`` seeds torch, numpy and the window order).
        log: called with one line per epoch.

    Returns:
        dict with ``seed``, ``mae_per_horizon`` (test, data units, at the best validation epoch),
        ``mae_mean`` (mean over horizons), ``val_mae`` (best), ``val_mae_per_horizon``,
        ``best_epoch``, ``epochs_run``, ``time_per_epoch_s`` (mean wall time of a training
        epoch, s, without the validation pass), ``num_parameters``, ``train_windows`` and ``history`` (per epoch: loss,
        val_mae, teacher-forcing probability at the epoch's end); with ``return_model`` also
        ``model`` (the best-validation weights).

    Data-parallel: called on every process of an initialised ``torch.distributed`` group
    (``pde2gnn train SPEC --data ... --distributed`` under torchrun: gloo on CPU, nccl on
    CUDA), the model is wrapped in ``DistributedDataParallel`` and every global batch of
    ``batch_size`` windows is split row by row over the processes (:func:`_rank_batches`). Each process's loss is its sum of errors over the global count of
    valid entries (times the world size, which DDP's gradient averaging divides out), so a
    step is the single-process step on the same global batch, up to float summation order;
    validation and test windows are split too and their sums all-reduced.

    Raises:
        OptionError: bad config, windows that do not fit, or a model whose output shape or
            channel count does not fit the data. SolverError: a non-finite training loss.
    """
    config.validate()
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    model = model_fn if isinstance(model_fn, nn.Module) else model_fn(data)
    ch = getattr(model, "channels", data.channels)
    if ch != data.channels:
        raise OptionError(f"the model observes {ch} channel(s), the data has {data.channels}")
    model = model.to(config.device)
    rank, size = _world()
    norm = Normalizer.fit(data)
    L = config.n_in + config.n_out
    train_idx = window_index(data.splits["train"], L, config.stride)
    window_index(data.splits["val"], L, config.stride)  # fail early if windows do not fit
    window_index(data.splits["test"], L, config.stride)
    gen = torch.Generator().manual_seed(config.seed)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay) \
        if params else None
    runner = _Rollout(model)
    if size > 1 and params:
        from torch.nn.parallel import DistributedDataParallel
        dev = torch.device(config.device)
        runner = DistributedDataParallel(runner, device_ids=[dev] if dev.type == "cuda"
                                         else None)
    best = {"val_mae": float("inf"), "epoch": -1}
    best_state = copy.deepcopy(model.state_dict())
    history, times = [], []
    step, stale = 0, 0
    bar = progress_bar(range(config.epochs if params else 0), progress, leave=False,
               desc=f"seed {config.seed}", dynamic_ncols=True)
    for epoch in bar:
        t0 = time.perf_counter()
        model.train()
        order = train_idx[torch.randperm(len(train_idx), generator=gen)]
        if config.max_windows_per_epoch:
            order = order[:config.max_windows_per_epoch]
        total, batches = 0.0, 0
        p = 0.0
        if size > 1:
            parts = _rank_batches(order, config.batch_size, rank, size)
        else:
            parts = ((order[b:b + config.batch_size], None, None, 1.0)
                     for b in range(0, len(order), config.batch_size))
        for part, rows, global_b, weight in parts:
            w = norm(gather_windows(data.series, part, L))
            w = w.to(config.device)
            x_in, tgt = w[:, :config.n_in], w[:, config.n_in:]
            p = teacher_forcing_prob(step, config.ss_k) if config.scheduled_sampling else 0.0
            pred = runner(x_in, config.n_out, tgt, p, gen, rows, global_b)
            if size > 1:   # sum of errors / global count of valid entries (x size: DDP averages)
                mask = ~torch.isnan(tgt)
                diff = torch.where(mask, pred - torch.where(mask, tgt, 0.0), 0.0)
                err = (diff.abs() if config.loss == "mae" else diff ** 2).sum() * weight
                stats = _all_reduce_sum(torch.stack([mask.sum().double().cpu() * weight,
                                                     err.detach().double().cpu()]),
                                        config.device)
                count = float(stats[0].clamp(min=1))
                global_loss = float(stats[1]) / count
                loss = err / (count / size)
            else:
                loss = masked_loss(pred, tgt, config.loss)
                global_loss = None
            if not math.isfinite(global_loss if global_loss is not None else loss.item()):
                raise SolverError(f"non-finite training loss at epoch {epoch}, step {step} "
                                  "(lower --lr, or check the model's output)")
            opt.zero_grad()
            loss.backward()
            if config.grad_clip:
                nn.utils.clip_grad_norm_(params, config.grad_clip)
            opt.step()
            total += loss.item() if global_loss is None else global_loss
            batches += 1
            step += 1
        times.append(time.perf_counter() - t0)
        val = evaluate(model, data, "val", config, norm)
        history.append({"epoch": epoch, "loss": total / max(batches, 1), "val_mae": val["mae"],
                        "teacher_prob": p})
        if val["mae"] < best["val_mae"]:
            best = {"val_mae": val["mae"], "epoch": epoch,
                    "val_mae_per_horizon": val["mae_per_horizon"]}
            best_state = copy.deepcopy(model.state_dict())
            stale = 0
        else:
            stale += 1
        bar.set_postfix(loss=f"{total / max(batches, 1):.4f}", val=f"{val['mae']:.4f}")
        if log is not None:
            log(f"epoch {epoch:4d}  loss {total / max(batches, 1):.4f}  val MAE "
                f"{val['mae']:.4f}{' *' if best['epoch'] == epoch else ''}  tf {p:.3f}")
        if config.patience and stale >= config.patience:
            break
    bar.close()
    model.load_state_dict(best_state)
    if best["epoch"] < 0:  # nothing trained (no parameters or epochs = 0)
        val = evaluate(model, data, "val", config, norm)
        best.update(val_mae=val["mae"], val_mae_per_horizon=val["mae_per_horizon"])
    test = evaluate(model, data, "test", config, norm)
    out = {"seed": config.seed, "mae_per_horizon": test["mae_per_horizon"],
           "mae_mean": test["mae"], "val_mae": best["val_mae"],
           "val_mae_per_horizon": best["val_mae_per_horizon"], "best_epoch": best["epoch"],
           "epochs_run": len(history),
           "time_per_epoch_s": float(np.mean(times)) if times else 0.0,
           "num_parameters": num_parameters(model), "train_windows": int(len(train_idx)),
           "test_windows": test["windows"], "history": history}
    if return_model:
        out["model"] = model
    return out


def summarize(runs: List[dict]) -> dict:
    """Mean and (population) std over runs (seeds) of the test MAE per horizon and overall."""
    per = np.array([r["mae_per_horizon"] for r in runs], dtype=float)  # [R, n_out]
    means = np.array([r["mae_mean"] for r in runs], dtype=float)
    return {"seeds": [r["seed"] for r in runs],
            "mae_per_horizon": per.mean(0).tolist(), "mae_per_horizon_std": per.std(0).tolist(),
            "mae_per_horizon_per_seed": per.tolist(),
            "mae_mean": float(means.mean()), "mae_mean_std": float(means.std()),
            "val_mae": [r["val_mae"] for r in runs], "best_epoch": [r["best_epoch"] for r in runs],
            "epochs_run": [r["epochs_run"] for r in runs],
            "time_per_epoch_s": float(np.mean([r["time_per_epoch_s"] for r in runs])),
            "num_parameters": runs[0]["num_parameters"]}


def horizon_lines(summary: dict, units: str = "", horizons=(1, 6, 12)) -> List[str]:
    """``'h-step MAE: mean ± std units'`` for the horizons that exist (and the last one)."""
    n = len(summary["mae_per_horizon"])
    hs = sorted({h for h in horizons if h <= n} | {n})
    u = f" {units}" if units else ""
    return [f"{h:>2}-step MAE: {summary['mae_per_horizon'][h - 1]:.4f} ± "
            f"{summary['mae_per_horizon_std'][h - 1]:.4f}{u}" for h in hs]
