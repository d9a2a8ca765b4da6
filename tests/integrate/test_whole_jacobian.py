"""Methods on the whole Jacobian (pde2gnn.integrate.jacobian, .linearised, .rosenbrock): the
exact coloured Jacobian against autograd, the Rosenbrock-W order conditions, fitted orders
against expm and a tight reference with J reused over steps, the embedded error on
y' = lambda y, stiff stability, LU reuse, the solver's error message, method names."""
import math

import numpy as np
import pytest
import torch
from scipy.sparse.linalg import expm_multiply

from pde2gnn.compiler import pipeline as compiler
from pde2gnn.errors import OptionError, SolverError
from pde2gnn.graph import construction as graphs
from pde2gnn.integrate import jacobian as J
from pde2gnn.integrate.imex import imex_solve
from pde2gnn.integrate.imex_tableaus import ROSENBROCK_TABLEAUS
from pde2gnn.integrate.linsolve import MatrixOperator
from pde2gnn.integrate.solve import ODEBlock, SolverConfig

WHOLE = ["ros34pw2", "ark3j", "ark4j", "rodas4", "rodas5p"]
ORDER = {"ros34pw2": 3, "ark3j": 3, "ark4j": 4, "rodas4": 4, "rodas5p": 5}
#: the order on linear autonomous problems where it is higher (R(z) - e^z = O(z^(p+1)))
LINEAR_ORDER = {"rodas5p": 6}
#: Rosenbrock methods that are not W-methods: J is refreshed at every step
EVERY_STEP = [m for m, t in ROSENBROCK_TABLEAUS.items() if not t.w_method]


pytestmark = pytest.mark.usefixtures("float64")


def _grid_field(n, spec, side=1.0):
    pos, ei = graphs.grid_graph((n, n), (0, 0), (side, side), periodic=True)
    inputs = None if spec == "heat" else {"pos": torch.tensor(pos)}
    f = compiler.compile(spec, torch.as_tensor(ei), n * n,
                         dims={"d": 1} if spec == "heat" else {}, inputs=inputs)
    return f, pos


HEAD = "model m\ndomain pos : [0, 1] x [0, 1] periodic scheme=grid\n"
CH = HEAD + "field c : node\ndt(c) = lap(c^3 - c - 0.001*lap(c))\n"
KS = HEAD + "field u : node\ndt(u) = -lap(u) - lap(lap(u)) - 0.25*lap(u^2) + 0.5*u*lap(u)\n"
FAR = HEAD + "field u : node\ndt(u) = -u + 0.01*lap(lap(u^3))\n"      # N reaches past L
TWO = HEAD + ("field u : node\nfield v : node\n"
              "dt(u) = 0.01*lap(u) + 1 - 4*u + u^2*v\ndt(v) = 0.02*lap(v) + 3*u - u^2*v\n")
REACTION = HEAD + ("field u : node\nparam D = 0.01\n"
                   "dt(u) = D*lap(u) + u - u^3 + 0.2*sin(6.283185307179586*x)*u^2\n")


@pytest.mark.parametrize("spec", [CH, KS, FAR, TWO, REACTION])
def test_jacobian_matches_autograd(spec):
    """The coloured vector-Jacobian probes give df/dy to 1e-12 relative (dense autograd
    Jacobian of the same field); FAR's N (lap(lap(u^3))) reaches two hops past L's stencil,
    found by the pattern check."""
    f, pos = _grid_field(7, spec)
    width = f.state_width
    g = torch.Generator().manual_seed(0)
    y = 0.5 + 0.3 * torch.randn(49, width, generator=g)
    f.prepare(y)
    t = torch.tensor(0.3)
    fz = J.FrozenJacobian(f, f.split_operator(), 1.0, None, 1e-10, 1e-12, 10)
    got = fz.jac(t, y).toarray()
    dense = torch.autograd.functional.jacobian(lambda v: f(t, v), y)
    dense = dense.reshape(49 * width, 49 * width).numpy()
    assert np.abs(got - dense).max() <= 1e-12 * np.abs(dense).max()
    assert fz.jac.colours < 49                 # probes are shared, not one per column
    if spec is FAR:
        assert fz.jac.depth > f.split_operator().depth


def test_rosenbrock_order_conditions():
    """ROS34PW2's coefficients satisfy the Rosenbrock conditions (Hairer & Wanner IV.7,
    Table 7.1) to order 3, the embedded weights to order 2, and not one more; L-stable."""
    t = ROSENBROCK_TABLEAUS["ros34pw2"]
    a, G, b, bh = (np.array(t.alpha), np.array(t.gammas), np.array(t.b), np.array(t.bhat))
    beta = a + G + t.gamma * np.eye(t.stages)
    bp = beta.sum(1) - t.gamma           # beta'_i = sum_{j<i} beta_ij
    al = a.sum(1)

    def conds(w):
        return np.abs([w.sum() - 1, w @ bp - (0.5 - t.gamma), w @ al ** 2 - 1 / 3,
                       w @ (beta - t.gamma * np.eye(t.stages)) @ bp
                       - (1 / 6 - t.gamma + t.gamma ** 2)])

    # the coefficients are published to 17 digits: the conditions hold to ~1e-12
    assert conds(b).max() < 1e-11
    assert conds(bh)[:2].max() < 1e-11 and conds(bh)[2:].max() > 1e-6
    # R(z) = 1 + z b^T (I - z beta)^-1 1 -> 0 as z -> -inf
    z = -1e8
    r = 1 + z * b @ np.linalg.solve(np.eye(t.stages) - z * beta, np.ones(t.stages))
    assert abs(r) < 1e-6


def fitted_order(hs, errors):
    return np.polyfit(np.log(hs), np.log(errors), 1)[0]


@pytest.mark.parametrize("name", WHOLE)
def test_order_heat_against_expm(name):
    """Graph heat (12x12 periodic grid), taken through the Jacobian path (affine=False): errors
    against expm_multiply fall as h^p on fixed grids."""
    f, _ = _grid_field(12, "heat")
    y0 = torch.randn(144, 1, generator=torch.Generator().manual_seed(0))
    f.prepare(y0)
    exact = expm_multiply(f.matrix() * 0.5, y0.numpy())
    hs = [0.5 / k for k in (8, 16, 32)]
    errs = []
    for h in hs:
        sol = imex_solve(f.split_operator(), f.rest, y0, [0.0, 0.5], method=name, step_size=h,
                         affine=False, field=f)
        assert sol.jacobians >= 1
        errs.append(float(np.abs(sol.ys[-1].numpy() - exact).max()))
    # on a linear autonomous problem only R(z) counts: Rodas5P's matches e^z to O(z^7)
    # (test_rodas.py), so its error falls faster than h^5 (fitted 5.7 here, pre-asymptotic)
    assert ORDER[name] - 0.35 < fitted_order(hs, errs) < LINEAR_ORDER.get(name, ORDER[name]) \
        + 0.35, errs


@pytest.mark.parametrize("name", WHOLE)
@pytest.mark.parametrize("every", [1, 1000])
def test_order_reaction_diffusion(name, every, monkeypatch):
    """A non-linear reaction-diffusion (16x16 grid) against dopri5 at rtol 1e-12: fixed-step
    errors fall as h^p both with J fresh at every step and with J of t = 0 kept for the whole
    solve (the W-property of ROS34PW2; for ark3j / ark4j the split is exact for any J); the
    Rodas methods, not W-methods, evaluate J at every step whatever REFRESH_EVERY says."""
    monkeypatch.setattr(J, "REFRESH_EVERY", every)
    f, pos = _grid_field(16, REACTION)
    y0 = torch.tensor(0.5 * np.sin(2 * np.pi * pos[:, :1]) * np.cos(2 * np.pi * pos[:, 1:]))
    T = 1.0
    ref = ODEBlock(f, T, SolverConfig("dopri5", rtol=1e-12, atol=1e-14, max_nfe=10 ** 6))(y0)
    hs = [T / k for k in (8, 16, 32)]
    errs = []
    for h in hs:
        sol = imex_solve(f.split_operator(), f.rest, y0, [0.0, T], method=name, step_size=h,
                         field=f)
        assert sol.jacobians == (round(T / h) if every == 1 or name in EVERY_STEP else 1)
        errs.append(float((sol.ys[-1] - ref).abs().max()))
    assert abs(fitted_order(hs, errs) - ORDER[name]) < 0.4, errs


def test_rosenbrock_embedded_error_on_scalar_lambda(monkeypatch):
    """y' = lambda y (lambda = -0.5): ROS34PW2's estimate sum (b - bhat) k equals y1 - y1_hat
    and matches the embedded solution's true error, which falls as h^3."""
    from dataclasses import replace
    tab = ROSENBROCK_TABLEAUS["ros34pw2"]
    op = MatrixOperator(np.array([[-0.5]]))
    zero = lambda t, y: torch.zeros_like(y)       # noqa: E731
    hat = replace(tab, name="hat", b=tab.bhat)
    monkeypatch.setitem(ROSENBROCK_TABLEAUS, "hat", hat)
    hs = [0.04, 0.02, 0.01]
    ests = []
    for h in hs:
        y0 = torch.ones(1, 1)
        y1 = imex_solve(op, zero, y0, [0.0, h], method="ros34pw2", step_size=h).ys[-1]
        y1h = imex_solve(op, zero, y0, [0.0, h], method="hat", step_size=h).ys[-1]
        est, true = float(y1 - y1h), float(math.exp(-0.5 * h) - y1h)
        assert abs(est - true) < 0.1 * abs(true), (h, est, true)
        ests.append(abs(est))
    assert abs(fitted_order(hs, ests) - 3) < 0.3


@pytest.mark.parametrize("name", WHOLE)
def test_stiff_heat_bounded_and_monotone(name):
    """Heat with h lambda_max = 1e4 through the Jacobian path: the norm never grows, every
    non-constant mode is damped at the first step (L-stability), the mean is kept."""
    f, _ = _grid_field(12, "heat")
    kappa = 1e4 / 8 / 0.1
    y0 = torch.randn(144, 1, generator=torch.Generator().manual_seed(1))
    f.prepare(y0)
    op = MatrixOperator(f.matrix() * kappa)
    times = [0.1 * k for k in range(11)]
    sol = imex_solve(op, lambda t, y: torch.zeros_like(y), y0, times, method=name,
                     step_size=0.1)
    norms = [float(y.norm()) for y in sol.ys]
    assert all(b <= a * (1 + 1e-12) for a, b in zip(norms, norms[1:])), norms
    mean_mode = abs(float(y0.mean())) * 12
    assert norms[1] < 1.1 * mean_mode
    assert norms[-1] - mean_mode < 1e-6 * norms[0]


@pytest.mark.parametrize("name", ["ros34pw2", "ark4j"])
def test_cahn_hilliard_reuses_lu(name):
    """Cahn-Hilliard on a 24x24 grid (N = lap(c^3) stiff): matches dopri5 at rtol 1e-10 to
    1e-5 with fewer factorisations and fewer Jacobians than accepted steps."""
    pos, ei = graphs.grid_graph((24, 24), (0, 0), (2, 2), periodic=True)
    f = compiler.compile(CH.replace("[0, 1] x [0, 1]", "[0, 2] x [0, 2]"), torch.as_tensor(ei),
                         576, inputs={"pos": torch.tensor(pos)})
    y0 = torch.tanh(3 * torch.sin(np.pi * torch.tensor(pos[:, :1]))
                    * torch.cos(np.pi * torch.tensor(pos[:, 1:])))
    with torch.no_grad():
        yr = ODEBlock(f, 0.02, SolverConfig("dopri5", rtol=1e-10, atol=1e-12,
                                            max_nfe=10 ** 6))(y0)
        f.prepare(y0)
        sol = imex_solve(f.split_operator(), f.rest, y0, [0.0, 0.02], method=name, rtol=1e-6,
                         atol=1e-8, field=f)
    assert float((sol.ys[-1] - yr).norm() / yr.norm()) < 1e-5
    assert sol.factorizations < sol.steps and sol.jacobians < sol.steps, sol


@pytest.mark.parametrize("name", ["ros34pw2", "ark4j"])
def test_singular_stage_matrix_names_time_and_step(name):
    """I - h gamma J exactly singular (J = 1 / (h gamma)): a SolverError naming the time, the
    step size and what to change, not SuperLU's RuntimeError."""
    gamma = ROSENBROCK_TABLEAUS["ros34pw2"].gamma if name == "ros34pw2" else 0.25
    h = 1.0 / gamma
    while h * gamma != 1.0:
        h = math.nextafter(h, 0.0)
    op = MatrixOperator(np.array([[1.0]]))
    message = r"at t = \S+ \(step size \S+, stage \d\) failed.*rtol"
    with pytest.raises(SolverError, match=message):
        imex_solve(op, lambda t, y: torch.zeros_like(y), torch.ones(1, 1), [0.0, 2 * h],
                   method=name, step_size=h)


@pytest.mark.slow
def test_reverse_time_and_config():
    """Decreasing output times on y' = -y (one backward solve gives y(0) = e y(1)); the names
    pass SolverConfig; ODEBlock runs them on a compiled field and matches dopri5."""
    op = MatrixOperator(np.array([[-1.0]]))
    zero = lambda t, y: torch.zeros_like(y)       # noqa: E731
    sol = imex_solve(op, zero, torch.ones(1, 1), [1.0, 0.5, 0.0], method="ros34pw2",
                     rtol=1e-9, atol=1e-12)
    assert abs(float(sol.ys[-1]) - math.e) < 1e-7 * math.e
    for m in WHOLE:
        assert SolverConfig(m).imex
    with pytest.raises(OptionError, match="ros34pw2"):
        SolverConfig("ros34")
    f, pos = _grid_field(10, REACTION)
    y0 = torch.tensor(0.5 * np.sin(2 * np.pi * pos[:, :1]))
    ref = ODEBlock(f, 1.0, SolverConfig("dopri5", rtol=1e-11, atol=1e-13, max_nfe=10 ** 6))(y0)
    for m in WHOLE:
        y = ODEBlock(f, 1.0, SolverConfig(m, rtol=1e-8, atol=1e-10, max_nfe=10 ** 5))(y0)
        assert float((y - ref).norm() / ref.norm()) < 1e-6, m


def test_cli_accepts_rosenbrock(tmp_path):
    from pde2gnn.cli.commands import main
    args = ["simulate", "allen_cahn", "--graph", "grid", "--n", "12", "--trajectories", "1",
            "--frames", "3", "--ic", "noise", "--sample", "0", "--no-png", "--quiet",
            "--method", "ros34pw2", "--out", str(tmp_path / "a")]
    assert main(args) in (0, None)
