"""``adjoint=True`` with an explicit method of the pde2gnn integrator: the continuous adjoint of
torchdiffeq's ``odeint_adjoint`` (Chen et al., "Neural ordinary differential equations",
NeurIPS 2018, eqs. 4-5 and Algorithm 1), with the forward solve on the fused Runge-Kutta loop.

The forward solve runs :func:`pde2gnn.integrate.rk.rk_solve` without autograd and keeps only
the outputs y(t_k). The backward pass integrates the augmented system

    d/dt [y, a, g] = [f(t, y), -a^T df/dy, -a^T df/dtheta]

from t_K back to t_0, one output interval at a time: y is reset to the stored y(t_k) and the
output gradient dLoss/dy(t_k) is added to a at every output time, as torchdiffeq does. At t_0,
a = dLoss/dy(0) and g = dLoss/dtheta, theta being the field's per-solve tensors
(:func:`pde2gnn.integrate.imex_adjoint.per_solve_tensors`: constrained weights, attention from
init(x)), whose gradients flow on to the encoder and the raw parameters.

The backward solve is ``adjoint_method`` (default: ``method``) at ``adjoint_rtol`` /
``adjoint_atol``: on the fused loop for the pde2gnn methods (``adaptive_heun`` too, which the
GRAND / BLEND reference uses), else by ``torchdiffeq.odeint``. Its step control uses
torchdiffeq's norm for the adjoint's state tuple: the largest RMS norm of y, a and each
parameter's g, so both integrators take torchdiffeq's steps.

:func:`odeint_adjoint_solve` is torchdiffeq's own ``odeint_adjoint`` on a prepared field
(``--integrator torchdiffeq``), the reference the tests hold the fused adjoint to.
"""
from __future__ import annotations

from typing import List

import torch
from torch import Tensor
from torchdiffeq import odeint, odeint_adjoint

from pde2gnn.errors import SolverError
from pde2gnn.integrate.imex_adjoint import install, per_solve_tensors
from pde2gnn.integrate.rk import TABLEAUS, affine_step, check_nfe, rk_solve


def rk_adjoint_solve(field, y0: Tensor, t: Tensor, cfg, name: str, report: dict) -> Tensor:
    """y at every time of ``t`` ``[len(t), *y0.shape]`` by ``cfg.method`` on the fused loop,
    differentiated by the continuous adjoint (module docstring). ``report`` receives
    ``forward`` (the forward solve's :class:`~pde2gnn.integrate.rk.Solution`, ys dropped) and,
    after the backward pass, ``backward`` = ``{"nfe": evaluations of the augmented system}``.

    Raises:
        SolverError: the forward or a backward solve fails (more than ``cfg.max_nfe``
            evaluations, step-size underflow, non-finite values).
    """
    keys, tensors = per_solve_tensors(field)
    return _ContinuousAdjoint.apply(field, y0, t, cfg, name, report, keys, *tensors)


class _ContinuousAdjoint(torch.autograd.Function):

    @staticmethod
    def forward(ctx, field, y0, t, cfg, name, report, keys, *tensors):
        install(field, keys, [v.detach() for v in tensors])  # the values, as constants
        with torch.no_grad():
            affine = affine_step(field, cfg.method) if cfg.affine and field.affine else None
            sol = rk_solve(field, y0, t, method=cfg.method, rtol=cfg.rtol, atol=cfg.atol,
                           step_size=cfg.step_size, max_nfe=cfg.max_nfe, name=name,
                           affine_step=affine)
        report["forward"] = sol._replace(ys=None)
        ctx.field, ctx.cfg, ctx.name, ctx.report, ctx.keys = field, cfg, name, report, keys
        ctx.save_for_backward(t, sol.ys, *tensors)
        return sol.ys

    @staticmethod
    def backward(ctx, g: Tensor):
        t, ys, *tensors = ctx.saved_tensors
        leaves = [v.detach().requires_grad_() for v in tensors]
        install(ctx.field, ctx.keys, leaves)
        sizes = [ys[0].numel(), ys[0].numel()] + [v.numel() for v in leaves]
        dynamics = _Augmented(ctx.field, leaves, ys[0].shape)
        z = torch.cat([ys[-1].reshape(-1), g[-1].reshape(-1)]
                      + [torch.zeros(v.numel(), dtype=ys.dtype, device=ys.device)
                         for v in leaves])
        nfe = 0
        for k in range(len(t) - 1, 0, -1):
            z, used = _backward_solve(dynamics, z, t[k - 1:k + 1].flip(0), ctx.cfg, sizes,
                                      f"the adjoint of {ctx.name}")
            nfe += used
            n = sizes[0]
            z[:n] = ys[k - 1].reshape(-1)              # y from the forward record
            z[n:2 * n] += g[k - 1].reshape(-1)         # the loss's gradient at t_{k-1}
        ctx.report["backward"] = {"nfe": nfe}
        parts = torch.split(z, sizes)
        grads = [p.view_as(v) for p, v in zip(parts[2:], leaves)]
        return (None, parts[1].view_as(ys[0]), None, None, None, None, None, *grads)


class _Augmented:
    """f_aug(t, z) of the module docstring on the flat state z = [y, a, g]."""

    def __init__(self, field, leaves: List[Tensor], shape):
        self.field, self.leaves, self.shape = field, leaves, shape

    def __call__(self, t: Tensor, z: Tensor) -> Tensor:
        n = self.shape.numel()
        a = z[n:2 * n].view(self.shape)
        with torch.enable_grad():
            y = z[:n].view(self.shape).detach().requires_grad_()
            f = self.field(t, y)
            vjps = torch.autograd.grad(f, [y] + self.leaves, -a, allow_unused=True)
        return torch.cat([f.detach().reshape(-1)] + [
            (torch.zeros(v.numel(), dtype=z.dtype, device=z.device) if d is None
             else d.reshape(-1)) for d, v in zip(vjps, [y] + self.leaves)])


def _backward_solve(dynamics, z: Tensor, t: Tensor, cfg, sizes, name: str):
    """z at t[1] (t decreasing) and the evaluations used, by ``cfg``'s adjoint method."""
    method = cfg.adjoint_method or cfg.method
    rtol, atol = cfg.adjoint_tolerances().values()

    def norm(x: Tensor) -> Tensor:      # torchdiffeq's mixed norm over the adjoint's tuple
        return torch.stack([p.pow(2).mean().sqrt() for p in torch.split(x, sizes)
                            if p.numel()]).max()

    if method in TABLEAUS:
        sol = rk_solve(dynamics, z, t, method=method, rtol=rtol, atol=atol,
                       step_size=cfg.step_size, max_nfe=cfg.max_nfe, name=name, norm=norm)
        return sol.ys[-1].clone(), sol.nfe
    counted = _CountedCall(dynamics, cfg.max_nfe, name)
    options = cfg.options() or {"norm": norm}       # step_size for a fixed-step method
    try:
        zs = odeint(counted, z, t, rtol=rtol, atol=atol, method=method, options=options)
    except AssertionError as e:
        raise SolverError(f"{method} failed on {name}: {e} (after {counted.nfe} "
                          "evaluations)") from None
    return zs[-1].clone(), counted.nfe


class _CountedCall:
    """A field for torchdiffeq that counts its evaluations, with the max-NFE guard."""

    def __init__(self, func, max_nfe, name: str):
        self.func, self.max_nfe, self.name, self.nfe = func, max_nfe, name, 0

    def __call__(self, t: Tensor, z: Tensor) -> Tensor:
        self.nfe += 1
        check_nfe(self.nfe, self.max_nfe, self.name)
        return self.func(t, z)


def odeint_adjoint_solve(field, func, y0: Tensor, t: Tensor, kwargs: dict) -> Tensor:
    """``torchdiffeq.odeint_adjoint(func, y0, t, **kwargs)`` for a prepared ``field`` (``func``
    evaluates it, e.g. counting): the per-solve tensors enter as the adjoint's parameters.

    They may depend on each other (constrained weights, attention from init(x)); handing them
    to the adjoint as they are would count a gradient twice. Here they become leaves for the
    adjoint solve, and their gradients are passed on to the original tensors (and so to the
    encoder and the raw parameters) by an autograd Function.
    """
    keys, tensors = per_solve_tensors(field)
    return _OdeintAdjoint.apply(field, func, y0, t, kwargs, keys, *tensors)


class _OdeintAdjoint(torch.autograd.Function):

    @staticmethod
    def forward(ctx, field, func, y0, t, kwargs, keys, *tensors):
        with torch.enable_grad():
            leaves = [v.detach().requires_grad_() for v in tensors]
            y0l = y0.detach().requires_grad_()
            install(field, keys, leaves)
            ys = odeint_adjoint(func, y0l, t, adjoint_params=tuple(leaves), **kwargs)
        ctx.field, ctx.keys, ctx.leaves, ctx.y0l, ctx.ys = field, keys, leaves, y0l, ys
        return ys.detach()

    @staticmethod
    def backward(ctx, g):
        install(ctx.field, ctx.keys, ctx.leaves)
        grads = torch.autograd.grad(ctx.ys, [ctx.y0l] + ctx.leaves, g, allow_unused=True)
        return (None, None, grads[0], None, None, None, *grads[1:])
