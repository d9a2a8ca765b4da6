"""Boundary conditions (``bc``): manufactured solutions with fitted orders on vertex- and
cell-centred grids, scattered points (lsq) and a Delaunay mesh; heat against its sine series;
conservation under zero flux; a pinned node set on a random geometric graph against the
reduced linear system; and one located message per kind of bad input."""
import subprocess
import sys

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sps
import torch
from scipy.sparse.linalg import expm_multiply
from torchdiffeq import odeint

from pde2gnn.compiler import pipeline as compiler
from pde2gnn.graph import construction as graphs
from pde2gnn.errors import (ArgumentError, DataError, FormError, KindError, NameError_,
                            OptionError, ParseError)

# u = cos(t) sin(1.3 x + 0.4) cos(0.7 y + 0.2) solves u_t = lap u + F with F below; the four
# faces carry a Dirichlet, two Neumann and a Robin condition, all time-dependent
MMS = """model mms
field u : node[1]
domain pos : [0, 1] x [0, 1] scheme=SCHEME
bc u : x = 0 dirichlet(cos(t) * sin(0.4) * cos(0.7 * y + 0.2))
bc u : x = 1 neumann(1.3 * cos(t) * cos(1.7) * cos(0.7 * y + 0.2))
bc u : y = 0 robin(1, 2, cos(t) * sin(1.3 * x + 0.4) * (cos(0.2) + 1.4 * sin(0.2)))
bc u : y = 1 neumann(-0.7 * cos(t) * sin(1.3 * x + 0.4) * sin(0.9))
dt(u) = lap(u) + (-sin(t) + 2.18 * cos(t)) * sin(1.3 * x + 0.4) * cos(0.7 * y + 0.2)
"""


def exact(pos, t):
    return np.cos(t) * np.sin(1.3 * pos[:, 0] + 0.4) * np.cos(0.7 * pos[:, 1] + 0.2)


def solve(spec, pos, ei, y0, T, inputs=None):
    """y(T) of a compiled spec (float64, dopri5 at rtol 1e-11: far below the space error)."""
    f = compiler.compile(spec, ei, len(pos), inputs={"pos": torch.tensor(pos), **(inputs or {})})
    f = f.double()
    y0 = torch.as_tensor(y0, dtype=torch.float64).reshape(len(pos), -1)
    f.prepare(y0)
    ts = torch.tensor([0.0, T], dtype=torch.float64)
    return odeint(f, y0, ts, rtol=1e-11, atol=1e-13)[-1].numpy(), f


def jittered(n, seed=0, amp=0.25):
    """An n x n grid on the unit square, every node moved by up to amp * h (wall nodes only
    along their wall): scattered points with nodes on every face."""
    rng = np.random.default_rng(seed)
    pos, _ = graphs.grid_graph((n, n), (0, 0), (1, 1))
    jit = rng.uniform(-amp, amp, pos.shape) / (n - 1)
    for a in (0, 1):
        jit[(pos[:, a] == 0) | (pos[:, a] == 1), a] = 0
    return pos + jit


def order(errs):
    return np.log2(np.asarray(errs[:-1]) / np.asarray(errs[1:]))


def mms_errors(kind, sizes, T=0.1, spec_for=lambda scheme: MMS.replace("SCHEME", scheme)):
    """Max-norm errors against ``exact`` at time T on each size: grids (vertex / cell) or
    jittered points (lsq on a 12-NN graph, mesh on its Delaunay graph); ``spec_for(scheme)``
    gives the spec text."""
    errs = []
    for n in sizes:
        if kind in ("vertex", "cell"):
            pos, ei = graphs.grid_graph((n, n), (0, 0), (1, 1), centring=kind)
            scheme = "grid"
        else:
            pos = jittered(n)
            ei = graphs.knn_graph(pos, 12) if kind == "lsq" else graphs.delaunay_graph(pos)
            scheme = kind
        y, _ = solve(spec_for(scheme), pos, ei, exact(pos, 0.0), T)
        errs.append(np.abs(y[:, 0] - exact(pos, T)).max())
    return errs


@pytest.mark.parametrize("kind,sizes", [("vertex", (9, 17, 33)), ("cell", (8, 16, 32))])
def test_manufactured_solution_grids_second_order(kind, sizes):
    errs = mms_errors(kind, sizes)
    p = order(errs)
    print(kind, errs, p)
    assert np.all(np.abs(p - 2) < 0.1), (errs, p)


@pytest.mark.parametrize("kind", ["lsq", "mesh"])
@pytest.mark.slow
def test_manufactured_solution_scattered_points(kind):
    """Second order on jittered grids (printed: errors and orders)."""
    errs = mms_errors(kind, (11, 21, 41))
    p = order(errs)
    print(kind, errs, p)
    assert p[-1] > 1.8 and p.min() > 1.5, (errs, p)


def test_heat_dirichlet_against_sine_series():
    """u_t = lap u, u = 0 on the walls, u0 = x(1-x) y(1-y): the series
    sum 64 / (pi^6 m^3 n^3) sin(m pi x) sin(n pi y) e^{-(m^2+n^2) pi^2 t} over odd m, n."""
    spec = ("model heat\nfield u : node[1]\ndomain pos : [0, 1] x [0, 1]\n"
            "bc u : walls dirichlet(0)\ndt(u) = lap(u)\n")
    T, errs = 0.05, []
    for n in (9, 17, 33):
        pos, ei = graphs.grid_graph((n, n), (0, 0), (1, 1))
        x, y = pos.T
        got, _ = solve(spec, pos, ei, x * (1 - x) * y * (1 - y), T)
        k = np.arange(1, 80, 2)
        sx, sy = np.sin(np.pi * np.outer(x, k)), np.sin(np.pi * np.outer(y, k))
        c = 64 / (np.pi ** 6 * np.outer(k, k) ** 3) * np.exp(
            -np.pi ** 2 * (k[:, None] ** 2 + k[None, :] ** 2) * T)
        series = np.einsum("im,mn,in->i", sx, c, sy)
        errs.append(np.abs(got[:, 0] - series).max())
    assert np.all(np.abs(order(errs) - 2) < 0.15), errs
    assert errs[-1] < 1e-4 * np.abs(series).max() * 100


@pytest.mark.parametrize("centring", ["vertex", "cell"])
def test_zero_flux_conserves_total_heat(centring):
    """Neumann 0 on every face: the quadrature of u (trapezoid weights on a vertex-centred
    grid, h^2 per cell on a cell-centred one) is constant to 1e-12 over a whole solve."""
    spec = ("model heat\nfield u : node[1]\ndomain pos : [0, 2] x [0, 1]\n"
            "bc u : walls neumann(0)\ndt(u) = 0.3 * lap(u)\n")
    n = (17, 9) if centring == "vertex" else (16, 8)
    pos, ei = graphs.grid_graph(n, (0, 0), (2, 1), centring=centring)
    x, y = pos.T
    u0 = np.exp(-10 * ((x - 0.6) ** 2 + (y - 0.3) ** 2)) + 0.1 * x
    if centring == "vertex":
        w = np.where((x == 0) | (x == 2), 0.5, 1.0) * np.where((y == 0) | (y == 1), 0.5, 1.0)
    else:
        w = np.ones(len(x))
    got, _ = solve(spec, pos, ei, u0, 1.0)
    assert abs(w @ got[:, 0] - w @ u0) < 1e-12 * abs(w @ u0)
    assert np.abs(got[:, 0] - u0).max() > 0.1          # it did diffuse


def test_pinned_nodes_on_a_random_geometric_graph_against_expm():
    """Heat on a random geometric graph with a Dirichlet mask: the free nodes solve
    u_I' = L_II u_I + L_IB g (the reduced system), here by scipy's expm_multiply on the
    augmented matrix [[L_II, L_IB g], [0, 0]]."""
    G = nx.random_geometric_graph(120, 0.18, seed=3)
    G = nx.convert_node_labels_to_integers(G.subgraph(max(nx.connected_components(G), key=len)))
    n = G.number_of_nodes()
    p = np.array([G.nodes[k]["pos"] for k in range(n)])
    ei = torch.tensor(np.array(list(G.edges)).T)
    ei = torch.cat([ei, ei.flip(0)], 1)
    pinned = (p[:, 0] < 0.15) | (p[:, 0] > 0.9)
    spec = ("model pinned\nfield u : node[1]\ninput hot : node mask\ninput pos2 : node[2]\n"
            "bc u : hot dirichlet(1 + pos2[0])\ndt(u) = 0.5 * lap(u)\n")
    g = 1 + p[:, 0]
    u0 = np.where(pinned, g, np.random.default_rng(0).uniform(size=n))
    f = compiler.compile(spec, ei, n, inputs={"hot": torch.tensor(pinned),
                                             "pos2": torch.tensor(p)}).double()
    y0 = torch.tensor(u0)[:, None]
    f.prepare(y0)
    T = 2.0
    got = odeint(f, y0, torch.tensor([0.0, T], dtype=torch.float64), rtol=1e-12,
                 atol=1e-14)[-1][:, 0].numpy()
    L = 0.5 * nx.laplacian_matrix(G, nodelist=range(n)).astype(float) * -1
    I, B = np.flatnonzero(~pinned), np.flatnonzero(pinned)
    LII, b = L[I][:, I], L[I][:, B] @ g[B]
    aug = sps.bmat([[LII, sps.csr_matrix(b[:, None])], [None, sps.csr_matrix((1, 1))]])
    ref = expm_multiply(T * aug.tocsc(), np.append(u0[I], 1.0))[:-1]
    assert np.abs(got[I] - ref).max() < 1e-8 * np.abs(ref).max()
    assert np.abs(got[B] - g[B]).max() < 1e-12     # pinned nodes stay at g
    assert np.abs(got[I] - u0[I]).max() > 0.05


def test_mask_flux_is_a_source_at_the_masked_nodes():
    spec = ("model flux\nfield u : node[1]\ninput src : node mask\n"
            "bc u : src neumann(2 * t)\ndt(u) = lap(u)\n")
    ei = torch.tensor([[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]])
    m = torch.tensor([True, False, False, False])
    f = compiler.compile(spec, ei, 4, inputs={"src": m}).double()
    y = torch.tensor([[1.0], [2.0], [0.5], [0.0]], dtype=torch.float64)
    f.prepare(y)
    got = f(torch.tensor(0.75, dtype=torch.float64), y)[:, 0]
    lap = torch.tensor([1.0, -2.5, 1.0, 0.5], dtype=torch.float64)
    torch.testing.assert_close(got, lap + 1.5 * m.double(), rtol=0, atol=1e-14)


def test_mask_robin_is_the_flux_towards_g_over_a():
    """``robin(a, b, g)`` on a node mask: lap(u) + m (g - a u) / b, against the hand-written
    value, with its -m a/b u in the linear part (an affine field for a constant g); on a
    random geometric graph, dt(u) = D lap(u) is D (lap u + m (g - a u) / b) and the solution
    u* + expm(A T)(u0 - u*) with u* = g / a (scipy ``expm_multiply``), to 1e-8."""
    spec = ("model cool\nfield u : node[1]\ninput wall : node mask\n"
            "bc u : wall robin(2, 0.5, 3 * t)\ndt(u) = lap(u)\n")
    ei = torch.tensor([[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]])
    m = torch.tensor([True, False, False, True])
    f = compiler.compile(spec, ei, 4, inputs={"wall": m}).double()
    y = torch.tensor([[1.0], [2.0], [0.5], [0.0]], dtype=torch.float64)
    f.prepare(y)
    got = f(torch.tensor(0.75, dtype=torch.float64), y)[:, 0]
    lap = torch.tensor([1.0, -2.5, 1.0, 0.5], dtype=torch.float64)
    torch.testing.assert_close(got, lap + m.double() * (2.25 - 2 * y[:, 0]) / 0.5,
                               rtol=0, atol=1e-13)
    g = nx.random_geometric_graph(60, 0.25, seed=3)
    ei = torch.tensor(list(g.to_directed().edges)).T
    n = 60
    wall = np.zeros(n, bool)
    wall[:5] = True
    spec = ("model cool\nfield u : node[1]\ninput wall : node mask\n"
            "bc u : wall robin(2, 0.5, 3)\ndt(u) = 0.3 * lap(u)\n")
    f = compiler.compile(spec, ei, n, inputs={"wall": torch.tensor(wall)}).double()
    assert f.affine
    L = nx.laplacian_matrix(g, nodelist=range(n)).astype(float)
    A = -0.3 * (L + sps.diags(wall * 2 / 0.5))     # D (lap u + m (g - a u) / b)
    u0 = np.random.default_rng(0).random(n)
    exact = 1.5 + expm_multiply(A * 2.0, u0 - 1.5)
    y0 = torch.tensor(u0[:, None])
    f.prepare(y0)
    got = odeint(f, y0, torch.tensor([0.0, 2.0], dtype=torch.float64), rtol=1e-11,
                 atol=1e-13)[-1, :, 0].numpy()
    assert np.abs(got - exact).max() <= 1e-8 * np.abs(exact).max()


def test_no_condition_means_the_same_generated_code():
    plain = "model heat\nfield u : node[1]\ndomain pos : [0, 1] x [0, 1]\ndt(u) = lap(u)\n"
    a = compiler.stages(plain).code
    b = compiler.stages(plain.replace("dt(u)", "bc u : walls neumann(0)\ndt(u)")).code
    assert "geo_lap__u" in b and "geo_lap__u" not in a


def test_dirichlet_rows_are_zero_in_the_linear_part():
    """f = L y + N(t): L has no row at a Dirichlet node (its row is dg/dt, a source); with a
    constant value the field is affine (L y + c: the Krylov steps see the boundary in L)."""
    spec = ("model heat\nfield u : node[1]\ndomain pos : [0, 1] x [0, 1]\n"
            "bc u : x = 0 dirichlet(sin(t))\ndt(u) = lap(u)\n")
    pos, ei = graphs.grid_graph((5, 5), (0, 0), (1, 1))
    const = compiler.compile(spec.replace("sin(t)", "2 * y"), ei, 25,
                             inputs={"pos": torch.tensor(pos)})
    assert const.affine
    f = compiler.compile(spec, ei, 25, inputs={"pos": torch.tensor(pos)}).double()
    y = torch.randn(25, 1, dtype=torch.float64)
    f.prepare(y)
    t = torch.tensor(0.3, dtype=torch.float64)
    out = f(t, y)[:, 0]
    wall = pos[:, 0] == 0
    torch.testing.assert_close(out[wall], torch.full((5,), np.cos(0.3), dtype=torch.float64))


# ------------------------------------------------------------------ language
def test_comparisons_and_where_compile_to_piecewise_values():
    spec = ("model pw\nfield u : node[1]\ndomain pos : [0, 1]\n"
            "dt(u) = where(x < 0.5, 1, 2) * u + (x >= 0.75) - (x == 0) + (x <= 0.25) * (x > 0.1)")
    pos, ei = graphs.grid_graph((5,), (0,), (1,))
    f = compiler.compile(spec, ei, 5, inputs={"pos": torch.tensor(pos)}).double()
    y = torch.ones(5, 1, dtype=torch.float64)
    f.prepare(y)
    got = f(torch.tensor(0.0, dtype=torch.float64), y)[:, 0].numpy()
    x = pos[:, 0]
    want = np.where(x < 0.5, 1, 2) + (x >= 0.75) - (x == 0) + (x <= 0.25) * (x > 0.1)
    np.testing.assert_array_equal(got, want)


def test_param_bounds_and_1d_domain():
    """u_t = u_xx on [0, L], u = 0 at both ends, u0 = sin(pi x / L): u = e^{-pi^2 t / L^2} u0."""
    spec = ("model rod\nparam L = 2\nfield u : node[1]\ndomain pos : [0, L]\n"
            "bc u : walls dirichlet(0)\ndt(u) = lap(u)\n")
    errs = []
    for n in (11, 21, 41):
        pos, ei = graphs.grid_graph((n,), (0,), (3,))
        f = compiler.compile(spec, ei, n, inputs={"pos": torch.tensor(pos)},
                             params={"L": 3.0}).double()
        u0 = torch.tensor(np.sin(np.pi * pos[:, 0] / 3))[:, None]
        f.prepare(u0)
        y = odeint(f, u0, torch.tensor([0.0, 0.4], dtype=torch.float64), rtol=1e-11,
                   atol=1e-13)[-1]
        errs.append(np.abs(y[:, 0].numpy() - np.exp(-np.pi ** 2 * 0.4 / 9) * u0[:, 0].numpy()
                           ).max())
    assert np.all(np.abs(order(errs) - 2) < 0.1), errs
    with pytest.raises(DataError, match="outermost nodes"):   # the default L = 2 does not fit
        compiler.compile(spec, ei, 41, inputs={"pos": torch.tensor(pos)})
    with pytest.raises(OptionError, match=r"axis 1 of domain 'pos' is empty or reversed"):
        compiler.compile(spec, ei, 41, inputs={"pos": torch.tensor(pos)}, params={"L": -1.0})


BASE = ("model m\nfield u : node[1]\ninput wall : node mask\ninput k : node[1]\n"
        "domain pos : [0, 1] x [0, 1]\ndt(u) = lap(u)\n")


@pytest.mark.parametrize("line,err,match,col", [
    ("bc u : z = 0 dirichlet(0)", NameError_, "'z' is not a coordinate", 8),
    ("bc u : x = 2 dirichlet(0)", FormError, "no face x = 2", 12),
    ("bc v : x = 0 dirichlet(0)", NameError_, "'v' is not an evolving field", 4),
    ("bc u : x = 0 dirchlet(0)", NameError_, "did you mean 'dirichlet'", 14),
    ("bc u : x = 0 robin(1, 0, 1)", FormError, "b = 0 degenerates", 23),
    ("bc u : x = 0 robin(1, 1)", ArgumentError, "robin takes 3 arguments", 1),
    ("bc u : wal dirichlet(0)", NameError_, "did you mean 'wall'", 8),
    ("bc u : k dirichlet(0)", KindError, "input k : node mask", 8),
    ("bc u : x = 1 dirichlet(u)", KindError, "not 'u'", 24),
    ("bc u : x = 0 neumann(0)\nbc u : x = 0 dirichlet(1)", FormError,
     "two boundary conditions for 'u' on face x = 0", 8),
])
def test_bad_conditions_are_located_errors(line, err, match, col):
    with pytest.raises(err, match=match) as e:
        compiler.front(BASE + line + "\n")
    assert e.value.span.column == col and e.value.span.line >= 7


def test_condition_on_a_face_of_a_periodic_or_missing_domain():
    with pytest.raises(FormError, match="periodic: it has no faces"):
        compiler.front(BASE.replace("[0, 1] x [0, 1]", "[0, 1] x [0, 1] periodic")
                       + "bc u : walls neumann(0)\n")
    with pytest.raises(FormError, match="declares none"):
        compiler.front("model m\nfield u : node[1]\ndt(u) = lap(u)\nbc u : x = 0 neumann(0)\n")


def test_condition_on_a_discrete_time_spec():
    with pytest.raises(FormError, match="continuous-time") as e:
        compiler.front("model m\nfield u : node[1]\ninput w : node mask\n"
                       "next(u) = u\nbc u : w dirichlet(0)\n")
    assert e.value.span.line == 5


def test_bad_masks_and_params_are_data_and_option_errors():
    spec = ("model m\nfield u : node[1]\ninput w : node mask\nbc u : w dirichlet(0)\n"
            "dt(u) = lap(u)\n")
    ei = torch.tensor([[0, 1], [1, 0]])
    with pytest.raises(DataError, match=r"input 'w' \(a node mask\) must have one boolean "
                                        r"per node, shape \[2\]"):
        compiler.compile(spec, ei, 2, inputs={"w": torch.tensor([True, False, True])})
    with pytest.raises(DataError, match="booleans"):
        compiler.compile(spec, ei, 2, inputs={"w": torch.tensor([0.5, 0.0])})
    robin = BASE.replace("dt(u)", "param b = 1\nbc u : x = 0 robin(1, b, 0)\ndt(u)")
    with pytest.raises(OptionError, match="b = 0 is dirichlet"):
        compiler.stages(robin, params={"b": 0.0}).stencil
    with pytest.raises(ParseError):
        compiler.front("model m\nfield u : node[1]\ninput w : node mask\nbc u : w\ndt(u) = u\n")


def test_cli_exits_2_with_one_message(tmp_path):
    spec = tmp_path / "bad.pde"
    spec.write_text(BASE + "bc u : x = 0 robin(1, 0, 1)\n")
    r = subprocess.run([sys.executable, "-m", "pde2gnn", "check", str(spec)],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "b = 0 degenerates" in r.stderr + r.stdout


# ------------------------------------------------------------------ defects 22, 23
def test_positions_outside_a_periodic_domain_are_rejected():
    spec = ("model m\nfield u : node[1]\ndomain pos : [0, 1] x [0, 1] periodic\n"
            "dt(u) = lap(u)\n")
    pos, ei = graphs.grid_graph((8, 8), (0, 0), (1, 1), periodic=True)
    compiler.compile(spec, ei, 64, inputs={"pos": torch.tensor(pos)})
    with pytest.raises(DataError,
                       match=r"coordinates 'pos' lie outside the periodic domain \[0, 1\]"):
        compiler.compile(spec, ei, 64, inputs={"pos": torch.tensor(pos * 10)})


def test_cell_centred_zero_flux_is_second_order():
    """Defect 23: a cell-centred grid used to get the vertex-centred mirror (first order).
    u_t = u_xx + u_yy on [0, 1]^2, no condition (zero flux), u0 = cos(pi x) cos(pi y)."""
    spec = "model m\nfield u : node[1]\ndomain pos : [0, 1] x [0, 1]\ndt(u) = lap(u)\n"
    errs = []
    for n in (8, 16, 32):
        pos, ei = graphs.grid_graph((n, n), (0, 0), (1, 1), centring="cell")
        u0 = np.cos(np.pi * pos[:, 0]) * np.cos(np.pi * pos[:, 1])
        y, _ = solve(spec, pos, ei, u0, 0.05)
        errs.append(np.abs(y[:, 0] - np.exp(-2 * np.pi ** 2 * 0.05) * u0).max())
    assert np.all(np.abs(order(errs) - 2) < 0.1), errs


def test_grid_neither_vertex_nor_cell_centred_is_rejected():
    spec = "model m\nfield u : node[1]\ndomain pos : [0, 1] x [0, 1] scheme=grid\ndt(u) = lap(u)\n"
    pos, ei = graphs.grid_graph((8, 8), (0.1, 0.1), (0.9, 0.9))
    with pytest.raises(DataError, match="vertex-centred .* or cell-centred"):
        compiler.compile(spec, ei, 64, inputs={"pos": torch.tensor(pos)})


def test_energy_flow_with_a_dirichlet_mask_is_the_masked_heat_equation():
    """-var(E, u), E = sum_ij(grad(u)^2) / 4, with pinned nodes equals lap(u) with the same
    mask: the gradient flow of E over the free values with the pinned ones held at g."""
    head = "model e\nfield u : node[1]\ninput w : node mask\nbc u : w dirichlet(3 - t)\n"
    ei = torch.tensor([[0, 1, 1, 2, 2, 3, 3, 0, 0, 2], [1, 0, 2, 1, 3, 2, 0, 3, 2, 0]])
    w = torch.tensor([True, False, False, True])
    y = torch.randn(4, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    t = torch.tensor(0.5, dtype=torch.float64)
    out = []
    for rhs in ("energy E = sum_ij(grad(u)^2) / 4\ndt(u) = -var(E, u)\n", "dt(u) = lap(u)\n"):
        f = compiler.compile(head + rhs, ei, 4, inputs={"w": w}).double()
        f.prepare(y)
        out.append(f(t, y))
    torch.testing.assert_close(out[0], out[1], rtol=1e-14, atol=1e-14)
    assert torch.all(out[0][w] == -1)                      # dg/dt at the pinned nodes
    lap_free = sum(((3 - 0.5) if w[j] else y[j, 0]) - y[1, 0] for j in (0, 2))
    torch.testing.assert_close(out[0][1, 0], lap_free, rtol=1e-14, atol=1e-14)


def test_piecewise_coefficient_in_an_energy():
    """E = sum_ij(c_ij grad(u)^2) / 4 with c_ij = where(k_i + k_j > 0, 2, 1): the flow is
    sum_j c_ij (u_j - u_i) (comparisons have derivative 0, where picks its branch)."""
    spec = ("model e\nfield u : node[1]\ninput k : node[1]\n"
            "energy E = sum_ij(where(k_i + k_j > 0, 2, 1) * grad(u)^2) / 4\n"
            "dt(u) = -var(E, u)\n")
    src = torch.tensor([0, 1, 1, 2, 2, 3, 3, 0])
    dst = torch.tensor([1, 0, 2, 1, 3, 2, 0, 3])
    k = torch.tensor([[1.0], [-2.0], [-1.0], [0.5]], dtype=torch.float64)
    y = torch.tensor([[0.3], [1.0], [-0.4], [2.0]], dtype=torch.float64)
    f = compiler.compile(spec, torch.stack([src, dst]), 4, inputs={"k": k}).double()
    f.prepare(y)
    c = torch.where(k[src, 0] + k[dst, 0] > 0, 2.0, 1.0).double()
    want = torch.zeros(4, dtype=torch.float64).index_add_(0, dst, c * (y[src, 0] - y[dst, 0]))
    torch.testing.assert_close(f(torch.tensor(0.0), y)[:, 0], want, rtol=1e-14, atol=1e-14)


def test_overlapping_dirichlet_masks_and_faces_without_nodes_are_data_errors():
    spec = ("model m\nfield u : node[1]\ninput a : node mask\ninput b : node mask\n"
            "bc u : a dirichlet(0)\nbc u : b dirichlet(1)\ndt(u) = lap(u)\n")
    ei = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    with pytest.raises(DataError, match="inputs 'a' and 'b' .* share node 1"):
        compiler.compile(spec, ei, 3, inputs={"a": torch.tensor([False, True, False]),
                                              "b": torch.tensor([True, True, False])})
    lsq = ("model m\nfield u : node[1]\ndomain pos : [0, 1] x [0, 1] scheme=lsq\n"
           "bc u : x = 0 neumann(1)\ndt(u) = lap(u)\n")
    pos = jittered(6)[7:29]            # no node on x = 0
    with pytest.raises(DataError, match="no node lies on the face .*coordinates 'pos'"):
        compiler.compile(lsq, graphs.knn_graph(pos, 6), len(pos),
                         inputs={"pos": torch.tensor(pos)})


def test_simulate_starts_dirichlet_nodes_on_their_values(tmp_path):
    """``simulate`` sets y(0) at the Dirichlet nodes (a face's and a node mask's) to g(0), so
    they follow g(t) exactly (their rows are dg/dt) instead of keeping a random offset; the
    other nodes keep the random initial state."""
    from pde2gnn.simulate import SimulationConfig, simulate
    n = 9
    spec = tmp_path / "pinned.pde"
    spec.write_text("model pinned\nfield u : node\ninput w : node mask\n"
                    "domain pos : [0, 1] x [0, 1]\nbc u : x = 0 dirichlet(1 + y * cos(t))\n"
                    "bc u : w dirichlet(2 * x + sin(t))\ndt(u) = 0.1 * lap(u)\n")
    w = np.zeros((n * n, 1))
    w[40] = 1                                                    # the centre node (0.5, 0.5)
    np.save(tmp_path / "w.npy", w)
    cfg = SimulationConfig(graph="grid", n=n, trajectories=2, frames=5, dt=0.25, sample=0,
                           dtype="float64", rtol=1e-10, atol=1e-12,
                           inputs={"w": str(tmp_path / "w.npy")})
    res = simulate(str(spec), None, cfg, progress=False, log=lambda s: None)
    u, times = res["fields"]["u"], res["times"]                  # [B, T, N], [T]
    from pde2gnn.graph import construction as graphs
    pos, _ = graphs.grid_graph((n, n), (0, 0), (1, 1))
    wall = np.isclose(pos[:, 0], 0)
    assert wall.sum() == n
    for k, t in enumerate(times):
        assert np.allclose(u[:, k, wall], 1 + pos[wall, 1] * np.cos(t), rtol=0, atol=1e-8)
        assert np.allclose(u[:, k, 40], 2 * 0.5 + np.sin(t), rtol=0, atol=1e-8)
    free = ~wall
    free[40] = False
    assert np.ptp(u[:, 0, free]) > 0.1                 # random there, not overwritten
