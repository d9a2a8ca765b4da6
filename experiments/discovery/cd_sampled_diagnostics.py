"""Why discovery fails on PA-DGN's sampled convection-diffusion graph: the same 250 sampled
nodes with denser kNN graphs for the least-squares stencils, and smoother initial states.

    OMP_NUM_THREADS=1 PYTHONPATH=. python experiments/discovery/cd_sampled_diagnostics.py \
        --out experiments/discovery/runs/cd_sampled_diagnostics.json

Data: `pde2gnn simulate convection_diffusion --trajectories 200` (Fourier initial states with
N = 9, PA-DGN's setting) and the same with `--modes 3`; both keep 250 sampled nodes. Noise-free.
The graph given to discovery is the file's symmetric 4-NN graph or the symmetric k-NN graph of
the same sampled positions (periodic), k = 8, 12. Candidates: experiments/discovery/cd_library.pde.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from pde2gnn import discover as D
from pde2gnn.graph.construction import knn_graph

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from run_experiments import CD_TRUTH, score  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(HERE / "cd_sampled_diagnostics.json"))
    ap.add_argument("--data", default="/tmp/discovery_data")
    a = ap.parse_args()
    torch.set_num_threads(1)
    lib = D.load_library(str(HERE / "cd_library.pde"))
    rows = []
    for modes in (9, 3):
        path = Path(a.data) / f"cd_sampled250_modes{modes}.npz"
        subprocess.run([sys.executable, "-m", "pde2gnn", "simulate", "convection_diffusion",
                        "--trajectories", "200", "--batch", "200", "--modes", str(modes),
                        "--threads", "1", "--quiet", "--no-png", "--out", str(path)], check=True,
                       stdout=subprocess.DEVNULL)
        data = D.load_trajectories(path)
        for k in (4, 8, 12):
            ei = data.edge_index if k == 4 else knn_graph(
                data.pos, k, (0, 0), (2 * np.pi, 2 * np.pi), True).numpy()
            d = D.Trajectories(data.frames, data.times, ei, data.pos, data.train, data.val,
                               data.test, f"{path} {k}-NN")
            found = D.discover(d, lib, D.DiscoveryConfig(bootstrap=0))
            val = D.validate(D.found_spec(found), d)
            row = {"modes": modes, "knn": k, "edges": int(ei.shape[1]),
                   "equation": found.equation(), "residual": found.residual,
                   **score(found, CD_TRUTH), "validation_rel_l2": val["rel_l2"]}
            rows.append(row)
            print(f"modes {modes} {k}-NN: {row['equation']}\n  residual {found.residual:.3g} "
                  f"false {row['false_terms']} missing {row['missing_terms']} "
                  f"val rel L2 {val['rel_l2']:.3g}", flush=True)
    Path(a.out).write_text(json.dumps({"command": "PYTHONPATH=. python "
                                       "experiments/discovery/cd_sampled_diagnostics.py",
                                       "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
