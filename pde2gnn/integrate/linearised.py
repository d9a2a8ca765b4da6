"""Additive Runge-Kutta on the Jacobian split: the methods ``ark3j`` and ``ark4j``.

The compiler's split f = L y + N(t, y) leaves in N every term whose weights depend on the
state; when such a term is itself stiff (``lap(c^3)`` in Cahn-Hilliard grows as 1/h^2), an IMEX
step on that split is bounded by N's explicit stability limit. Here the split is taken about
the current state instead:

    f(t, y) = J_n y + (f(t, y) - J_n y),     J_n = df/dy (t_n, y_n),

J_n implicit (the ARK tableau's A_I) and the remainder explicit (A_E). The split is exact for
any frozen J_n, so Kennedy & Carpenter's ARK3(2)4L[2]SA / ARK4(3)6L[2]SA keep their orders 3
and 4 whatever J_n is (the additive order conditions hold for every split); the remainder's
Jacobian J(y) - J_n is O(|y - y_n|), so steps are sized by accuracy, not by stability. This is
the "linearly implicit" (semi-implicit) use of IMEX pairs: Zhong, "Additive semi-implicit
Runge-Kutta methods for computing high-speed nonequilibrium reactive flows", J. Comput. Phys.
128 (1996) 19-31; Kennedy & Carpenter, Appl. Numer. Math. 44 (2003), sec. 2 ("the splitting
may change from step to step"). Unlike Rosenbrock-W methods no extra order conditions are
needed for a stale J (W-methods need them), so J and its factorisations are reused across
steps, by the policy of :class:`pde2gnn.integrate.jacobian.FrozenJacobian`: J exact (coloured
vector-Jacobian products), re-evaluated when the error grows on an old J; the stage matrix
I - h gamma J factorised once per (J, h) by SuperLU in a nested-dissection order; h held while
the step-size controller asks for less than a doubling (as BDF codes hold h).

Stability: L-stable in the J_n part (R(-inf) = 0, ESDIRK stiffly accurate), so the stiff
linearised dynamics are damped for any h; the remainder is explicit and its stability limit
grows as |J(y) - J_n| shrinks. CPU only (SuperLU); gradients flow through the stages with J_n
held constant (the discrete solution depends on J_n only at the order of the local error).
"""
from __future__ import annotations

import torch
from torch import Tensor

from pde2gnn.integrate.jacobian import FrozenJacobian


class JacobianSplit:
    """Turns the additive Runge-Kutta loop of :mod:`pde2gnn.integrate.imex` (``run``, whose
    hooks call this) into one on L = J(t_n, y_n), N = f - J(t_n, y_n) y (see the module).
    ``field`` is f(t, y) (None: ``rest + L``).

    Raises:
        OptionError: a state off the CPU (SuperLU), or a Jacobian too costly to probe.
    """

    def __init__(self, run, field=None):
        solver, rest = run.solver, run._rest
        op = solver.op
        self.run = run
        self.f = field if field is not None else (lambda t, y: rest(t, y) + op.apply(y))
        self.frozen = FrozenJacobian(self.f, op, run.sign, solver.stats, solver.rtol,
                                     solver.atol, solver.maxiter)

    def _rest(self, t: Tensor, y: Tensor) -> Tensor:
        return self.f(t, y) - self.run.solver.op.apply(y)

    def before_step(self, s0: float, y0: Tensor, n0: Tensor, l0: Tensor):
        """(N, L y0) of the split of the step from (s0, y0), after refreshing a stale J."""
        if not self.frozen.stale:
            return n0, l0
        run = self.run
        t = torch.full((), run.sign * s0, dtype=y0.dtype, device=y0.device)
        run.solver = self.frozen.refresh(t, y0)
        run.jacobians = self.frozen.evaluations
        run.probes = self.frozen.jac.products
        run._rest = self._rest
        l_new = run.solver.L(y0)
        return n0 + l0 - l_new, l_new
