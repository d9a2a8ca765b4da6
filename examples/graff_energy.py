"""Tutorial: an energy and its gradient flow (GRAFF, Di Giovanni et al. 2022).

``library/graff.pde`` declares the parametric energy

    E(X) = 1/2 sum_i <x_i, Omega x_i> - 1/2 sum_ij abar_ij <x_i, W x_j>,  abar = D^-1/2 A D^-1/2,

and the flow dX/dt = -var(E, X) + beta X(0). The compiler derives the variational derivative
itself: -var(E, X) = -X Omega + Abar X W (W symmetric, Omega diagonal). This script

1. checks the compiled field against that hand-written right-hand side (float64),
2. integrates the flow with beta = 0 and shows that E decreases along it (a gradient flow:
   dE/dt = -|var(E, X)|^2 <= 0), and
3. plots E(t) and the normalised Dirichlet energy of X(t)/|X(t)|: with an attractive W
   (positive eigenvalues) the flow smooths (low frequencies dominate, LFD), with a repulsive W
   it sharpens (high frequencies dominate, HFD), the paper's sec. 4 dichotomy.

    python examples/graff_energy.py [--smoke] [--out FOLDER]
"""
import argparse
from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402
import torch  # noqa: E402
from torch_geometric.utils import from_networkx  # noqa: E402

from pde2gnn.compiler import pipeline as compiler  # noqa: E402
from pde2gnn.integrate.solve import ODEBlock, SolverConfig  # noqa: E402


def energy(x, Omega, W, ei, abar):
    """E(X) by hand: 1/2 sum_i <x_i, Omega x_i> - 1/2 sum_ij abar_ij <x_i, W x_j>."""
    j, i = ei
    return 0.5 * (x * (x @ Omega)).sum() - 0.5 * (abar[:, None] * x[i] * (x[j] @ W)).sum()


def dirichlet(x, ei, deg):
    """Normalised Dirichlet energy of x / |x|: 1/2 sum_ij |x_i/sqrt(d_i) - x_j/sqrt(d_j)|^2."""
    j, i = ei
    y = x / x.norm()
    return 0.5 * ((y[i] / deg[i, None].sqrt() - y[j] / deg[j, None].sqrt()) ** 2).sum()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--smoke", action="store_true", help="a small graph (for CI)")
    ap.add_argument("--out", default="docs/tutorials/img", help="folder for the figure")
    a = ap.parse_args(argv)
    n, d, T = (60, 4, 2.0) if a.smoke else (400, 8, 5.0)
    g = nx.connected_watts_strogatz_graph(n, 6, 0.1, seed=0)
    ei = from_networkx(g).edge_index                              # [2, E], both directions
    deg = torch.bincount(ei[1], minlength=n).double()
    abar = (deg[ei[0]] * deg[ei[1]]).rsqrt()
    x0 = torch.randn(n, d, dtype=torch.float64, generator=torch.Generator().manual_seed(0))

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    for label, sign in (("attractive W (LFD)", 1.0), ("repulsive W (HFD)", -1.0)):
        field = compiler.compile("graff", ei, n, dims={"d": d}).double()
        g_ = torch.Generator().manual_seed(1)
        noise = 0.1 * torch.randn(d, d, generator=g_, dtype=torch.float64)
        with torch.no_grad():        # set the learnables (through W's `sym` parametrisation)
            field.learnables["W"].value = sign * torch.eye(d, dtype=torch.float64) + noise + noise.T
            field.learnables["Omega"].value = 0.2 * torch.eye(d, dtype=torch.float64)
            field.learnables["beta"].value.fill_(0.5)
        learned = {k: v.detach() for k, v in field.learned().items()}
        W, Omega, beta = learned["W"], learned["Omega"], float(learned["beta"])
        # 1. the derived flow equals -X Omega + Abar X W + beta X(0), beta = 0.5 here
        field.prepare(x0)
        A = torch.zeros(n, n, dtype=torch.float64).index_put_((ei[1], ei[0]), abar)  # A[i, j]
        want = -x0 @ Omega + A @ x0 @ W + beta * x0
        got = field(torch.tensor(0.0, dtype=torch.float64), x0).detach()
        err = ((got - want).norm() / want.norm()).item()
        print(f"{label}: compiled -var(E, X) against -X Omega + Abar X W: relative error {err:.1e}")
        assert err < 1e-10, err
        # 2. with beta = 0 the energy decreases along the flow
        with torch.no_grad():
            field.learnables["beta"].value.zero_()
        times = torch.linspace(0, T, 21, dtype=torch.float64)
        with torch.no_grad():
            xs = ODEBlock(field, T, SolverConfig(rtol=1e-8, atol=1e-10))(x0, times)
        E = torch.stack([energy(x, Omega, W, ei, abar) for x in xs])
        assert (E[1:] <= E[:-1] + 1e-9 * E.abs().max()).all(), E
        D = torch.stack([dirichlet(x, ei, deg) for x in xs])
        print(f"  E from {E[0]:.4g} to {E[-1]:.4g}; normalised Dirichlet energy from "
              f"{D[0]:.3f} to {D[-1]:.3f}")
        axes[0].plot(times, E, label=label)
        axes[1].plot(times, D, label=label)
    axes[0].set(xlabel="t", title="energy E(X(t))", yscale="symlog")
    axes[1].set(xlabel="t", title="Dirichlet energy of X/|X|")
    axes[1].legend()
    fig.tight_layout()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(out / "graff_energy.png", dpi=90)
    print(f"figure: {out / 'graff_energy.png'}")


if __name__ == "__main__":
    main()
