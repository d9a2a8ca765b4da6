"""Tutorial: boundary conditions. Heat on the unit square with u = 0 on the walls, against its
sine series, and with zero flux, where the total heat is conserved.

The spec declares the conditions beside the equation:

    model heat_walls
    domain pos : [0, 1] x [0, 1]
    field u : node[1]
    bc u : walls dirichlet(0)
    dt(u) = lap(u)

On a vertex-centred grid the Dirichlet nodes are eliminated (their neighbours read the value)
and the rest stays one sparse product. From u0 = x(1-x) y(1-y) the exact solution is the series
sum over odd m, n of 64 / (pi^6 m^3 n^3) sin(m pi x) sin(n pi y) exp(-(m^2 + n^2) pi^2 t);
this script compares with it at three resolutions and fits the order (2), then swaps the walls
for `neumann(0)` and checks that the trapezoid quadrature of u stays constant.

    python examples/boundary_conditions.py [--smoke] [--out FOLDER]
"""
import argparse
from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from pde2gnn.compiler import pipeline as compiler  # noqa: E402
from pde2gnn.graph.construction import grid_graph  # noqa: E402
from pde2gnn.integrate.solve import ODEBlock, SolverConfig  # noqa: E402

SPEC = """model heat_walls
domain pos : [0, 1] x [0, 1]
field u : node[1]
bc u : walls {bc}
dt(u) = lap(u)
"""


def solve(bc: str, n: int, u0, T: float):
    """u(T) ``[n*n]`` of the spec with the wall condition ``bc`` on an n x n vertex-centred grid."""
    pos, edge_index = grid_graph((n, n), (0, 0), (1, 1))          # pos [N, 2], edge_index [2, E]
    field = compiler.compile(SPEC.format(bc=bc), edge_index, n * n,
                             inputs={"pos": torch.as_tensor(pos)}).double()
    block = ODEBlock(field, T, SolverConfig("dopri5", rtol=1e-10, atol=1e-12))
    return pos, block(torch.as_tensor(u0(pos))[:, None]).detach().numpy()[:, 0]


def series(pos, T: float):
    x, y = pos.T
    k = np.arange(1, 80, 2)
    c = 64 / (np.pi ** 6 * np.outer(k, k) ** 3) * np.exp(
        -np.pi ** 2 * (k[:, None] ** 2 + k[None, :] ** 2) * T)
    return np.einsum("im,mn,in->i", np.sin(np.pi * np.outer(x, k)), c, np.sin(np.pi * np.outer(y, k)))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--smoke", action="store_true", help="small grids (for CI)")
    ap.add_argument("--out", default="docs/tutorials/img", help="folder for the figure")
    a = ap.parse_args(argv)
    sizes, T = ((5, 9, 17) if a.smoke else (9, 17, 33)), 0.05
    bump = lambda p: p[:, 0] * (1 - p[:, 0]) * p[:, 1] * (1 - p[:, 1])   # noqa: E731

    errors = []
    for n in sizes:
        pos, u = solve("dirichlet(0)", n, bump, T)
        errors.append(np.abs(u - series(pos, T)).max())
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    print("u = 0 on the walls, max error against the sine series at t = 0.05:")
    for n, e in zip(sizes, errors):
        print(f"  {n}x{n}: {e:.3e}")
    print("  fitted orders: " + ", ".join(f"{o:.2f}" for o in orders))
    assert np.all(np.abs(orders - 2) < 0.2), orders

    n = sizes[-1]
    hot = lambda p: np.exp(-20 * ((p[:, 0] - 0.3) ** 2 + (p[:, 1] - 0.6) ** 2))   # noqa: E731
    pos, u = solve("neumann(0)", n, hot, 0.2)
    x, y = pos.T
    w = np.where((x == 0) | (x == 1), 0.5, 1.0) * np.where((y == 0) | (y == 1), 0.5, 1.0)
    drift = abs(w @ u - w @ hot(pos)) / abs(w @ hot(pos))
    print(f"zero flux: total heat drifts by {drift:.1e} (relative) from t = 0 to 0.2")
    assert drift < 1e-10, drift

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    pos, u = solve("dirichlet(0)", n, bump, T)
    for ax, v, title in ((axes[0], u, "u(0.05), u = 0 on the walls"),
                         (axes[1], u - series(pos, T), "error against the sine series")):
        im = ax.imshow(v.reshape(n, n).T, origin="lower", extent=(0, 1, 0, 1), cmap="inferno")
        ax.set_title(title)
        fig.colorbar(im, ax=ax, shrink=0.8)
    axes[2].loglog([1 / (s - 1) for s in sizes], errors, "o-", label="max error")
    axes[2].loglog([1 / (s - 1) for s in sizes],
                   [errors[0] * ((sizes[0] - 1) / (s - 1)) ** 2 for s in sizes], "k--", label="h^2")
    axes[2].set_xlabel("h")
    axes[2].legend()
    axes[2].set_title("second order")
    fig.tight_layout()
    fig.savefig(out / "boundary_conditions.png", dpi=90)
    print(f"figure: {out / 'boundary_conditions.png'}")


if __name__ == "__main__":
    main()
