"""Given time series as inputs (``input s : node[c] series``): values [T, N, c] at times [T],
linear in t between them and constant outside. du/dt = s integrates exactly to a piecewise
quadratic; a series as a flux into a node set changes the total heat by its integral; simulate
reads them from a .npz; one clear error per kind of bad series."""
import numpy as np
import pytest
import torch

from pde2gnn.compiler import pipeline as compiler
from pde2gnn.compiler.backend.graph_ops import GraphOps
from pde2gnn.errors import DataError, FormError, KindError, NameError_
from pde2gnn.integrate.solve import ODEBlock, SolverConfig

from tests.helpers.graphs import random_graph

TIMES = np.array([0.0, 0.3, 0.5, 1.2])
SPEC = "model ts\nfield u : node[2]\ninput s : node[2] series\ndt(u) = s\n"


def _integral(times, values, T):
    """int_0^T of the piecewise-linear interpolant (constant outside [times[0], times[-1]]):
    the trapezoid rule on its breakpoints is exact. values [T_s, ...] -> [...]."""
    pts = np.unique(np.concatenate([[0.0, T], times[(times > 0) & (times < T)]]))
    v = np.stack([np.interp(pts, times, values[:, i]) for i in range(values.shape[1])], 1)
    return np.trapezoid(v, pts, axis=0)


def _series(n, c=2, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((len(TIMES), n, c))


def test_series_at_interpolates_linearly_and_clamps():
    """The samples at their times, the mean half-way, the end values outside; gradients reach
    the values (autograd through the interpolation weights)."""
    v = torch.tensor(_series(3), requires_grad=True)
    times = torch.tensor(TIMES)
    for k, t in enumerate(TIMES):
        assert torch.equal(GraphOps.series_at(v, times, times[k]), v[k])
    mid = GraphOps.series_at(v, times, torch.tensor(0.4, dtype=torch.float64))
    eps = 8 * torch.finfo(v.dtype).eps * float(v.detach().abs().max())       # the weights' rounding
    assert torch.allclose(mid, (v[1] + v[2]) / 2, rtol=0, atol=eps)
    assert torch.equal(GraphOps.series_at(v, times, torch.tensor(-1.0, dtype=torch.float64)), v[0])
    assert torch.equal(GraphOps.series_at(v, times, torch.tensor(5.0, dtype=torch.float64)), v[-1])
    GraphOps.series_at(v, times, torch.tensor(0.35, dtype=torch.float64)).sum().backward()
    w = (0.35 - 0.3) / 0.2
    expect = torch.zeros_like(v)
    expect[1], expect[2] = 1 - w, w
    assert torch.allclose(v.grad, expect, rtol=0, atol=8 * torch.finfo(v.dtype).eps)


@pytest.mark.parametrize("T", [1.0, 2.0])
def test_source_series_integrates_to_the_piecewise_quadratic(T):
    """du/dt = s(t): u(T) = u(0) + int_0^T s. RK4 with steps on the breakpoints is exact for a
    linear s on each step (Simpson), so it matches to rounding; dopri5 at rtol 1e-10 to its
    tolerance; T = 2 goes past the last time (s constant there)."""
    torch.set_default_dtype(torch.float64)
    try:
        ei, n = random_graph(6, seed=1)
        vals = _series(n)
        f = compiler.compile(SPEC, ei, n, inputs={"s": (torch.tensor(vals), torch.tensor(TIMES))})
        y0 = torch.tensor(np.random.default_rng(1).standard_normal((n, 2)))
        exact = y0.numpy() + np.stack([_integral(TIMES, vals[:, :, c], T) for c in range(2)], 1)
        scale = np.abs(exact).max()
        y = ODEBlock(f, T, SolverConfig("rk4", step_size=0.1))(y0).detach().numpy()
        assert np.abs(y - exact).max() <= 1e-12 * scale
        y = ODEBlock(f, T, SolverConfig("dopri5", rtol=1e-10, atol=1e-12))(y0).detach().numpy()
        assert np.abs(y - exact).max() <= 1e-7 * scale
    finally:
        torch.set_default_dtype(torch.float32)


def test_series_flux_into_a_node_set_changes_total_heat_by_its_integral():
    """``bc u : wall neumann(s)`` with a series s on a graph: lap conserves the total, so
    d/dt sum(u) = sum over the wall of s(t), integrated exactly (RK4 on the breakpoints)."""
    torch.set_default_dtype(torch.float64)
    try:
        ei, n = random_graph(10, seed=3)
        spec = ("model flux\nfield u : node\ninput wall : node mask\ninput s : node[1] series\n"
                "bc u : wall neumann(s)\ndt(u) = lap(u)\n")
        wall = torch.zeros(n, 1)
        wall[[2, 7]] = 1
        vals = _series(n, 1, seed=4)
        f = compiler.compile(spec, ei, n, inputs={"wall": wall, "s": (torch.tensor(vals),
                                                                    torch.tensor(TIMES))})
        y0 = torch.rand(n, 1)
        y = ODEBlock(f, 1.5, SolverConfig("rk4", step_size=0.05))(y0)
        gain = _integral(TIMES, vals[:, [2, 7], 0], 1.5).sum()
        assert abs(float(y.sum() - y0.sum()) - gain) <= 1e-9 * max(1.0, abs(gain))
    finally:
        torch.set_default_dtype(torch.float32)


def test_simulate_reads_a_series_from_npz(tmp_path):
    """``simulate --input s=PATH.npz`` (arrays values, times): the frames of du/dt = s are
    u(0) + the integral of s."""
    from pde2gnn.cli.commands import main
    from pde2gnn.simulate import SimulationConfig, simulate
    n = 5
    spec = tmp_path / "ts.pde"
    spec.write_text("model ts\nfield u : node\ninput s : node[1] series\n"
                    "domain pos : [0, 1] x [0, 1]\ndt(u) = s\n")
    vals = _series(n * n, 1, seed=2)
    np.savez(tmp_path / "s.npz", values=vals, times=TIMES)
    cfg = SimulationConfig(graph="grid", n=n, trajectories=1, frames=4, dt=0.5, sample=0,
                           dtype="float64", method="rk4", step_size=0.1,
                           inputs={"s": str(tmp_path / "s.npz")})
    res = simulate(str(spec), None, cfg, progress=False, log=lambda s: None)
    u = res["fields"]["u"][0]                                          # [T, N]
    for k, t in enumerate(res["times"]):
        assert np.allclose(u[k] - u[0], _integral(TIMES, vals[:, :, 0], float(t)),
                           rtol=0, atol=1e-12)
    np.save(tmp_path / "s.npy", vals)
    assert main(["simulate", str(spec), "--graph", "grid", "--n", str(n), "--input",
                 f"s={tmp_path / 's.npy'}", "--frames", "2", "--trajectories", "1"]) == 2


@pytest.mark.parametrize("value, match", [
    (lambda v, t: v, "give"),
    (lambda v, t: (v[:, :3], t), r"values \[T, 6, 2\]"),
    (lambda v, t: (v, t[::-1].copy()), "increase strictly"),
    (lambda v, t: (v * np.nan, t), "NaN"),
])
def test_bad_series_values_are_data_errors(value, match):
    ei, n = random_graph(6, seed=1)
    with pytest.raises(DataError, match=match):
        compiler.compile(SPEC, ei, n, inputs={"s": value(_series(n), TIMES)})


@pytest.mark.parametrize("decl, bc, err, match", [
    ("input s : edge[1] series", "", KindError, "per node and time"),
    ("input s : node[1] serie", "", NameError_, "series"),
    ("input s : node[1] series", "bc u : w dirichlet(s)", FormError, "not a dirichlet"),
    ("input s : node[1] series", "next", FormError, "continuous-time"),
])
def test_bad_series_declarations_are_located_errors(decl, bc, err, match):
    eq = "next(u) = u + s" if bc == "next" else "dt(u) = lap(u)"
    bc = "" if bc == "next" else bc
    spec = f"model b\nfield u : node\ninput w : node mask\n{decl}\n{bc}\n{eq}\n"
    with pytest.raises(err, match=match):
        compiler.front(spec)
