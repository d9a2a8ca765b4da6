"""Merge forecasting results JSONs of one experiment run as several processes (``--first-seed``).

    python results/padgn/merge_seeds.py OUT.json A.json B.json ...

The inputs must hold the same model, data and configuration (apart from the seed); the runs are
concatenated in seed order and the summary (mean ± std per horizon) is recomputed.
"""
import json
import sys
from pathlib import Path

from pde2gnn.tasks.forecasting import summarize


def main(out: str, paths: list) -> None:
    parts = [json.loads(Path(p).read_text()) for p in paths]
    first = parts[0]
    for p, r in zip(paths[1:], parts[1:]):
        for key in ("model", "dataset", "data_source", "config"):
            if r[key] != first[key]:
                sys.exit(f"{p}: {key} differs from {paths[0]}")
    runs = sorted((run for r in parts for run in r["runs"]), key=lambda run: run["seed"])
    seeds = [run["seed"] for run in runs]
    if len(set(seeds)) != len(seeds):
        sys.exit(f"seeds repeat across the inputs: {seeds}")
    merged = {**first, **summarize(runs), "runs": runs,
              "command": [r["command"] for r in parts]}
    Path(out).write_text(json.dumps(merged, indent=1))
    print(f"{out}: seeds {seeds}, test MAE {merged['mae_mean']:.4f} ± {merged['mae_mean_std']:.4f}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
