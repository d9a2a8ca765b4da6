"""Markdown tables of the NDCN runs in experiments/ndcn/runs/*.json (written by run.py):
normalised L1 mean ± std over the seeds found, and the long-horizon checks.

    python experiments/ndcn/table.py [--json experiments/ndcn/runs/table.json]
"""
import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DYN = {"ndcn_heat": "heat", "ndcn_mutualistic": "mutualistic", "ndcn_gene": "gene"}
GRAPHS = ("grid8", "random", "powerlaw", "smallworld", "community")
MODELS = ("ndcn", "dnnd", "ndcn_no_encoder", "ndcn_no_graph", "ndcn_no_control", "neural_ode")


def cell(vals):
    v = np.array([x for x in vals if x is not None and np.isfinite(x)], float)
    if not len(v):
        return "—"
    f = lambda x: f"{x:.3f}" if x < 100 else f"{x:.2g}"
    return f(v.mean()) + (f" ± {f(v.std())}" if len(v) > 1 else "") + ("" if len(v) == 3 else f" ({len(v)})")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--json")
    a = p.parse_args()
    runs = defaultdict(list)
    for f in sorted((HERE / "runs").glob("*.json")):
        model, dyn, g, seed = f.stem.split("__")
        runs[(model, dyn, g)] += json.loads(f.read_text())["runs"]
    models = [m for m in MODELS if any(k[0] == m for k in runs)]
    summary = {}
    for group in (models[:2], models[2:]):          # NDCN and DNND; the ablations
        if not group:
            continue
        print("| dynamics | graph | " + " | ".join(f"{m} interp | {m} extrap" for m in group) +
              " |")
        print("| --- | --- |" + " --- | --- |" * len(group))
        for dyn in DYN:
            for g in GRAPHS:
                if not any((m, dyn, g) in runs for m in group):
                    continue
                row = []
                for m in group:
                    rs = runs.get((m, dyn, g), [])
                    row += [cell([r["interp"] for r in rs]), cell([r["extrap"] for r in rs])]
                    summary[f"{m}/{dyn}/{g}"] = {k: [r[k] for r in rs] for k in ("interp", "extrap")}
                print(f"| {DYN[dyn]} | {g} | " + " | ".join(row) + " |")
        print()
    print("Long horizon, pooled over the five graphs and the seeds: normalised L1 at 2T and at 4T "
          "(mean ± std of the finite ones), median normalised L1 of x(20T) to the true fixed point, "
          "and blow-ups (|x| above 10 max|truth| by 20T, or the solve failed):")
    print()
    print("| model | dynamics | 2T | 4T | fixed point (median) | blow-up / runs |")
    print("| --- | --- | --- | --- | --- | --- |")
    for m in models:
        for dyn in DYN:
            rs = [r for g in GRAPHS for r in runs.get((m, dyn, g), [])]
            if not rs:
                continue
            ls = [r["long"] for r in rs]
            fp = [l.get("fixed_point_l1", np.inf) for l in ls]
            print(f"| {m} | {DYN[dyn]} | {cell([l.get('l1_2T') for l in ls])} | "
                  f"{cell([l.get('l1_4T') for l in ls])} | {np.median(fp):.3g} | "
                  f"{sum(l['blow_up'] for l in ls)} / {len(rs)} |")
    if a.json:
        Path(a.json).write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
