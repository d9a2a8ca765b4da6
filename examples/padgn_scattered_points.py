"""Tutorial: convection-diffusion on scattered points, and PA-DGN learning it (Seo, Meng & Liu,
ICLR 2020).

``library/convection_diffusion.pde`` is PA-DGN's synthetic system (appendix A.1, eq. 12),
df/dt = D lap f - v . grad f with variable coefficients on the periodic square [0, 2 pi]^2. Its
`domain` line gives the nodes coordinates, and the compiler turns `lap`, `dx`, `dy` into
geometric stencils of the point cloud. This script

1. simulates trajectories with ``pde2gnn simulate`` (on a fine grid, then keeps a random sample
   of scattered nodes with their kNN graph: the sparse observations PA-DGN learns from),
2. trains ``library/padgn.pde`` (a spatial difference layer whose gradient and Laplacian
   weights come from a graph network, and a learned update) with ``pde2gnn train``, beside the
   baseline ``standardop`` (the same update on the fixed operators f_j - f_i), and
3. plots the observed nodes, their graph and the field at the first and last frame.

The commands are the ones of the command line (``pde2gnn.cli.commands.main`` runs them in-process).

    python examples/padgn_scattered_points.py [--smoke] [--out FOLDER]
"""
import argparse
import json
import tempfile
from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from pde2gnn.cli.commands import main as pde2gnn  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--smoke", action="store_true", help="a tiny data set, 1 epoch (for CI)")
    ap.add_argument("--out", default="docs/tutorials/img", help="folder for the figure")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="padgn_tutorial_") as work:
        return run(a, Path(work))


def run(a, work):
    """Simulate into ``work``, train, plot; returns the test MAE of each model."""
    sim = str(work / "cd.npz")
    size = (["--n", "16", "--trajectories", "12", "--sample", "40"] if a.smoke else
            ["--n", "50", "--trajectories", "100", "--sample", "250"])
    # 1. simulate: 21 frames at dt = 0.01, random Fourier initial conditions
    assert pde2gnn(["simulate", "convection_diffusion", *size, "--frames", "21", "--dt", "0.01",
                    "--threads", "1", "--out", sim, "--no-png"]) == 0
    # 2. train PA-DGN and the fixed-operator baseline: 5 frames in, 15 predicted
    train = ["--data", sim, "--n-in", "5", "--n-out", "15", "--stride", "20", "--seeds", "1",
             "--epochs", "1" if a.smoke else "8", "--threads", "1", "--quiet"]
    maes = {}
    for model in ("padgn", "standardop"):
        res = str(work / f"{model}.json")
        assert pde2gnn(["train", model, *train, "--results", res]) == 0
        doc = json.loads(Path(res).read_text())
        maes[model] = doc["mae_mean"]
        print(f"{model}: test MAE {doc['mae_mean']:.4f} (mean over the 15 horizons; "
              f"persistence f(t+1) = f(t): {doc['persistence']['mae_mean']:.4f})")
    # 3. the observed nodes and their graph, first and last frame of a test trajectory
    d = np.load(sim)
    pos, ei, frames = d["pos"], d["edge_index"], d["frames"][d["test"][0]]
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    for ax, k in zip(axes, (0, frames.shape[0] - 1)):
        ax.plot(pos[ei, 0], pos[ei, 1], color="0.8", lw=0.5, zorder=0)
        sc = ax.scatter(pos[:, 0], pos[:, 1], c=frames[k], cmap="coolwarm", s=25)
        ax.set_title(f"f at t = {d['times'][k]:.2f} ({len(pos)} observed nodes)")
        ax.set_aspect("equal")
        fig.colorbar(sc, ax=ax, shrink=0.8)
    fig.tight_layout()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(out / "padgn_scattered_points.png", dpi=90)
    print(f"figure: {out / 'padgn_scattered_points.png'}")
    return maes


if __name__ == "__main__":
    main()
