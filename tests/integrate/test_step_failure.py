"""A linear solve that fails inside an adaptive implicit / IMEX step is a step rejection
(pde2gnn.integrate.step_failure; CVODE's and PETSc TS's practice): the step is retried at a
quarter of its size, later steps are capped below the size that failed, and only repeated
failures end the solve with a SolverError that names the time, the step size, the residual and
the options."""
import numpy as np
import pytest
import torch
from scipy.sparse.linalg import expm_multiply

from pde2gnn.compiler import pipeline as compiler
from pde2gnn.errors import SolverError
from pde2gnn.graph import construction as graphs
from pde2gnn.integrate.imex import imex_solve
from pde2gnn.integrate.linsolve import MatrixOperator, StageSolver, gmres
from pde2gnn.integrate.solve import ODEBlock, SolverConfig
from pde2gnn.integrate.step_failure import MAX_LINEAR_FAILURES, LinearSolveFailure

T, RTOL = 20.0, 1e-4


def _heat(n=16):
    pos, ei = graphs.grid_graph((n, n), (0, 0), (1, 1), periodic=True)
    f = compiler.compile("heat", torch.as_tensor(ei), n * n, dims={"d": 1})
    y0 = torch.randn(n * n, 1, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    return f.to(torch.float64), y0


@pytest.mark.parametrize("linear_solver", ["cg", "gmres"])
def test_failed_linear_solve_rejects_the_step(float64, linear_solver):
    """Heat on a 16x16 periodic grid to T = 20 with at most 5 Krylov iterations per stage
    solve: the large steps the controller asks for fail (before, the solve stopped there with
    a SolverError); the step is rejected and retried smaller, and the solution meets the
    tolerance against expm like the unrestricted solve (which needs no rejection)."""
    f, y0 = _heat()
    f.prepare(y0)
    exact = expm_multiply(T * f.matrix(), y0.numpy())
    errors, rejections = {}, {}
    for maxiter in (2000, 5):
        block = ODEBlock(f, T, SolverConfig("ark3", rtol=RTOL, atol=1e-6,
                                             linear_solver=linear_solver,
                                             linear_maxiter=maxiter))
        y = block(y0)
        errors[maxiter] = float(np.abs(y.numpy() - exact).max() / np.abs(exact).max())
        rejections[maxiter] = block.linear_rejections
    assert rejections[2000] == 0 and rejections[5] > 0, rejections
    # each accepted step meets the local tolerance: the global error stays within 10 rtol
    assert max(errors.values()) < 10 * RTOL, errors


def test_repeated_failures_raise_naming_time_step_residual(float64):
    """A solver that never converges (no iterations allowed): MAX_LINEAR_FAILURES rejections
    in a row, then one SolverError naming t, the step size, the residual and the options."""
    f, y0 = _heat(8)
    f.prepare(y0)
    with pytest.raises(SolverError, match=rf"failed {MAX_LINEAR_FAILURES} times in a row at "
                       r"t = .*down to .*residual .* against .*linear_maxiter") as info:
        imex_solve(f.split_operator(), f.rest, y0, [0.0, 1.0], method="ark3", affine=True,
                   linear_solver="cg", linear_maxiter=0)
    assert not isinstance(info.value, LinearSolveFailure)      # the loop's error, not a stage's


def test_fixed_step_failure_is_a_solver_error(float64):
    """Without step-size control there is nothing to shrink: the stage's failure is raised."""
    f, y0 = _heat(8)
    with pytest.raises(SolverError, match=r"t = .*step size.*residual.*linear_maxiter"):
        ODEBlock(f, 1.0, SolverConfig("ars232", step_size=0.5, linear_solver="gmres",
                                      linear_maxiter=1))(y0)


def test_gmres_gives_up_on_a_stall(float64):
    """GMRES(restart) on a matrix where restarted GMRES stagnates (the cyclic shift: every
    Krylov space of dimension < n leaves the residual unchanged): with ``give_up`` it stops
    after two restart cycles instead of running to maxiter; without, it runs to maxiter."""
    n = 50
    shift = np.roll(np.eye(n), 1, axis=0)
    apply = lambda v: torch.as_tensor(shift) @ v       # noqa: E731
    b = torch.zeros(n, 1, dtype=torch.float64)
    b[0] = 1.0
    x0 = torch.zeros_like(b)
    _, its, res, ok = gmres(apply, b, x0, None, 1e-10, 400, restart=10, give_up=True)
    assert not ok and its == 10 and res == pytest.approx(1.0)
    _, its, _, ok = gmres(apply, b, x0, None, 1e-10, 400, restart=10)
    assert not ok and its == 400


def test_stage_failure_carries_residual(float64):
    A = np.roll(np.eye(30), 1, axis=0)
    solver = StageSolver(MatrixOperator(A), "gmres", rtol=1e-12, atol=1e-14, maxiter=5)
    b = torch.zeros(30, 1, dtype=torch.float64)
    b[0] = 1.0
    with pytest.raises(LinearSolveFailure) as info:
        solver.solve(-1.0, b)       # I + shift: GMRES(40) needs 30 iterations
    assert info.value.residual > info.value.tol > 0


def test_adaptive_iteration_budget(float64, monkeypatch):
    """ADAPTIVE_MAXITER caps a stage solve inside an adaptive step below linear_maxiter:
    the same rejections as linear_maxiter = 5, the same accuracy."""
    from pde2gnn.integrate import step_failure
    f, y0 = _heat()
    f.prepare(y0)
    exact = expm_multiply(T * f.matrix(), y0.numpy())
    monkeypatch.setattr(step_failure, "ADAPTIVE_MAXITER", 5)
    block = ODEBlock(f, T, SolverConfig("ark3", rtol=RTOL, atol=1e-6, linear_solver="cg"))
    y = block(y0)
    assert block.linear_rejections > 0
    assert float(np.abs(y.numpy() - exact).max() / np.abs(exact).max()) < 10 * RTOL
