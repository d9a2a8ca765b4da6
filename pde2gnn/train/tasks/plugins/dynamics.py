"""The ``dynamics`` task: a continuous spec fitted to one observed trajectory (NDCN protocol)."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import List

from pde2gnn.errors import OptionError
from pde2gnn.options import check_params
from pde2gnn.train.tasks.task import given, kv, SHARED, Task


class Dynamics(Task):
    """A continuous spec with one field fitted to one observed trajectory
    (:mod:`pde2gnn.train.tasks.dynamics`, NDCN protocol): normalised L1 at interpolation and
    extrapolation times, and on a long horizon."""

    name = "dynamics"
    help = ("fit a continuous spec to the trajectory of a `pde2gnn simulate --protocol` file "
            "given with --data (NDCN; interpolation / extrapolation)")
    shared = frozenset(SHARED) - {"patience"}
    logs_every_epoch = False     # dynamics.train logs once per evaluation (every --log-every)
    fields = {
        "interp": "normalised L1 (mean |x_hat - x| / mean |x|, dimensionless) at the "
                  "interpolation times, after the last epoch; in the summary, mean over seeds",
        "extrap": "normalised L1 at the extrapolation times (dimensionless)",
        "train": "normalised L1 at the training times (dimensionless)",
        "l1_2T": "normalised L1 on (T, 2T] (long horizon)", "l1_4T": "the same on (T, 4T]",
        "fixed_point_l1": "normalised L1 distance of x_hat(t*) to the true fixed point x*",
        "epoch_time_s": "wall-clock seconds of one training epoch (evaluations excluded), "
                        "mean over epochs (and seeds)",
        "nfe_forward": "vector-field evaluations of one training solve, mean over epochs",
    }

    @staticmethod
    def add_options(q) -> None:
        q.add_argument("--plot", help="PNG of truth vs prediction at a few nodes (first seed)")

    def load(self):
        from pde2gnn.train.tasks.dynamics import load_dynamics
        if self.args.data is None:
            raise OptionError("--task dynamics needs --data SIM.npz (pde2gnn simulate ... "
                              "--protocol irregular)")
        return load_dynamics(self.args.data)

    @staticmethod
    def config_defaults():
        from pde2gnn.train.tasks.dynamics import DynamicsConfig
        return DynamicsConfig().to_dict()

    def configure(self, data):
        from pde2gnn.compiler import pipeline as compiler
        from pde2gnn.train.tasks.dynamics import DynamicsConfig
        checked = compiler.front(self.spec_path)
        if checked.discrete or len(checked.fields) != 1:
            raise OptionError(f"--task dynamics fits a continuous spec with one field; "
                              f"'{checked.name}' is not one")
        values = self.toml_values(data.name)
        toml_dims = values.pop("dims", {})
        self.params = {**values.pop("params", {}), **kv(self.args.param, float)}
        check_params(self.params)     # the TOML's too, in the command line's words
        values.update(given(self.args, self.shared - {"data"}))
        if self.args.log_every:     # 0: no log lines, evaluations at the TOML's interval
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

        from pde2gnn.compiler import pipeline as compiler
        from pde2gnn.integrate.solve import SolverConfig
        from pde2gnn.models.dynamics import DynamicsModel
        from pde2gnn.train.tasks.dynamics import train
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
        from pde2gnn.train.tasks.dynamics import summarize
        return summarize(runs)

    def report(self, data, s, runs) -> List[str]:
        return [f"{self.spec_path.stem} on {data.name}, normalised L1 over {len(runs)} seed(s): "
                f"interpolation {s['interp']:.4f} ± {s['interp_std']:.4f}, extrapolation "
                f"{s['extrap']:.4f} ± {s['extrap_std']:.4f}"]

    def header(self, data, config) -> dict:
        return {"data": str(self.args.data), "encoder": self.encoder, "decoder": self.decoder}
