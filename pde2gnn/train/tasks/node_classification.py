"""Node classification with a compiled continuous-depth block (GRAND / BLEND / GRAFF protocol).

Model: input dropout -> linear encoder -> ODE block integrated to time T -> ReLU -> [linear ->
ReLU, if ``fc_out``] -> dropout -> linear decoder (Chamberlain et al. 2021, "GRAND: Graph Neural
Diffusion", section 4). ``encoder_act``, ``decoder_act`` and ``dropout_at`` give other heads:
NSD's reference (Bodnar et al. 2022) is input dropout -> linear -> ELU -> dropout -> layers ->
linear (``encoder_act = "elu"``, ``dropout_at = "encoder"``, ``decoder_act = "none"``;
``second_linear`` adds its optional linear layer after the dropout).
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
from typing import Dict, List, Optional

import numpy as np
import torch
from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.transforms import NormalizeFeatures
from torch_geometric.utils import add_self_loops, remove_self_loops

from pde2gnn.compiler.backend.sheaf import Restriction
from pde2gnn.compiler.pipeline import compile as compile_spec
from pde2gnn.compiler.pipeline import front, load
from pde2gnn.compiler.graph_clause import knn_clause
from pde2gnn.errors import OptionError
from pde2gnn.train.train_config import TrainConfig  # noqa: F401
from pde2gnn.train.tasks.features import as_model_input, dropout_linear  # noqa: F401
from pde2gnn.graph.construction import feature_knn_graph
from pde2gnn.options import check_device
from pde2gnn.progress import bar as progress_bar
from pde2gnn.integrate.solve import EulerLayers, ODEBlock


#: activations of the encoder / decoder side of :class:`ContinuousGNN`
ACTIVATIONS = {"none": lambda z: z, "relu": torch.relu, "elu": nn.functional.elu}


class ContinuousGNN(nn.Module):
    """Encoder -> compiled ODE block -> decoder.

    Args:
        spec: the spec (name, path, text or parsed); its fields side by side form the state.
        data: graph with ``x [N, F]`` and ``edge_index [2, E]``.
        num_classes: C.
        config: hyperparameters; ``config.hidden`` binds the dimension ``d``.

        label_mask: ``[N]`` bool, the labelled (training) nodes; bound to the spec's ``input
            label_mask : node[1]`` if it declares one (1.0 on labelled nodes, else 0.0), as
            GRAND++'s source term needs (Thorpe et al. 2022).

    ``forward(x)`` maps ``[N, F]`` features to ``[N, C]`` logits.

    Raises:
        OptionError: the spec declares ``label_mask`` and none was given; a positional
            encoding without a positional field, and the other option conflicts below.
    """

    def __init__(self, spec, data: Data, num_classes: int, config: TrainConfig,
                 pos: Optional[Tensor] = None, label_mask: Optional[Tensor] = None):
        super().__init__()
        spec = load(spec)
        checked = front(spec)
        self.config = config
        self.pos_field = config.pos_field if (pos is not None and config.pos_field in
                                              checked.fields and len(checked.fields) > 1) else None
        if pos is not None and self.pos_field is None:
            raise OptionError(f"a positional encoding was given but spec '{checked.name}' has no "
                              f"field '{config.pos_field}' beside its feature field(s)")
        clause = knn_clause(checked)
        if self.pos_field is None and clause is not None:
            raise OptionError(f"spec '{checked.name}' rewires with graph knn(...): it needs a "
                              "positional encoding (set posenc, e.g. --posenc ppr)")
        self.knn = None
        if clause is not None:
            self.knn = config.knn_k or clause.k
        if pos is not None:
            self.register_buffer("pos", as_model_input(
                torch.as_tensor(pos, dtype=torch.get_default_dtype())))
        else:
            self.pos = None
        edge_index = data.edge_index
        if self.knn is not None and config.rewire_from == "pos":
            edge_index = feature_knn_graph(torch.as_tensor(pos), self.knn)
        elif config.self_loops:
            edge_index, _ = remove_self_loops(edge_index)
            edge_index, _ = add_self_loops(edge_index, num_nodes=data.num_nodes)
        if not config.encoder and self.pos_field is not None:
            raise OptionError("encoder = false needs a spec without a positional field: the "
                              "raw features can fill only one field")
        dims = {"d": config.hidden if config.encoder else data.num_features, **config.dims}
        inputs = {}
        if "label_mask" in checked.inputs:
            if label_mask is None:
                raise OptionError(f"spec '{checked.name}' reads the input label_mask (the "
                                  "labelled nodes); give the training mask")
            inputs["label_mask"] = label_mask.reshape(-1, 1).to(torch.get_default_dtype())
        self.field = compile_spec(spec, edge_index, data.num_nodes, dims=dims,
                                  params=config.params, inputs=inputs)
        width = self.field.state_width
        self.input_dropout = nn.Dropout(config.input_dropout)
        slices = self.field.field_slices
        pos_width = 0 if self.pos_field is None else slices[self.pos_field].stop - \
            slices[self.pos_field].start
        if not config.encoder and width != data.num_features:
            raise OptionError(f"encoder = false: spec '{checked.name}' has a {width}-channel "
                              f"state, the features have {data.num_features} channels (one field "
                              "of width d is needed)")
        self.decode_index = decode_index(slices, config.decode_fields, checked.name)
        self.shared = shared_width(slices, config, checked.name, pos_width)
        enc_width = self.shared or width - pos_width
        self.encoder = nn.Linear(data.num_features, enc_width) if config.encoder else None
        self.encoder2 = nn.Linear(enc_width, enc_width) \
            if config.second_linear and config.encoder else None
        self.pos_encoder = nn.Linear(self.pos.shape[1], pos_width) if pos_width else None
        if config.per_layer_weights:
            if self.knn is not None:
                raise OptionError("per_layer_weights: a spec with `graph knn(...)` rewires one "
                                  "field; use shared weights")
            self.ode = EulerLayers([self.field] + [
                compile_spec(spec, edge_index, data.num_nodes, dims=dims, params=config.params,
                             inputs=inputs)
                for _ in range(config.euler_layers() - 1)], config.time)
        else:
            self.ode = ODEBlock(self.field, config.time, config.solver)
        self.dropout = nn.Dropout(config.dropout)
        dec_width = width if self.decode_index is None else len(self.decode_index)
        self.fc = nn.Linear(dec_width, dec_width) if config.fc_out else None
        self.decoder = nn.Linear(dec_width, num_classes)
        if self.knn is not None and config.rewire_from == "u0":
            self.rewire()

    def encode(self, x: Tensor) -> Tensor:
        """z(0) ``[N, D]``: the fields side by side; the positional field from ``pos``."""
        h = self.after_encoder(dropout_linear(x, self.encoder, self.input_dropout))
        if self.encoder2 is not None:
            h = self.encoder2(h)
        if self.shared:
            h = h.repeat(1, len(self.field.field_slices))
        if self.pos_encoder is None:
            return h
        p = self.after_encoder(dropout_linear(self.pos, self.pos_encoder, self.input_dropout))
        parts, start = [], 0
        for f, sl in self.field.field_slices.items():
            if f == self.pos_field:
                parts.append(p)
            else:
                w = sl.stop - sl.start
                parts.append(h[:, start:start + w])
                start += w
        return torch.cat(parts, dim=1)

    @torch.no_grad()
    def rewire(self) -> None:
        """BLEND-kNN: rebuild the diffusion graph as the kNN graph of the encoded u(0)."""
        if self.knn is None:
            return
        if self.config.rewire_from == "pos":
            coords = self.pos.to_dense() if self.pos.is_sparse else self.pos
        else:
            coords = dropout_linear(self.pos, self.pos_encoder, None)
        self.field.set_graph(feature_knn_graph(coords, self.knn))

    def after_encoder(self, h: Tensor) -> Tensor:
        """``encoder_act``, then ``dropout`` if ``dropout_at = "encoder"``."""
        h = ACTIVATIONS[self.config.encoder_act](h)
        return self.dropout(h) if self.config.dropout_at == "encoder" else h

    def decode(self, z: Tensor) -> Tensor:
        """ODE state ``[..., N, D]`` -> logits ``[..., N, C]`` (of the ``decode_fields``)."""
        if self.decode_index is not None:
            z = z.index_select(-1, self.decode_index.to(z.device))
        z = ACTIVATIONS[self.config.decoder_act](z)
        if self.fc is not None:
            z = torch.relu(self.fc(z))
        return self.decoder(self.dropout(z) if self.config.dropout_at == "decoder" else z)

    def forward(self, x: Tensor, times: Optional[Tensor] = None) -> Tensor:
        """Features ``[N, F]`` -> logits ``[N, C]`` at T, or ``[K, N, C]`` at each of
        ``times`` ``[K]`` (positive, increasing)."""
        if times is None:
            return self.decode(self.ode(self.encode(x)))
        t = torch.cat([times.new_zeros(1), times])
        return self.decode(self.ode(self.encode(x), t)[1:])


def decode_index(slices: Dict[str, slice], names: List[str], spec: str) -> Optional[Tensor]:
    """The state columns ``[K]`` of the fields ``names`` (in the state's order), or None for all.

    Raises:
        OptionError: a name that is not a field of the spec.
    """
    if not names:
        return None
    unknown = [n for n in names if n not in slices]
    if unknown:
        raise OptionError(f"decode_fields: spec '{spec}' has no field {', '.join(unknown)} "
                          f"(its fields: {', '.join(slices)})")
    return torch.cat([torch.arange(sl.start, sl.stop) for f, sl in slices.items() if f in names])


def shared_width(slices: Dict[str, slice], config: TrainConfig, spec: str,
                 pos_width: int) -> int:
    """With ``config.shared_init``: the width of one field, which the encoder produces and every
    field copies at t = 0; else 0.

    Raises:
        OptionError: fields of different widths, a positional field or no encoder.
    """
    if not config.shared_init:
        return 0
    widths = {sl.stop - sl.start for sl in slices.values()}
    if len(widths) != 1 or pos_width or not config.encoder:
        raise OptionError(f"shared_init: spec '{spec}' needs fields of one width, no positional "
                          f"field and an encoder (widths {sorted(widths)})")
    return widths.pop()


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


def train(spec, data: Data, config: TrainConfig, seed: int = 0, split_index: int = 0,
          device: str = "cpu", progress: bool = True, log=None, return_model: bool = False) -> dict:
    """Train one model; returns the run's metrics.

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
        OptionError: an unsupported ``device`` (:func:`pde2gnn.options.check_device`).
        SolverError: a solve diverged or exceeded ``config.solver.max_nfe``.
    """
    check_device(device, "device")
    torch.manual_seed(seed)
    np.random.seed(seed)
    num_classes = int(data.y.max()) + 1
    pos = positional_input(data, config)
    model = ContinuousGNN(spec, data, num_classes, config, pos=pos,
                          label_mask=_masks(data, split_index)[0]).to(device)
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    x = NormalizeFeatures()(Data(x=data.x)).x if config.normalize_features else data.x
    x, y = as_model_input(x).to(device), data.y.to(device)
    train_m, val_m, test_m = (m.to(device) for m in _masks(data, split_index))
    opt = make_optimizer(model, config)
    eval_times = None
    if config.select_time:
        if config.select_time <= 0 or config.select_points < 1:
            raise OptionError(f"select_time must be positive and select_points at least 1, got "
                              f"{config.select_time} and {config.select_points}")
        eval_times = torch.linspace(0, config.select_time * config.time,
                                    config.select_points + 1, device=device)[1:]
    best = {"val_acc": -1.0, "val_loss": math.inf}
    since_best = 0
    times, times_total, nfe_f, nfe_b, history = [], [], [], [], []
    bar = progress_bar(range(config.epochs), progress, leave=False,
               desc=f"seed {seed}", dynamic_ncols=True)
    for epoch in bar:
        if config.rewire_every and epoch and epoch % config.rewire_every == 0:
            model.rewire()
        t0 = time.perf_counter()
        model.train()
        opt.zero_grad()
        out = model(x)
        loss = nn.functional.cross_entropy(out[train_m], y[train_m])
        fwd = model.ode.nfe_forward
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
        nfe_f.append(fwd)
        nfe_b.append(model.ode.nfe_backward)
        model.eval()
        with torch.no_grad():
            logits = model(x)[None] if eval_times is None else model(x, eval_times)
            pred = logits.argmax(-1)
            accs = torch.stack([(pred[:, m] == y[m]).float().mean(1)
                                for m in (train_m, val_m, test_m)], 1)   # [K, 3]
            k = int(accs[:, 1].argmax())        # the first time of best validation accuracy
            accs = accs[k].tolist()
            val_loss = float(nn.functional.cross_entropy(logits[k][val_m], y[val_m]))
            t_best = config.time if eval_times is None else float(eval_times[k])
        times_total.append(time.perf_counter() - t0)
        history.append({"epoch": epoch, "loss": loss.item(), "train_acc": accs[0],
                        "val_acc": accs[1], "val_loss": val_loss, "integration_time": t_best,
                        "nfe": fwd})
        better = val_loss < best["val_loss"] if config.select_by == "loss" else \
            accs[1] > best["val_acc"]
        since_best = 0 if better else since_best + 1
        if better:
            best = {"val_acc": accs[1], "val_loss": val_loss, "test_acc": accs[2],
                    "train_acc": accs[0], "best_epoch": epoch, "best_time": t_best}
        bar.set_postfix(loss=f"{loss.item():.3f}", val=f"{accs[1]:.3f}", nfe=fwd)
        if log is not None:
            log(f"epoch {epoch:4d}  loss {loss.item():.4f}  train {100 * accs[0]:.1f}%  "
                f"val {100 * accs[1]:.1f}%  integration T {t_best:.2f}  nfe {fwd}")
        if config.patience and since_best >= config.patience:
            break
    bar.close()
    out = {**best, "epoch_time_s": float(np.mean(times)),
           "epoch_time_total_s": float(np.mean(times_total)),
           "split_sha256": split_sha256(train_m, val_m, test_m), "selection": selection_rule(config),
           "nfe_forward": float(np.mean(nfe_f)),
           "nfe_backward": float(np.mean(nfe_b)), "peak_memory_mb": peak_memory_mb(device),
           "history": history}
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
            "peak_memory_mb": float(max(r.get("peak_memory_mb", 0.0) for r in runs)),
            "split_sha256": sorted({r["split_sha256"] for r in runs if r.get("split_sha256")}),
            "selection": sorted({r["selection"] for r in runs if r.get("selection")})}
