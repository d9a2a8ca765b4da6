"""Implicit and IMEX methods (pde2gnn.integrate): order conditions, fitted convergence orders
against expm and a tight reference, embedded error estimates, L-stability, gradients through the
linear solves, method dispatch ("auto", implicit_adams)."""
import itertools
import logging

import numpy as np
import pytest
import torch
from scipy.sparse.linalg import expm_multiply

from pde2gnn.compiler import pipeline as compiler
from pde2gnn.graph import construction as graphs
from pde2gnn.errors import OptionError, SolverError
from pde2gnn.integrate.imex import imex_solve
from pde2gnn.integrate.imex_tableaus import IMEX_TABLEAUS
from pde2gnn.integrate.linsolve import MatrixOperator, StageSolver
from pde2gnn.integrate.solve import ODEBlock, SolverConfig

ALL = list(IMEX_TABLEAUS)



ADAPTIVE = [m for m, t in IMEX_TABLEAUS.items() if t.adaptive]
L_STABLE = [m for m, t in IMEX_TABLEAUS.items() if t.l_stable]


def _conditions(b, A_pair, c, order):
    """Residuals of the additive Runge-Kutta order conditions (bi-coloured trees up to order
    4, nodes c shared by both tableaus) for weights b and every colouring of A."""
    out = []
    for A in itertools.product(A_pair, repeat=1):
        A = A[0]
        if order >= 1:
            out.append(b.sum() - 1)
        if order >= 2:
            out.append(b @ c - 1 / 2)
        if order >= 3:
            out += [b @ c**2 - 1 / 3, b @ A @ c - 1 / 6]
    if order >= 4:
        for A1, A2 in itertools.product(A_pair, repeat=2):
            out += [b @ c**3 - 1 / 4, b @ (c * (A1 @ c)) - 1 / 8, b @ A1 @ c**2 - 1 / 12,
                    b @ A1 @ A2 @ c - 1 / 24]
    return np.abs(out)


@pytest.mark.parametrize("name", ALL)
def test_order_conditions(name):
    t = IMEX_TABLEAUS[name]
    c = np.array(t.c)
    A_pair = (np.array(t.ae), np.array(t.ai))
    for A in A_pair:
        assert np.abs(A.sum(1) - c).max() < 1e-14          # row sums are the nodes
        if not t.fully_implicit:
            assert np.allclose(np.triu(A_pair[0]), 0)      # N explicit
    for b in (np.array(t.be), np.array(t.bi)):
        assert _conditions(b, A_pair, c, t.order).max() < 1e-12, name
        if t.order < 4:  # the method is not of a higher order by accident
            assert _conditions(b, A_pair, c, t.order + 1).max() > 1e-6
    if t.adaptive:  # the embedded pair has order p - 1
        for b, e in ((t.be, t.ee), (t.bi, t.ei)):
            bhat = np.array(b) - np.array(e)
            assert _conditions(bhat, A_pair, c, t.order - 1).max() < 1e-12
            assert _conditions(bhat, A_pair, c, t.order).max() > 1e-6


def _stability(t, z):
    """R(z) of the implicit tableau: 1 + z b^T (I - z A)^-1 1."""
    A, b = np.array(t.ai), np.array(t.bi)
    return 1 + z * b @ np.linalg.solve(np.eye(len(b)) - z * A, np.ones(len(b)))


@pytest.mark.parametrize("name", ALL)
def test_l_stability_flags(name):
    """R(-1e8) ~ 0 for the methods marked L-stable; |R(-1e8)| ~ 1 for the trapezoid rule
    (A-stable only); |R(iy)| <= 1 on the imaginary axis for all."""
    t = IMEX_TABLEAUS[name]
    r = abs(_stability(t, -1e8))
    assert (r < 1e-6) if t.l_stable else (r > 0.99)
    assert max(abs(_stability(t, 1j * y)) for y in np.logspace(-2, 4, 50)) <= 1 + 1e-12


def _grid(n, dims=None, spec="heat"):
    pos, ei = graphs.grid_graph((n, n), (0, 0), (1, 1), periodic=True)
    f = compiler.compile(spec, torch.as_tensor(ei), n * n, dims={"d": 1} if dims is None else dims,
                         inputs={"pos": torch.tensor(pos)} if spec != "heat" else None)
    return f, pos


def fitted_order(hs, errors):
    return np.polyfit(np.log(hs), np.log(errors), 1)[0]


EXPECTED = {"backward_euler": 1, "trapezoid": 2, "esdirk3": 3, "esdirk4": 4, "ars232": 2,
            "ars443": 3, "ark3": 3, "ark4": 4, "ark3j": 3, "ark4j": 4}


@pytest.mark.parametrize("name", ALL)
def test_convergence_order_heat_against_expm(float64, name):
    """Graph heat equation (combinatorial Laplacian of a 12x12 periodic grid, lambda_max = 8)
    on fixed grids; the error against expm_multiply falls as h^p."""
    f, _ = _grid(12)
    y0 = torch.randn(144, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    f.prepare(y0)
    exact = expm_multiply(f.matrix() * 0.5, y0.numpy())
    hs = [0.5 / k for k in (8, 16, 32)]
    errs = []
    for h in hs:
        sol = imex_solve(f.split_operator(), f.rest, y0, [0.0, 0.5], method=name, step_size=h,
                         affine=True)
        errs.append(float(np.abs(sol.ys[-1].numpy() - exact).max()))
    p = fitted_order(hs, errs)
    assert abs(p - EXPECTED[name]) < 0.35, (p, errs)


REACTION = """model fisher_kpp
domain pos : [0, 1] x [0, 1] periodic scheme=grid
field u : node
param D = 0.01
dt(u) = D*lap(u) + u - u^3 + 0.2*sin(6.283185307179586*x)*u^2
"""


@pytest.mark.parametrize("name", ["ars232", "ars443", "ark3", "ark4", "backward_euler",
                                  "trapezoid", "esdirk3", "esdirk4"])
def test_convergence_order_reaction_diffusion(float64, name):
    """A non-linear reaction-diffusion on a 16x16 periodic grid (L = D lap + 1, N = -u^3 + ...):
    fixed-step errors against dopri5 at rtol 1e-12 fall as h^p (the IMEX coupling
    conditions at work; for the implicit methods, Newton stages on the probed Jacobian)."""
    f, pos = _grid(16, {}, REACTION)
    y0 = torch.tensor(0.5 * np.sin(2 * np.pi * pos[:, :1]) * np.cos(2 * np.pi * pos[:, 1:]))
    T = 1.0
    ref = ODEBlock(f, T, SolverConfig("dopri5", rtol=1e-12, atol=1e-14, max_nfe=10**6))(y0)
    hs = [T / k for k in (8, 16, 32)]
    errs = []
    for h in hs:
        sol = imex_solve(f.split_operator(), f.rest, y0, [0.0, T], method=name, step_size=h)
        errs.append(float((sol.ys[-1] - ref).abs().max()))
    p = fitted_order(hs, errs)
    assert abs(p - EXPECTED[name]) < 0.4, (p, errs)


@pytest.mark.parametrize("name", ADAPTIVE)
def test_embedded_error_on_scalar_lambda(float64, name):
    """y' = lambda y split as L = -1, N = 0.5 y (lambda = -0.5): the step's error estimate
    h sum e_j k_j matches y1 - y1_hat, which falls as h^order (embedded order + 1)."""
    t = IMEX_TABLEAUS[name]
    # fully implicit methods take the whole lambda = -0.5 in L (N = 0: an affine problem)
    op = MatrixOperator(np.array([[-0.5 if t.fully_implicit else -1.0]]))
    n_rate = 0.0 if t.fully_implicit else 0.5
    kw = dict(step_size=None, affine=t.fully_implicit)
    hs = [0.02, 0.01, 0.005]
    ests = []
    for h in hs:
        y0 = torch.ones(1, 1, dtype=torch.float64)
        kw["step_size"] = h
        sol = imex_solve(op, lambda tt, y: n_rate * y, y0, [0.0, h], method=name, **kw)
        # the same step with the embedded weights: a tableau with b <- b_hat
        from dataclasses import replace
        hat = replace(t, name="hat", be=tuple(np.subtract(t.be, t.ee)),
                      bi=tuple(np.subtract(t.bi, t.ei)))
        IMEX_TABLEAUS["hat"] = hat
        try:
            sol_hat = imex_solve(op, lambda tt, y: n_rate * y, y0, [0.0, h], method="hat",
                                 **kw)
        finally:
            del IMEX_TABLEAUS["hat"]
        est = float(sol.ys[-1] - sol_hat.ys[-1])
        true = float(np.exp(-0.5 * h) - sol_hat.ys[-1])
        assert abs(est - true) < 0.2 * abs(true), (h, est, true)   # the estimate is the error
        ests.append(abs(est))
    assert abs(fitted_order(hs, ests) - t.order) < 0.3


@pytest.mark.parametrize("name", L_STABLE)
def test_stiff_heat_bounded_and_monotone(float64, name):
    """Heat with h * lambda_max = 1e4: every L-stable method keeps ||y|| bounded and decaying
    step after step; the trapezoid rule (A-stable only) does not damp the stiff modes."""
    f, _ = _grid(12)
    kappa = 1e4 / 8 / 0.1           # lambda_max = 8 kappa; h = 0.1
    y0 = torch.randn(144, 1, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    f.prepare(y0)
    op = MatrixOperator(f.matrix() * kappa)
    times = [0.1 * k for k in range(11)]
    sol = imex_solve(op, lambda t, y: torch.zeros_like(y), y0, times, method=name,
                     step_size=0.1, affine=True)
    norms = [float(y.norm()) for y in sol.ys]
    assert all(b <= a * (1 + 1e-12) for a, b in zip(norms, norms[1:])), norms
    mean_mode = abs(float(y0.mean())) * 12           # the kernel of L is kept
    assert norms[1] < 1.1 * mean_mode                 # every other mode damped at once
    assert norms[-1] - mean_mode < 1e-6 * norms[0]


def test_trapezoid_not_l_stable(float64):
    f, _ = _grid(12)
    y0 = torch.randn(144, 1, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    f.prepare(y0)
    op = MatrixOperator(f.matrix() * (1e4 / 8 / 0.1))
    sol = imex_solve(op, lambda t, y: torch.zeros_like(y), y0, [0.0, 1.0], method="trapezoid",
                     step_size=0.1, affine=True)
    assert float(sol.ys[-1].norm()) > 0.5 * float(y0.norm())     # |R(-1e4)| ~ 1: no damping


SOLVERS = ["direct", "cg", "gmres"]


@pytest.mark.parametrize("linear_solver", SOLVERS)
def test_linear_solvers_agree_and_count(float64, linear_solver):
    f, _ = _grid(16)
    y0 = torch.randn(256, 1, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    block = ODEBlock(f, 1.0, SolverConfig("ark4", rtol=1e-8, atol=1e-10,
                                           linear_solver=linear_solver))
    y = block(y0)
    exact = expm_multiply(f.matrix(), y0.numpy())
    assert float(np.abs(y.numpy() - exact).max()) < 1e-6
    assert block.nfe_linear > 0
    assert (block.linear_iterations > 0) == (linear_solver != "direct")


def test_solve_gradient_is_implicit(float64):
    """d/db and d/dL of x = (I - g L)^-1 b by implicit differentiation match the dense
    inverse (and no autograd graph through the iterations)."""
    rng = np.random.default_rng(0)
    A = rng.standard_normal((30, 30)) * 0.2
    theta = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)

    class Op(MatrixOperator):
        def apply(self, y):
            return theta * super().apply(y)

        def apply_t(self, y):
            return theta * super().apply_t(y)

        def matrix(self):
            return None

        def diag(self):
            return float(theta.detach()) * super().diag()

        def is_symmetric(self):
            return False

    b = torch.tensor(rng.standard_normal((30, 1)), requires_grad=True)
    solver = StageSolver(Op(A), "gmres", rtol=1e-13, atol=1e-15)
    x = solver.solve(0.3, b)
    w = torch.tensor(rng.standard_normal((30, 1)))
    gb, gt = torch.autograd.grad((x * w).sum(), [b, theta])
    At = torch.tensor(A)
    M = torch.eye(30, dtype=torch.float64) - 0.3 * theta * At
    xd = torch.linalg.solve(M, b)
    gb2, gt2 = torch.autograd.grad((xd * w).sum(), [b, theta])
    assert torch.allclose(gb, gb2, rtol=1e-8, atol=1e-10)
    assert torch.allclose(gt, gt2, rtol=1e-8, atol=1e-10)


LEARN = """model gread_like
domain pos : [0, 1] x [0, 1] periodic scheme=grid
field u : node
learn alpha = 0.002
learn beta = 1.0
dt(u) = alpha*lap(u) + beta*(u - u^3)
"""


@pytest.mark.parametrize("name", ["ark4", "ark3"])
@pytest.mark.slow
def test_gradients_match_explicit_path(float64, name):
    """A reaction-diffusion with learnable alpha (diffusion) and beta (reaction): at small
    alpha, gradients of a loss through the IMEX solve match those through dopri5 to 1e-5."""
    f, pos = _grid(10, {}, LEARN)
    y0 = torch.tensor(0.5 * np.sin(2 * np.pi * pos[:, :1]) + 0.3 * np.cos(2 * np.pi * pos[:, 1:]))
    grads = []
    for method in ("dopri5", name):
        f.zero_grad()
        y = ODEBlock(f, 1.0, SolverConfig(method, rtol=1e-10, atol=1e-12, max_nfe=10**5))(y0)
        (y ** 2).sum().backward()
        grads.append(torch.stack([p.grad.reshape(()) for p in f.parameters()]))
    assert torch.allclose(grads[0], grads[1], rtol=1e-5, atol=0), grads


def test_auto_picks_by_stiffness(float64, caplog):
    f, _ = _grid(16)
    y0 = torch.randn(256, 1, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    with caplog.at_level(logging.INFO, logger="pde2gnn"):
        stiff = ODEBlock(f, 100.0, SolverConfig("auto", rtol=1e-6, atol=1e-8))
        stiff(y0)
        mild = ODEBlock(f, 0.5, SolverConfig("auto", rtol=1e-6, atol=1e-8))
        mild(y0)
    assert stiff.auto_choice[0] == "ark3" and mild.auto_choice[0] == "dopri5"
    assert 7.0 < stiff.auto_choice[1] <= 8.0 + 1e-9          # rho(L) = 8 on a periodic grid
    assert "-> ark3" in caplog.text and "-> dopri5" in caplog.text


def test_implicit_adams_refuses_tolerances():
    with pytest.raises(OptionError, match="step_size"):
        SolverConfig("implicit_adams")
    SolverConfig("implicit_adams", step_size=0.1)


def test_fully_implicit_nonlinear_no_gradients(float64):
    """Newton stages give no gradients: asked for them, an implicit method on a non-affine
    field refuses and names the IMEX methods; without them it solves (CH-like stiff N)."""
    f, pos = _grid(8, {}, REACTION)
    y0 = torch.full((64, 1), 0.1, dtype=torch.float64, requires_grad=True)
    with pytest.raises(OptionError, match="IMEX"):
        ODEBlock(f, 1.0, SolverConfig("esdirk3"))(y0)


def test_newton_stages_cahn_hilliard(float64):
    """Cahn-Hilliard (N = lap(c^3), itself stiff): esdirk4 with Newton stages matches dopri5
    at rtol 1e-10 to 1e-5, in fewer steps than the IMEX ark4 (explicit in lap(c^3)) needs."""
    pos, ei = graphs.grid_graph((24, 24), (0, 0), (2, 2), periodic=True)
    spec = REACTION.replace("fisher_kpp", "ch").replace("[0, 1] x [0, 1]", "[0, 2] x [0, 2]")
    spec = spec.split("param")[0] + "dt(u) = lap(u^3 - u - 0.001*lap(u))\n"
    f = compiler.compile(spec, torch.as_tensor(ei), 576, inputs={"pos": torch.tensor(pos)})
    y0 = torch.tanh(3 * torch.sin(np.pi * torch.tensor(pos[:, :1]))
                    * torch.cos(np.pi * torch.tensor(pos[:, 1:])))
    ref = ODEBlock(f, 0.02, SolverConfig("dopri5", rtol=1e-10, atol=1e-12, max_nfe=10**6))
    with torch.no_grad():
        yr = ref(y0)
        f.prepare(y0)
        sol = imex_solve(f.split_operator(), f.rest, y0, [0.0, 0.02], method="esdirk4",
                         rtol=1e-6, atol=1e-8)
        imex = imex_solve(f.split_operator(), f.rest, y0, [0.0, 0.02], method="ark4",
                          rtol=1e-6, atol=1e-8)
    assert float((sol.ys[-1] - yr).norm() / yr.norm()) < 1e-5
    assert sol.steps < imex.steps, (sol.steps, imex.steps)


def test_non_converging_solve_names_time_and_option(float64):
    """On a fixed grid (no step to shrink: adaptive steps retry smaller, test_step_failure.py)
    a stage solve that does not converge names the time, the step, the residual, the option."""
    f, _ = _grid(16)
    y0 = torch.randn(256, 1, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    with pytest.raises(SolverError, match=r"t = .*step size.*residual.*linear_maxiter"):
        ODEBlock(f, 10.0, SolverConfig("ark3", step_size=1.0, linear_solver="cg",
                                       linear_maxiter=2))(y0)


def test_unknown_linear_solver():
    with pytest.raises(OptionError, match="linear_solver"):
        SolverConfig("ark3", linear_solver="lu")


def test_cli_methods(tmp_path, capsys):
    """``simulate --method`` accepts an IMEX method and refuses implicit_adams without a step
    (exit 2, one message naming step_size)."""
    from pde2gnn.cli.commands import main
    args = ["simulate", "allen_cahn", "--graph", "grid", "--n", "12", "--trajectories", "1",
            "--frames", "3", "--ic", "noise", "--sample", "0", "--no-png", "--quiet"]
    assert main(args + ["--method", "ark3", "--out", str(tmp_path / "a")]) in (0, None)
    assert main(args + ["--method", "implicit_adams", "--out", str(tmp_path / "b")]) == 2
    assert "step_size" in capsys.readouterr().err
