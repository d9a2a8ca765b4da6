"""Node classification with a compiled continuous-depth block (GRAND / BLEND / GRAFF protocol):
the data, the splits and the training loop around the network
:class:`pde2gnn.models.continuous_gnn.ContinuousGNN` (encoder -> ODE block -> decoder).
The test accuracy reported is the one at the epoch of best validation accuracy. With
``select_time`` the integration time is chosen on validation too, as the reference code's
early-stopping integrator does (GRAND / BLEND, graph-neural-pde ``GNNEarly``, ``earlystopxT``):
training integrates to T, evaluation to ``select_time * T``, decoding the state at
``select_points`` times, and the (epoch, time) of best validation accuracy gives the test accuracy.

BLEND (Chamberlain et al. 2021, "Beltrami Flow and Neural Diffusion on Graphs"): when
``config.posenc`` is set and the spec has the field ``config.pos_field`` (``u``) besides others,
that field is encoded from a positional encoding of the graph (:mod:`pde2gnn.graph.posenc`) by its own
linear encoder, the other fields from the node features; a ``graph knn(u, k=...)`` clause makes
the diffusion graph the k-nearest-neighbour graph in the positional coordinates
(:func:`pde2gnn.graph.construction.feature_knn_graph`), built once or rebuilt every ``config.rewire_every`` epochs.
"""
from __future__ import annotations

import hashlib
import math
import resource
import time
from typing import List, Optional

import numpy as np
import torch
from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.transforms import NormalizeFeatures

from pde2gnn.compiler.backend.sheaf import Restriction
from pde2gnn.data.order import node_order
from pde2gnn.errors import OptionError
from pde2gnn.train.train_config import TrainConfig  # noqa: F401
from pde2gnn.models.continuous_gnn import ContinuousGNN, as_model_input  # noqa: F401
from pde2gnn.options import check_device
from pde2gnn.progress import bar as progress_bar
from pde2gnn.train.partitioned import NodeShard, WholeGraph


def _masks(data: Data, split_index: int):
    masks = []
    for m in (data.train_mask, data.val_mask, data.test_mask):
        masks.append((m[:, split_index] if m.dim() == 2 else m).bool())
    return masks


def split_sha256(train_mask: Tensor, val_mask: Tensor, test_mask: Tensor) -> str:
    """SHA-256 hex digest of a split: the three boolean masks ``[N]`` (train, val, test) as
    bytes, in that order. Two runs with equal digests trained, selected and tested on the same
    nodes (same N and node order), so their accuracies are comparable without reading logs."""
    h = hashlib.sha256()
    for m in (train_mask, val_mask, test_mask):
        h.update(m.detach().to("cpu", torch.uint8).contiguous().numpy().tobytes())
    return h.hexdigest()


def selection_rule(config: TrainConfig) -> str:
    """The model-selection rule of :func:`train`, as recorded in results files."""
    rule = ("test accuracy at the first epoch of least validation loss"
            if config.select_by == "loss" else
            "test accuracy at the first epoch of best validation accuracy")
    if config.patience:
        rule += f"; training stopped after {config.patience} epochs without a better one"
    if config.select_time:
        return (f"{rule}; integration time chosen on validation among {config.select_points} "
                f"evenly spaced times in (0, {config.select_time:g} T]")
    return f"{rule}; integration time fixed at T"


def parameter_groups(model: nn.Module, config: TrainConfig) -> List[dict]:
    """The optimiser's parameter groups: every parameter at ``config.weight_decay``, except, when
    ``config.sheaf_decay`` is set, the restriction-map networks' (``Restriction.lin`` of
    :mod:`pde2gnn.compiler.backend.sheaf`; its learned edge weights stay in the first group), which get
    ``sheaf_decay`` (the NSD reference's two Adam groups, exp/run.py). A model without learned
    restriction maps (``kind=identity``, no sheaf) has only the first group, so specs that
    inherit a data set's table (nsd_identity) run with it unchanged.
    """
    sheaf = set()
    if config.sheaf_decay is not None:
        sheaf = {id(p) for m in model.modules() if isinstance(m, Restriction)
                 and m.lin is not None for p in m.lin.parameters()}
    groups = [{"params": [p for p in model.parameters() if id(p) not in sheaf],
               "weight_decay": config.weight_decay}]
    if sheaf:
        groups.append({"params": [p for p in model.parameters() if id(p) in sheaf],
                       "weight_decay": config.sheaf_decay})
    return groups


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """``config.optimizer`` (adam, adamw, adamax) on :func:`parameter_groups`, learning rate
    ``config.lr``. Adam and AdamW run in torch's fused form (``fused=True``: one kernel per step
    over all parameters instead of about ten passes per tensor; the same update up to
    rounding), which halved the optimiser step of GraphCON on Texas (benchmarks/zoo_graphcon.py).

    Raises:
        OptionError: an unknown optimizer name.
    """
    opts = {"adam": torch.optim.Adam, "adamax": torch.optim.Adamax, "adamw": torch.optim.AdamW}
    if config.optimizer not in opts:
        raise OptionError(f"unknown optimizer '{config.optimizer}' (choose from "
                          f"{', '.join(opts)})")
    fused = {} if config.optimizer == "adamax" else {"fused": True}
    return opts[config.optimizer](parameter_groups(model, config), lr=config.lr, **fused)


def evaluate(model: nn.Module, x: Tensor, y: Tensor, masks, eval_times: Optional[Tensor] = None,
             shard: Optional[WholeGraph] = None):
    """One evaluation pass of :func:`train`'s loop, without gradients: the model solved on all
    nodes, decoded at the end time T, or at each of ``eval_times`` (``[K]``, spec time units:
    the early-stopping integrator of ``select_time``).

    Args:
        model: a :class:`ContinuousGNN`; x: its input ``[N, F]``; y: the labels ``[N]``.
        masks: the train, validation and test masks, three boolean ``[N]``.
        shard: this process's part of a partitioned run (default: the whole graph).
    Returns:
        ``(accuracies, val_loss, k)``: the train / validation / test accuracies (fractions in
        [0, 1]) and the validation cross-entropy at the first time of best validation accuracy,
        and that time's index ``k`` into ``eval_times`` (0 without them).
    """
    shard = WholeGraph() if shard is None else shard
    model.eval()
    with torch.no_grad():
        logits = model(x)[None] if eval_times is None else model(x, eval_times)   # [K, N, C]
        pred = logits.argmax(-1)
        accs = torch.stack([shard.accuracy(pred, y, m) for m in masks], 1)       # [K, 3]
        k = int(accs[:, 1].argmax())
        val_loss = float(shard.total(shard.loss(logits[k], y, masks[1])))
    return accs[k].tolist(), val_loss, k


def train(spec, data: Data, config: TrainConfig, seed: int = 0, split_index: int = 0,
          device: str = "cpu", progress: bool = True, log=None, return_model: bool = False,
          partition: int = 0) -> dict:
    """Train one model; returns the run's metrics. With ``partition`` K > 0 (in each of the K
    processes of an initialised torch.distributed group, ``pde2gnn train ... --partition K``
    under torchrun), the graph is split over the processes (:class:`pde2gnn.train.partitioned.
    NodeShard`): the same run, each process holding its nodes; every process returns the same
    metrics.

    Returns:
        dict with ``test_acc`` and ``val_acc`` (fractions in [0, 1], at the selected epoch),
        ``best_epoch``, ``best_time`` (the integration time T in spec time units, or the time
        chosen on validation with ``config.select_time``; not wall time), ``epoch_time_s``
        (mean wall-clock seconds of a training epoch: forward solve, loss, backward, optimiser
        step), ``epoch_time_total_s`` (mean wall-clock seconds of a whole epoch: the training
        step plus the evaluation forward pass on all nodes), ``split_sha256``
        (:func:`split_sha256` of the masks), ``selection`` (:func:`selection_rule`),
        ``nfe_forward`` / ``nfe_backward`` (evaluations per solve, mean over training epochs),
        ``peak_memory_mb`` (MiB) and ``history`` (per epoch: ``loss``, ``train_acc``,
        ``val_acc``, ``val_loss``, ``integration_time``, ``nfe``); with ``return_model`` also
        ``model`` (the trained :class:`ContinuousGNN`, last epoch). The descriptions of the
        keys are stored in every results file (``NodeClassification.fields``).
    Raises:
        OptionError: an unsupported ``device`` (:func:`pde2gnn.options.check_device`), or
            with ``partition`` what :class:`~pde2gnn.train.partitioned.NodeShard` refuses.
        SolverError: a solve diverged or exceeded ``config.solver.max_nfe``.
    """
    check_device(device, "device")
    sha = split_sha256(*_masks(data, split_index))      # of the data set's own order
    if not partition:
        data, _ = node_order(data, config.node_order)
    torch.manual_seed(seed)
    np.random.seed(seed)
    num_classes = int(data.y.max()) + 1
    pos = positional_input(data, config)
    model = ContinuousGNN(spec, data, num_classes, config, pos=pos,
                          label_mask=_masks(data, split_index)[0]).to(device)
    shard = WholeGraph()
    if partition:
        shard = NodeShard(model, partition)
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    x = NormalizeFeatures()(Data(x=data.x)).x if config.normalize_features else data.x
    x, y = as_model_input(shard.rows(x)).to(device), shard.rows(data.y).to(device)
    train_m, val_m, test_m = (shard.rows(m).to(device) for m in _masks(data, split_index))
    opt = make_optimizer(model, config)
    eval_times = None
    if config.select_time:
        if config.select_time <= 0 or config.select_points < 1:
            raise OptionError(f"select_time must be positive and select_points at least 1, got "
                              f"{config.select_time} and {config.select_points}")
        eval_times = torch.linspace(0, config.select_time * config.time,
                                    config.select_points + 1, device=device)[1:]
    best, since_best = {"val_acc": -1.0, "val_loss": math.inf}, 0
    times, times_total, nfe_f, nfe_b, nfe_l, lin_its, history = [], [], [], [], [], [], []
    bar = progress_bar(range(config.epochs), progress, leave=False, desc=f"seed {seed}",
                       dynamic_ncols=True)
    for epoch in bar:
        if config.rewire_every and epoch and epoch % config.rewire_every == 0:
            model.rewire()
        t0 = time.perf_counter()
        model.train()
        opt.zero_grad()
        out = model(x)
        loss = shard.loss(out, y, train_m)
        fwd, lin = model.ode.nfe_forward, (model.ode.nfe_linear, model.ode.linear_iterations,
                                           getattr(model.ode, "linear_rejections", 0))
        loss.backward()
        shard.reduce_gradients(model)
        opt.step()
        times.append(time.perf_counter() - t0), nfe_f.append(fwd)
        loss_value = shard.total(loss).item()
        nfe_b.append(model.ode.nfe_backward), nfe_l.append(lin[0]), lin_its.append(lin[1])
        accs, val_loss, k = evaluate(model, x, y, (train_m, val_m, test_m), eval_times, shard)
        t_best = config.time if eval_times is None else float(eval_times[k])
        times_total.append(time.perf_counter() - t0)
        history.append({"epoch": epoch, "loss": loss_value, "train_acc": accs[0],
                        "val_acc": accs[1], "val_loss": val_loss, "integration_time": t_best,
                        "nfe": fwd, "nfe_linear": lin[0], "linear_iterations": lin[1],
                        "linear_rejections": lin[2]})
        better = val_loss < best["val_loss"] if config.select_by == "loss" else \
            accs[1] > best["val_acc"]
        since_best = 0 if better else since_best + 1
        if better:
            best = {"val_acc": accs[1], "val_loss": val_loss, "test_acc": accs[2],
                    "train_acc": accs[0], "best_epoch": epoch, "best_time": t_best}
        bar.set_postfix(loss=f"{loss_value:.3f}", val=f"{accs[1]:.3f}", nfe=fwd)
        if log is not None:
            log(f"epoch {epoch:4d}  loss {loss_value:.4f}  train {100 * accs[0]:.1f}%  "
                f"val {100 * accs[1]:.1f}%  integration T {t_best:.2f}  nfe {fwd}"
                + (f" (N; L products {lin[0]}, solver iterations {lin[1]}, steps rejected by "
                   f"the linear solver {lin[2]})" if any(lin) else ""))
        if config.patience and since_best >= config.patience:
            break
    bar.close()
    out = {**best, "epoch_time_s": float(np.mean(times)),
           "epoch_time_total_s": float(np.mean(times_total)),
           "split_sha256": sha, "selection": selection_rule(config),
           "nfe_forward": float(np.mean(nfe_f)), "nfe_backward": float(np.mean(nfe_b)),
           "nfe_linear": float(np.mean(nfe_l)), "linear_iterations": float(np.mean(lin_its)),
           "peak_memory_mb": peak_memory_mb(device), "history": history}
    if return_model:
        out["model"] = model
    return out


def peak_memory_mb(device: str = "cpu") -> float:
    """Peak memory in MiB: ``torch.cuda.max_memory_allocated`` on a GPU (since the run's start),
    else the process's peak resident set size (``getrusage``; process-wide, so monotone across
    runs in one process)."""
    if str(device).startswith("cuda"):
        return torch.cuda.max_memory_allocated() / 2 ** 20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def positional_input(data: Data, config: TrainConfig) -> Optional[Tensor]:
    """The positional encoding ``[N, P]`` fed to the positional field, or None.

    ``data.pos_enc`` if the caller set it, else :func:`pde2gnn.graph.posenc.positional_encoding`
    of ``config.posenc`` (cached on disk per graph).
    """
    if getattr(data, "pos_enc", None) is not None:
        return data.pos_enc
    if not config.posenc:
        return None
    from pde2gnn.graph.posenc import positional_encoding
    options = {"alpha": config.ppr_alpha, "topk": config.ppr_topk} if config.posenc == "ppr" \
        else {}
    if config.posenc == "ppr" and config.ppr_eps:
        options["eps"] = config.ppr_eps     # only when set: earlier cache keys stay valid
    return positional_encoding(config.posenc, data.edge_index, data.num_nodes,
                               config.posenc_dim, **options)


def _mean_or_none(values: List[Optional[float]]) -> Optional[float]:
    """Mean of the values that are not None (runs written before a field existed), else None."""
    kept = [v for v in values if v is not None]
    return float(np.mean(kept)) if kept else None


def summarize(runs: List[dict]) -> dict:
    """Mean and std (population, as in the papers' tables) over runs."""
    acc = np.array([r["test_acc"] for r in runs])
    return {"test_acc_mean": float(acc.mean()), "test_acc_std": float(acc.std()),
            "test_acc": acc.tolist(), "val_acc": [r["val_acc"] for r in runs],
            "best_epoch": [r["best_epoch"] for r in runs],
            "best_time": [r.get("best_time") for r in runs],
            "epoch_time_s": float(np.mean([r["epoch_time_s"] for r in runs])),
            "epoch_time_total_s": _mean_or_none([r.get("epoch_time_total_s") for r in runs]),
            "nfe_forward": float(np.mean([r["nfe_forward"] for r in runs])),
            "nfe_backward": float(np.mean([r["nfe_backward"] for r in runs])),
            **{k: _mean_or_none([r.get(k) for r in runs])
               for k in ("nfe_linear", "linear_iterations")},
            "peak_memory_mb": float(max(r.get("peak_memory_mb", 0.0) for r in runs)),
            "split_sha256": sorted({r["split_sha256"] for r in runs if r.get("split_sha256")}),
            "selection": sorted({r["selection"] for r in runs if r.get("selection")})}
