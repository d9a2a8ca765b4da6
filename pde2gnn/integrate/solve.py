"""Integration: solver options, the fast Runge-Kutta path, torchdiffeq, adjoint, NFE counting.

Two integrators share torchdiffeq's vocabulary (method, rtol, atol, step_size, adjoint):

- ``pde2gnn`` (default): :func:`pde2gnn.integrate.rk.rk_solve`, explicit Runge-Kutta tableaus held as data
  with fused stage arithmetic (euler, midpoint, heun2, heun3, rk4, bosh3, dopri5, tsit5). It
  takes the same steps as torchdiffeq and costs a fraction of its bookkeeping; ``adjoint`` on
  the continuous adjoint of :mod:`pde2gnn.integrate.rk_adjoint`.
- ``torchdiffeq``: ``torchdiffeq.odeint`` / ``odeint_adjoint``; also used for its other methods
  (dopri8, the Adams methods, ...).

Implicit / IMEX methods run on :func:`pde2gnn.integrate.imex.imex_solve`, with ``adjoint`` on
its discrete adjoint (:mod:`pde2gnn.integrate.imex_adjoint`).

NFE are counted here, outside the vector field, so the field's forward stays free of Python
side effects (``torch.compile`` traces it once).
"""
from __future__ import annotations

import logging
import math
from dataclasses import replace
from typing import Optional

import torch
from torch import Tensor, nn
from torchdiffeq import odeint

from pde2gnn.compiler.backend.module import VectorField
from pde2gnn.errors import DataError, OptionError, SolverError
from pde2gnn.integrate.imex import imex_solve
from pde2gnn.integrate.imex_adjoint import imex_adjoint_solve
from pde2gnn.integrate.auto import choose, spectral_radius  # noqa: F401
from pde2gnn.integrate.memory import OverBudget, guard_for, guarded as _guarded, plan
from pde2gnn.integrate.solver_config import TORCHDIFFEQ_METHODS, SolverConfig
from pde2gnn.integrate.rk import TABLEAUS, affine_step, check_nfe, rk_solve
from pde2gnn.integrate.rk_adjoint import odeint_adjoint_solve, rk_adjoint_solve

log = logging.getLogger("pde2gnn")
def check_time(time, option: str = "time") -> float:
    """``time`` as a float after checking it is an end time: a real number, finite and above 0.

    Raises:
        OptionError: naming ``option``, for a non-number (a bool, a string, a tensor of more
            than one value), NaN, inf, zero or a negative time.
    """
    if torch.is_tensor(time) and time.numel() == 1:
        time = time.item()
    if isinstance(time, bool) or not isinstance(time, (int, float)):
        raise OptionError(f"{option} must be a number (the end time T > 0), got "
                          f"{type(time).__name__} {time!r}")
    try:
        value = float(time)
    except OverflowError:           # an int beyond the float range
        value = math.inf
    if not (math.isfinite(value) and value > 0):
        raise OptionError(f"{option} must be a finite number above 0 (the end time T), got "
                          f"{time!r}")
    return float(value)


def all_finite(x: Tensor) -> bool:
    """Whether every value of ``x`` is finite, in one pass when it is: a finite sum has no NaN
    or inf among its terms (either makes the sum NaN or inf), and only a non-finite sum (a NaN,
    an inf, or finite values overflowing) takes the elementwise ``torch.isfinite`` check."""
    with torch.no_grad():
        return x.numel() == 0 or bool(torch.isfinite(x.sum())) or bool(torch.isfinite(x).all())


def check_time_dtype(time: float, dtype: torch.dtype, option: str = "time") -> None:
    """Raise :class:`OptionError` naming ``option`` when ``time`` is not finite in ``dtype``
    (e.g. 1e39 in float32, whose largest value is 3.4e38)."""
    if dtype.is_floating_point and time > torch.finfo(dtype).max:
        raise OptionError(f"{option}={time!r} overflows {str(dtype).replace('torch.', '')} "
                          f"(largest {torch.finfo(dtype).max:.3g}), the dtype of the state")


class _Counted(nn.Module):
    """A vector field that counts its evaluations, with the max-NFE guard (torchdiffeq path)."""

    def __init__(self, field: nn.Module, max_nfe: Optional[int], name: str, guard=None):
        super().__init__()
        self.field, self.max_nfe, self.name, self.nfe = field, max_nfe, name, 0
        self.guard = guard      # a pde2gnn.integrate.memory.MemoryGuard, or None

    def forward(self, t: Tensor, y: Tensor) -> Tensor:
        self.nfe += 1
        check_nfe(self.nfe, self.max_nfe, self.name)
        if self.guard is not None:
            self.guard.check(t)
        return self.field(t, y)


class ODEBlock(nn.Module):
    """Integrates a :class:`VectorField` from t = 0 to t = ``time`` and returns y(time).

    Args:
        field: the compiled vector field.
        time: the end time T (>0, in the spec's time units).
        config: solver options.

    Attributes:
        nfe_forward: evaluations used by the last forward solve.
        nfe_backward: evaluations used by the last backward pass (adjoint only; else 0),
            valid after ``loss.backward()``.
        nfe_linear, linear_iterations: implicit / IMEX methods: products with L and
            linear-solver iterations of the last forward solve (``nfe_forward`` counts the
            evaluations of N there).
        linear_rejections: implicit / IMEX methods: steps of the last forward solve rejected
            because a linear solve failed (:mod:`pde2gnn.integrate.step_failure`).
        auto_choice, auto_estimates: ``method = "auto"``: the last estimate
            (:class:`~pde2gnn.integrate.auto.AutoChoice`) and how many were made (a choice is
            reused over a few solves while the weights move little: :meth:`_auto`).
        adjoint_report: ``adjoint`` on pde2gnn's solvers: the counts of the last solve's
            forward and backward passes (:mod:`pde2gnn.integrate.rk_adjoint`,
            :func:`pde2gnn.integrate.imex_adjoint.imex_adjoint_solve`).
        compile_seconds: ``config.compile``: seconds of wall time this block has spent in
            ``torch.compile``'s first calls (trace, compile and that call's run) over all its
            solves; 0.0 without compile. Solve timers subtract it (``pde2gnn simulate``).

    Raises:
        OptionError: ``time`` not a finite number above 0 (at construction), or beyond the
            range of the state's dtype (at the solve).
        DataError: a non-finite initial state.
        SolverError: more than ``config.max_nfe`` evaluations, step size underflow, a
            non-finite final state, or a solve with grad running out of memory
            (:class:`~pde2gnn.integrate.memory.MemoryGuard`; with ``auto_memory`` an adaptive
            solve past its budget is redone with the adjoint instead), GPU memory included.
    """

    def __init__(self, field: VectorField, time: float, config: Optional[SolverConfig] = None):
        super().__init__()
        self.time = check_time(time)
        self.field = field
        self.config = config or SolverConfig()
        self.nfe_forward = self.nfe_linear = self.linear_iterations = 0
        self.linear_rejections = 0
        self.adjoint_report: dict = {}
        self._counter: Optional[_Counted] = None
        self._compiled = None       # (method, CompiledStep or compiled field) with compile
        self._compile_done = 0.0    # compile seconds of compiled steps / fields replaced
        self._auto_cache: Optional[dict] = None     # method "auto": the choice reused
        self.auto_estimates = 0

    @property
    def nfe_backward(self) -> int:
        if "backward" in self.adjoint_report:
            return self.adjoint_report["backward"]["nfe"]
        return 0 if self._counter is None else self._counter.nfe - self.nfe_forward

    def forward(self, y0: Tensor, times: Optional[Tensor] = None) -> Tensor:
        """y0 ``[N, D]`` -> y(T) ``[N, D]``; with ``times`` ``[K]`` (increasing, from 0) -> y at
        each, ``[K, N, D]``."""
        cfg, name = self.config, f"'{self.field.program.ir.name}'"
        if times is None:
            check_time_dtype(self.time, y0.dtype)
        self.field.prepare(y0)
        if not all_finite(y0):
            raise DataError(f"the initial state of {name} contains NaN or inf "
                            f"({int((~torch.isfinite(y0)).sum())} of {y0.numel()} values)")
        t = torch.tensor([0.0, self.time], dtype=y0.dtype, device=y0.device) if times is None \
            else times.to(y0)
        self._counter, self.adjoint_report = None, {}
        self.nfe_linear = self.linear_iterations = self.linear_rejections = 0
        if cfg.method == "auto":
            cfg = self._auto(y0, t)
        if cfg.adjoint and not cfg.imex and not torch.is_grad_enabled():   # no gradient taken
            cfg = replace(cfg, adjoint=False, adjoint_rtol=None, adjoint_atol=None)
        guarded = torch.is_grad_enabled() and not cfg.imex
        if cfg.auto_memory and torch.is_grad_enabled():
            cfg = self._memory_choice(y0, t)
        try:
            ys = self._solve(y0, t, name, cfg, self._guard(cfg, y0, name) if guarded else None)
        except OverBudget as e:       # auto_memory: the adaptive steps shrank past the estimate
            if cfg.method not in TORCHDIFFEQ_METHODS:
                raise SolverError(f"{e}, and method {cfg.method} has no adjoint here: give "
                                  "step_size to a fixed-step method (checkpointed)") from None
            log.info("auto_memory: %s -> adjoint", e)
            self.memory_estimate.choice = "adjoint"
            ys = self._solve(y0, t, name, replace(cfg, adjoint=True), None)
        except torch.cuda.OutOfMemoryError as e:
            raise SolverError(f"the solve of {name} ran out of GPU memory ({cfg.method}): set "
                              "auto_memory = true (adjoint or checkpointing), or shorten the "
                              f"time ({str(e).splitlines()[0]})") from None
        out = ys[-1] if times is None else ys
        if not all_finite(out):
            raise SolverError(self._diverged(ys, t, name))
        return out

    def _guard(self, cfg: SolverConfig, y0: Tensor, name: str):
        """:func:`pde2gnn.integrate.memory.guard_for` this solve (None for the adjoint)."""
        return guard_for(cfg, self.memory_estimate if self.config.auto_memory else None,
                         y0.device, name)

    def _solve(self, y0: Tensor, t: Tensor, name: str, cfg: SolverConfig, guard) -> Tensor:
        """The solution ``[len(t), *y0.shape]`` by ``cfg``'s integrator (counts kept)."""
        if cfg.imex and cfg.adjoint:
            ys = imex_adjoint_solve(self.field, y0, t, method=cfg.method, rtol=cfg.rtol,
                                    atol=cfg.atol, step_size=cfg.step_size, max_nfe=cfg.max_nfe,
                                    name=name, linear_solver=cfg.linear_solver,
                                    linear_maxiter=cfg.linear_maxiter, report=self.adjoint_report)
            sol = self.adjoint_report["forward"]
            self.nfe_forward, self.nfe_linear, self.linear_iterations = \
                sol.nfe, sol.products, sol.iterations
            self.linear_rejections = sol.linear_rejections
        elif cfg.imex:
            sol = imex_solve(self.field.split_operator(), self.field.rest, y0, t,
                             method=cfg.method, rtol=cfg.rtol, atol=cfg.atol,
                             step_size=cfg.step_size, max_nfe=cfg.max_nfe, name=name,
                             affine=self.field.affine, linear_solver=cfg.linear_solver,
                             linear_maxiter=cfg.linear_maxiter, field=self.field)
            ys, self.nfe_forward = sol.ys, sol.nfe
            self.nfe_linear, self.linear_iterations = sol.products, sol.iterations
            self.linear_rejections = sol.linear_rejections
        elif cfg.adjoint and cfg.integrator == "pde2gnn" and cfg.method in TABLEAUS:
            ys = rk_adjoint_solve(self.field, y0, t, cfg, name, self.adjoint_report)
            self.nfe_forward = self.adjoint_report["forward"].nfe
        elif cfg.compile or cfg.checkpoint:
            ys, self.nfe_forward = self._compiled_solve(y0, t, name, cfg, guard)
        elif cfg.fast:
            affine = affine_step(self.field, cfg.method) if cfg.affine and self.field.affine \
                else None
            sol = rk_solve(_guarded(self.field, guard), y0, t, method=cfg.method,
                           rtol=cfg.rtol, atol=cfg.atol, step_size=cfg.step_size,
                           max_nfe=cfg.max_nfe, name=name, affine_step=_guarded(
                               affine, guard, TABLEAUS[cfg.method].stages - 1))
            ys, self.nfe_forward = sol.ys, sol.nfe
        else:
            ys = self._torchdiffeq(y0, t, name, cfg, guard)
        return ys

    #: what the non-finite-state error suggests (training; simulate sets its own)
    advice = "reduce the time or the learning rate"

    def _diverged(self, ys: Tensor, t: Tensor, name: str) -> str:
        """The message of a non-finite solution ``ys [K, ..., N, D]`` at times ``t [K]``: the
        first output time with a non-finite value, the fields holding one, the method."""
        bad = ~torch.isfinite(ys)
        k = int(bad.reshape(len(ys), -1).any(1).nonzero()[0])
        cols = bad[k].reshape(-1, ys.shape[-1]).any(0)
        fields = [f for f, sl in getattr(self.field, "field_slices", {}).items()
                  if bool(cols[sl].any())]
        return (f"the solve of {name} produced non-finite values in field(s) "
                f"{', '.join(repr(f) for f in fields) or '?'} by t = {float(t[k]):.6g} "
                f"({'output time' if len(t) > 2 else 'end time'}; {self.config.method}, "
                f"{self.nfe_forward} evaluations): the dynamics diverge or the scheme is "
                f"unstable; {self.advice}")

    @property
    def compile_seconds(self) -> float:
        now = getattr(self._compiled[1], "compile_seconds", 0.0) if self._compiled else 0.0
        return self._compile_done + float(now)

    def _compiled_solve(self, y0: Tensor, t: Tensor, name: str, cfg: SolverConfig, guard=None):
        """``SolverConfig.compile`` / ``checkpoint``: fixed-step methods on a (compiled,
        checkpointed) step, adaptive ones on :func:`rk_solve` with the field compiled
        (:mod:`pde2gnn.integrate.compiled`)."""
        from pde2gnn.integrate import compiled as C
        key = (cfg.method, cfg.compile, cfg.checkpoint)
        if self._compiled is None or self._compiled[0] != key:
            self._compile_done = self.compile_seconds
            fn = C.compiled_field(self.field) if TABLEAUS[cfg.method].adaptive \
                else C.CompiledStep(self.field, cfg.method, compile=cfg.compile,
                                    checkpoint=cfg.checkpoint)
            self._compiled = (key, fn)
        fn = self._compiled[1]
        if isinstance(fn, C.CompiledStep):
            return C.solve_fixed(fn, y0, t, cfg.step_size, cfg.max_nfe, name)
        sol = rk_solve(_guarded(fn, guard), y0, t, method=cfg.method, rtol=cfg.rtol,
                       atol=cfg.atol, max_nfe=cfg.max_nfe, name=name)
        return sol.ys, sol.nfe

    def _auto(self, y0: Tensor, t: Tensor) -> SolverConfig:
        """``method = "auto"``: dopri5, ark3 or ros34pw2 from the spectral radii of L and of
        N's Jacobian times the time span, the device and the graph's hubs
        (:func:`pde2gnn.integrate.auto.choose`); the choice and its reason go to the
        ``pde2gnn`` logger and :attr:`auto_choice`
        (an :class:`~pde2gnn.integrate.auto.AutoChoice`). The choice is reused for up to
        :data:`~pde2gnn.integrate.solver_config.AUTO_REUSE` solves while the same shapes and
        times are solved, the learnable weights moved by at most 10 % (2-norm of all of them)
        and |y(0)| by at most 10 % since the estimate (:attr:`auto_estimates` counts them)."""
        from pde2gnn.integrate.solver_config import AUTO_REUSE
        with torch.no_grad():
            ps = [p.detach().reshape(-1) for p in self.field.parameters()]
            theta = torch.cat(ps) if ps else y0.new_zeros(0)
            size = float(y0.detach().norm())
        key = (tuple(y0.shape), y0.dtype, str(y0.device), float(t[0]), float(t[-1]))
        c = self._auto_cache
        if c is not None and c["key"] == key and c["uses"] < AUTO_REUSE and \
                theta.shape == c["theta"].shape and \
                float((theta - c["theta"]).norm()) <= 0.1 * float(c["theta"].norm()) and \
                abs(size - c["size"]) <= 0.1 * c["size"]:
            c["uses"] += 1
            return replace(self.config, method=c["choice"].method)
        choice = choose(self.field, y0, float(t[0]), float(t[-1]))
        self.auto_choice, self.auto_estimates = choice, self.auto_estimates + 1
        self._auto_cache = dict(key=key, theta=theta.clone(), size=size, uses=1, choice=choice)
        log.info("method auto: %s -> %s", choice.reason, choice.method)
        return replace(self.config, method=choice.method)

    def _memory_choice(self, y0: Tensor, t: Tensor) -> SolverConfig:
        """``auto_memory``: direct, checkpoint or adjoint from the estimate of
        :func:`pde2gnn.integrate.memory.plan` (kept in :attr:`memory_estimate`, logged)."""
        self.memory_estimate, cfg = plan(self.field, self.config, y0, t)
        return cfg

    #: the last :class:`~pde2gnn.integrate.memory.MemoryEstimate` of ``auto_memory``
    memory_estimate = None

    def _torchdiffeq(self, y0: Tensor, t: Tensor, name: str, cfg: SolverConfig,
                     guard=None) -> Tensor:
        self._counter = counted = _Counted(self.field, cfg.max_nfe, name, guard)
        try:
            if cfg.adjoint:
                ys = odeint_adjoint_solve(self.field, counted, y0, t, dict(
                    rtol=cfg.rtol, atol=cfg.atol, method=cfg.method, options=cfg.options(),
                    adjoint_method=cfg.adjoint_method or cfg.method,
                    adjoint_options=cfg.options(), **cfg.adjoint_tolerances()))
            else:
                ys = odeint(counted, y0, t, rtol=cfg.rtol, atol=cfg.atol, method=cfg.method,
                            options=cfg.options())
        except AssertionError as e:
            raise SolverError(f"{cfg.method} failed on {name}: {e} (after {counted.nfe} "
                              "evaluations); the dynamics may be stiff or diverging") from None
        self.nfe_forward = counted.nfe
        return ys


class EulerLayers(nn.Module):
    """Explicit Euler with its own copy of the vector field at every step: y_{l+1} = y_l +
    h f_l(l h, y_l), l = 0 .. L-1, h = time / L. A residual network whose layers are the
    spec's vector field with separate weights (the NSD reference's per-layer W1, W2, epsilon
    and restriction networks), where :class:`ODEBlock` shares one set across the steps.

    Args:
        fields: the L compiled vector fields, one per step (the same spec, separate weights).
        time: the end time T; the step is T / L.

    ``forward(y0 [N, D]) -> y(T) [N, D]``; per-solve constants of every field come from y0.
    ``nfe_forward`` is L, ``nfe_backward`` 0 (backpropagation through the steps).

    Raises:
        OptionError: no fields, or a non-positive time.
        SolverError: a non-finite final state.
    """

    def __init__(self, fields, time: float):
        super().__init__()
        if not fields:
            raise OptionError("per-layer weights need at least one layer")
        time = check_time(time)
        self.fields = nn.ModuleList(fields)
        self.field = self.fields[0]
        self.time = float(time)
        self.nfe_forward, self.nfe_backward = len(fields), 0
        self.nfe_linear = self.linear_iterations = 0

    def forward(self, y0: Tensor, times: Optional[Tensor] = None) -> Tensor:
        if times is not None:
            raise OptionError("per-layer weights give the state at T only (no select_time)")
        h = self.time / len(self.fields)
        y = y0
        for f in self.fields:
            f.prepare(y0)
        for layer, f in enumerate(self.fields):
            y = y + h * f(torch.tensor(layer * h, dtype=y.dtype, device=y.device), y)
        if not all_finite(y):
            raise SolverError(f"the {len(self.fields)} Euler layers of "
                              f"'{self.field.program.ir.name}' produced non-finite values: "
                              "the dynamics diverge; reduce the time or the learning rate")
        return y
