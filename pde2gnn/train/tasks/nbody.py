"""The EGNN N-body task (Satorras, Hoogeboom & Welling, ICML 2021, sec. 5.1): predict the
positions of 5 charged particles 1000 integration steps ahead from their positions, velocities
and charges at a start frame.

Data: ``pde2gnn simulate nbody_charged_ref --graph complete --nodes 5 --ic charged --frames 42
--dt 0.1 --method rk4 --step-size 0.001`` (:func:`pde2gnn.simulate.simulate_particles`; frames
every 100 steps of 0.001). The reference's ``nbody_small`` split takes its frame 30 as input and
frame 40 as target, where its frame k is step 100 (k + 1): steps 3100 and 4100, i.e. t = 3.1 and
t = 4.1 here (``start``, ``horizon``).

Model (:class:`EGNN`): h(0) = Linear(1, c)(|v|), then ``layers`` compiled steps of
``library/egnn_vel.pde`` with separate weights (each a :class:`~pde2gnn.compiler.backend.stepper.Stepper`
on the complete graph, batched over systems), the positions of the last one the prediction.
A continuous spec (``library/egnn_newton.pde``, :class:`EGNNFlow`) is integrated over the
horizon instead, ``layers`` rk4 steps with one set of weights.
Training: Adam, MSE on positions, batches of ``batch`` systems; the test MSE is reported at the
epoch of the best validation MSE (the reference's protocol). ``linear``: p + v * horizon;
``fitted linear``: p + v * tau with tau fitted on the training split (the paper's "Linear").

Run: ``pde2gnn train egnn_vel --task nbody --data DATA.npz --seeds 3 --results
experiments/egnn/runs/....json`` (:class:`pde2gnn.train.tasks.registry.NBody`).
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Dict

import numpy as np
import torch
from torch import Tensor, nn

from pde2gnn.errors import DataError, SolverError
from pde2gnn.options import check_fields
from pde2gnn.models.egnn import EGNN, EGNNFlow

#: published test MSE (EGNN paper, table 2)
PUBLISHED = {"linear": 0.0819, "SE(3)-Transformer": 0.0244, "TFN": 0.0155, "GNN": 0.0107,
             "Radial Field": 0.0104, "EGNN": 0.0071}


@dataclass
class NBodyConfig:
    """Hyperparameters (defaults: the reference's n-body run, except ``epochs``).

    Attributes: spec (one layer, or a continuous flow), layers (4; rk4 steps for a flow),
    hidden (c = 64), epochs (reference: 10000),
    batch (100), lr (5e-4), weight_decay (1e-12), eval_every (epochs between validations),
    start / horizon (input time and prediction lead, spec time units), max_train (systems of
    the training split used; reference 3000), seed.
    """

    spec: str = "egnn_vel"
    layers: int = 4
    hidden: int = 64
    epochs: int = 100
    batch: int = 100
    lr: float = 5e-4
    weight_decay: float = 1e-12
    eval_every: int = 5
    start: float = 3.1
    horizon: float = 1.0
    max_train: int = 3000
    seed: int = 0

    def __post_init__(self):
        """Raises OptionError: a field out of its range (:data:`pde2gnn.options.RULES`)."""
        check_fields(self)

    def to_dict(self) -> dict:
        return asdict(self)


def load_nbody(path: str, start: float = 3.1, horizon: float = 1.0) -> Dict[str, Dict[str, Tensor]]:
    """Read a ``--ic charged`` simulation: per split ``{'p': [B, 5, 3], 'v': [B, 5, 3],
    'q': [B, 5, 1], 'target': [B, 5, 3]}`` (float32) at time ``start`` and ``start + horizon``.

    Raises:
        DataError: not such a file, or no frame at those times.
    """
    try:
        d = np.load(path)
        meta = json.loads(str(d["meta"]))
        frames, times, q = d["frames"], d["times"], d["input_q"]
    except (OSError, KeyError, ValueError) as e:
        raise DataError(f"{path}: not a `pde2gnn simulate --ic charged` file ({e})") from None
    idx = []
    for t in (start, start + horizon):
        k = int(np.argmin(np.abs(times - t)))
        if abs(times[k] - t) > 1e-6:
            raise DataError(f"{path} has no frame at t = {t} (frames every "
                            f"{times[1] - times[0]:g} up to {times[-1]:g})")
        idx.append(k)
    lay = meta["fields"]
    (pa, pb), (va, vb) = list(lay.values())[:2]
    second = list(lay)[1]
    p0, x1 = frames[:, idx[0], :, pa:pb], frames[:, idx[1], :, pa:pb]
    v0 = frames[:, idx[0], :, va:vb]
    if f"field {second} : coords" in str(d["spec"]):   # the velocity carried as the point p + v
        v0 = v0 - p0
    f32 = lambda a: torch.tensor(np.asarray(a), dtype=torch.float32)
    return {s: {"p": f32(p0[d[s]]), "v": f32(v0[d[s]]), "q": f32(q[d[s]]),
                "target": f32(x1[d[s]])} for s in ("train", "val", "test")}


def build_model(config: "NBodyConfig", nodes: int) -> nn.Module:
    """:class:`EGNN` for a discrete-time spec (``next``), :class:`EGNNFlow` for a continuous one
    (``config.layers`` rk4 steps over ``config.horizon``)."""
    from pde2gnn.compiler.pipeline import front
    if front(config.spec).discrete:
        return EGNN(config.spec, config.layers, config.hidden, nodes)
    return EGNNFlow(config.spec, config.layers, config.hidden, nodes, config.horizon)


def linear_mse(data: Dict[str, Dict[str, Tensor]], horizon: float = 1.0) -> Dict[str, float]:
    """MSE of the constant-velocity prediction p + v * horizon per split."""
    return {s: float(((d["p"] + d["v"] * horizon - d["target"]) ** 2).mean())
            for s, d in data.items()}


def fitted_linear_mse(data: Dict[str, Dict[str, Tensor]]) -> Dict[str, float]:
    """The reference's "Linear" model (EGNN ``Linear_dynamics``: p + v * tau with one learned
    scalar tau) trained to its optimum: tau = <v, target - p> / <v, v> on the training split, the
    exact minimiser of its MSE loss. Returns ``{"tau": tau, split: MSE}``."""
    d = data["train"]
    tau = float((d["v"] * (d["target"] - d["p"])).sum() / d["v"].square().sum())
    return {"tau": tau, **linear_mse(data, tau)}


def _mse(model: EGNN, d: Dict[str, Tensor], batch: int = 1000) -> float:
    with torch.no_grad():
        err = sum(float(((model(d["p"][k:k + batch], d["v"][k:k + batch], d["q"][k:k + batch])
                          - d["target"][k:k + batch]) ** 2).sum())
                  for k in range(0, len(d["p"]), batch))
    return err / d["target"].numel()


def train(data: Dict[str, Dict[str, Tensor]], config: NBodyConfig,
          log=print) -> dict:
    """Train one model; returns test / val MSE at the best validation epoch, the history,
    seconds per epoch and the parameter count.

    Raises:
        DataError: a split without systems.
        SolverError: no finite validation MSE at any evaluation (the training diverged).
    """
    torch.manual_seed(config.seed)
    empty = [s for s in ("train", "val", "test") if len(data[s]["p"]) == 0]
    if empty:
        raise DataError(f"the {', '.join(empty)} split(s) of the N-body data hold no systems; "
                        "simulate more trajectories or change --split")
    tr = {k: v[:config.max_train] for k, v in data["train"].items()}
    model = build_model(config, tr["p"].shape[1])
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    g = torch.Generator().manual_seed(config.seed)
    best, history, t_train = {"val": float("inf")}, [], 0.0
    for epoch in range(1, config.epochs + 1):
        t0 = time.perf_counter()
        perm = torch.randperm(len(tr["p"]), generator=g)
        total = 0.0
        for k in range(0, len(perm), config.batch):
            b = perm[k:k + config.batch]
            opt.zero_grad()
            loss = ((model(tr["p"][b], tr["v"][b], tr["q"][b]) - tr["target"][b]) ** 2).mean()
            loss.backward()
            opt.step()
            total += loss.item() * len(b)
        t_train += time.perf_counter() - t0
        if epoch % config.eval_every == 0 or epoch == config.epochs:
            val = _mse(model, data["val"])
            row = {"epoch": epoch, "train": total / len(perm), "val": val}
            if val < best["val"]:
                best = {**row, "test": _mse(model, data["test"])}
            history.append(row)
            so_far = (f"best test {best['test']:.5f} at epoch {best['epoch']}" if "test" in best
                      else "no finite validation MSE yet")
            log(f"seed {config.seed} epoch {epoch}: train {row['train']:.5f} val {val:.5f} "
                f"({so_far})")
    if "test" not in best:
        raise SolverError(f"seed {config.seed}: no finite validation MSE in {config.epochs} "
                          f"epoch(s) (last {history[-1]['val']}): the training diverged; lower "
                          "--lr")
    return {"seed": config.seed, "test_mse": best["test"], "val_mse": best["val"],
            "best_epoch": best["epoch"], "history": history,
            "epoch_time_s": t_train / config.epochs,
            "num_parameters": sum(p.numel() for p in model.parameters())}
