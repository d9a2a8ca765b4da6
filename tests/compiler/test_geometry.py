"""Geometric stencils: exactness on polynomials, convergence orders, PA-DGN's finite differences."""
import numpy as np
import pytest
import torch

from pde2gnn.compiler import pipeline as compiler
from pde2gnn.graph import construction as graphs
from pde2gnn.compiler.discretize.geometry import Box, geometric_weights
from pde2gnn.errors import DataError, FormError, NameError_
from pde2gnn.integrate.solve import ODEBlock, SolverConfig

ALL = ("geo_dx", "geo_dy", "geo_lap", "geo_dgrad")
TWO_PI = 2 * np.pi


def apply(w, ei, f):
    """sum_j w_ij (f_j - f_i) for every node i (reference for the fused sparse product)."""
    i, j = ei[1].numpy(), ei[0].numpy()
    return np.bincount(i, weights=w * (f[j] - f[i]), minlength=len(f))


def weights(pos, ei, box, scheme):
    i, j = ei[1].numpy(), ei[0].numpy()
    return geometric_weights(pos, i, j, box, scheme, ALL)




def test_grid_exact_on_quadratics():
    box = Box((0.0, -1.0), (2.0, 1.0))
    pos, ei = graphs.grid_graph((9, 7), box.low, box.high)
    w, scheme = weights(pos, ei, box, "auto")
    assert scheme == "grid"
    x, y = pos.T
    interior = (x > 0) & (x < 2) & (y > -1) & (y < 1)
    f = 1 + 2 * x - 3 * y + 0.5 * x ** 2 - x * y + 2 * y ** 2
    assert np.allclose(apply(w["geo_lap"], ei, f)[interior], 1 + 4)
    assert np.allclose(apply(w["geo_dx"], ei, f)[interior], (2 + x - y)[interior])
    assert np.allclose(apply(w["geo_dy"], ei, f)[interior], (-3 - x + 4 * y)[interior])
    # zero-flux boundary: the derivative across the boundary is 0
    assert np.allclose(apply(w["geo_dx"], ei, f)[x == 0], 0)


def test_lsq_exact_on_linear_and_quadratic():
    rng = np.random.default_rng(1)
    box = Box((0.0, 0.0), (1.0, 1.0))
    pos = graphs.random_points(300, box.low, box.high, rng)
    ei = graphs.knn_graph(pos, 10)
    w, scheme = weights(pos, ei, box, "auto")
    assert scheme == "lsq"
    x, y = pos.T
    assert np.allclose(apply(w["geo_dx"], ei, 3 * x - 2 * y + 1), 3)
    assert np.allclose(apply(w["geo_dy"], ei, 3 * x - 2 * y + 1), -2)
    assert np.allclose(apply(w["geo_lap"], ei, x ** 2 + 3 * x * y - 0.5 * y ** 2 + x), 1.0)
    # dgrad: the directional derivative of f = x along each edge is cos(angle)
    i, j = ei[1].numpy(), ei[0].numpy()
    d = pos[j] - pos[i]
    assert np.allclose(w["geo_dgrad"] * (x[j] - x[i]), d[:, 0] / np.linalg.norm(d, axis=1))


def test_mesh_zero_on_linear_and_gradient_exact():
    from scipy.spatial import ConvexHull
    rng = np.random.default_rng(2)
    box = Box((0.0, 0.0), (1.0, 1.0))
    pos = graphs.random_points(200, box.low, box.high, rng)
    ei = graphs.delaunay_graph(pos)
    w, _ = weights(pos, ei, box, "mesh")
    interior = np.ones(len(pos), bool)
    interior[ConvexHull(pos).vertices] = False
    f = 2 * pos[:, 0] - 5 * pos[:, 1] + 3
    assert np.abs(apply(w["geo_lap"], ei, f)[interior]).max() < 1e-9
    assert np.allclose(apply(w["geo_dx"], ei, f), 2) and np.allclose(apply(w["geo_dy"], ei, f), -5)
    with pytest.raises(DataError, match="Delaunay"):
        weights(pos, graphs.knn_graph(pos, 3), box, "mesh")


HEAT_GEO = """model heat_geo
domain pos : [0, 2*pi] x [0, 2*pi] periodic
field f : node
dt(f) = lap(f)
"""


def heat_error(pos, ei, scheme, t=0.1):
    """Max error of the compiled heat equation against sin(x + 2y) exp(-5 t)."""
    field = compiler.compile(HEAT_GEO, ei, len(pos), inputs={"pos": torch.tensor(pos)},
                             scheme=scheme)
    f0 = torch.tensor(np.sin(pos[:, 0] + 2 * pos[:, 1]))[:, None]
    y = ODEBlock(field, t, SolverConfig("dopri5", rtol=1e-9, atol=1e-11))(f0)
    return float((y[:, 0] - f0[:, 0] * np.exp(-5 * t)).abs().max())


def fitted_order(hs, errors):
    return np.polyfit(np.log(hs), np.log(errors), 1)[0]


def test_convergence_second_order_on_grid(float64):
    ns = (12, 24, 48)
    errs = []
    for n in ns:
        pos, ei = graphs.grid_graph((n, n), (0, 0), (TWO_PI, TWO_PI), periodic=True)
        errs.append(heat_error(pos, ei, "grid"))
    order = fitted_order([TWO_PI / n for n in ns], errs)
    assert 1.9 < order < 2.2, (order, errs)


def test_convergence_on_scattered_points(float64):
    """Jittered points (uniform +-0.3 h), periodic 12-NN graph, least-squares Laplacian."""
    rng = np.random.default_rng(3)
    ns = (12, 24, 48)
    errs = []
    for n in ns:
        pos, _ = graphs.grid_graph((n, n), (0, 0), (TWO_PI, TWO_PI), periodic=True)
        pos = np.mod(pos + rng.uniform(-0.3, 0.3, pos.shape) * TWO_PI / n, TWO_PI)
        ei = graphs.knn_graph(pos, 12, (0, 0), (TWO_PI, TWO_PI), periodic=True)
        errs.append(heat_error(pos, ei, "lsq"))
    order = fitted_order([TWO_PI / n for n in ns], errs)
    assert order > 1.0, (order, errs)


CD = (Path := __import__("pathlib").Path)(__file__).resolve().parents[2] / "library" / \
    "convection_diffusion.pde"


def padgn_reference(f, X, Y, dt, steps):
    """PA-DGN (Seo et al. 2020) eq. (12) with central differences, explicit Euler, periodic."""
    h = TWO_PI / X.shape[0]
    a = 0.5 * (np.cos(Y) + X * (TWO_PI - X) * np.sin(X)) + 0.6
    b = 2 * (np.cos(Y) + np.sin(X)) + 0.8
    c = 0.5 * (1 - np.sqrt((X - np.pi) ** 2 + (Y - np.pi) ** 2) / (np.sqrt(2) * np.pi))
    out = [f]
    for _ in range(steps):
        fx = (np.roll(f, -1, 0) - np.roll(f, 1, 0)) / (2 * h)
        fy = (np.roll(f, -1, 1) - np.roll(f, 1, 1)) / (2 * h)
        lap = (np.roll(f, -1, 0) + np.roll(f, 1, 0) + np.roll(f, -1, 1) + np.roll(f, 1, 1)
               - 4 * f) / h ** 2
        f = f + dt * (a * fx + b * fy + c * lap)
        out.append(f)
    return np.stack(out)


def test_convection_diffusion_matches_padgn_numpy(float64):
    n, trajectories = 50, 3
    pos, ei = graphs.grid_graph((n, n), (0, 0), (TWO_PI, TWO_PI), periodic=True)
    field = compiler.compile(CD, ei, n * n, dims={"d": trajectories},
                             inputs={"pos": torch.tensor(pos)})
    assert field.scheme == "grid"
    f0 = np.random.default_rng(4).standard_normal((n * n, trajectories))
    times = torch.linspace(0, 0.2, 21)
    ys = ODEBlock(field, 0.2, SolverConfig("euler", step_size=0.01))(torch.tensor(f0), times)
    X, Y = pos[:, 0].reshape(n, n), pos[:, 1].reshape(n, n)
    for k in range(trajectories):
        ref = padgn_reference(f0[:, k].reshape(n, n), X, Y, 0.01, 20)
        assert np.abs(ys[:, :, k].numpy() - ref.reshape(21, -1)).max() < 1e-10


def test_domain_errors():
    base = "model m\ndomain pos : [0, 1] x [0, 1]\n"
    with pytest.raises(NameError_, match="coordinate of domain 'pos'"):
        compiler.front(base + "field x : node\ndt(x) = lap(x)\n")
    with pytest.raises(FormError, match="declare a domain"):
        compiler.front("model m\nfield f : node\ndt(f) = dx(f)\n")
    with pytest.raises(FormError, match="3-D domain"):
        compiler.front(base + "field f : node\ndt(f) = dz(f)\n")
    with pytest.raises(NameError_, match="did you mean 'lsq'"):
        compiler.front("model m\ndomain pos : [0, 1] x [0, 1] scheme=lqs\nfield f : node\n"
                       "dt(f) = lap(f)\n")
    pos, ei = graphs.grid_graph((5, 5), (0, 0), (1, 1))
    spec = base + "field f : node\ndt(f) = x * dx(f) + lap(f)\n"
    with pytest.raises(DataError, match="coordinates"):
        compiler.compile(spec, ei, 25)
    with pytest.raises(DataError, match="regular grid"):
        compiler.compile(spec, graphs.knn_graph(pos, 6), 25, inputs={"pos": torch.tensor(pos)},
                         scheme="grid")
