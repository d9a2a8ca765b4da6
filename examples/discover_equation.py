"""Tutorial: discovering an equation from data with ``pde2gnn discover``.

The data: gene-regulatory dynamics on an Erdős-Rényi network (``library/ndcn_gene.pde``; Gao,
Barzel & Barabási, Nature 2016), dx_i/dt = -x_i + sum_j A_ij x_j^2 / (x_j^2 + 1), simulated by
``pde2gnn simulate`` from random initial states. ``pde2gnn discover`` then fits dx/dt (local
polynomial fits over 7 frames) as a sparse combination of candidate terms (the default library:
polynomials of x, graph sums of x_j and of saturating functions of x_j, Laplacians, ...) by
sequential thresholded least squares with a cross-validated threshold (SINDy: Brunton, Proctor
& Kutz, PNAS 2016), bootstraps the coefficients over trajectories, writes the found spec and
simulates it from held-out initial states. The found spec is an ordinary spec: it passes
``pde2gnn check`` and trains or simulates like any other.

    python examples/discover_equation.py [--noise 0.01] [--smoke] [--out FOLDER]
"""
import argparse
import shutil
import tempfile
from pathlib import Path

from pde2gnn.cli.commands import main as pde2gnn


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--noise", type=float, default=0.01,
                    help="observation noise, a fraction of the frames' std")
    ap.add_argument("--smoke", action="store_true", help="fewer trajectories (for CI)")
    ap.add_argument("--out", default="docs/tutorials/img", help="folder for the figure")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        sim, found = f"{work}/gene.npz", f"{work}/found.pde"
        n_traj, boot = ("10", "10") if a.smoke else ("20", "100")
        assert pde2gnn(["simulate", "ndcn_gene", "--graph", "random", "--nodes", "100",
                        "--ic", "noise", "--trajectories", n_traj, "--frames", "51",
                        "--dt", "0.02", "--rtol", "1e-9", "--atol", "1e-11", "--dtype", "float64",
                        "--threads", "1", "--out", sim, "--no-png"]) == 0
        assert pde2gnn(["discover", sim, "--noise", str(a.noise), "--bootstrap", boot,
                        "--out", found]) == 0
        text = Path(found).read_text()
        print(text)
        equation = next(line for line in text.split("\n") if line.startswith("dt(x)"))
        # the two true terms, and nothing else
        assert "sum_j(x_j^2/(1 + x_j^2))" in equation and equation.count("*") == 2, equation
        out = Path(a.out)
        out.mkdir(parents=True, exist_ok=True)
        shutil.copy(Path(found).with_suffix(".png"), out / "discover_equation.png")
        print(f"figure: {out / 'discover_equation.png'}")
        return equation


if __name__ == "__main__":
    main()
