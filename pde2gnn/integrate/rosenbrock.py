"""Rosenbrock-W methods on the whole Jacobian: ``ros34pw2``.

A Rosenbrock method (Hairer & Wanner, "Solving ODEs II", sec. IV.7) replaces the Newton
iterations of an implicit Runge-Kutta stage by one linear solve with I - h gamma J: every
stage value is filtered by the resolvent, the stiff part of f (linear or not) is damped, and
steps are sized by accuracy. A W-method (Steihaug & Wolfbrandt, Math. Comp. 33 (1979) 521-534)
keeps its order for any matrix in place of J, so J and the factorisation of I - h gamma J are
reused over steps (:class:`pde2gnn.integrate.jacobian.FrozenJacobian`'s policy). ROS34PW2
(Rang & Angermann, BIT 45 (2005) 761-787) is a W-method of order 3 with an embedded order-2
solution, stiffly accurate and L-stable: R(-inf) = 0.

Per step (ROS34PW2): 4 evaluations of f (the first is the last step's f(y1)), 4 solves with
one matrix, no products with J, and, for a field that depends on t, one more evaluation for
the time derivative f_t (forward difference; found unnecessary at the first step when
f(t + dt, y) = f(t, y) exactly). Step control, dense output (cubic Hermite) and the max-NFE
guard are those of :mod:`pde2gnn.integrate.imex`; decreasing output times solve
g(s, y) = -f(-s, y).

The steps run in the form without products with J (Hairer & Wanner II, eq. (7.25'):
:attr:`~pde2gnn.integrate.imex_tableaus.RosenbrockTableau.transformed`). Rodas4 and Rodas5P
(``rodas4``, ``rodas5p``) are not W-methods: their order needs the exact J of the step's start,
so J is evaluated and factorised at every step, the controller's step sizes are kept as they
are, and the last step ends on the last output time (its value is a step's, not the cubic
interpolant's, whose order 3 is below theirs).
"""
from __future__ import annotations

import math
from typing import List, Optional

import torch
from torch import Tensor

from pde2gnn.errors import SolverError
from pde2gnn.integrate.step_failure import (CAP_AFTER_FAILURE, CAP_GROWTH,
                                             LinearSolveFailure, shrink_after_failure)
from pde2gnn.integrate.dense_output import hermite
from pde2gnn.integrate.imex_tableaus import RosenbrockTableau
from pde2gnn.integrate.jacobian import FrozenJacobian
from pde2gnn.integrate.linsolve import SolveStats
from pde2gnn.integrate.rk import _initial_step, _next_step, _rms, check_nfe, stage_sum, step_grid


def rosenbrock_solve(tab: RosenbrockTableau, f, op, y0: Tensor, s: List[float], sign: float, *,
                     rtol: float, atol: float, step_size: Optional[float],
                     max_nfe: Optional[int], name: str, linear_maxiter: int):
    """Integrate dy/ds = sign f(sign s, y) over the increasing times ``s`` (see
    :func:`pde2gnn.integrate.imex.imex_solve`, which calls this for a method of
    :data:`~pde2gnn.integrate.imex_tableaus.ROSENBROCK_TABLEAUS`, and packs the result in an
    :class:`~pde2gnn.integrate.imex.IMEXSolution`).

    Returns:
        (ys, counts): y at each time of ``s`` (``[N, D]`` each) and the counts ``nfe``,
        ``products`` (with J), ``iterations`` (0), ``solves``, ``factorizations``, ``steps``,
        ``rejected`` (``linear_rejections`` of them by a failed LU), ``jacobians``, ``probes``.

    Args:
        f: f(t, y), y ``[N, D]`` (and ``[B, N, D]`` for the Jacobian's probes).
        op: the split's L (its graph gives J's pattern).

    Raises:
        OptionError: a state off the CPU, a Jacobian too costly to probe.
        SolverError: max_nfe exceeded, step-size underflow, a failed factorisation.
    """
    stats = SolveStats()
    run = _Rosenbrock(tab, f, sign, max_nfe, name,
                      FrozenJacobian(f, op, sign, stats, 1e-3 * rtol, 1e-3 * atol,
                                     linear_maxiter, every_step=not tab.w_method))
    ys = run.adaptive(y0, s, rtol, atol) if step_size is None else run.fixed(y0, s, step_size)
    return ys, dict(nfe=run.nfe, products=stats.products, iterations=stats.iterations,
                    solves=stats.solves, factorizations=stats.factorizations, steps=run.steps,
                    rejected=run.rejected, linear_rejections=run.linear_rejections,
                    jacobians=run.frozen.evaluations,
                    probes=run.frozen.jac.products)


class _Rosenbrock:
    def __init__(self, tab: RosenbrockTableau, f, sign: float, max_nfe, name: str,
                 frozen: FrozenJacobian):
        self.tab, self.f, self.sign, self.max_nfe, self.name = tab, f, sign, max_nfe, name
        self.frozen = frozen
        self.nfe = self.steps = self.rejected = self.linear_rejections = 0
        self.autonomous: Optional[bool] = None

    def F(self, s: float, y: Tensor) -> Tensor:
        """g(s, y) = sign f(sign s, y), counted."""
        self.nfe += 1
        check_nfe(self.nfe, self.max_nfe, self.name)
        out = self.f(torch.full((), self.sign * s, dtype=y.dtype, device=y.device), y)
        return out if self.sign == 1.0 else -out

    def _ft(self, s: float, y: Tensor, f0: Tensor) -> Optional[Tensor]:
        """dg/ds at (s, y) by a forward difference; None for an autonomous field."""
        if self.autonomous:
            return None
        delta = math.sqrt(torch.finfo(y.dtype).eps) * max(1.0, abs(s))
        f1 = self.F(s + delta, y)
        if self.autonomous is None:
            self.autonomous = bool(torch.equal(f1, f0))
            if self.autonomous:
                return None
        return (f1 - f0) / delta

    def step(self, s0: float, h: float, y0: Tensor, f0: Tensor, ft: Optional[Tensor]):
        """(y1, error estimate) of one step from (s0, y0) with f0 = g(s0, y0), in the form
        without products with J (:attr:`RosenbrockTableau.transformed`)."""
        tab, solver = self.tab, self.frozen.solver
        a, C, m, e = tab.transformed
        g = h * tab.gamma
        us: List[Tensor] = []
        for i in range(tab.stages):
            where = f"at t = {self.sign * s0:.6g} (step size {h:.3g}, stage {i + 1})"
            fi = f0 if i == 0 else self.F(s0 + tab.c[i] * h, stage_sum(y0, a[i][:i], us))
            terms, w = [fi] + us, [g] + [tab.gamma * c for c in C[i][:i]]
            if ft is not None and tab.d[i] != 0.0:
                terms.append(ft)
                w.append(g * h * tab.d[i])
            us.append(solver.solve(g, stage_sum(None, w, terms), None, where))
        return stage_sum(y0, m, us), stage_sum(None, e, us)

    def _refresh(self, s0: float, y0: Tensor) -> None:
        if self.frozen.stale:
            self.frozen.refresh(torch.full((), self.sign * s0, dtype=y0.dtype,
                                           device=y0.device), y0)

    def adaptive(self, y0: Tensor, ts: List[float], rtol: float, atol: float) -> List[Tensor]:
        s0 = ts[0]
        f0 = self.F(s0, y0)
        h = _initial_step(self.F, s0, y0, f0, self.tab.order, rtol, atol)
        out, last, failures, cap = [y0], None, 0, math.inf
        for target in ts[1:]:
            while target > s0:
                if not s0 + h > s0:
                    raise SolverError(f"{self.tab.name}: step size underflow (h = {h:.3g}) at "
                                      f"t = {self.sign * s0:.6g} in the solve of {self.name}")
                # a method that factorises at every step anyway ends on the last output time
                # (scipy's t_bound): y(T) is a step's value, not the cubic interpolant's
                clipped = self.frozen.every_step and s0 + h >= ts[-1]
                if clipped:
                    h = ts[-1] - s0
                self._refresh(s0, y0)
                try:
                    y1, err = self.step(s0, h, y0, f0, self._ft(s0, y0, f0))
                except LinearSolveFailure as e:     # a rejected step (.step_failure)
                    failures += 1
                    self.rejected += 1
                    self.linear_rejections += 1
                    cap = min(cap, CAP_AFTER_FAILURE * h)   # no regrowth to where it failed
                    h = shrink_after_failure(e, h, failures, self.sign * s0, self.tab.name,
                                             self.name)
                    continue
                failures = 0
                with torch.no_grad():
                    tol = atol + rtol * torch.maximum(y0.abs(), y1.abs())
                    ratio = float(_rms(err / tol))
                    ratio = ratio if math.isfinite(ratio) else math.inf
                self.frozen.judge(ratio <= 1, ratio)
                if ratio <= 1:
                    self.steps += 1
                    cap *= CAP_GROWTH
                    s1 = ts[-1] if clipped else s0 + h
                    f1 = self.F(s1, y1)
                    last = (s0, h, y0, y1, f0, f1)
                    s0, y0, f0 = s1, y1, f1
                else:
                    self.rejected += 1
                h = self.frozen.quantise(h, min(cap, _next_step(h, ratio, self.tab.order)))
            sa, ha, ya, yb, fa, fb = last
            x = (target - sa) / ha
            out.append(yb if x == 1.0 else hermite(x, ha, ya, yb, fa, fb))
        return out

    def fixed(self, y0: Tensor, ts: List[float], step_size: float) -> List[Tensor]:
        grid = step_grid(ts, step_size)
        out, j = [y0], 1
        f0 = self.F(grid[0], y0)
        for s0, s1 in zip(grid[:-1], grid[1:]):
            h = s1 - s0
            self._refresh(s0, y0)
            y1, _ = self.step(s0, h, y0, f0, self._ft(s0, y0, f0))
            self.steps += 1
            self.frozen.judge(True, 0.0)
            while j < len(ts) and s1 >= ts[j]:
                x = (ts[j] - s0) / h
                out.append(y1 if x == 1.0 else y0 if x == 0.0 else y0 + x * (y1 - y0))
                j += 1
            y0 = y1
            if s1 != grid[-1]:
                f0 = self.F(s1, y1)
        return out
