"""``adjoint=True`` with the implicit / IMEX methods: the discrete adjoint of the additive
Runge-Kutta solve (:func:`pde2gnn.integrate.imex.imex_solve`).

The forward solve runs without autograd and keeps one checkpoint per accepted step, its start
state y_k ``[N, D]`` (with the step's times), and no autograd graph. The backward pass walks the
steps in reverse: it re-takes step k from y_k with autograd on (the same stages, the same step
size, the same linear solves) and pulls the adjoint a_{k+1} = dLoss/dy_{k+1}, plus the output
gradients of the outputs read inside the step, back through it:

    a_k = (d y_{k+1} / d y_k)^T a_{k+1} + sum_{outputs in step k} (d out / d y_k)^T g_out,
    dLoss/dtheta += (d y_{k+1} / d theta)^T a_{k+1} + ...

Each stage solve inside the step is differentiated implicitly (one solve with (I - h a_ii L)^T,
:class:`pde2gnn.integrate.linsolve.StageSolver`), never through the solver's iterations. These
are the gradients of the discrete solve, equal to direct backpropagation through it (Sandu,
"On the properties of Runge-Kutta discrete adjoints", ICCS 2006; Hager, Numer. Math. 87 (2000)
247-282), at the memory of one state per step plus one step's graph.

Why not the continuous adjoint of torchdiffeq's ``odeint_adjoint`` (the augmented system
[y, a, dLoss/dtheta] integrated from T back to 0, y recomputed backwards): for the stiff,
dissipative L these methods are for, y' = L y backwards in time is ill-posed. The reverse
solve multiplies the modes of L by exp(|lambda| T) (up to exp(rho(L) T), e.g. e^1000), and an
implicit stage of the reverse solve, (I + h a_ii L) with L negative definite, is singular at
h a_ii |lambda| = 1: the backward y is lost, or the reverse solve is held to explicit step
sizes. The adjoint a itself (a' = -L^T a - (dN/dy)^T a, solved backwards) is well-posed, so the
continuous adjoint needs y from a forward record anyway (checkpoints, as here, or CVODES'
interpolated ones); given that record, the discrete adjoint is cheaper (no error control in the
backward solve) and exact for the discrete solve.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor

from pde2gnn.errors import OptionError
from pde2gnn.integrate.imex import _hermite, imex_solve
from pde2gnn.integrate.imex_tableaus import IMEX_TABLEAUS

#: the per-solve values of a prepared field that the solve reads (and gradients flow into)
PER_SOLVE = ("_learned", "_solve_cache")


def per_solve_tensors(field) -> Tuple[List[Tuple[str, str]], List[Tensor]]:
    """The tensors of a prepared field's per-solve values that require grad: ``(keys,
    tensors)``, ``keys`` as ``(attribute, name)`` pairs."""
    keys, tensors = [], []
    for where in PER_SOLVE:
        for k, v in getattr(field, where).items():
            if torch.is_tensor(v) and v.requires_grad:
                keys.append((where, k))
                tensors.append(v)
    return keys, tensors


def install(field, keys, tensors) -> None:
    """Put ``tensors`` into the field's per-solve values at ``keys`` (in place)."""
    for (where, k), v in zip(keys, tensors):
        getattr(field, where)[k] = v
    field._y0_history = False       # the constants are leaves now: the adjoint sees them


def _swap(field, values: Dict[str, dict]) -> Dict[str, dict]:
    """Install the per-solve dicts ``values`` in ``field``; return the ones it held."""
    old = {w: getattr(field, w) for w in PER_SOLVE}
    for w, d in values.items():
        setattr(field, w, d)
    return old


def imex_adjoint_solve(field, y0: Tensor, t: Tensor, *, method: str, rtol: float,
                       atol: float, step_size: Optional[float] = None,
                       max_nfe: Optional[int] = None, name: str = "the ODE",
                       linear_solver: str = "auto", linear_maxiter: int = 2000,
                       report: Optional[dict] = None) -> Tensor:
    """y at every time of ``t`` ``[K, *y0.shape]`` by :func:`imex_solve` on the split of the
    prepared ``field``, differentiable by the discrete adjoint (module docstring).

    Args:
        field: a prepared :class:`pde2gnn.compiler.backend.module.VectorField` (its
            ``split_operator()`` and ``rest``).
        y0: the initial state ``[N, D]`` or ``[B, N, D]``.
        t: output times ``[K]``, strictly monotonic (time units).
        method, rtol, atol, step_size, max_nfe, name, linear_solver, linear_maxiter: as
            :func:`imex_solve`; ``max_nfe`` bounds the forward and the backward pass each.
        report: a dict filled with ``forward`` (the :class:`IMEXSolution`, its ``ys`` dropped),
            ``checkpoints`` (states kept), and after the backward pass ``backward``: ``nfe``
            (evaluations of N), ``products`` (with L and L^T), ``iterations``, ``solves``.

    Raises:
        OptionError: an unknown method; a fully implicit method on a field whose N depends on
            the state (Newton stages have no gradients: use an IMEX method).
        SolverError: as :func:`imex_solve`, in the forward or the backward pass.
    """
    if method not in IMEX_TABLEAUS:
        raise OptionError(f"unknown implicit / IMEX method '{method}' (choose from "
                          f"{', '.join(IMEX_TABLEAUS)})")
    if IMEX_TABLEAUS[method].fully_implicit and not field.affine:
        raise OptionError(f"adjoint with method '{method}': it treats N implicitly (Newton "
                          f"iterations, without gradients) and {name} is not affine; use an "
                          "IMEX method (ars232, ars443, ark3, ark4)")
    keys, tensors = per_solve_tensors(field)
    opts = dict(method=method, rtol=rtol, atol=atol, step_size=step_size, max_nfe=max_nfe,
                name=name, affine=field.affine, linear_solver=linear_solver,
                linear_maxiter=linear_maxiter)
    return _DiscreteAdjoint.apply(field, t, opts, keys, {} if report is None else report, y0,
                                  *tensors)


class _DiscreteAdjoint(torch.autograd.Function):
    """Forward: the solve without autograd on leaf copies of the per-solve tensors, keeping
    the accepted steps' start states. Backward: the reverse sweep (:func:`_reverse`)."""

    @staticmethod
    def forward(ctx, field, t, opts, keys, report, y0, *tensors):
        leaves = [v.detach().requires_grad_() for v in tensors]
        values = {w: dict(getattr(field, w)) for w in PER_SOLVE}
        for (w, k), v in zip(keys, leaves):
            values[w][k] = v
        held = _swap(field, values)
        y0_history = field._y0_history
        field._y0_history = False           # the leaves carry what came from y(0)
        trace: dict = {}
        try:
            with torch.no_grad():
                sol = imex_solve(field.split_operator(), field.rest, y0.detach(), t,
                                 trace=trace, **opts)
        finally:
            _swap(field, held)
            field._y0_history = y0_history
        report["forward"] = sol._replace(ys=None)
        report["checkpoints"] = len(trace["steps"])
        ctx.field, ctx.values, ctx.leaves, ctx.trace, ctx.report = field, values, leaves, \
            trace, report
        ctx.fixed = step_size_given(opts) or not IMEX_TABLEAUS[opts["method"]].adaptive
        return sol.ys

    @staticmethod
    def backward(ctx, g):
        field = ctx.field
        held = _swap(field, ctx.values)
        y0_history = field._y0_history
        field._y0_history = False
        try:
            a, grads, counts = _reverse(ctx.trace, g, ctx.leaves, ctx.fixed)
        finally:
            _swap(field, held)
            field._y0_history = y0_history
        ctx.report["backward"] = counts
        ctx.trace = ctx.values = None           # the checkpoints go now
        return (None, None, None, None, None, a, *grads)


def step_size_given(opts: dict) -> bool:
    return opts.get("step_size") is not None


def _owners(steps: Sequence[tuple], s: Sequence[float]) -> Dict[int, List[Tuple[int, float]]]:
    """Output k >= 1 -> the accepted step it was read from and its position x in [0, 1]: the
    first step whose end reaches s_k (the forward loops' own rule, on the same floats)."""
    out: Dict[int, List[Tuple[int, float]]] = {}
    j = 1
    for idx, (s0, h, s1, _) in enumerate(steps):
        while j < len(s) and s1 >= s[j]:
            out.setdefault(idx, []).append((j, (s[j] - s0) / h))
            j += 1
    return out


def _reverse(trace: dict, g: Tensor, leaves: List[Tensor], fixed: bool):
    """The reverse sweep over the accepted steps: ``(dLoss/dy0, [dLoss/dleaf], counts)``."""
    run, steps, s = trace["run"], trace["steps"], trace["s"]
    stats = run.solver.stats
    before = (stats.products, stats.iterations, stats.solves)
    run.nfe = 0                      # the max-NFE guard counts the backward pass on its own
    tab = run.tab
    owners = _owners(steps, s)
    a = torch.zeros_like(g[0])
    total: List[Optional[Tensor]] = [None] * len(leaves)
    for idx in range(len(steps) - 1, -1, -1):
        s0, h, s1, y_start = steps[idx]
        outs = owners.get(idx, [])
        with torch.enable_grad():
            yk = y_start.detach().requires_grad_()
            hermite = not fixed and any(x != 1.0 for _, x in outs)
            n0 = l0 = None
            if tab.explicit_first or hermite:
                n0, l0 = run.f_at(s0, yk)
            ns, ls, y1 = run.step(s0, h, yk, n0, l0)
            values, weights = [y1], [a]
            f1 = None
            for j, x in outs:
                if fixed:
                    out = y1 if x == 1.0 else yk if x == 0.0 else yk + x * (y1 - yk)
                elif x == 1.0:
                    out = y1
                else:
                    if f1 is None:
                        n1, l1 = (ns[-1], ls[-1]) if run.last_is_y1 else run.f_at(s1, y1)
                        f1 = n1 + l1
                    out = _hermite(x, h, yk, y1, n0 + l0, f1)
                values.append(out)
                weights.append(g[j])
            got = torch.autograd.grad(values, [yk] + leaves, weights, allow_unused=True)
        a = torch.zeros_like(a) if got[0] is None else got[0]
        for i, v in enumerate(got[1:]):
            if v is not None:
                total[i] = v if total[i] is None else total[i] + v
    a = a + g[0]
    counts = {"nfe": run.nfe, "products": stats.products - before[0],
              "iterations": stats.iterations - before[1], "solves": stats.solves - before[2]}
    return a, total, counts
