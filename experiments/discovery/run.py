"""Equation discovery experiments (issue 19): recovery of known dynamics at 0 / 1 / 5 %
observation noise, and PA-DGN's convection-diffusion with geometric-stencil candidates.

    OMP_NUM_THREADS=1 PYTHONPATH=. python experiments/discovery/run.py \
        --out experiments/discovery/runs --data-root /tmp/data

Data: experiments/discovery/graphdata.py (random geometric graph, 100 points, radius 0.2,
20 trajectories, 14 / 3 / 3 train / val / test) for heat_rgg, gene_regulatory and mutualistic;
`pde2gnn simulate heat --graph Cora` (20 trajectories) for heat_cora; `pde2gnn simulate
convection_diffusion` for PA-DGN's data (fewer trajectories than the paper's 1000: 200 on the
250-node sampled graph, 40 on the full 50 x 50 grid). Noise: Gaussian, std = level x std of all
frames, seed 0. Derivatives: local cubic over 7 frames (default), 15 frames (`_w15`), or the
weak form on 21-frame test functions (`_weak21`; `_weak11` for convection-diffusion).
Validation: the found spec simulated from the initial frames of the test trajectories of the
*clean* data, compared with them.

Then ``python experiments/summarize.py discovery`` writes summary.json / summary.md from
``experiments/discovery/runs/experiments.json``.
"""
from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path

import torch

from pde2gnn import discover as D

HERE = Path(__file__).resolve().parent
SAT = "sum_j(x_i*x_j/(5 + 0.9*x_i + 0.1*x_j))"
SYSTEMS = {  # name: (spec, library, generator options, true coefficients)
    "heat": ("heat_rgg.pde", None, ["--ic-high", "1", "--frames", "51", "--dt", "0.02"],
             {"lap(x)": 0.5}),
    "gene_regulatory": ("gene_regulatory.pde", None,
                        ["--ic-high", "2", "--frames", "51", "--dt", "0.02"],
                        {"x": -1.0, "sum_j(x_j^2/(1 + x_j^2))": 1.0}),
    "mutualistic": ("mutualistic.pde", "mutualistic_library.pde",
                    ["--ic-high", "2", "--frames", "101", "--dt", "0.01"],
                    {"1": 0.1, "x": -1.0, "x^2": 1.2, "x^3": -0.2, SAT: 1.0}),
}
CD_TRUTH = {"dx(f)": 0.6, "cos(y)*dx(f)": 0.5, "q*dx(f)": 0.5, "dy(f)": 0.8,
            "cos(y)*dy(f)": 2.0, "sin(x)*dy(f)": 2.0, "lap(f)": 0.5,
            "r*lap(f)": -0.5 / (math.sqrt(2) * math.pi)}


def score(found: D.Discovery, truth: dict) -> dict:
    got = {found.library.terms[k]: float(found.coefficients[k]) for k in found.active}
    err = {t: abs(got[t] - c) / abs(c) for t, c in truth.items() if t in got}
    return {"false_terms": sorted(set(got) - set(truth)),
            "missing_terms": sorted(set(truth) - set(got)),
            "max_rel_coef_error": max(err.values()) if err else None,
            "rel_coef_error": err, "found": got}


def run_case(name, data, clean, library, truth, cfg, out: Path, noise: float) -> dict:
    tag = (f"{name}_noise{int(round(100 * noise))}" + (f"_w{cfg.window}" if cfg.window != 7 else "")
           + (f"_weak{cfg.weak_window}" if cfg.weak_window else ""))
    found = D.discover(data.with_noise(noise, cfg.seed) if noise else data, library, cfg)
    text = D.found_spec(found, tag)
    (out / "found").mkdir(parents=True, exist_ok=True)
    (out / "found" / f"{tag}.pde").write_text(text)
    val = D.validate(text, clean, clean.test, str(out / "png" / f"{tag}.png"))
    row = {"case": tag, "system": name, "noise": noise, "window": cfg.window,
           "equation": f"dt({found.library.field}) = {found.equation()}", **score(found, truth),
           "discovery_seconds": found.seconds["total"], "threshold": found.threshold,
           "residual": found.residual, "fit_trajectories": len(found.fit_trajectories),
           "bootstrap_std": {found.library.terms[k]: float(found.std[k]) for k in found.active},
           "validation_rel_l2": val["rel_l2"], "validation_mae": val["mae"],
           "validation_trajectories": len(val["trajectories"])}
    print(f"{tag}: {row['equation']}\n  false {row['false_terms']} missing {row['missing_terms']}"
          f" max coef err {row['max_rel_coef_error']} val rel L2 {val['rel_l2']:.3g} "
          f"({row['discovery_seconds']:.2f} s)", flush=True)
    return row


def sh(*cmd):
    subprocess.run([sys.executable, *cmd], check=True, stdout=subprocess.DEVNULL)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(HERE))
    ap.add_argument("--data", default="/tmp/discovery_data")
    ap.add_argument("--skip-cd", action="store_true")
    ap.add_argument("--data-root", default=None, help="benchmark data (Cora) for heat_cora")
    a = ap.parse_args()
    torch.set_num_threads(1)
    out, data_dir = Path(a.out), Path(a.data)
    data_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, (spec, lib, opts, truth) in SYSTEMS.items():
        path = data_dir / f"{name}.npz"
        sh(str(HERE / "graphdata.py"), str(HERE / spec), "--out", str(path), *opts)
        clean = D.load_trajectories(path)
        library = D.load_library(str(HERE / lib) if lib else None)
        for noise, window, weak in ((0.0, 7, 0), (0.01, 7, 0), (0.05, 7, 0), (0.05, 15, 0),
                                    (0.0, 7, 21), (0.01, 7, 21), (0.05, 7, 21)):
            rows.append(run_case(name, clean, clean, library, truth,
                                 D.DiscoveryConfig(window=window, weak_window=weak), out, noise))
    # heat through the CLI on the Cora graph (2708 nodes, degree 1-168): white-noise initial
    # states, frames 0.001 apart (the fastest mode decays in ~1 / (2 * 168))
    path = data_dir / "heat_cora.npz"
    sh("-m", "pde2gnn", "simulate", "heat", "--graph", "Cora", "--ic", "noise", "--sample", "0",
       "--trajectories", "20", "--frames", "51", "--dt", "0.001", "--rtol", "1e-7", "--atol",
       "1e-9", "--dtype", "float64", "--threads", "1", "--quiet", "--no-png", "--out",
       str(path), *(["--data-root", a.data_root] if a.data_root else []))
    clean = D.load_trajectories(path)
    for noise, weak in ((0.0, 0), (0.01, 0), (0.05, 0), (0.0, 21), (0.01, 21), (0.05, 21)):
        rows.append(run_case("heat_cora", clean, clean, D.load_library(None), {"lap(x)": 1.0},
                             D.DiscoveryConfig(weak_window=weak), out, noise))
    if not a.skip_cd:
        lib = D.load_library(str(HERE / "cd_library.pde"))
        for tag, opts in (("cd_sampled250", ["--trajectories", "200", "--batch", "200"]),
                          ("cd_grid50", ["--trajectories", "40", "--batch", "40",
                                         "--sample", "0"])):
            path = data_dir / f"{tag}.npz"
            sh("-m", "pde2gnn", "simulate", "convection_diffusion", "--threads", "1", "--quiet",
               "--no-png", "--out", str(path), *opts)
            clean = D.load_trajectories(path)
            for noise in (0.0, 0.01, 0.05):
                rows.append(run_case(tag, clean, clean, lib, CD_TRUTH,
                                     D.DiscoveryConfig(bootstrap=30), out, noise))
            rows.append(run_case(tag, clean, clean, lib, CD_TRUTH,
                                 D.DiscoveryConfig(bootstrap=30, weak_window=11), out, 0.05))
    (out / "experiments.json").write_text(json.dumps(
        {"command": "PYTHONPATH=. python experiments/discovery/run.py " +
         " ".join(sys.argv[1:]), "torch": torch.__version__, "rows": rows}, indent=1))
    lines = ["| case | found terms | false | missing | max coef. error | val. rel. L2 | time (s) |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        e = r["max_rel_coef_error"]
        lines.append(f"| {r['case']} | {len(r['found'])} | {len(r['false_terms'])} | "
                     f"{len(r['missing_terms'])} | {'' if e is None else f'{100 * e:.2f} %'} | "
                     f"{r['validation_rel_l2']:.3g} | {r['discovery_seconds']:.2f} |")
    (out / "table.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
