"""The ``nbody`` task: compiled EGNN layers on the charged N-body systems (EGNN protocol)."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import List

from pde2gnn.errors import OptionError
from pde2gnn.train.tasks.task import from_values, given, Task


class NBody(Task):
    """Compiled EGNN layers of the spec on the charged N-body systems
    (:mod:`pde2gnn.train.tasks.nbody`, EGNN protocol): test MSE of the positions ``horizon`` ahead
    at the best validation epoch, beside the constant-velocity baseline."""

    name = "nbody"
    help = ("EGNN N-body: the spec as one layer, on a `pde2gnn simulate nbody_charged_ref "
            "--graph complete --ic charged` file given with --data")
    shared = frozenset({"data", "epochs", "lr", "weight_decay", "hidden"})
    logs_every_epoch = False     # nbody.train logs once per evaluation (--eval-every)
    fields = {
        "test_mse": "mean squared error of the predicted positions on the test systems at "
                    "the epoch of least validation MSE (squared position units of the "
                    "simulation, per coordinate)",
        "test_mse_mean": "mean of test_mse over the seeds", "test_mse_std":
            "population standard deviation of test_mse over the seeds",
        "val_mse": "validation MSE at the selected epoch (squared position units)",
        "best_epoch": "the selected epoch (1-based)",
        "epoch_time_s": "wall-clock seconds of one training epoch (evaluations excluded), "
                        "mean over epochs (and seeds)",
        "linear_mse": "MSE of the constant-velocity prediction p + v * horizon, per split",
        "history": "per evaluation: epoch, train (training MSE), val (validation MSE)",
    }
    OPTIONS = ("layers", "batch", "eval_every", "start", "horizon", "max_train")

    @staticmethod
    def add_options(q) -> None:
        q.add_argument("--layers", type=int, help="compiled layers (default 4)")
        q.add_argument("--batch", type=int, help="systems per step (default 100)")
        q.add_argument("--eval-every", type=int, help="epochs between validations (default 5)")
        q.add_argument("--start", "--start-time", type=float, dest="start",
                       help="input time (default 3.1; --start-time: the spelling to use under "
                       "torchrun, whose --start-method makes --start ambiguous)")
        q.add_argument("--horizon", type=float, help="prediction lead (default 1.0)")
        q.add_argument("--max-train", type=int, help="training systems used (default 3000)")

    def load(self):
        if self.args.data is None:
            raise OptionError("--task nbody needs --data SIM.npz (pde2gnn simulate "
                              "nbody_charged_ref --graph complete --ic charged ...)")
        self._values = {**self.toml_values(Path(self.args.data).stem),
                        **given(self.args, (self.shared - {"data"}) | set(self.OPTIONS))}
        from pde2gnn.train.tasks.nbody import NBodyConfig, load_nbody
        defaults = NBodyConfig()
        return load_nbody(self.args.data, self._values.get("start", defaults.start),
                          self._values.get("horizon", defaults.horizon))

    def dataset(self, data) -> str:
        return Path(self.args.data).stem

    @staticmethod
    def config_defaults():
        from pde2gnn.train.tasks.nbody import NBodyConfig
        return NBodyConfig().to_dict()

    def configure(self, data):
        from pde2gnn.train.tasks.nbody import NBodyConfig
        values = {k: v for k, v in self._values.items() if k not in ("dims", "params")}
        return from_values(NBodyConfig, {**values, "spec": str(self.spec_path)},
                            self.spec_path.stem)

    def describe(self, data, config) -> List[str]:
        from pde2gnn.train.tasks.nbody import PUBLISHED, fitted_linear_mse, linear_mse
        self.sizes = {s: len(d["p"]) for s, d in data.items()}
        self.linear = linear_mse(data, config.horizon)
        self.fitted = fitted_linear_mse(data)
        return [f"splits {self.sizes}; constant-velocity MSE {self.linear}; fitted linear "
                f"(p + v tau, tau = {self.fitted['tau']:.4f} fitted on train) MSE "
                f"{ {k: v for k, v in self.fitted.items() if k != 'tau'} } (published linear "
                f"{PUBLISHED['linear']})", *super().describe(data, config)]

    def run(self, data, config, split_index, seed, device, log) -> dict:
        from pde2gnn.train.tasks.nbody import train
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
        from pde2gnn.train.tasks.nbody import PUBLISHED
        return [f"EGNN ({self.spec_path.stem}) test MSE {s['test_mse_mean']:.5f} ± "
                f"{s['test_mse_std']:.5f} over {len(runs)} seed(s) (published EGNN "
                f"{PUBLISHED['EGNN']})"]

    def header(self, data, config) -> dict:
        from pde2gnn.train.tasks.nbody import PUBLISHED
        return {"splits_sizes": self.sizes, "linear_mse": self.linear,
                "fitted_linear_mse": self.fitted, "published": PUBLISHED}
