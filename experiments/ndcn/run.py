"""The NDCN table: 3 dynamics x 5 graphs x {interpolation, extrapolation}, normalised L1.

Every cell is one `pde2gnn simulate` file per seed (graph, sampling and model seed k) and one
`pde2gnn train --task dynamics` run per model; each run writes experiments/ndcn/runs/<...>.json with
its exact command. Jobs are ordered (see jobs()) so that an interrupted run leaves complete
seed-0 rows first. Existing JSONs are skipped (rerun to resume). `--worker I --workers K` runs every K-th
job, so K processes can share the list.

    OMP_NUM_THREADS=1 python experiments/ndcn/run.py --worker 0 --workers 2 &
    OMP_NUM_THREADS=1 python experiments/ndcn/run.py --worker 1 --workers 2 &
    python experiments/ndcn/table.py            # the markdown table from the JSONs

After all workers finish: ``python experiments/ndcn/table.py --json experiments/ndcn/runs/table.json``
and ``python experiments/summarize.py ndcn`` (summary.json / summary.md).
"""
import argparse
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DYNAMICS = ("ndcn_heat", "ndcn_mutualistic", "ndcn_gene")
GRAPHS = ("grid8", "random", "powerlaw", "smallworld", "community")
MAIN = ("ndcn", "dnnd")                                   # 3 seeds
ABLATIONS = ("ndcn_no_encoder", "ndcn_no_graph", "ndcn_no_control", "neural_ode")  # seed 0 only
SEEDS = (0, 1, 2)
EPOCHS = 100


def jobs():
    """Ordered for a run that may be cut: NDCN and DNND on every cell with seed 0; seeds 1 and
    2 of both on the grid rows; the ablations with seed 0 on the grid rows; then the rest
    (seeds 1-2 and ablations on the other graphs). All 150 runs (100 epochs each) finished in
    about 77 minutes with two workers on the shared 2-core machine."""
    for model in MAIN:
        for dyn in DYNAMICS:
            for g in GRAPHS:
                yield dyn, g, 0, model
    for seed in SEEDS[1:]:
        for model in MAIN:
            for dyn in DYNAMICS:
                yield dyn, "grid8", seed, model
    for model in ABLATIONS:
        for dyn in DYNAMICS:
            yield dyn, "grid8", 0, model
    for g in GRAPHS[1:]:
        for seed in SEEDS[1:]:
            for model in MAIN:
                for dyn in DYNAMICS:
                    yield dyn, g, seed, model
        for model in ABLATIONS:
            for dyn in DYNAMICS:
                yield dyn, g, 0, model


def run(cmd, log):
    print(" ".join(cmd), flush=True)
    with open(log, "w") as f:
        return subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=ROOT).returncode


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--worker", type=int, default=0)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--sim-dir", default=os.environ.get("NDCN_SIM", "/tmp/ndcn_sim"))
    a = p.parse_args()
    py = [sys.executable, "-m", "pde2gnn"]
    sim_dir, out_dir = Path(a.sim_dir), HERE / "runs"
    sim_dir.mkdir(parents=True, exist_ok=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    for k, (dyn, g, seed, model) in enumerate(jobs()):
        if k % a.workers != a.worker:
            continue
        sim = sim_dir / f"{dyn}_{g}_s{seed}.npz"
        if not sim.is_file():
            tmp = sim.with_suffix(f".w{a.worker}.npz")
            run(py + ["simulate", dyn, "--graph", g, "--ic", "ndcn", "--protocol", "irregular",
                      "--trajectories", "1", "--dtype", "float64", "--seed", str(seed),
                      "--threads", "1", "--quiet", "--no-png", "--out", str(tmp)],
                sim_dir / f"{sim.stem}.log")
            tmp.replace(sim)
        res = out_dir / f"{model}__{dyn}__{g}__s{seed}.json"
        if res.is_file():
            continue
        plot = [] if seed else ["--plot", str(HERE / "runs" / "plots" / f"{model}__{dyn}__{g}.png")]
        spec = HERE / "specs" / f"{model}.pde"         # the ablations live beside this script
        run(py + ["train", str(spec) if spec.is_file() else model, "--data", str(sim), "--task", "dynamics", "--epochs",
                  str(EPOCHS), "--first-seed", str(seed), "--seeds", "1", "--threads", "1",
                  "--quiet", "--log-every", "50", "--results", str(res)] + plot,
            out_dir / f"{res.stem}.log")


if __name__ == "__main__":
    main()
