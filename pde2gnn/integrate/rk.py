"""Explicit Runge-Kutta integration with fused, stage-major arithmetic and torchdiffeq's semantics.

torchdiffeq (Chen et al. 2018) keeps the stages of a step in one ``[..., S]`` tensor and forms
each stage sum ``y0 + dt * sum_s a_is k_s`` as a broadcast product over that short last axis,
then backpropagates through those products and the copies into the stage tensor. On a graph
ODE the vector field itself is a sparse product, and that bookkeeping costs several times the
field. Here the stages are a list, each stage sum is a chain of native in-place ``add_(k,
alpha=w)`` into one new tensor (autograd hands each stage its scaled gradient), and the
control arithmetic (error norm, step size) runs without autograd, with one host
synchronisation per step.

Semantics follow torchdiffeq 0.2 (``torchdiffeq._impl.rk_common`` / ``misc``) so that both take
the same steps: the error ratio is the RMS norm of ``err / (atol + rtol * max(|y0|, |y1|))``; a
step is accepted when it is <= 1; the next step is ``dt * min(ifactor, max(safety /
ratio^(1/order), dfactor))`` (``dfactor`` only after a rejection) with safety 0.9, ifactor 10,
dfactor 0.2; the first step is chosen as in Hairer, Norsett & Wanner, "Solving Ordinary
Differential Equations I", sec. II.4 (two evaluations); steps are not clipped to the output
times, which are read off the dense output (torchdiffeq's fourth-order interpolant through
y0, y1, y(t0 + dt/2), f0 and f1; cubic Hermite for tableaus without a midpoint rule). Fixed-step
methods use the output times as their grid, or a grid of ``step_size`` ending on the last time,
with linear interpolation in between, as torchdiffeq does. NFE counts are the same as
torchdiffeq's: an adaptive solve costs 2 + (stages - 1) * steps evaluations (first same as
last), a fixed-step solve stages * steps.

Two deliberate differences: step sizes are constants for autograd (torchdiffeq lets a gradient
flow through the first step size, which depends on y0; it is of the order of the local error),
and the stage times are not nudged to the neighbouring float at c = 1 (torchdiffeq's ``perturb``,
which matters only for right-hand sides with jumps in t).
"""
from __future__ import annotations

import math
from functools import partial
from typing import Callable, List, NamedTuple, Optional, Sequence, Tuple

import torch
from torch import Tensor

from pde2gnn.errors import OptionError, SolverError
from pde2gnn.integrate.tableaus import (TABLEAUS, Tableau,  # noqa: F401 (re-exported)
                                        affine_step_source, krylov_weights)

SAFETY, IFACTOR, DFACTOR = 0.9, 10.0, 0.2


def _check_weights(weights: Tuple[float, ...], dtype: torch.dtype) -> None:
    """Raise :class:`SolverError` when a stage weight (h times a tableau entry, or h^m in an
    affine step) is not a finite number of ``dtype``: the step is too long for the dtype."""
    top = _FINFO_MAX.get(dtype)
    if top is None:
        top = _FINFO_MAX[dtype] = torch.finfo(dtype).max if dtype.is_floating_point else math.inf
    for w in weights:
        if not abs(w) <= top:
            raise SolverError(f"a Runge-Kutta stage weight ({w:.3g}: the step h times a tableau "
                              f"entry, or a power of h) overflows {str(dtype)[6:]}: the step is "
                              "too long for this dtype; shorten the time or set a smaller "
                              "step_size")


_FINFO_MAX: dict = {}


def stage_sum(base: Optional[Tensor], weights: Sequence[float], ks: Sequence[Tensor],
              out: Optional[Tensor] = None) -> Tensor:
    """``base + sum_s weights[s] * ks[s]``; ``weights`` are Python floats, ``ks`` tensors of
    one shape, ``base`` the same shape or None (then the sum alone). Zero weights are skipped;
    the rest accumulate in place into one new tensor, in the order given (native ``add`` /
    ``add_``: on a small graph their dispatch is cheaper than one custom autograd node's, 15-30
    µs less per stage sum, forward and backward, at 183 x 16).

    ``out``: a buffer to write into, without autograd (for values nobody differentiates:
    error estimates, and stage states of a solve without grad); new memory costs more than
    the arithmetic on states of a few hundred thousand values.
    """
    weights = tuple(float(w) for w in weights)
    _check_weights(weights, (base if base is not None else ks[0]).dtype)
    live = [(w, k) for w, k in zip(weights, ks) if w != 0.0]
    if out is None:
        if not live:
            return base.clone() if base is not None else torch.zeros_like(ks[0])
        (w, k), rest = live[0], live[1:]
        out = torch.add(base, k, alpha=w) if base is not None else k * w
        for w, k in rest:
            out.add_(k, alpha=w)
        return out
    with torch.no_grad():
        out.zero_() if base is None else out.copy_(base)
        for w, k in live:
            out.add_(k, alpha=w)
    return out


class Solution(NamedTuple):
    """What :func:`rk_solve` returns: ``ys [len(t), *y0.shape]``; ``nfe`` evaluations;
    ``steps`` accepted and ``rejected`` steps."""

    ys: Tensor
    nfe: int
    steps: int
    rejected: int


def check_nfe(nfe: int, max_nfe: Optional[int], name: str) -> None:
    """The max-NFE guard: raise once ``nfe`` evaluations exceed ``max_nfe`` (None: no limit).

    Raises:
        SolverError: naming the ODE and what to change.
    """
    if max_nfe is not None and nfe > max_nfe:
        raise SolverError(f"the solve of {name} exceeded max_nfe = {max_nfe} function "
                          "evaluations; the dynamics may be stiff or diverging: loosen "
                          "rtol/atol, shorten the time, or use a fixed-step method")


class _Counter:
    """Calls ``func(t, y)`` with t as a 0-dim tensor like y, counting calls, with the guard."""

    def __init__(self, func, max_nfe: Optional[int], name: str, norm=None):
        self.func, self.max_nfe, self.name = func, max_nfe, name
        self.nfe, self.rms = 0, norm or _rms

    def count(self, n: int) -> None:
        """Count ``n`` evaluations made elsewhere (the products with L of an affine step)."""
        self.nfe += n
        check_nfe(self.nfe, self.max_nfe, self.name)

    def __call__(self, t: float, y: Tensor) -> Tensor:
        self.nfe += 1
        check_nfe(self.nfe, self.max_nfe, self.name)
        return self.func(torch.full((), t, dtype=y.dtype, device=y.device), y)


def rk_solve(func: Callable[[Tensor, Tensor], Tensor], y0: Tensor, t: Sequence[float], *,
             method: str = "dopri5", rtol: float = 1e-7, atol: float = 1e-9,
             step_size: Optional[float] = None, max_nfe: Optional[int] = None,
             name: str = "the ODE", affine_step: Optional[Callable] = None,
             norm: Optional[Callable[[Tensor], Tensor]] = None) -> Solution:
    """Integrate dy/dt = func(t, y) from y(t[0]) = y0 and return y at every time of ``t``.

    Args:
        func: the vector field, ``func(t, y) -> dy/dt``: t a 0-dim tensor of y's dtype, y and
            the result of y0's shape (any shape, e.g. ``[N, D]`` or ``[B, N, D]``).
        y0: the initial state.
        t: output times, strictly increasing or strictly decreasing (then the solve runs
            backwards, as torchdiffeq's: on s = -t for -func(-s, y)), in the ODE's time units
            (floats or a 1-D tensor).
        method: a name in :data:`TABLEAUS`.
        rtol, atol: tolerances of adaptive methods.
        step_size: fixed-step methods only: the grid step (None: the output times are the grid).
        max_nfe: raise after this many evaluations.
        name: how error messages name the ODE.
        affine_step: for an affine autonomous field f(y) = L y + c, the generated step of
            ``method`` (:func:`affine_step_source`), called as ``affine_step(t, h, y0, f0)``;
            it takes the same steps in the Krylov form (one sum per step, not one per stage)
            and counts S - 1 evaluations per step, as the stage form does.
        norm: the step control's RMS norm (default over y; pde2gnn.graph.halo's over ranks).

    Returns:
        :class:`Solution` with ``ys [len(t), *y0.shape]`` (``ys[0]`` is y0).

    Raises:
        OptionError: an unknown method, or output times that are not monotonic.
        SolverError: more than ``max_nfe`` evaluations, step-size underflow, or a non-finite
            state.
    """
    if method not in TABLEAUS:
        raise OptionError(f"unknown Runge-Kutta method '{method}' (choose from "
                          f"{', '.join(TABLEAUS)})")
    tab = TABLEAUS[method]
    ts = [float(v) for v in (t.tolist() if torch.is_tensor(t) else t)]
    if len(ts) > 1 and all(b < a for a, b in zip(ts, ts[1:])):      # reverse time
        ts, affine_step = [-v for v in ts], None
        func = partial(_reversed, func)
    if len(ts) < 1 or any(b <= a for a, b in zip(ts, ts[1:])):
        raise OptionError(f"output times must be strictly increasing or decreasing, got {ts}")
    st = _Steps(_Counter(func, max_nfe, name, norm), tab, affine_step)
    run = _adaptive if tab.adaptive else _fixed
    ys, steps, rejected = run(st, y0, ts, rtol=rtol, atol=atol, step_size=step_size)
    return Solution(torch.stack(ys), st.f.nfe, steps, rejected)


def _reversed(func, s: Tensor, y: Tensor) -> Tensor:
    """-f(-s, y): the field of a reverse-time solve on s = -t (torchdiffeq's ``_flip``)."""
    return -func(-s, y)


class _Steps:
    """How a solve steps: the stage form, or the Krylov form of an affine field.

    ``step`` gives a step's vectors and y1, ``weights(w, dt)`` the weights on those vectors of
    ``dt * sum_s w[s] k_s`` (y1, the error estimate, dense output all combine them)."""

    def __init__(self, f: _Counter, tab: Tableau, affine_step: Optional[Callable]):
        self.f, self.tab, self.affine = f, tab, affine_step

    def step(self, t0: float, dt: float, y0: Tensor, f0: Tensor,
             scratch: Optional[Tensor] = None) -> Tuple[Sequence[Tensor], Tensor]:
        if self.affine is None:
            return rk_step(self.f, self.tab, t0, dt, y0, f0, scratch)
        self.f.count(self.tab.stages - 1)
        y1, vecs = self.affine(t0, dt, y0, f0)
        return vecs, y1

    def weights(self, w: Sequence[float], dt: float) -> List[float]:
        return [dt * x for x in w] if self.affine is None else krylov_weights(self.tab, w, dt)


def rk_step(f: Callable, tab: Tableau, t0: float, dt: float, y0: Tensor, f0: Tensor,
            scratch: Optional[Tensor] = None) -> Tuple[List[Tensor], Tensor]:
    """One step of ``tab`` (``f(t, y)``, t a float; f0 = f(t0, y0)): the stage derivatives
    ``[k_1 = f0, ..., k_S]`` and y1 (FSAL: the last stage's state), stage sums fused. With
    ``scratch`` (no grad) the intermediate stage states are written into it in turn."""
    ks, yi = [f0], y0
    last = len(tab.c) - 1
    for s, (c, row) in enumerate(zip(tab.c, tab.a)):
        keep = scratch is None or (s == last and tab.fsal)      # y1 must outlive the step
        yi = stage_sum(y0, [dt * w for w in row], ks, out=None if keep else scratch)
        k = f(t0 + c * dt, yi)
        if not keep and k.untyped_storage().data_ptr() == scratch.untyped_storage().data_ptr():
            k = k.clone()           # a field that returns (a view of) its state, dt(x) = x
        ks.append(k)
    return ks, (yi if tab.fsal else stage_sum(y0, [dt * w for w in tab.b], ks))


def _rms(x: Tensor) -> Tensor:
    return torch.linalg.vector_norm(x) / math.sqrt(max(x.numel(), 1))


@torch.no_grad()
def _error_ratio(st: _Steps, dt: float, ks: Sequence[Tensor], y0: Tensor, y1: Tensor,
                 rtol: float, atol: float, bufs: Tuple[Tensor, Tensor]) -> float:
    """RMS of ``err / (atol + rtol * max(|y0|, |y1|))``, err = dt sum_s e_s k_s, on the host
    (the step's one synchronisation), computed in the two buffers ``bufs``; ``inf`` when it
    is not finite (a state that overflowed or became NaN: the step is rejected and retried
    smaller)."""
    err, tol = bufs
    stage_sum(None, st.weights(st.tab.e, dt), ks, out=err)
    torch.abs(y0, out=tol)
    torch.maximum(tol, y1.abs(), out=tol)
    tol.mul_(rtol).add_(atol)
    ratio = float(st.f.rms(err.div_(tol)))
    return ratio if math.isfinite(ratio) else math.inf


def _initial_step(f: _Counter, t0: float, y0: Tensor, f0: Tensor, order: int, rtol: float,
                  atol: float) -> float:
    """Hairer, Norsett & Wanner II.4, as torchdiffeq's ``_select_initial_step`` (one
    evaluation, in the caller's grad mode; ``order`` is the method's order)."""
    with torch.no_grad():
        scale = atol + y0.abs() * rtol
        rms = getattr(f, "rms", _rms)
        d0, d1 = (float(v) for v in torch.stack([rms(y0 / scale), rms(f0 / scale)]))
        h0 = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else float(
            torch.tensor(0.01 * d0 / d1, dtype=y0.dtype))
        y1 = y0 + h0 * f0
    f1 = f(t0 + h0, y1).detach()
    with torch.no_grad():
        d2 = float(rms((f1 - f0) / scale)) / h0
    if d1 <= 1e-15 and d2 <= 1e-15:
        h1 = max(1e-6, h0 * 1e-3)
    else:
        h1 = (0.01 / max(d1, d2)) ** (1.0 / order)
    return min(100 * h0, h1)


def _dense_weights(tab: Tableau, x: float) -> List[float]:
    """Weights w_s with y(t0 + x dt) = y0 + dt * sum_s w_s k_s on the last accepted step.

    torchdiffeq's quartic through y0, y1, y_mid, f0, f1 (``interp._interp_fit``), written as
    one combination of the stages; cubic Hermite through y0, y1, f0, f1 without ``mid``.
    """
    if tab.mid is not None:
        cy1 = -5 * x**2 + 14 * x**3 - 8 * x**4
        cmid = 16 * x**2 - 32 * x**3 + 16 * x**4
        cf0 = x - 4 * x**2 + 5 * x**3 - 2 * x**4
        cf1 = x**2 - 3 * x**3 + 2 * x**4
        w = [cy1 * b + cmid * m for b, m in zip(tab.b, tab.mid)]
    else:
        cy1 = x * x * (3 - 2 * x)
        cf0 = x * (1 - x) ** 2
        cf1 = x * x * (x - 1)
        w = [cy1 * b for b in tab.b]
    w[0] += cf0
    w[-1] += cf1
    return w


def _adaptive(st: _Steps, y0: Tensor, ts: List[float], *, rtol: float, atol: float,
              step_size=None):
    f, tab = st.f, st.tab
    order = tab.order
    t0 = ts[0]
    f0 = f(t0, y0)
    dt = _initial_step(f, t0, y0, f0, order, rtol, atol)
    bufs = (torch.empty_like(y0), torch.empty_like(y0))      # error estimate and tolerance
    scratch = None if torch.is_grad_enabled() else torch.empty_like(y0)
    out = [y0]
    steps = rejected = 0
    last = None                            # (t0, dt, y0, ks) of the last accepted step
    t1 = t0
    for target in ts[1:]:
        while target > t1:
            if not t0 + dt > t0:
                raise SolverError(f"{tab.name}: step size underflow (dt = {dt:.3g}) at t = "
                                  f"{t0:.6g} in the solve of {f.name}: the dynamics may be "
                                  "stiff or diverging")
            ks, y1 = st.step(t0, dt, y0, f0, scratch)
            ratio = _error_ratio(st, dt, ks, y0, y1, rtol, atol, bufs)
            if ratio <= 1:
                steps += 1
                last = (t0, dt, y0, ks)
                t0, y0, f0 = t0 + dt, y1, (ks[-1] if tab.carries_last else f(t0 + dt, y1))
                t1 = t0
            else:
                rejected += 1
            dt = _next_step(dt, ratio, order)
        ta, h, ya, ks = last
        x = (target - ta) / h
        out.append(y0 if x == 1.0 else stage_sum(ya, st.weights(_dense_weights(tab, x), h), ks))
    return out, steps, rejected


def _next_step(dt: float, ratio: float, order: int) -> float:
    """torchdiffeq's ``_optimal_step_size``."""
    if ratio == 0:
        return dt * IFACTOR
    if math.isinf(ratio):
        return dt * DFACTOR
    dfactor = 1.0 if ratio < 1 else DFACTOR
    return dt * min(IFACTOR, max(SAFETY / ratio ** (1.0 / order), dfactor))


def step_grid(ts: Sequence[float], step_size: Optional[float]) -> List[float]:
    """Step times of a fixed-step solve through ``ts``: ``ts`` without ``step_size``, else
    ``ts[0] + k * step_size`` and ``ts[-1]`` (a remainder under 1e-5 steps, e.g. 12.8 rounded
    to float32, lengthens the last step, as torchdiffeq's float32 grid does: not one step more)."""
    if step_size is None:
        return list(ts)
    span = ts[-1] - ts[0]
    steps = max(math.ceil(span / step_size - 1e-5), 1 if span > 0 else 0)
    return [ts[0] + k * step_size for k in range(steps)] + [ts[-1]]


def _fixed(st: _Steps, y0: Tensor, ts: List[float], *, step_size=None, rtol=None, atol=None):
    f = st.f
    grid, out, j = step_grid(ts, step_size), [y0], 1
    scratch = None if torch.is_grad_enabled() else torch.empty_like(y0)
    for t0, t1 in zip(grid[:-1], grid[1:]):
        dt = t1 - t0
        ks, y1 = st.step(t0, dt, y0, f(t0, y0), scratch)
        while j < len(ts) and t1 >= ts[j]:
            if ts[j] == t1:
                out.append(y1)
            elif ts[j] == t0:
                out.append(y0)
            else:
                s = (ts[j] - t0) / dt
                out.append(stage_sum(y0, st.weights([s * w for w in st.tab.b], dt), ks))
            j += 1
        y0 = y1
    return out, len(grid) - 1, 0


def affine_step(field, method: str):
    """The generated ``method`` step of an affine compiled field, ``(t, h, y0, f0) -> (y1,
    vectors)`` (the Krylov form of :func:`~pde2gnn.integrate.tableaus.affine_step_source`), on
    the values of the field's last ``prepare``; None for ``reuse_last`` (no stage to hand on).

    Raises:
        OptionError: the field is not affine, or ``method`` is not in :data:`TABLEAUS`.
    """
    if not field.affine or method not in TABLEAUS:
        raise OptionError(f"no affine {method} step for '{field.program.ir.name}' (affine: "
                          f"{field.affine}; methods: {', '.join(TABLEAUS)})")
    return None if TABLEAUS[method].reuse_last else field.bind_source(
        method, lambda: affine_step_source(TABLEAUS[method]), "affine_step", stage_sum=stage_sum)
