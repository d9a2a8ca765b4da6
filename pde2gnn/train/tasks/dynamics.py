"""Learning network dynamics from irregularly sampled observations (NDCN, Zang & Wang, KDD 2020).

Data: a ``pde2gnn simulate ... --protocol irregular|regular`` file (:mod:`pde2gnn.simulate`): one
trajectory x(t) ``[N]`` of a network's node states, its frame times, the index sets of the
protocol (train / interpolation / extrapolation) and the truth on (T, 4T] and at the fixed point.

Model (:class:`DynamicsModel`): a continuous spec compiled on the file's graph, integrated from
the initial state by torchdiffeq at the observed times,

    h(0) = encoder(x(0)),   dh/dt = f_spec(h),   x_hat(t) = decoder(h(t)),

with NDCN's encoder Linear(1, hidden)-tanh-Linear(hidden, hidden) and decoder Linear(hidden, 1)
when the spec's field has a symbolic width (``field h : node[d]``, d = ``hidden``), and the state
itself (no encoder, no decoder) when the field has one channel (DNND, a node-wise neural ODE).
``encoder`` / ``decoder`` in the spec's ``.toml`` override this (``ndcn_no_encoder``: d = 1 with
a Linear(1, 1) decoder, as the reference's ``no_embed`` ablation).

Training: full batch, Adam, L1 loss between x_hat and x at the training times (one dopri5 solve
through all of them, t = 0 included); the model works on x / max |x(0)| (so that fields without
an encoder start with O(1) values; the loss and metrics are in the data's units). Metric: normalised L1 = mean |x_hat - x| / mean |x| over
the nodes and the times of a set (``interp``, ``extrap``; NDCN's table reports this). Long-horizon
checks after training (Liu et al., IJCAI 2023, "Do we need an encoder-decoder to model dynamical
systems on networks?"): the normalised L1 at 2T and 4T, the distance of x_hat(t*) to the true
fixed point x* (t* = 20 T by default), and whether the learned flow stays finite and bounded
(``blow_up``: a failed or non-finite solve, or max |x_hat| above 10 max |x| on [0, t*]).
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Callable, Dict, Optional

import numpy as np
import torch
from torch import Tensor, nn

from pde2gnn.errors import DataError, OptionError, SolverError
from pde2gnn.options import check_fields
from pde2gnn.progress import bar as progress_bar
from pde2gnn.models.dynamics import DynamicsModel

#: keys a dynamics ``.npz`` must hold (written by ``pde2gnn simulate --protocol ...``)
KEYS = ("frames", "times", "edge_index", "train_index", "interp_index", "extrap_index",
        "long_times", "long_frames", "fixed_point", "fixed_point_time")


@dataclass
class DynamicsConfig:
    """Hyperparameters of :func:`train` (defaults: NDCN's reference code, calvin-zcx/ndcn).

    Attributes:
        hidden: width d of a ``node[d]`` field (NDCN: 20).
        encoder, decoder: None = by the field's width (see the module docstring).
        epochs: full-batch Adam steps (the reference: 2000 iterations); lr, weight_decay: Adam's
            (reference weight decay: heat 1e-3, mutualistic 1e-2, gene 1e-4).
        method, rtol, atol: torchdiffeq solver (reference: dopri5, 1e-2, 1e-3);
            max_nfe: evaluations allowed in one solve.
        eval_every: epochs between interpolation / extrapolation evaluations.
        zero_init: start the last Linear layer of every ``net`` of the spec at zero, so the
            untrained flow is dx/dt = 0 (embedding-free fields: a sum of random MLP outputs
            over ~40 neighbours otherwise blows up in the first solve).
        seed: torch seed of the initial weights.
    """

    hidden: int = 20
    encoder: Optional[bool] = None
    decoder: Optional[bool] = None
    epochs: int = 300
    lr: float = 0.01
    weight_decay: float = 1e-3
    method: str = "dopri5"
    rtol: float = 1e-2
    atol: float = 1e-3
    max_nfe: int = 20000
    eval_every: int = 20
    zero_init: bool = False
    seed: int = 0

    def __post_init__(self):
        """Raises OptionError: a field out of its range (:data:`pde2gnn.options.RULES`)."""
        check_fields(self)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "DynamicsConfig":
        """Raises OptionError on a key that is not a field."""
        names = {f.name for f in fields(cls)}
        unknown = set(values) - names
        if unknown:
            raise OptionError(f"unknown dynamics hyperparameter(s): {', '.join(sorted(unknown))} "
                              f"(known: {', '.join(sorted(names))})")
        return cls(**values)


@dataclass
class DynamicsData:
    """One observed trajectory and its protocol (numpy, float64).

    Attributes: x0 ``[N]``; times ``[F]``; frames ``[F, N]``; edge_index ``[2, E]``;
    index sets into ``times`` (``train``, ``interp``, ``extrap``); long_times ``[L]``,
    long_frames ``[L, N]``; fixed_point ``[N]`` at fixed_point_time; name: the dynamics' spec.
    """

    times: np.ndarray
    frames: np.ndarray
    edge_index: np.ndarray
    train: np.ndarray
    interp: np.ndarray
    extrap: np.ndarray
    long_times: np.ndarray
    long_frames: np.ndarray
    fixed_point: np.ndarray
    fixed_point_time: float
    name: str = ""

    @property
    def num_nodes(self) -> int:
        return self.frames.shape[1]

    @property
    def horizon(self) -> float:
        return float(self.times[-1])


def load_dynamics(path: str, trajectory: int = 0) -> DynamicsData:
    """Read a ``pde2gnn simulate --protocol ...`` file.

    Raises:
        DataError: not a readable .npz, or one written without ``--protocol``.
    """
    import json
    try:
        d = np.load(path)
    except (OSError, ValueError) as e:
        raise DataError(f"cannot read dynamics data '{path}': {e}") from None
    missing = [k for k in KEYS if k not in d.files]
    if missing:
        raise DataError(f"{path} has no {', '.join(missing)}: simulate it with --protocol "
                        "irregular|regular (e.g. pde2gnn simulate ndcn_heat --graph grid8 --ic "
                        "ndcn --protocol irregular --trajectories 1)")
    if not 0 <= trajectory < d["frames"].shape[0]:
        raise DataError(f"{path} has {d['frames'].shape[0]} trajectories, asked for {trajectory}")
    meta = json.loads(str(d["meta"])) if "meta" in d.files else {}
    f64 = lambda a: np.asarray(a, np.float64)
    return DynamicsData(f64(d["times"]), f64(d["frames"][trajectory]), np.asarray(d["edge_index"]),
                        d["train_index"], d["interp_index"], d["extrap_index"],
                        f64(d["long_times"]), f64(d["long_frames"][trajectory]),
                        f64(d["fixed_point"][trajectory]), float(d["fixed_point_time"]),
                        meta.get("spec", ""))


def normalized_l1(pred, truth) -> float:
    """NDCN's metric: mean |pred - truth| / mean |truth| (any equal shapes); nan if empty."""
    pred, truth = np.asarray(pred, np.float64), np.asarray(truth, np.float64)
    if truth.size == 0:
        return float("nan")
    return float(np.abs(pred - truth).mean() / np.abs(truth).mean())


def _predict(model: DynamicsModel, x0: Tensor, times: np.ndarray) -> np.ndarray:
    """x_hat at ``times`` (sorted, with 0 prepended if missing) -> ``[len(times), N]``."""
    t = np.asarray(times, np.float64)
    with_zero = t[0] != 0
    tt = torch.tensor(np.concatenate([[0.0], t]) if with_zero else t, dtype=x0.dtype)
    with torch.no_grad():
        out = model(x0, tt)[:, :, 0].numpy()
    return out[1:] if with_zero else out


def evaluate(model: DynamicsModel, data: DynamicsData, x0: Tensor) -> Dict[str, float]:
    """Normalised L1 on the training, interpolation and extrapolation times (one solve)."""
    obs = np.unique(np.concatenate([data.train, data.interp, data.extrap]))
    pred = dict(zip(obs.tolist(), _predict(model, x0, data.times[obs])))
    out = {}
    for name, idx in (("train", data.train), ("interp", data.interp), ("extrap", data.extrap)):
        out[name] = normalized_l1([pred[k] for k in idx.tolist()], data.frames[idx]) \
            if len(idx) else float("nan")
    return out


def long_horizon(model: DynamicsModel, data: DynamicsData, x0: Tensor,
                 max_nfe: int = 5000) -> dict:
    """Long-horizon checks: normalised L1 at 2T and 4T, distance to the true fixed point, and
    whether the learned flow stays bounded on [0, fixed_point_time] (``blow_up``: also when
    the solve there fails or needs more than ``max_nfe`` evaluations; ``error`` says which)."""
    T = data.horizon
    t = np.concatenate([data.long_times, [data.fixed_point_time]])
    config = model.ode.config
    model.ode.config = dataclasses.replace(config, max_nfe=min(config.max_nfe, max_nfe))
    try:
        pred = _predict(model, x0, t)
    except SolverError as e:
        return {"blow_up": True, "error": str(e)}
    finally:
        model.ode.config = config
    if not np.isfinite(pred).all():
        return {"blow_up": True, "error": "non-finite prediction"}
    at = lambda m: int(np.argmin(np.abs(data.long_times - m * T)))
    scale = max(np.abs(data.frames).max(), np.abs(data.long_frames).max())
    return {"l1_2T": normalized_l1(pred[at(2)], data.long_frames[at(2)]),
            "l1_4T": normalized_l1(pred[at(4)], data.long_frames[at(4)]),
            "l1_on_T_4T": normalized_l1(pred[:-1], data.long_frames),
            "fixed_point_l1": normalized_l1(pred[-1], data.fixed_point),
            "fixed_point_time": data.fixed_point_time,
            "max_abs_ratio": float(np.abs(pred).max() / scale),
            "blow_up": bool(np.abs(pred).max() > 10 * scale)}


def train(model_fn: Callable[[], DynamicsModel], data: DynamicsData, config: DynamicsConfig,
          progress: bool = True, log: Callable[[str], None] = print,
          plot: Optional[str] = None) -> dict:
    """Fit one model to the training times of ``data`` and report its errors.

    Args:
        model_fn: builds a fresh :class:`DynamicsModel` (called after seeding torch).
        data: the trajectory (:func:`load_dynamics`); config: hyperparameters.
        plot: PNG path for truth against prediction at a few nodes (:func:`plot_fit`).

    Returns a dict: ``interp`` / ``extrap`` / ``train`` normalised L1 of the final model,
    ``history`` (epoch, loss, train, interp, extrap; epoch 0: the untrained model), ``long`` (:func:`long_horizon`),
    ``nfe_forward`` (mean per training solve), ``epoch_time_s``, ``num_parameters``, ``seed``.

    Raises:
        SolverError: a training solve fails (e.g. the learned flow blows up).
    """
    torch.manual_seed(config.seed)
    model = model_fn()
    if config.zero_init:
        for net in model.ode.field.nets.children():
            last = [m for m in net.modules() if isinstance(m, nn.Linear)][-1]
            nn.init.zeros_(last.weight), nn.init.zeros_(last.bias)
    model.scale = float(np.abs(data.frames[0]).max()) or 1.0
    x0 = torch.tensor(data.frames[0][:, None], dtype=torch.get_default_dtype())
    tt = torch.tensor(data.times[data.train], dtype=x0.dtype)
    yt = torch.tensor(data.frames[data.train][:, :, None], dtype=x0.dtype)
    if float(tt[0]) != 0.0:
        raise DataError("the training times must start at t = 0 (the initial state)")
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    history, nfe, t_train = [{"epoch": 0, "loss": float("nan"), **evaluate(model, data, x0)}], [], 0.0
    bar = progress_bar(range(1, config.epochs + 1), progress, desc=f"fit {data.name}")
    for epoch in bar:
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = (model(x0, tt) - yt).abs().mean()
        nfe.append(model.ode.nfe_forward)
        loss.backward()
        opt.step()
        t_train += time.perf_counter() - t0
        if epoch % config.eval_every == 0 or epoch == config.epochs:
            m = evaluate(model, data, x0)
            history.append({"epoch": epoch, "loss": loss.item(), **m})
            bar.set_postfix(loss=f"{loss.item():.3f}", interp=f"{m['interp']:.4f}",
                            extrap=f"{m['extrap']:.4f}")
            log(f"epoch {epoch}: L1 loss {loss.item():.4f}, normalised L1 train {m['train']:.4f} "
                f"interp {m['interp']:.4f} extrap {m['extrap']:.4f}, NFE {nfe[-1]}")
    bar.close()
    final = history[-1]
    out = {"seed": config.seed, "train": final["train"], "interp": final["interp"],
           "extrap": final["extrap"], "history": history,
           "long": long_horizon(model, data, x0),
           "nfe_forward": float(np.mean(nfe)), "epoch_time_s": t_train / config.epochs,
           "num_parameters": sum(p.numel() for p in model.parameters())}
    if plot:
        plot_fit(model, data, x0, plot)
        out["plot"] = plot
    return out


def plot_fit(model: DynamicsModel, data: DynamicsData, x0: Tensor, path: str,
             nodes: int = 4) -> None:
    """PNG: truth (lines) and prediction (dashed) on [0, 4T] at ``nodes`` nodes of different
    initial values, the training / interpolation / extrapolation times marked (matplotlib Agg)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x_init = data.frames[0]
    order = np.argsort(x_init + 1e-3 * np.arange(len(x_init)))
    picks = order[np.linspace(0, len(order) - 1, nodes).round().astype(int)]
    t_all = np.concatenate([data.times, data.long_times])
    truth = np.concatenate([data.frames, data.long_frames])
    keep = np.unique(np.linspace(0, len(t_all) - 1, 300).round().astype(int))
    try:
        pred = _predict(model, x0, t_all[keep])
    except SolverError:
        pred = np.full((len(keep), data.num_nodes), np.nan)
    fig, ax = plt.subplots(figsize=(7, 4))
    for c, k in enumerate(picks):
        ax.plot(t_all[keep], truth[keep, k], color=f"C{c}", lw=1.2, label=f"node {k} truth")
        ax.plot(t_all[keep], pred[:, k], color=f"C{c}", lw=1.2, ls="--")
        for idx, mk in ((data.train, "o"), (data.interp, "^"), (data.extrap, "s")):
            ax.plot(data.times[idx], data.frames[idx, k], mk, color=f"C{c}", ms=2.5, alpha=0.6)
    ax.axvline(data.horizon, color="k", lw=0.6, ls=":")
    lo, hi = truth.min(), truth.max()
    ax.set_ylim(lo - 0.15 * (hi - lo), hi + 0.15 * (hi - lo))   # a blown-up prediction leaves it
    ax.set_xlabel("t  (o train, ^ interpolation, s extrapolation; dashed: prediction)")
    ax.set_ylabel("x_i(t)")
    ax.set_title(f"{data.name}: truth vs prediction", fontsize=9)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def summarize(runs: list) -> dict:
    """Mean and (population) std over seeds of the interpolation / extrapolation normalised L1
    and the long-horizon figures."""
    def stat(vals):
        v = np.array([x for x in vals if x is not None and np.isfinite(x)], float)
        return (float(v.mean()), float(v.std())) if len(v) else (float("nan"), float("nan"))
    out = {"seeds": [r["seed"] for r in runs]}
    for k in ("interp", "extrap", "train"):
        out[k], out[k + "_std"] = stat([r[k] for r in runs])
    for k in ("l1_2T", "l1_4T", "fixed_point_l1"):
        out[k], out[k + "_std"] = stat([r["long"].get(k) for r in runs])
    out["blow_up"] = [r["long"]["blow_up"] for r in runs]
    out["epoch_time_s"] = float(np.mean([r["epoch_time_s"] for r in runs]))
    out["nfe_forward"] = float(np.mean([r["nfe_forward"] for r in runs]))
    return out
