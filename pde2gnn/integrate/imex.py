"""The additive Runge-Kutta loop: implicit and IMEX methods on the split f = L y + N(t, y).

Same conventions as the explicit loop (:mod:`pde2gnn.integrate.rk`, torchdiffeq's semantics): the error
ratio is the RMS norm of ``err / (atol + rtol * max(|y0|, |y1|))``, a step is accepted when it
is <= 1, the next step is ``h * min(10, max(0.9 / ratio^(1/order), 0.2))``, the first step is
Hairer-Norsett-Wanner's (sec. II.4), steps are not clipped to the output times and the outputs
are read off a cubic Hermite interpolant through y0, y1, f(y0), f(y1) (third order; the
Krylov-free dense output of Kennedy & Carpenter's tables is not used). Fixed-step methods step
on the output times (or a grid of ``step_size``) and interpolate linearly, as torchdiffeq does.

With a direct solver (one sparse LU per distinct h a_ii) step sizes are rounded down to a power
of sqrt(2), so that the few factorisations kept serve many steps (BDF codes likewise change
the step only by large factors).

Decreasing output times integrate backwards: the solve runs on s = -t for g(s, y) = -f(-s, y),
i.e. L -> -L and N(t, y) -> -N(-t, y), as torchdiffeq does (``_flip``).

Counts are split: ``nfe`` evaluations of N (the max-NFE guard counts these), ``products``
with L (or L^T), linear-solver ``iterations``, ``solves`` and ``factorizations``.
"""
from __future__ import annotations

import math
from typing import Callable, List, NamedTuple, Optional, Sequence

import torch
from torch import Tensor

from pde2gnn.errors import OptionError, SolverError
from pde2gnn.integrate.dense_output import hermite as _hermite
from pde2gnn.integrate.rk import _next_step, _rms, check_nfe, stage_sum, step_grid
from pde2gnn.integrate.imex_tableaus import IMEX_TABLEAUS, ROSENBROCK_TABLEAUS, ARKTableau
from pde2gnn.integrate.linsolve import SolveStats, StageSolver
from pde2gnn.integrate import step_failure
from pde2gnn.integrate.step_failure import (CAP_AFTER_FAILURE, CAP_GROWTH,
                                             LinearSolveFailure, shrink_after_failure)


class IMEXSolution(NamedTuple):
    """What :func:`imex_solve` returns: ``ys [len(t), *y0.shape]``; ``nfe`` evaluations of N;
    ``products`` with L; linear-solver ``iterations``; ``solves``; ``factorizations``;
    accepted ``steps`` and ``rejected`` steps; ``linear_solver`` the solver used;
    ``jacobians``: Jacobians of f evaluated and ``probes``: the vector-Jacobian products they
    took (methods on the Jacobian split only); ``linear_rejections``: the rejected steps
    whose linear solve failed (counted in ``rejected`` too; :mod:`.step_failure`)."""

    ys: Tensor
    nfe: int
    products: int
    iterations: int
    solves: int
    factorizations: int
    steps: int
    rejected: int
    linear_solver: str
    jacobians: int = 0
    probes: int = 0
    linear_rejections: int = 0


def imex_solve(op, rest: Callable[[Tensor, Tensor], Tensor], y0: Tensor, t: Sequence[float], *,
               method: str = "ark3", rtol: float = 1e-7, atol: float = 1e-9,
               step_size: Optional[float] = None, max_nfe: Optional[int] = None,
               name: str = "the ODE", affine: bool = False, linear_solver: str = "auto",
               linear_maxiter: int = 2000, trace: Optional[dict] = None,
               field: Optional[Callable[[Tensor, Tensor], Tensor]] = None) -> IMEXSolution:
    """Integrate dy/dt = L y + N(t, y) from y(t[0]) = y0, returning y at every time of ``t``.

    Args:
        op: L, with ``apply(y)``, ``apply_t(v)``, ``diag()``, ``matrix()``,
            ``is_symmetric()`` (:meth:`pde2gnn.compiler.backend.module.VectorField.split_operator`).
        rest: N(t, y) (t a 0-dim tensor of y's dtype), y of y0's shape ``[N, D]`` or
            ``[B, N, D]``.
        t: output times, strictly monotonic (increasing or decreasing), time units.
        method: a name in :data:`IMEX_TABLEAUS` or :data:`ROSENBROCK_TABLEAUS`
            (:mod:`.rosenbrock`).
        rtol, atol: tolerances of adaptive methods; the linear solves stop at 1e-3 of them.
        step_size: the grid step of a fixed-step solve (None: the output times for a
            fixed-step method; adaptive steps for an adaptive one). Given to an adaptive
            method, it steps on the grid without error control.
        max_nfe: raise after this many evaluations of N.
        affine: N does not depend on y (the field is affine): fully implicit methods then need
            only linear solves.
        linear_solver, linear_maxiter: see :class:`pde2gnn.integrate.linsolve.StageSolver`.
        trace: a dict the solve fills for the discrete adjoint (:mod:`.imex_adjoint`): ``run``
            (the stepper) and ``steps``, one ``(s0, h, s1, y0)`` per accepted step (s = sign t).
        field: f(t, y) = L y + N(t, y) in one evaluation, for the methods on the Jacobian
            split (``ark3j``, ``ark4j``, :mod:`.linearised`); None: ``rest + L``.

    Raises:
        OptionError: an unknown method; times not strictly monotonic; a fully implicit method
            on a field whose N depends on the state with gradients required, or without L's
            matrix (Newton stages, :mod:`.newton`, are CPU-only and gradient-free); gradients
            required (y0 or the field's parameters) through ``rodas4`` / ``rodas5p``.
        SolverError: max_nfe exceeded, step-size underflow, a linear solve that does not
            converge (naming time, step and residual).
    """
    if method not in IMEX_TABLEAUS and method not in ROSENBROCK_TABLEAUS:
        raise OptionError(f"unknown implicit / IMEX method '{method}' (choose from "
                          f"{', '.join(list(IMEX_TABLEAUS) + list(ROSENBROCK_TABLEAUS))})")
    tab = IMEX_TABLEAUS.get(method)
    if tab is not None and tab.fully_implicit and not affine and torch.is_grad_enabled() \
            and y0.requires_grad:
        raise OptionError(f"method '{method}' treats N implicitly too (Newton iterations, "
                          f"without gradients); {name} is not affine and needs gradients: "
                          "use an IMEX method (ars232, ars443, ark3, ark4), which takes N "
                          "explicitly and L implicitly")
    rb = ROSENBROCK_TABLEAUS.get(method)
    if rb is not None and not rb.w_method and torch.is_grad_enabled() and (
            y0.requires_grad or any(p.requires_grad for p in getattr(field, "parameters",
                                                                       lambda: ())())):
        raise OptionError(f"method '{method}' is not a W-method: differentiated with its "
                          "Jacobian held fixed, its gradients are only first-order accurate; "
                          "use ros34pw2 (a W-method, whose derivative keeps its order) or an "
                          "IMEX method (ark3, ark4) to train")
    ts = [float(v) for v in (t.tolist() if torch.is_tensor(t) else t)]
    inc = all(b > a for a, b in zip(ts, ts[1:]))
    dec = all(b < a for a, b in zip(ts, ts[1:]))
    if not ts or not (inc or dec):
        raise OptionError(f"output times must be strictly increasing or decreasing, got {ts}")
    sign = 1.0 if inc or len(ts) == 1 else -1.0
    if tab is None:
        from pde2gnn.integrate.rosenbrock import rosenbrock_solve
        ys, c = rosenbrock_solve(ROSENBROCK_TABLEAUS[method],
                                 field or (lambda tt, y: rest(tt, y) + op.apply(y)), op, y0,
                                 [sign * v for v in ts], sign, rtol=rtol, atol=atol,
                                 step_size=step_size, max_nfe=max_nfe, name=name,
                                 linear_maxiter=linear_maxiter)
        return IMEXSolution(torch.stack(ys), c["nfe"], c["products"], c["iterations"],
                            c["solves"], c["factorizations"], c["steps"], c["rejected"],
                            "direct", c["jacobians"], c["probes"], c["linear_rejections"])
    stats = SolveStats()
    solver = StageSolver(op, linear_solver, rtol=1e-3 * rtol, atol=1e-3 * atol,
                         maxiter=linear_maxiter, stats=stats, sign=sign)
    run = _Run(tab, solver, rest, sign, max_nfe, name, affine)
    if trace is not None:
        run.trace = trace["steps"] = []
        trace["run"] = run
    if tab.linearised and not affine:     # affine: J = L, the split is already exact
        from pde2gnn.integrate.linearised import JacobianSplit
        run.split = JacobianSplit(run, field)
    if tab.fully_implicit and not affine:
        from pde2gnn.integrate.newton import NewtonStages
        run.newton = NewtonStages(run, rtol, atol)
    s = [sign * v for v in ts]
    if trace is not None:
        trace["s"] = s
    ys = run.adaptive(y0, s, rtol, atol) if tab.adaptive and step_size is None \
        else run.fixed(y0, s, step_size)
    return IMEXSolution(torch.stack(ys), run.nfe, stats.products, stats.iterations,
                        stats.solves, stats.factorizations, run.steps, run.rejected,
                        run.solver.kind(y0), run.jacobians, run.probes, run.linear_rejections)


class _Run:
    def __init__(self, tab: ARKTableau, solver: StageSolver, rest, sign: float,
                 max_nfe: Optional[int], name: str, affine: bool):
        self.tab, self.solver, self._rest, self.sign = tab, solver, rest, sign
        self.max_nfe, self.name, self.affine = max_nfe, name, affine
        self.nfe = self.steps = self.rejected = self.linear_rejections = 0
        # y1 is the last stage (stiffly accurate in both parts): f(y1) is known
        self.last_is_y1 = tuple(tab.be) == tuple(tab.ae[-1]) and tuple(tab.bi) == tuple(tab.ai[-1])
        # the embedded solutions are not L-stable: their error estimate on stiff modes is
        # O(1), not O(h^p). Filtering it by (I - h gamma L)^-1 (Hairer & Wanner, "Solving ODEs
        # II", sec. IV.8, eq. (8.20), as Radau5 does) keeps the estimate's order on smooth
        # modes and damps it on stiff ones: one more solve per step, with the stage matrix.
        self.gamma = max(row[i] for i, row in enumerate(tab.ai))
        self.filter_error = tab.adaptive
        self.newton = None      # NewtonStages for implicit stages with a non-linear N
        self.trace: Optional[list] = None   # accepted steps (s0, h, s1, y0) for the adjoint
        self.jacobians = self.probes = 0
        self.split = None       # JacobianSplit (pde2gnn.integrate.linearised): L = J(y_n)

    def before_step(self, s0: float, y0: Tensor, n0: Tensor, l0: Tensor):
        """(n0, l0) for the step from (s0, y0): N and L y0 of the split the step uses."""
        return (n0, l0) if self.split is None else self.split.before_step(s0, y0, n0, l0)

    def after_step(self, accepted: bool, ratio: float) -> None:
        """Told whether the step was accepted (error ratio ``ratio``)."""
        if self.split is not None:
            self.split.frozen.judge(accepted, ratio)

    def quantise(self, h: float, new: float) -> float:
        """The next step from the controller's ``new``: with a direct solver, rounded down to
        a power of sqrt(2), so that factorisations recur."""
        if self.split is not None:
            return self.split.frozen.quantise(h, new)
        if self.solver.kind(self.like) != "direct":
            return new
        return 2.0 ** (math.floor(2 * math.log2(new)) / 2)

    def N(self, s: float, y: Tensor) -> Tensor:
        self.nfe += 1
        check_nfe(self.nfe, self.max_nfe, self.name)
        tt = torch.full((), self.sign * s, dtype=y.dtype, device=y.device)
        out = self._rest(tt, y)
        return out if self.sign == 1.0 else -out

    def step(self, s0: float, h: float, y0: Tensor, n0: Tensor, l0: Tensor):
        """One step: stage values N_i, L Y_i and y1."""
        tab, solver = self.tab, self.solver
        ns: List[Tensor] = []
        ls: List[Tensor] = []
        guess = y0
        if self.newton is not None:
            self.newton.fresh = False
            if self.newton.J is None:
                self.newton.jacobian(s0, y0)
        for i in range(tab.stages):
            if i == 0 and tab.explicit_first:
                ns.append(n0)
                ls.append(l0)
                continue
            w = [h * a for a in tab.ae[i][:i]] + [h * a for a in tab.ai[i][:i]]
            rhs = stage_sum(y0, w, ns + ls) if i else y0
            g = h * tab.ai[i][i]
            si = s0 + tab.c[i] * h
            where = f"at t = {self.sign * si:.6g} (step size {h:.3g}, stage {i + 1})"
            if self.newton is not None:
                got = self.newton.solve(g, si, rhs, guess, where)
                if got is None:
                    return None
                y, n = got
            elif tab.fully_implicit:      # affine: N does not depend on y
                n = self.N(si, rhs)
                y = solver.solve(g, rhs + g * n, guess, where)
            else:
                y = solver.solve(g, rhs, guess, where)
                n = self.N(si, y)
            guess = y
            ns.append(n)
            ls.append(solver.L(y))
        if self.last_is_y1:
            return ns, ls, guess
        y1 = stage_sum(y0, [h * b for b in tab.be] + [h * b for b in tab.bi], ns + ls)
        return ns, ls, y1

    def f_at(self, s: float, y: Tensor):
        return self.N(s, y), self.solver.L(y)

    def adaptive(self, y0: Tensor, ts: List[float], rtol: float, atol: float) -> List[Tensor]:
        tab = self.tab
        s0 = ts[0]
        n0, l0 = self.f_at(s0, y0)
        h = self._initial_step(s0, y0, n0 + l0, rtol, atol)
        self.like = y0
        out, last, failures, cap = [y0], None, 0, math.inf
        self.solver.give_up = True      # a stalled GMRES: a rejected step, not maxiter products
        self.solver.adaptive_maxiter = step_failure.ADAPTIVE_MAXITER
        for target in ts[1:]:
            while target > s0:
                if not s0 + h > s0:
                    raise SolverError(f"{tab.name}: step size underflow (h = {h:.3g}) at t = "
                                      f"{self.sign * s0:.6g} in the solve of {self.name}")
                n0, l0 = self.before_step(s0, y0, n0, l0)
                try:
                    got = self.step(s0, h, y0, n0, l0)
                    err = None if got is None else self._error(h, got)
                except LinearSolveFailure as e:     # a rejected step (CVODE, PETSc TS)
                    failures += 1
                    self.rejected += 1
                    self.linear_rejections += 1
                    cap = min(cap, CAP_AFTER_FAILURE * h)   # no regrowth to where it failed
                    h = shrink_after_failure(e, h, failures, self.sign * s0, tab.name,
                                             self.name)
                    continue
                if got is None:          # Newton failed: a smaller step
                    self.rejected += 1
                    h *= 0.25
                    continue
                failures = 0
                ns, ls, y1 = got
                with torch.no_grad():
                    tol = atol + rtol * torch.maximum(y0.abs(), y1.abs())
                    ratio = float(_rms(err / tol))
                    ratio = ratio if math.isfinite(ratio) else math.inf
                if ratio <= 1:
                    self.steps += 1
                    cap *= CAP_GROWTH
                    f0 = n0 + l0
                    if self.last_is_y1:
                        n1, l1 = ns[-1], ls[-1]
                    else:
                        n1, l1 = self.f_at(s0 + h, y1)
                    last = (s0, h, y0, y1, f0, n1 + l1)
                    if self.trace is not None:
                        self.trace.append((s0, h, s0 + h, y0))
                    s0, y0, n0, l0 = s0 + h, y1, n1, l1
                else:
                    self.rejected += 1
                self.after_step(ratio <= 1, ratio)
                h = self.quantise(h, min(cap, _next_step(h, ratio, tab.order)))
            sa, ha, ya, yb, fa, fb = last
            x = (target - sa) / ha
            out.append(yb if x == 1.0 else _hermite(x, ha, ya, yb, fa, fb))
        return out

    @torch.no_grad()
    def _error(self, h: float, got) -> Tensor:
        """The embedded error estimate of a step's stages ``got``, filtered on stiff modes."""
        tab, (ns, ls, _) = self.tab, got
        err = stage_sum(None, [h * e for e in tab.ee] + [h * e for e in tab.ei], ns + ls)
        if self.newton is not None:
            return self.newton.filter(h * self.gamma, err)
        if self.filter_error:
            return self.solver._raw(h * self.gamma, err, None, False, "(error)")
        return err

    def fixed(self, y0: Tensor, ts: List[float], step_size: Optional[float]) -> List[Tensor]:
        grid = step_grid(ts, step_size)
        out, j = [y0], 1
        n0, l0 = self.f_at(grid[0], y0)
        for s0, s1 in zip(grid[:-1], grid[1:]):
            h = s1 - s0
            n0, l0 = self.before_step(s0, y0, n0, l0)
            got = self.step(s0, h, y0, n0, l0)
            if got is None:
                raise SolverError(f"{self.tab.name}: Newton iterations did not converge at t = "
                                  f"{self.sign * s0:.6g} (step size {h:.3g}) in the solve of "
                                  f"{self.name}: reduce step_size or use an adaptive method")
            ns, ls, y1 = got
            self.steps += 1
            if self.trace is not None:
                self.trace.append((s0, h, s1, y0))
            self.after_step(True, 0.0)
            while j < len(ts) and s1 >= ts[j]:
                x = (ts[j] - s0) / h
                out.append(y1 if x == 1.0 else y0 if x == 0.0 else y0 + x * (y1 - y0))
                j += 1
            y0 = y1
            if s1 != grid[-1] and self.tab.explicit_first:
                n0, l0 = (ns[-1], ls[-1]) if self.last_is_y1 else self.f_at(s1, y1)
        return out

    def _initial_step(self, s0: float, y0: Tensor, f0: Tensor, rtol: float, atol: float):
        """Hairer, Norsett & Wanner II.4 (one evaluation of N and one product with L)."""
        with torch.no_grad():
            scale = atol + y0.abs() * rtol
            d0, d1 = float(_rms(y0 / scale)), float(_rms(f0 / scale))
            h0 = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
            y1 = y0 + h0 * f0
        # in the caller's autograd mode: a field prepared from a y(0) that requires grad
        # (weights from init(x), trained) refuses to be evaluated without autograd
        n1, l1 = self.f_at(s0 + h0, y1)
        with torch.no_grad():
            d2 = float(_rms((n1 + l1 - f0) / scale)) / h0
        h1 = max(1e-6, h0 * 1e-3) if max(d1, d2) <= 1e-15 else \
            (0.01 / max(d1, d2)) ** (1.0 / (self.tab.order + 1))
        return min(100 * h0, h1)
