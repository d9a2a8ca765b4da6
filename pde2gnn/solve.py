"""Integration with torchdiffeq: solver options, adjoint, NFE counting and a max-NFE guard."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Optional

import torch
from torch import Tensor, nn
from torchdiffeq import odeint, odeint_adjoint
from torchdiffeq._impl.odeint import SOLVERS

from .backend.module import VectorField
from .errors import OptionError, SolverError

FIXED_STEP = ("euler", "midpoint", "heun2", "heun3", "rk4", "explicit_adams", "implicit_adams",
              "fixed_adams")


@dataclass
class SolverConfig:
    """How to integrate.

    Attributes:
        method: any torchdiffeq method (``dopri5``, ``rk4``, ``euler``, ...).
        rtol, atol: tolerances of adaptive methods (relative, absolute).
        step_size: step of fixed-step methods (time units); ``None`` lets torchdiffeq choose 1 step.
        adjoint: backpropagate with the adjoint method (O(1) memory in the number of steps).
        adjoint_method: method for the backward solve (default: ``method``).
        max_nfe: raise :class:`SolverError` after this many evaluations in one solve.
    """

    method: str = "dopri5"
    rtol: float = 1e-3
    atol: float = 1e-4
    step_size: Optional[float] = None
    adjoint: bool = False
    adjoint_method: Optional[str] = None
    max_nfe: int = 5000

    def __post_init__(self):
        for m in (self.method, self.adjoint_method):
            if m is not None and m not in SOLVERS:
                raise OptionError(f"unknown ODE method '{m}' (torchdiffeq has: "
                                  f"{', '.join(sorted(SOLVERS))})")
        if self.rtol <= 0 or self.atol <= 0:
            raise OptionError("rtol and atol must be positive")
        if self.step_size is not None and self.step_size <= 0:
            raise OptionError("step_size must be positive")

    def options(self) -> dict:
        if self.method in FIXED_STEP and self.step_size is not None:
            return {"step_size": self.step_size}
        return {}

    def to_dict(self) -> dict:
        return asdict(self)


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

    Raises:
        SolverError: more than ``config.max_nfe`` evaluations, step size underflow, or a
            non-finite final state.
    """

    def __init__(self, field: VectorField, time: float, config: Optional[SolverConfig] = None):
        super().__init__()
        if time <= 0:
            raise OptionError(f"integration time must be positive, got {time}")
        self.field = field
        self.time = float(time)
        self.config = config or SolverConfig()
        self.nfe_forward = 0

    @property
    def nfe_backward(self) -> int:
        return self.field.nfe - self.nfe_forward

    def forward(self, y0: Tensor, times: Optional[Tensor] = None) -> Tensor:
        """y0 ``[N, D]`` -> y(T) ``[N, D]``; with ``times`` ``[K]`` -> y at each, ``[K, N, D]``."""
        cfg = self.config
        self.field.prepare(y0)
        self.field.max_nfe = cfg.max_nfe
        t = torch.tensor([0.0, self.time], dtype=y0.dtype, device=y0.device) if times is None \
            else times.to(y0)
        try:
            if cfg.adjoint:
                ys = _adjoint_solve(self.field, y0, t, dict(
                    rtol=cfg.rtol, atol=cfg.atol, method=cfg.method, options=cfg.options(),
                    adjoint_method=cfg.adjoint_method or cfg.method,
                    adjoint_options=cfg.options()))
            else:
                ys = odeint(self.field, y0, t, rtol=cfg.rtol, atol=cfg.atol, method=cfg.method,
                            options=cfg.options())
        except AssertionError as e:
            raise SolverError(f"{cfg.method} failed on '{self.field.program.ir.name}': {e} "
                              f"(after {self.field.nfe} evaluations); the dynamics may be stiff "
                              "or diverging") from None
        self.nfe_forward = self.field.nfe
        out = ys[-1] if times is None else ys
        if not torch.isfinite(out).all():
            raise SolverError(f"the solve of '{self.field.program.ir.name}' produced non-finite "
                              f"values by t = {self.time} ({cfg.method}, {self.nfe_forward} "
                              "evaluations): the dynamics diverge; reduce the time or the "
                              "learning rate")
        return out


class _AdjointSolve(torch.autograd.Function):
    """odeint_adjoint with the per-solve constants cut from their history.

    The vector field reads per-solve tensors (constrained weights, attention from init(x)) that
    may depend on each other; handing them to the adjoint as they are would count a gradient
    twice. Here they become leaves for the adjoint solve, and their gradients are passed on to
    the original tensors (and so to the encoder and the raw parameters) by this Function.
    """

    @staticmethod
    def forward(ctx, field, y0, t, kwargs, keys, *tensors):
        with torch.enable_grad():
            leaves = [v.detach().requires_grad_() for v in tensors]
            y0l = y0.detach().requires_grad_()
            _install(field, keys, leaves)
            ys = odeint_adjoint(field, y0l, t, adjoint_params=tuple(leaves), **kwargs)
        ctx.field, ctx.keys, ctx.leaves, ctx.y0l, ctx.ys = field, keys, leaves, y0l, ys
        return ys.detach()

    @staticmethod
    def backward(ctx, g):
        _install(ctx.field, ctx.keys, ctx.leaves)
        grads = torch.autograd.grad(ctx.ys, [ctx.y0l] + ctx.leaves, g, allow_unused=True)
        return (None, grads[0], None, None, None, *grads[1:])


def _install(field: VectorField, keys, tensors):
    for (where, k), v in zip(keys, tensors):
        getattr(field, where)[k] = v


def _adjoint_solve(field: VectorField, y0: Tensor, t: Tensor, kwargs: dict) -> Tensor:
    keys, tensors = [], []
    for where in ("_learned", "_solve_cache"):
        for k, v in getattr(field, where).items():
            if torch.is_tensor(v) and v.requires_grad:
                keys.append((where, k))
                tensors.append(v)
    return _AdjointSolve.apply(field, y0, t, kwargs, keys, *tensors)
