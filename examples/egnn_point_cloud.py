"""Tutorial: an E(n)-equivariant point cloud (EGNN as a graph ODE; Satorras, Hoogeboom &
Welling, ICML 2021).

``library/egnn_ode.pde`` declares ``field p : coords[3]``: point coordinates. The checker then
proves E(n) equivariance by types: it classifies every value as invariant, vector (p_i - p_j) or
point, and rejects a network fed a point or vector, so the compiled flow

    dp_i/dt = C sum_j (p_i - p_j) phi_x(m_ij),   dh_i/dt = phi_h(h_i, sum_j m_ij) - h_i,
    m_ij = phi_e(h_i, h_j, |p_i - p_j|^2),

commutes with rotations, reflections and translations of p (h is invariant). This script
integrates it on a random point cloud with a kNN graph, then on the same cloud rotated,
reflected and translated, and measures how far the two solutions are from each other's image;
it also shows what the checker says to a spec that breaks the symmetry.

    python examples/egnn_point_cloud.py [--smoke] [--out FOLDER]
"""
import argparse
from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from pde2gnn.graph.construction import knn_graph  # noqa: E402

from pde2gnn.compiler import pipeline as compiler  # noqa: E402
from pde2gnn.errors import Pde2GnnError  # noqa: E402
from pde2gnn.integrate.solve import ODEBlock, SolverConfig  # noqa: E402

BROKEN = """model broken
field p : coords[3]
net F : mlp(in=3, out=3)
dt(p) = F(p)
"""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--smoke", action="store_true", help="a small cloud (for CI)")
    ap.add_argument("--out", default="docs/tutorials/img", help="folder for the figure")
    a = ap.parse_args(argv)
    n, T = (20, 0.5) if a.smoke else (200, 2.0)
    g = torch.Generator().manual_seed(0)
    p = torch.randn(n, 3, generator=g, dtype=torch.float64)
    h = torch.randn(n, 8, generator=g, dtype=torch.float64)
    ei = knn_graph(p.numpy(), k=6)         # symmetric kNN of the points: an invariant graph
    torch.manual_seed(0)
    field = compiler.compile("egnn_ode", ei, n).double()
    # fixed steps: an adaptive method's error norm is not rotation invariant, so its step
    # sizes (and its solution, to the tolerance) would differ between the two clouds
    block = ODEBlock(field, T, SolverConfig(method="rk4", step_size=T / 50))

    q, _ = torch.linalg.qr(torch.randn(3, 3, generator=g, dtype=torch.float64))
    q[:, 0] *= -1                                       # a rotation and a reflection
    b = torch.tensor([3.0, -1.0, 2.0], dtype=torch.float64)
    with torch.no_grad():
        y = block(torch.cat([p, h], 1))                  # [n, 3 + 8]: p(T), h(T)
        y2 = block(torch.cat([p @ q.T + b, h], 1))
    err_p = ((y2[:, :3] - (y[:, :3] @ q.T + b)).abs().max() / y[:, :3].abs().max()).item()
    err_h = ((y2[:, 3:] - y[:, 3:]).abs().max() / y[:, 3:].abs().max()).item()
    print(f"{n} points, kNN graph (k = 6), T = {T:g}: |p'(T) - (Q p(T) + b)| / max|p| = "
          f"{err_p:.1e}, |h'(T) - h(T)| / max|h| = {err_h:.1e}")
    assert err_p < 1e-10 and err_h < 1e-10     # rounding only

    try:
        compiler.front(BROKEN)
        raise AssertionError("the checker accepted a network of a point")
    except Pde2GnnError as e:
        print("the checker on a network of p itself:\n" + str(e))

    fig = plt.figure(figsize=(9, 4))
    for k, (title, yy, p0) in enumerate((("original", y, p), ("rotated, reflected, moved", y2,
                                                             p @ q.T + b))):
        ax = fig.add_subplot(1, 2, k + 1, projection="3d")
        ax.scatter(*p0.T.numpy(), s=6, c="0.6", label="p(0)")
        ax.scatter(*yy[:, :3].T.numpy(), s=8, c="C0", label="p(T)")
        ax.set_title(title)
        ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(out / "egnn_point_cloud.png", dpi=90)
    print(f"figure: {out / 'egnn_point_cloud.png'}")


if __name__ == "__main__":
    main()
