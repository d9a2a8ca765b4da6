"""Equation discovery (pde2gnn/discover/): recovery on data made by hand-written numpy /
scipy versions of the equations, the written spec, the derivative filter, bad data."""
import json

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.linalg import expm
from scipy.signal import savgol_filter

from pde2gnn import discover as D
from pde2gnn.cli.commands import main
from pde2gnn.compiler.pipeline import front
from pde2gnn.errors import DataError, FormError
from tests.helpers.graphs import random_graph


def _laplacian(ei, n):
    A = np.zeros((n, n))
    A[ei[1], ei[0]] = 1.0                         # A[i, j] = 1 for the edge j -> i
    return A, A - np.diag(A.sum(1))


def _data(rhs, ei, n, B=8, T=41, dt=0.02, seed=0, low=0.0, high=1.0):
    """Trajectories of dx/dt = rhs(x) by scipy (rtol 1e-11), 6 / 2 fit / test split."""
    rng = np.random.default_rng(seed)
    times = np.arange(T) * dt
    frames = np.stack([solve_ivp(lambda t, x: rhs(x), (0, times[-1]), rng.uniform(low, high, n),
                                 t_eval=times, rtol=1e-11, atol=1e-13).y.T for _ in range(B)])
    return D.Trajectories(frames, times, ei, train=np.arange(B - 2), test=[B - 2, B - 1])


@pytest.fixture(scope="module")
def graph():
    ei, n = random_graph(16, 0.3, seed=1)
    return ei.numpy(), n


def test_heat_noise_free_is_recovered_exactly(graph):
    ei, n = graph
    _, L = _laplacian(ei, n)
    times = np.arange(41) * 0.02
    rng = np.random.default_rng(0)
    x0 = rng.uniform(0, 1, (8, n))
    frames = np.stack([[expm(0.7 * L * t) @ x for t in times] for x in x0])  # exact solution
    data = D.Trajectories(frames, times, ei, train=np.arange(6), test=[6, 7])
    found = D.discover(data)
    assert [found.library.terms[k] for k in found.active] == ["lap(x)"]
    assert found.coefficients[found.library.terms.index("lap(x)")] == pytest.approx(0.7, rel=1e-3)
    assert found.inclusion[found.library.terms.index("lap(x)")] == 1.0


@pytest.mark.parametrize("weak", [0, 15])
def test_heat_at_irregular_times(graph, weak):
    ei, n = graph
    _, L = _laplacian(ei, n)
    rng = np.random.default_rng(3)
    times = np.cumsum(rng.uniform(0.01, 0.03, 41)) - 0.01
    frames = np.stack([[expm(0.7 * L * t) @ x for t in times] for x in rng.uniform(0, 1, (8, n))])
    data = D.Trajectories(frames, times, ei, train=np.arange(6), test=[6, 7])
    found = D.discover(data, config=D.DiscoveryConfig(weak_window=weak))
    assert [found.library.terms[k] for k in found.active] == ["lap(x)"]
    # the weak form's trapezoid quadrature is second order on irregular times: 0.5 % here
    assert found.coefficients[found.active[0]] == pytest.approx(0.7, rel=1e-2 if weak else 2e-3)


def test_two_term_reaction_diffusion_is_recovered(graph):
    ei, n = graph
    _, L = _laplacian(ei, n)
    data = _data(lambda x: 0.4 * L @ x - 0.8 * x ** 3, ei, n, high=1.5)
    found = D.discover(data)
    got = {found.library.terms[k]: found.coefficients[k] for k in found.active}
    assert set(got) == {"lap(x)", "x^3"}
    assert got["lap(x)"] == pytest.approx(0.4, rel=1e-2)
    assert got["x^3"] == pytest.approx(-0.8, rel=1e-2)
    # the found spec parses, checks and reproduces the held-out trajectories
    text = D.found_spec(found)
    assert front(text).name == "candidates_found"
    val = D.validate(text, data)
    assert val["trajectories"] == [6, 7] and val["rel_l2"] < 1e-2


def test_coupling_term_of_gene_regulatory_dynamics(graph):
    ei, n = graph
    A, _ = _laplacian(ei, n)
    data = _data(lambda x: -x + A @ (x ** 2 / (1 + x ** 2)), ei, n, high=2.0)
    found = D.discover(data)
    got = {found.library.terms[k]: found.coefficients[k] for k in found.active}
    assert set(got) == {"x", "sum_j(x_j^2/(1 + x_j^2))"}
    assert got["x"] == pytest.approx(-1.0, rel=1e-2)


def test_local_polynomial_filter_is_savgol_on_uniform_times_and_exact_on_cubics():
    t = np.arange(15) * 0.1
    x = np.sin(3 * t) + 0.1 * np.cos(7 * t)
    S, Dm = D.local_polynomial_operators(t, 7, 3)
    np.testing.assert_allclose(S @ x, savgol_filter(x, 7, 3, mode="interp"), atol=1e-12)
    np.testing.assert_allclose(Dm @ x, savgol_filter(x, 7, 3, deriv=1, delta=0.1, mode="interp"),
                               atol=1e-10)
    tt = np.sort(np.random.default_rng(0).uniform(0, 2, 12))         # irregular times
    S, Dm = D.local_polynomial_operators(tt, 5, 3)
    np.testing.assert_allclose(Dm @ (tt ** 3 - tt), 3 * tt ** 2 - 1, atol=1e-9)
    np.testing.assert_allclose(S @ (tt ** 3 - tt), tt ** 3 - tt, atol=1e-10)


def test_weak_form_integrates_by_parts_on_irregular_times():
    h = 3 / 400                                       # jittered grid: irregular times
    tt = np.linspace(0, 3, 401) + np.random.default_rng(1).uniform(-0.3 * h, 0.3 * h, 401)
    W, V = D.weak_form_operators(tt, 101)
    x = np.sin(2 * tt) + tt ** 2                     # V x = integral -phi' x = W dx/dt
    np.testing.assert_allclose(V @ x, W @ (2 * np.cos(2 * tt) + 2 * tt), atol=2e-3)


def test_weak_form_recovers_reaction_diffusion(graph):
    ei, n = graph
    _, L = _laplacian(ei, n)
    data = _data(lambda x: 0.4 * L @ x - 0.8 * x ** 3, ei, n, high=1.5)
    found = D.discover(data.with_noise(0.01), config=D.DiscoveryConfig(weak_window=21))
    got = {found.library.terms[k]: found.coefficients[k] for k in found.active}
    assert set(got) == {"lap(x)", "x^3"} and got["x^3"] == pytest.approx(-0.8, rel=0.03)


def test_library_terms_are_split_from_the_dt_equation():
    lib = D.load_library("model m\nfield f : node[d]\nparam a = 2\n"
                         "dt(f) = lap(f) - a*f^2 + (f - f^3) + sum_j(f_j - f_i)\n")
    assert lib.terms == ("lap(f)", "a*f^2", "(f - f^3)", "sum_j(f_j - f_i)")
    assert lib.field == "f" and lib.channels == "d" and "param a = 2" in lib.header
    with pytest.raises(FormError, match="appears twice"):
        D.load_library("model m\nfield f : node[d]\ndt(f) = f + lap(f) - f\n")
    with pytest.raises(FormError, match="one field"):
        D.load_library("model m\nfield f : node[d]\nfield g : node[d]\ndt(f) = g\ndt(g) = f\n")


def _bad(**kw):
    base = dict(frames=np.zeros((2, 5, 3)), times=np.arange(5.0),
                edge_index=np.array([[0, 1], [1, 0]]))
    return D.Trajectories(**{**base, **kw})


def test_bad_data_gives_clear_errors(tmp_path, capsys):
    nan = np.zeros((2, 5, 3))
    nan[1, 3, 2] = np.nan
    with pytest.raises(DataError, match="NaN or inf .*trajectory 1, frame 3, node 2"):
        _bad(frames=nan)
    with pytest.raises(DataError, match="at least 2 frames"):
        _bad(frames=np.zeros((2, 1, 3)), times=np.zeros(1))
    with pytest.raises(DataError, match=r"increasing, but times\[3\] = 1 <= times\[2\] = 2"):
        _bad(times=np.array([0.0, 1, 2, 1, 4]))
    with pytest.raises(DataError, match="refers to node 5"):
        _bad(edge_index=np.array([[0, 5], [5, 0]]))
    # through the command line: one message, exit status 2
    path = tmp_path / "bad.npz"
    np.savez(path, frames=nan, times=np.arange(5.0), edge_index=np.array([[0, 1], [1, 0]]))
    assert main(["discover", str(path)]) == 2
    err = capsys.readouterr().err
    assert "frames contain NaN" in err and "Traceback" not in err
    assert main(["discover", str(tmp_path / "missing.npz")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["discover", str(path), "--folds", "1"]) == 2
    assert "--folds must be at least 2, got 1" in capsys.readouterr().err


def test_cli_writes_spec_plot_and_json(graph, tmp_path, capsys):
    ei, n = graph
    _, L = _laplacian(ei, n)
    data = _data(lambda x: 0.5 * L @ x, ei, n)
    path = tmp_path / "heat.npz"
    np.savez(path, frames=data.frames, times=data.times, edge_index=ei, train=data.train,
             test=data.test)
    out = tmp_path / "found.pde"
    assert main(["discover", str(path), "--out", str(out), "--results",
                 str(tmp_path / "r.json"), "--noise", "0.01", "--bootstrap", "20"]) == 0
    assert "lap(x)" in capsys.readouterr().out
    r = json.loads((tmp_path / "r.json").read_text())
    assert r["active"] == ["lap(x)"] and r["validation"]["rel_l2"] < 0.05
    assert (tmp_path / "found.png").stat().st_size > 0
    assert main(["check", str(out)]) == 0


def test_one_channel_library_and_missing_coordinates(graph):
    ei, n = graph
    _, L = _laplacian(ei, n)
    data = _data(lambda x: 0.5 * L @ x - 0.3 * x, ei, n)
    lib = D.load_library("model m\nfield u : node\ndt(u) = u + u^2 + lap(u)\n")
    assert lib.channels is None                       # states batched on a leading axis
    found = D.discover(data, lib)
    got = {lib.terms[k]: found.coefficients[k] for k in found.active}
    assert set(got) == {"u", "lap(u)"} and got["u"] == pytest.approx(-0.3, rel=1e-2)
    assert D.validate(D.found_spec(found), data)["rel_l2"] < 1e-2
    with pytest.raises(DataError, match="no node coordinates"):
        D.discover(data, D.load_library("model g\ndomain pos : [0, 1] x [0, 1]\n"
                                        "field f : node[d]\ndt(f) = dx(f) + lap(f)\n"))


def test_regular_graph_returns_an_equivalent_sparsest_form():
    # on a ring (degree 2) lap(x) = sum_j(x_j) - 2 x: the law 0.5 sum_j(x_j) - 0.3 x equals
    # 0.5 lap(x) + 0.7 x; either 2-term form is right and reproduces the trajectories
    n = 20
    src, dst = np.arange(n), (np.arange(n) + 1) % n
    ei = np.array([np.r_[src, dst], np.r_[dst, src]])
    A, _ = _laplacian(ei, n)
    data = _data(lambda x: 0.5 * A @ x - 0.3 * x, ei, n)
    found = D.discover(data)
    got = {found.library.terms[k]: found.coefficients[k] for k in found.active}
    assert set(got) in ({"x", "sum_j(x_j)"}, {"x", "lap(x)"}, {"lap(x)", "sum_j(x_j)"})
    assert D.validate(D.found_spec(found), data)["rel_l2"] < 1e-3
