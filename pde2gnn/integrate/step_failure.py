"""Failed linear solves inside an adaptive step: a step rejection, not the end of the solve.

A stage's linear solve (:mod:`pde2gnn.integrate.linsolve`) that does not converge raises
:class:`LinearSolveFailure`. The adaptive loops (:mod:`pde2gnn.integrate.imex`,
:mod:`pde2gnn.integrate.rosenbrock`) then reject the step and retry it with h shrunk by
:data:`FAILURE_SHRINK`, as CVODE does after a convergence failure (Hindmarsh et al., "SUNDIALS:
Suite of nonlinear and differential/algebraic equation solvers", ACM TOMS 31 (2005) 363-396,
sec. 2.1: eta = 0.25, at most MXNCF = 10 failures in one step) and PETSc TS does on a
``KSP_DIVERGED`` reason (``TSAdapt``: a rejected step). A smaller h makes I - h a_ii L closer to
the identity, so Krylov iterations converge faster and a singular stage matrix (an unstable
eigenvalue 1 / (h a_ii) of L) is left behind. The solve raises :class:`SolverError` only after
:data:`MAX_LINEAR_FAILURES` failures in a row (or a step-size underflow). Fixed-step solves and
the backward passes (a transposed solve) have no step to shrink: there the failure is a
SolverError.
"""
from __future__ import annotations

import math

from pde2gnn.errors import SolverError

#: consecutive failed linear solves of one step before an adaptive solve gives up (CVODE's
#: MXNCF = 10; Hindmarsh et al., ACM TOMS 31 (2005) 363-396, sec. 2.1)
MAX_LINEAR_FAILURES = 10
#: the factor a failed linear solve shrinks the step by before the retry (CVODE's ETACF)
FAILURE_SHRINK = 0.25
#: after a failure at h, the next steps stay below a cap, first this times h, growing by
#: :data:`CAP_GROWTH` per accepted step: without it the step-size controller (up to 10x per
#: step) goes straight back to where the solver failed, and a solve where large steps keep
#: failing alternates between failures and retries; with it, such a solve fails once per
#: about six accepted steps, and a transient failure is forgotten after those six
CAP_AFTER_FAILURE = 0.5
#: iterations a Krylov stage solve inside an adaptive step may take before the step is
#: rejected (None: ``linear_maxiter``). Measured on GREAD (Cora, T = 600, seed 2, 2 epochs):
#: 400 and 120 cut the products with L per solve from about 14,000 to 4,300 and 2,500 (more
#: steps: 78 and 92 evaluations of N); left at None until measured on more cases
ADAPTIVE_MAXITER = None
CAP_GROWTH = 2.0 ** 0.25


class LinearSolveFailure(SolverError):
    """A stage's linear solve that did not converge (``residual`` reached against ``tol``,
    2-norms; nan for a failed factorisation). The adaptive loops treat it as a step rejection
    (:func:`shrink_after_failure`), as CVODE and PETSc TS do; elsewhere it is a SolverError."""

    def __init__(self, message: str, residual: float = math.nan, tol: float = math.nan):
        super().__init__(message)
        self.residual, self.tol = residual, tol


def shrink_after_failure(e: LinearSolveFailure, h: float, failures: int, t: float,
                         method: str, name: str) -> float:
    """The step to retry with after ``failures`` consecutive linear-solver failures at step
    size ``h`` (time ``t``): ``h * FAILURE_SHRINK``.

    Raises:
        SolverError: after :data:`MAX_LINEAR_FAILURES` failures in a row, naming the time,
            the step size, the residual reached and the options to change."""
    if failures < MAX_LINEAR_FAILURES:
        return h * FAILURE_SHRINK
    raise SolverError(f"{method}: the linear solve of an implicit stage failed {failures} times "
                      f"in a row at t = {t:.6g}, the step shrunk by {FAILURE_SHRINK:g} each "
                      f"time down to {h:.3g}, in the solve of {name}: residual {e.residual:.3g} "
                      f"against {e.tol:.3g}; raise linear_maxiter, choose another "
                      f"linear_solver, or loosen rtol/atol. Last failure: {e}") from None
