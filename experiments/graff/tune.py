"""Small hyperparameter grids for GRAFF on the geom-gcn splits, selected on validation accuracy.

Each grid point is one ``pde2gnn train`` run over the ten splits from the data set's
library/graff.toml values with some of them overridden; the results JSONs go to
experiments/graff/runs/tune/ and the table printed at the end is sorted by mean validation accuracy
(the selection criterion; test accuracy is shown, never used to choose).

Usage (repository root): PDE2GNN_DATA=/path/to/data python experiments/graff/tune.py DATASET SPEC \
    "--lr 0.001" "--lr 0.003 --no-self-loops" ...
"""
import json
import os
import re
import subprocess
import sys
from pathlib import Path


def main(dataset: str, spec: str, grid: list) -> None:
    out = Path("experiments/graff/runs/tune")
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for point in grid or [""]:
        tag = re.sub(r"[^A-Za-z0-9.]+", "_", point).strip("_") or "toml"
        path = out / f"{dataset}_{spec}_{tag}.json"
        cmd = [sys.executable, "-W", "ignore", "-m", "pde2gnn", "train", spec, "--dataset",
               dataset, "--split", "geom-gcn", "--splits", "10", "--threads", "1", "--quiet",
               "--log-every", "0", "--resume", "--results", str(path), *point.split()]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL,
                       env={**os.environ, "PYTHONPATH": os.getcwd()})
        r = json.loads(path.read_text())
        val = sum(r["val_acc"]) / len(r["val_acc"])
        rows.append((val, r["test_acc_mean"], r["test_acc_std"], r["epoch_time_s"], point))
        print(f"{dataset} {spec} [{point or 'toml'}]: val {100 * val:.2f}  test "
              f"{100 * r['test_acc_mean']:.2f} ± {100 * r['test_acc_std']:.2f}", flush=True)
    print(f"\n{dataset} {spec}, by validation accuracy:")
    for val, mean, std, t, point in sorted(rows, reverse=True):
        print(f"  val {100 * val:6.2f}  test {100 * mean:6.2f} ± {100 * std:5.2f}  "
              f"{t:.3f} s/epoch  {point or 'toml'}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
