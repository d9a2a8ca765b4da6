"""Markdown table of forecasting results JSONs (``pde2gnn train ... --results``), as in the README.

    python experiments/padgn/table.py experiments/padgn/runs/noaa          # every *.json in the folder
    python experiments/padgn/table.py experiments/padgn/runs/noaa/rgn.json experiments/padgn/runs/noaa/padgn_rgn.json

Columns: test MAE at 1 step, the middle horizon (6 of 12, 6 of 15) and the last, and the mean
over all predicted steps, each mean ± std over seeds; seeds; s/epoch (mean over seeds); the
persistence line first. Per-seed JSONs (``*_seed<k>.json``, runs not yet joined with
``pde2gnn merge``) are skipped.
"""
import json
import sys
from pathlib import Path


def files(args):
    for a in args:
        p = Path(a)
        yield from (sorted(p.glob("*.json")) if p.is_dir() else [p])


def row(label, per_h, std_h, mean, mean_std, extra):
    hs = (0, 5, len(per_h) - 1)
    cells = [f"{per_h[h]:.2f} ± {std_h[h]:.2f}" if std_h else f"{per_h[h]:.2f}" for h in hs]
    mean_cell = f"{mean:.2f} ± {mean_std:.2f}" if std_h else f"{mean:.2f}"
    return f"| {label} | " + " | ".join(cells + [mean_cell] + extra) + " |"


def main(args):
    results = [json.loads(p.read_text()) for p in files(args) if "_seed" not in p.stem]
    if not results:
        sys.exit("no results JSON found")
    n = len(results[0]["mae_per_horizon"])
    print(f"| model | step 1 | step 6 | step {n} | mean over {n} | seeds | s/epoch |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    pers = results[0]["persistence"]
    print(row("persistence f(t+1) = f(t)", pers["mae_per_horizon"], None, pers["mae_mean"], 0,
              ["", ""]))
    for r in sorted(results, key=lambda r: -r["mae_mean"]):
        print(row(r["model"], r["mae_per_horizon"], r["mae_per_horizon_std"], r["mae_mean"],
                  r["mae_mean_std"], [str(len(r["seeds"])), f"{r['time_per_epoch_s']:.1f}"]))


if __name__ == "__main__":
    main(sys.argv[1:])
