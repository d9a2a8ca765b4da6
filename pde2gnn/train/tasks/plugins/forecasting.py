"""The ``forecasting`` task: a discrete-time spec as a graph-signal forecaster (PA-DGN protocol)."""
from __future__ import annotations

import dataclasses
import json
from typing import List

from pde2gnn.errors import OptionError
from pde2gnn.options import check_params
from pde2gnn.train.tasks.task import from_values, given, kv, Task


class Forecasting(Task):
    """A discrete-time spec as a graph-signal forecaster (:mod:`pde2gnn.train.tasks.forecasting`,
    PA-DGN protocol): windows of ``n_in`` frames in, ``n_out`` out, test MAE per horizon at the
    best validation epoch. ``--distributed`` trains data-parallel (DDP)."""

    name = "forecasting"
    help = "discrete-time specs: graph-signal forecasting with --data"
    shared = frozenset({"data", "epochs", "lr", "weight_decay", "patience"})
    data_parallel = True
    fields = {
        "mae_per_horizon": "test mean absolute error per prediction step 1..n_out, in the "
                           "data's units, at the epoch of least validation MAE",
        "mae_mean": "test MAE averaged over the n_out steps (data units)",
        "val_mae": "validation MAE at the selected epoch (data units)",
        "best_epoch": "the selected epoch (0-based)",
        "time_per_epoch_s": "wall-clock seconds of one training epoch, mean over epochs",
        "num_parameters": "trainable parameters of the model",
    }
    #: command-line option -> ForecastConfig field
    OPTIONS = {"n_in": "n_in", "n_out": "n_out", "batch_size": "batch_size",
               "loss": "loss", "ss_k": "ss_k", "grad_clip": "grad_clip",
               "stride": "stride", "max_windows": "max_windows_per_epoch",
               "no_scheduled_sampling": None}

    @staticmethod
    def add_options(f) -> None:
        f.add_argument("--n-in", type=int, help="observed frames per window (noaa 12, "
                       "synthetic 5)")
        f.add_argument("--n-out", type=int, help="predicted frames (noaa 12, synthetic 15)")
        f.add_argument("--batch-size", type=int, help="windows per step (default 16)")
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
        from pde2gnn.data.forecast import load_forecast_data
        if self.args.data is None:
            raise OptionError(f"'{self.spec_path.stem}' is a discrete-time forecasting model: "
                              "give the series with --data (noaa, a `pde2gnn simulate` .npz, or "
                              "a sensor folder)")
        return load_forecast_data(self.args.data, self.args.data_root)

    @staticmethod
    def config_defaults():
        from pde2gnn.train.tasks.forecast_config import ForecastConfig
        return ForecastConfig().to_dict()

    def configure(self, data):
        from pde2gnn.train.tasks.forecast_config import ForecastConfig
        values = self.toml_values(data.name)
        self.dims = {**values.pop("dims", {}), **kv(self.args.dim, int)}
        self.params = {**values.pop("params", {}), **kv(self.args.param, float)}
        check_params(self.params)     # the TOML's too, in the command line's words
        values = {"n_in": data.window[0], "n_out": data.window[1], **values}
        values.update(given(self.args, self.shared - {"data"}))
        values.update({field: v for opt, v in given(self.args, self.OPTIONS).items()
                       if (field := self.OPTIONS[opt])})
        if self.args.no_scheduled_sampling:
            values["scheduled_sampling"] = False
        values.update(threads=self.args.threads or 0, device=self.args.device)
        config = from_values(ForecastConfig, values, f"{self.spec_path.stem} on {data.name}")
        config.validate()
        return config

    def _model_fn(self, data):
        from pde2gnn.compiler import pipeline as compiler
        checked = compiler.front(self.spec_path)
        # compile rejects inputs a spec does not declare
        inputs = {"pos": data.pos} if data.pos is not None and "pos" in checked.inputs else None
        edge_index = data.edge_index
        if checked.domain_option("scheme") == "mesh":
            if data.pos is None:
                raise OptionError(f"'{self.spec_path.stem}' uses mesh stencils: the data needs "
                                  "node coordinates")
            from pde2gnn.graph.construction import (delaunay_graph)   # mesh operators live on the triangulation
            edge_index = delaunay_graph(data.pos.numpy())
            print(f"{self.spec_path.stem}: Delaunay graph of the {data.num_nodes} points "
                  f"({edge_index.shape[1]} directed edges) instead of the data's graph")
        return lambda d: compiler.compile_stepper(self.spec_path, edge_index, d.num_nodes,
                                                  self.dims or None, self.params or None, inputs)

    def describe(self, data, config) -> List[str]:
        from pde2gnn.train.tasks.forecast_eval import persistence_mae
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
        from pde2gnn.train.tasks.forecasting import train
        return train(self.model_fn, data, dataclasses.replace(config, seed=seed, device=device),
                     progress=self.progress, log=log)

    def run_line(self, r) -> str:
        return (f"test MAE {r['mae_mean']:.4f}{self.units} (mean over "
                f"{len(r['mae_per_horizon'])} horizons) at epoch {r['best_epoch']} of "
                f"{r['epochs_run']} (val {r['val_mae']:.4f}), {r['time_per_epoch_s']:.2f} "
                f"s/epoch, {r['num_parameters']} parameters")

    @staticmethod
    def summarize(runs):
        from pde2gnn.train.tasks.forecasting import summarize
        return summarize(runs)

    def report(self, data, s, runs) -> List[str]:
        from pde2gnn.train.tasks.forecasting import horizon_lines
        return [f"{self.spec_path.stem} on {data.name}, test MAE over {len(runs)} seed(s):",
                *("  " + line for line in horizon_lines(s, data.units)),
                f"  mean over horizons: {s['mae_mean']:.4f} ± {s['mae_mean_std']:.4f}"
                f"{self.units} (persistence {self.persistence['mae']:.4f})"]

    def header(self, data, config) -> dict:
        return {"data_source": data.source, "units": data.units, "n_in": config.n_in,
                "n_out": config.n_out,
                "persistence": {"mae_per_horizon": self.persistence["mae_per_horizon"],
                                "mae_mean": self.persistence["mae"]}}
