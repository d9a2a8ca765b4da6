"""The tasks of ``pde2gnn train`` as registered plugins behind one run loop.

A task says which options it adds to ``pde2gnn train`` and which shared ones it reads, how it
loads its data, how it builds its configuration (built-in defaults < the spec's TOML
``[default]`` < the data set's table < the command line, :func:`pde2gnn.config.load_defaults`),
how one (split, seed) run goes, and how runs are summarised. :mod:`pde2gnn.cli` owns what is
common: the loop over splits x seeds, ``--resume``, ``--distributed`` and the results file
written after every run (:mod:`pde2gnn.results`).

======================  =============================================  =====================
task                    what it trains                                 chosen
======================  =============================================  =====================
``node_classification`` a continuous spec as the ODE block of a        continuous specs
                        node classifier (GRAND, BLEND, GRAFF, NSD)
``forecasting``         a discrete-time spec as a graph-signal         discrete-time specs
                        forecaster (PA-DGN protocol)
``dynamics``            a continuous spec fitted to one observed       ``--task dynamics``
                        trajectory (NDCN protocol)
``nbody``               compiled EGNN layers on the charged N-body     ``--task nbody``
                        systems (EGNN protocol)
======================  =============================================  =====================

Adding a task is one :class:`Task` subclass here and one line in :data:`TASKS`. This module
imports no torch (the parser is built from it when any command starts); a task imports its
training module when it runs.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Callable, ClassVar, Dict, FrozenSet, List, Optional

from ..errors import OptionError

#: options of ``pde2gnn train`` that several tasks read (each task lists those it uses)
SHARED = ("data", "epochs", "lr", "weight_decay", "hidden", "method", "rtol", "atol", "max_nfe")


def kv(items: Optional[List[str]], cast) -> dict:
    """``["a=1", "b=2"]`` -> ``{"a": cast("1"), "b": cast("2")}`` (``--dim`` / ``--param``).

    Raises:
        OptionError: an item without ``=`` or a value ``cast`` rejects.
    """
    out = {}
    for it in items or []:
        if "=" not in it:
            raise OptionError(f"expected NAME=VALUE, got '{it}'")
        k, v = it.split("=", 1)
        try:
            out[k.strip()] = cast(v)
        except ValueError:
            raise OptionError(f"bad value in '{it}'") from None
    return out


def _given(args, names) -> Dict[str, Any]:
    """The options among ``names`` given on the command line (not None)."""
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


def _from_values(cls, values: Dict[str, Any], where: str):
    """``cls(**values)`` for a config dataclass, an unknown key a located error."""
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise OptionError(f"{where}: unknown hyperparameter(s) {', '.join(unknown)} (known: "
                          f"{', '.join(sorted(known))})")
    return cls(**values)


class Task:
    """One kind of training run; subclasses fill in the hooks below.

    An instance lives for one ``pde2gnn train`` command: ``spec_path`` (the resolved spec) and
    ``args`` (the parsed options). The loop calls :meth:`setup` (data and configuration),
    :meth:`describe`, then :meth:`run` per (split, seed) with :meth:`run_line` after each, and
    :meth:`report` at the end; the results file holds :meth:`header`, :meth:`summarize` of the
    runs, the config and the runs.

    Class attributes: ``name`` (the ``--task`` value), ``help``, ``shared`` (the options of
    :data:`SHARED` it reads; the others are refused), ``data_parallel`` (``--distributed``
    splits every run's data over the ranks, DDP, instead of spreading the runs).
    """

    name: ClassVar[str]
    help: ClassVar[str]
    shared: ClassVar[FrozenSet[str]] = frozenset()
    data_parallel: ClassVar[bool] = False

    def __init__(self, spec_path: Path, args):
        self.spec_path, self.args = Path(spec_path), args

    @staticmethod
    def add_options(group) -> None:
        """Add this task's own options (default None) to an argparse group."""

    def setup(self):
        """``(data, config)``: the task's data (:meth:`load`) and its run configuration
        (:meth:`configure`, a dataclass with ``to_dict()``), in the order the task needs.

        Raises:
            DataError, OptionError: saying what and where.
        """
        data = self.load()
        return data, self.configure(data)

    def load(self):
        """The task's data."""
        raise NotImplementedError

    def configure(self, data):
        """The run configuration, from the spec's TOML and the options."""
        raise NotImplementedError

    def dataset(self, data) -> str:
        """The data set's name, as recorded in the results file."""
        return data.name

    def describe(self, data, config) -> List[str]:
        """Lines printed before the first run."""
        return [f"config: {json.dumps(config.to_dict())}"]

    def num_splits(self, data) -> int:
        """How many splits the data offers (``--splits`` may ask for up to this many)."""
        return 1

    def run(self, data, config, split_index: int, seed: int, device: str,
            log: Callable[[str], None]) -> dict:
        """One training run; returns its metrics (JSON-serialisable)."""
        raise NotImplementedError

    def run_line(self, r: dict) -> str:
        """One line about a finished run (after ``split S seed K: ``)."""
        raise NotImplementedError

    @staticmethod
    def summarize(runs: List[dict]) -> dict:
        """Mean ± std etc. over runs (also recomputed by ``pde2gnn merge``)."""
        raise NotImplementedError

    def report(self, data, summary: dict, runs: List[dict]) -> List[str]:
        """Lines printed after the last run."""
        raise NotImplementedError

    def header(self, data, config) -> dict:
        """Fields of the results file besides the summary, config and runs."""
        return {}

    # helpers shared by the subclasses -------------------------------------------------------
    def toml_values(self, dataset: Optional[str]) -> Dict[str, Any]:
        """The spec's TOML defaults for ``dataset`` (:func:`pde2gnn.config.load_defaults`)."""
        from ..config import load_defaults
        return load_defaults(self.spec_path, dataset)

    @property
    def progress(self) -> bool:
        return not self.args.quiet


class NodeClassification(Task):
    """A continuous spec as the ODE block of a node classifier
    (:mod:`pde2gnn.tasks.node_classification`): Planetoid / geom-gcn / random LCC splits,
    accuracy at the best validation epoch."""

    name = "node_classification"
    help = "continuous specs: node classification with --dataset"
    shared = frozenset(SHARED) - {"data"}
    OPTIONS = ("time", "step_size", "integrator", "adjoint", "dropout", "input_dropout",
               "optimizer", "posenc", "posenc_dim", "ppr_alpha", "ppr_topk", "knn_k",
               "rewire_from", "rewire_every", "self_loops", "fc_out", "encoder", "select_time",
               "select_points")

    @staticmethod
    def add_options(q) -> None:
        import argparse
        q.add_argument("--dataset", help="Cora (default), CiteSeer, PubMed, or a heterophilic "
                       "data set (Texas, Wisconsin, Cornell, Chameleon, Squirrel, Actor)")
        q.add_argument("--split", default=None, help="public (Planetoid default), full, "
                       "geom-gcn, or random: largest connected component, 20 labels per class, "
                       "1500 development nodes, a new split per seed; the heterophilic data sets "
                       "always use geom-gcn")
        q.add_argument("--splits", type=int, help="train on the first N of the data set's "
                       "splits (geom-gcn has 10) and report mean ± std over them (default 1)")
        q.add_argument("--plot-energy", metavar="PATH", help="after training, write the "
                       "Dirichlet energy of x(t)/|x(t)| along the solve to PATH (PNG) and "
                       "classify the dynamics as low / high frequency dominated (LFD / HFD)")
        q.add_argument("--dropout", type=float)
        q.add_argument("--input-dropout", type=float)
        q.add_argument("--optimizer", choices=["adam", "adamax", "adamw"])
        q.add_argument("--time", type=float, help="integration time T")
        q.add_argument("--step-size", type=float)
        q.add_argument("--integrator", choices=["pde2gnn", "torchdiffeq"],
                       help="pde2gnn (default): the fused Runge-Kutta loop; torchdiffeq: "
                       "torchdiffeq.odeint (the reference)")
        q.add_argument("--adjoint", action="store_true", default=None)
        q.add_argument("--self-loops", action=argparse.BooleanOptionalAction, default=None,
                       help="add a self-loop to every node of the diffusion graph")
        q.add_argument("--fc-out", action=argparse.BooleanOptionalAction, default=None,
                       help="linear + ReLU between the ODE block and the decoder (GRAFF)")
        q.add_argument("--encoder", action=argparse.BooleanOptionalAction, default=None,
                       help="linear encoder before the ODE block (--no-encoder: the ODE runs "
                       "on the raw features, d = number of features)")
        q.add_argument("--posenc", choices=["ppr", "lap", "rw", "deepwalk", "none"],
                       help="positional encoding for the spec's positional field u (BLEND)")
        q.add_argument("--posenc-dim", type=int,
                       help="columns of the encoding (ppr: 0 = N-wide rows)")
        q.add_argument("--ppr-alpha", type=float,
                       help="ppr: restart probability (default 0.05)")
        q.add_argument("--ppr-topk", type=int, help="ppr: entries kept per row (default 64; 0: "
                       "dense, column-normalised, as the BLEND reference code)")
        q.add_argument("--knn-k", type=int, help="k of a graph knn(...) clause")
        q.add_argument("--rewire-from", choices=["pos", "u0"],
                       help="knn in the raw encoding or in the encoded u(0)")
        q.add_argument("--rewire-every", type=int, help="rebuild the knn graph every K epochs")
        q.add_argument("--select-time", type=float, metavar="XT",
                       help="choose the integration time on validation: evaluate on times up "
                       "to XT * T (the GRAND / BLEND reference's early-stopping integrator, "
                       "earlystopxT = 3); 0: evaluate at T")
        q.add_argument("--select-points", type=int, metavar="K",
                       help="--select-time: evenly spaced evaluation times (default 32)")

    @property
    def random(self) -> bool:
        return self.args.split == "random"

    def setup(self):
        config = self.configure(None)    # the options are checked before any data is read
        return self.load(), config

    def load(self):
        from ..data import largest_connected_component, load_dataset, random_split
        a = self.args
        data = load_dataset(self._dataset, a.data_root, "public" if self.random else a.split)
        if self.random:   # BLEND / GRAND protocol: largest connected component
            data = random_split(largest_connected_component(data), 0)
        self._split = a.split or ("geom-gcn" if self.num_splits(data) > 1 else "public")
        return data

    @property
    def _dataset(self) -> str:
        return self.args.dataset or "Cora"

    def dataset(self, data) -> str:
        return self._dataset

    def configure(self, data):
        from ..config import make_config
        values = self.toml_values(self._dataset)
        values.update(_given(self.args, self.shared | set(self.OPTIONS)))
        values["dims"] = {**values.get("dims", {}), **kv(self.args.dim, int)}
        values["params"] = {**values.get("params", {}), **kv(self.args.param, float)}
        if self.args.posenc == "none":
            values["posenc"] = None
        config = make_config(values)
        self._select_time = bool(config.select_time)
        return config

    def num_splits(self, data) -> int:
        return data.train_mask.shape[1] if data.train_mask.dim() == 2 else 1

    def describe(self, data, config) -> List[str]:
        sizes = "/".join(str(int((m[:, 0] if m.dim() == 2 else m).sum()))
                         for m in (data.train_mask, data.val_mask, data.test_mask))
        return [f"{self.spec_path.stem} on {self._dataset} ({self._split} split): "
                f"{data.num_nodes} nodes, {data.num_edges} edges, {sizes} train/val/test",
                *super().describe(data, config)]

    def run(self, data, config, split_index, seed, device, log) -> dict:
        from ..data import random_split
        from .node_classification import train
        run_data = random_split(data, seed) if self.random else data
        plot = self.args.plot_energy
        r = train(self.spec_path, run_data, config, seed=seed, split_index=split_index,
                  device=device, progress=self.progress, log=log, return_model=bool(plot))
        model = r.pop("model", None)
        if plot:
            from ..diagnostics import energy_report
            r["energy"] = energy_report(model, run_data, plot)
            print(r["energy"]["summary"])
        return r

    def run_line(self, r) -> str:
        at_time = f" t = {r['best_time']:.2f}" if self._select_time else ""
        return (f"test acc {100 * r['test_acc']:.2f}% at epoch {r['best_epoch']}{at_time} "
                f"(val {100 * r['val_acc']:.2f}%), {r['epoch_time_s']:.3f} s/epoch, NFE fwd "
                f"{r['nfe_forward']:.1f} bwd {r['nfe_backward']:.1f}")

    @staticmethod
    def summarize(runs):
        from .node_classification import summarize
        return summarize(runs)

    def report(self, data, s, runs) -> List[str]:
        return [f"test accuracy: {100 * s['test_acc_mean']:.2f} ± {100 * s['test_acc_std']:.2f} "
                f"% (validation {100 * sum(s['val_acc']) / len(runs):.2f} %) over {len(runs)} "
                f"run(s); {s['epoch_time_s']:.3f} s/epoch; NFE forward {s['nfe_forward']:.1f}, "
                f"backward {s['nfe_backward']:.1f} per epoch"]

    def header(self, data, config) -> dict:
        return {"split": self._split}


class Forecasting(Task):
    """A discrete-time spec as a graph-signal forecaster (:mod:`pde2gnn.tasks.forecasting`,
    PA-DGN protocol): windows of ``n_in`` frames in, ``n_out`` out, test MAE per horizon at the
    best validation epoch. ``--distributed`` trains data-parallel (DDP)."""

    name = "forecasting"
    help = "discrete-time specs: graph-signal forecasting with --data"
    shared = frozenset({"data", "epochs", "lr", "weight_decay"})
    data_parallel = True
    #: command-line option -> ForecastConfig field
    OPTIONS = {"n_in": "n_in", "n_out": "n_out", "batch_size": "batch_size",
               "patience": "patience", "loss": "loss", "ss_k": "ss_k", "grad_clip": "grad_clip",
               "stride": "stride", "max_windows": "max_windows_per_epoch",
               "no_scheduled_sampling": None}

    @staticmethod
    def add_options(f) -> None:
        f.add_argument("--n-in", type=int, help="observed frames per window (noaa 12, "
                       "synthetic 5)")
        f.add_argument("--n-out", type=int, help="predicted frames (noaa 12, synthetic 15)")
        f.add_argument("--batch-size", type=int, help="windows per step (default 16)")
        f.add_argument("--patience", type=int, help="early stopping on validation MAE "
                       "(default 10; 0: off)")
        f.add_argument("--loss", choices=["mse", "mae"],
                       help="training loss (default mse, as PA-DGN)")
        f.add_argument("--no-scheduled-sampling", action="store_true", default=None,
                       help="always feed the model's own predictions during training")
        f.add_argument("--ss-k", type=float, help="inverse-sigmoid decay constant k of "
                       "scheduled sampling, in optimiser steps (default 100: p = 1/2 after 460 "
                       "steps)")
        f.add_argument("--grad-clip", type=float, help="clip the gradient norm (default: off)")
        f.add_argument("--stride", type=int, help="frames between window starts (default 1)")
        f.add_argument("--max-windows", type=int, help="train on at most this many random "
                       "windows per epoch")

    def load(self):
        from ..forecast_data import load_forecast_data
        if self.args.data is None:
            raise OptionError(f"'{self.spec_path.stem}' is a discrete-time forecasting model: "
                              "give the series with --data (noaa, a `pde2gnn simulate` .npz, or "
                              "a sensor folder)")
        return load_forecast_data(self.args.data, self.args.data_root)

    def configure(self, data):
        from .forecasting import ForecastConfig
        values = self.toml_values(data.name)
        self.dims = {**values.pop("dims", {}), **kv(self.args.dim, int)}
        self.params = {**values.pop("params", {}), **kv(self.args.param, float)}
        values = {"n_in": data.window[0], "n_out": data.window[1], **values}
        values.update(_given(self.args, self.shared - {"data"}))
        values.update({field: v for opt, v in _given(self.args, self.OPTIONS).items()
                       if (field := self.OPTIONS[opt])})
        if self.args.no_scheduled_sampling:
            values["scheduled_sampling"] = False
        values.update(threads=self.args.threads or 0, device=self.args.device)
        config = _from_values(ForecastConfig, values, f"{self.spec_path.stem} on {data.name}")
        config.validate()
        return config

    def _model_fn(self, data):
        from .. import compiler
        checked = compiler.front(self.spec_path)
        # compile rejects inputs a spec does not declare
        inputs = {"pos": data.pos} if data.pos is not None and "pos" in checked.inputs else None
        edge_index = data.edge_index
        if checked.domain_option("scheme") == "mesh":
            if data.pos is None:
                raise OptionError(f"'{self.spec_path.stem}' uses mesh stencils: the data needs "
                                  "node coordinates")
            from ..graphs import delaunay_graph   # mesh operators live on the triangulation
            edge_index = delaunay_graph(data.pos.numpy())
            print(f"{self.spec_path.stem}: Delaunay graph of the {data.num_nodes} points "
                  f"({edge_index.shape[1]} directed edges) instead of the data's graph")
        return lambda d: compiler.compile_stepper(self.spec_path, edge_index, d.num_nodes,
                                                  self.dims or None, self.params or None, inputs)

    def describe(self, data, config) -> List[str]:
        from .forecasting import persistence_mae
        self.model_fn = self._model_fn(data)
        self.persistence = persistence_mae(data, config)
        self.units = f" {data.units}" if data.units else ""
        per = self.persistence["mae_per_horizon"]
        horizons = sorted({h for h in (1, 6, 12) if h <= config.n_out} | {config.n_out})
        return [data.describe(),
                f"{self.spec_path.stem}: {config.n_in} frames in, {config.n_out} out; config: "
                + json.dumps(config.to_dict()),
                "persistence (f(t+1) = f(t)) test MAE: " + ", ".join(
                    f"{h}-step {per[h - 1]:.4f}" for h in horizons) + self.units]

    def run(self, data, config, split_index, seed, device, log) -> dict:
        from .forecasting import train
        return train(self.model_fn, data, dataclasses.replace(config, seed=seed, device=device),
                     progress=self.progress, log=log)

    def run_line(self, r) -> str:
        return (f"test MAE {r['mae_mean']:.4f}{self.units} (mean over "
                f"{len(r['mae_per_horizon'])} horizons) at epoch {r['best_epoch']} of "
                f"{r['epochs_run']} (val {r['val_mae']:.4f}), {r['time_per_epoch_s']:.2f} "
                f"s/epoch, {r['num_parameters']} parameters")

    @staticmethod
    def summarize(runs):
        from .forecasting import summarize
        return summarize(runs)

    def report(self, data, s, runs) -> List[str]:
        from .forecasting import horizon_lines
        return [f"{self.spec_path.stem} on {data.name}, test MAE over {len(runs)} seed(s):",
                *("  " + line for line in horizon_lines(s, data.units)),
                f"  mean over horizons: {s['mae_mean']:.4f} ± {s['mae_mean_std']:.4f}"
                f"{self.units} (persistence {self.persistence['mae']:.4f})"]

    def header(self, data, config) -> dict:
        return {"data_source": data.source, "units": data.units, "n_in": config.n_in,
                "n_out": config.n_out,
                "persistence": {"mae_per_horizon": self.persistence["mae_per_horizon"],
                                "mae_mean": self.persistence["mae"]}}


class Dynamics(Task):
    """A continuous spec with one field fitted to one observed trajectory
    (:mod:`pde2gnn.tasks.dynamics`, NDCN protocol): normalised L1 at interpolation and
    extrapolation times, and on a long horizon."""

    name = "dynamics"
    help = ("fit a continuous spec to the trajectory of a `pde2gnn simulate --protocol` file "
            "given with --data (NDCN; interpolation / extrapolation)")
    shared = frozenset(SHARED)

    @staticmethod
    def add_options(q) -> None:
        q.add_argument("--plot", help="PNG of truth vs prediction at a few nodes (first seed)")

    def load(self):
        from .dynamics import load_dynamics
        if self.args.data is None:
            raise OptionError("--task dynamics needs --data SIM.npz (pde2gnn simulate ... "
                              "--protocol irregular)")
        return load_dynamics(self.args.data)

    def configure(self, data):
        from .. import compiler
        from .dynamics import DynamicsConfig
        checked = compiler.front(self.spec_path)
        if checked.discrete or len(checked.fields) != 1:
            raise OptionError(f"--task dynamics fits a continuous spec with one field; "
                              f"'{checked.name}' is not one")
        values = self.toml_values(data.name)
        toml_dims = values.pop("dims", {})
        self.params = {**values.pop("params", {}), **kv(self.args.param, float)}
        values.update(_given(self.args, self.shared - {"data"}))
        if self.args.log_every:
            values["eval_every"] = self.args.log_every
        config = DynamicsConfig.from_dict(values)
        chan = next(iter(checked.fields.values())).channels
        symbolic = isinstance(chan, str)
        self.encoder = symbolic if config.encoder is None else config.encoder
        self.decoder = self.encoder if config.decoder is None else config.decoder
        self.dims = {**({chan: config.hidden} if symbolic else {}), **toml_dims,
                     **kv(self.args.dim, int)}
        return config

    def describe(self, data, config) -> List[str]:
        return [f"{self.spec_path.stem} on {data.name} ({Path(self.args.data).name}: "
                f"{data.num_nodes} nodes, {len(data.edge_index[0])} edges; {len(data.train)} "
                f"train / {len(data.interp)} interpolation / {len(data.extrap)} extrapolation "
                f"times on [0, {data.horizon:g}]); encoder {self.encoder}, decoder "
                f"{self.decoder}; config: " + json.dumps(config.to_dict())]

    def run(self, data, config, split_index, seed, device, log) -> dict:
        import torch

        from .. import compiler
        from ..solve import SolverConfig
        from .dynamics import DynamicsModel, train
        solver = SolverConfig(config.method, config.rtol, config.atol, max_nfe=config.max_nfe)
        ei = torch.as_tensor(data.edge_index, dtype=torch.long)

        def model_fn():
            field = compiler.compile(self.spec_path, ei, data.num_nodes, self.dims, self.params)
            return DynamicsModel(field, self.encoder, self.decoder, solver)
        plot = self.args.plot if self.args.plot and seed == self.args.first_seed else None
        return train(model_fn, data, dataclasses.replace(config, seed=seed),
                     progress=self.progress, log=log, plot=plot)

    def run_line(self, r) -> str:
        lg = r["long"]
        longs = ("blow-up" if lg["blow_up"] else f"2T {lg['l1_2T']:.4f}, 4T {lg['l1_4T']:.4f}, "
                 f"fixed point {lg['fixed_point_l1']:.4f}")
        return (f"normalised L1 interpolation {r['interp']:.4f}, extrapolation "
                f"{r['extrap']:.4f} (train {r['train']:.4f}); long horizon: {longs}; "
                f"{r['epoch_time_s']:.3f} s/epoch, NFE {r['nfe_forward']:.0f}")

    @staticmethod
    def summarize(runs):
        from .dynamics import summarize
        return summarize(runs)

    def report(self, data, s, runs) -> List[str]:
        return [f"{self.spec_path.stem} on {data.name}, normalised L1 over {len(runs)} seed(s): "
                f"interpolation {s['interp']:.4f} ± {s['interp_std']:.4f}, extrapolation "
                f"{s['extrap']:.4f} ± {s['extrap_std']:.4f}"]

    def header(self, data, config) -> dict:
        return {"data": str(self.args.data), "encoder": self.encoder, "decoder": self.decoder}


class NBody(Task):
    """Compiled EGNN layers of the spec on the charged N-body systems
    (:mod:`pde2gnn.tasks.nbody`, EGNN protocol): test MSE of the positions ``horizon`` ahead
    at the best validation epoch, beside the constant-velocity baseline."""

    name = "nbody"
    help = ("EGNN N-body: the spec as one layer, on a `pde2gnn simulate nbody_charged_ref "
            "--graph complete --ic charged` file given with --data")
    shared = frozenset({"data", "epochs", "lr", "weight_decay", "hidden"})
    OPTIONS = ("layers", "batch", "eval_every", "start", "horizon", "max_train")

    @staticmethod
    def add_options(q) -> None:
        q.add_argument("--layers", type=int, help="compiled layers (default 4)")
        q.add_argument("--batch", type=int, help="systems per step (default 100)")
        q.add_argument("--eval-every", type=int, help="epochs between validations (default 5)")
        q.add_argument("--start", type=float, help="input time (default 3.1)")
        q.add_argument("--horizon", type=float, help="prediction lead (default 1.0)")
        q.add_argument("--max-train", type=int, help="training systems used (default 3000)")

    def load(self):
        if self.args.data is None:
            raise OptionError("--task nbody needs --data SIM.npz (pde2gnn simulate "
                              "nbody_charged_ref --graph complete --ic charged ...)")
        self._values = {**self.toml_values(Path(self.args.data).stem),
                        **_given(self.args, (self.shared - {"data"}) | set(self.OPTIONS))}
        from .nbody import NBodyConfig, load_nbody
        defaults = NBodyConfig()
        return load_nbody(self.args.data, self._values.get("start", defaults.start),
                          self._values.get("horizon", defaults.horizon))

    def dataset(self, data) -> str:
        return Path(self.args.data).stem

    def configure(self, data):
        from .nbody import NBodyConfig
        values = {k: v for k, v in self._values.items() if k not in ("dims", "params")}
        return _from_values(NBodyConfig, {**values, "spec": str(self.spec_path)},
                            self.spec_path.stem)

    def describe(self, data, config) -> List[str]:
        from .nbody import PUBLISHED, linear_mse
        self.sizes = {s: len(d["p"]) for s, d in data.items()}
        self.linear = linear_mse(data, config.horizon)
        return [f"splits {self.sizes}; linear baseline MSE {self.linear} (published "
                f"{PUBLISHED['linear']})", *super().describe(data, config)]

    def run(self, data, config, split_index, seed, device, log) -> dict:
        from .nbody import train
        return train(data, dataclasses.replace(config, seed=seed), log=log)

    def run_line(self, r) -> str:
        return (f"test MSE {r['test_mse']:.5f} at epoch {r['best_epoch']} (val "
                f"{r['val_mse']:.5f}), {r['epoch_time_s']:.2f} s/epoch")

    @staticmethod
    def summarize(runs):
        import numpy as np
        test = np.array([r["test_mse"] for r in runs])
        return {"test_mse_mean": float(test.mean()), "test_mse_std": float(test.std()),
                "epoch_time_s": float(np.mean([r["epoch_time_s"] for r in runs]))}

    def report(self, data, s, runs) -> List[str]:
        from .nbody import PUBLISHED
        return [f"EGNN ({self.spec_path.stem}) test MSE {s['test_mse_mean']:.5f} ± "
                f"{s['test_mse_std']:.5f} over {len(runs)} seed(s) (published EGNN "
                f"{PUBLISHED['EGNN']})"]

    def header(self, data, config) -> dict:
        from .nbody import PUBLISHED
        return {"splits_sizes": self.sizes, "linear_mse": self.linear, "published": PUBLISHED}


#: the tasks by ``--task`` name
TASKS: Dict[str, type] = {t.name: t for t in (NodeClassification, Forecasting, Dynamics, NBody)}


def select(spec_path: Path, name: Optional[str]) -> type:
    """The task for a spec: ``name`` (``--task``) if given, else forecasting for a
    discrete-time spec and node classification for a continuous one.

    Raises:
        OptionError: an unknown task name.
        SpecError: the spec does not parse or check (it is read to tell the two apart).
    """
    if name is not None:
        if name not in TASKS:
            raise OptionError(f"unknown task '{name}' (choose {', '.join(TASKS)})")
        return TASKS[name]
    from .. import compiler
    return Forecasting if compiler.is_discrete(spec_path) else NodeClassification
