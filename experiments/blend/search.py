"""Random hyperparameter search for a BLEND spec on a Planetoid public split, selected on
validation accuracy (test accuracy is printed, never used to choose).

Each point overrides the data set's library TOML values with a draw from SPACE (log-uniform
for lr and weight decay, as in the reference's wandb sweeps, experiment_configs/*.yaml) and runs
``pde2gnn train`` on seeds 0..S-1; results JSONs go to experiments/blend/runs/search/, and the table
printed at the end is sorted by mean validation accuracy. The draws are seeded, so point k of a
search is the same in every run and ``--resume`` continues a cut-off search.

Usage (repository root):
    PDE2GNN_DATA=/path/to/data python experiments/blend/search.py SPEC DATASET POINTS SEEDS [FIRST]
"""
import json
import math
import os
import random
import subprocess
import sys
from pathlib import Path

SPACE = {
    "lr": ("log", 0.002, 0.03),
    "weight-decay": ("log", 1e-4, 0.2),
    "dropout": ("uniform", 0.0, 0.8),
    "input-dropout": ("uniform", 0.3, 0.8),
    "time": ("uniform", 3.0, 25.0),
    "hidden": ("choice", [32, 64, 128]),
    "optimizer": ("choice", ["adam", "adamax"]),
}


def draw(rng: random.Random) -> list:
    args = []
    for name, (kind, *p) in SPACE.items():
        if kind == "log":
            v = f"{math.exp(rng.uniform(math.log(p[0]), math.log(p[1]))):.3g}"
        elif kind == "uniform":
            v = f"{rng.uniform(p[0], p[1]):.3g}"
        else:
            v = str(rng.choice(p[0]))
        args += [f"--{name}", v]
    return args


def main(spec: str, dataset: str, points: int, seeds: int, first: int = 0) -> None:
    out = Path("experiments/blend/runs/search")
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"{spec}-{dataset}")
    grid = [draw(rng) for _ in range(first + points)][first:]
    rows = []
    for k, point in enumerate(grid, start=first):
        path = out / f"{dataset.lower()}_{spec}_{k:03d}.json"
        cmd = [sys.executable, "-W", "ignore", "-m", "pde2gnn", "train", spec, "--dataset",
               dataset, "--seeds", str(seeds), "--threads", "1", "--quiet", "--log-every", "0",
               "--resume", "--results", str(path), *point]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL,
                       env={**os.environ, "PYTHONPATH": os.getcwd()})
        r = json.loads(path.read_text())
        val = sum(r["val_acc"]) / len(r["val_acc"])
        rows.append((val, r["test_acc_mean"], r["test_acc_std"], r["epoch_time_s"], k, point))
        print(f"{dataset} {spec} #{k} [{' '.join(point)}]: val {100 * val:.2f}  test "
              f"{100 * r['test_acc_mean']:.2f} ± {100 * r['test_acc_std']:.2f}", flush=True)
    print(f"\n{dataset} {spec}, by validation accuracy ({seeds} seeds each):")
    for val, mean, std, t, k, point in sorted(rows, reverse=True):
        print(f"  #{k:03d} val {100 * val:6.2f}  test {100 * mean:6.2f} ± {100 * std:5.2f}  "
              f"{t:.3f} s/epoch  {' '.join(point)}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]),
         *(int(a) for a in sys.argv[5:6]))
