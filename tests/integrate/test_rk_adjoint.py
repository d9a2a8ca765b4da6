"""The continuous adjoint on the fused loop (pde2gnn.integrate.rk_adjoint) against torchdiffeq's
odeint_adjoint and direct backpropagation, in float64."""
import pytest
import torch

from pde2gnn.compiler import pipeline as compiler
from pde2gnn.integrate.solve import ODEBlock, SolverConfig

from tests.helpers.graphs import random_graph

# GRAND-l (attention and source from init(x): per-solve tensors), GRAND-nl (attention from the
# state at every evaluation), GRAFF (constrained weights), a non-linear reaction term
SPECS = {
    "grand": {"d": 3, "k": 2},
    "grand_nl": {"d": 3, "k": 2},
    "graff": {"d": 3},
    "model fisher\nfield x : node[d]\nlearn r = 0.5\nlearn kappa = 0.3\n"
    "dt(x) = kappa * lap(x) + r * x * (1 - x)\n": {"d": 2},
}


def _gradients(field, x0, times, **cfg):
    """Gradients of sum_k |y(t_k)|^2 w.r.t. x0 and the parameters, and the block's NFE."""
    block = ODEBlock(field, float(times[-1]), SolverConfig(**cfg))
    x0 = x0.detach().clone().requires_grad_()
    ys = block(x0, times)
    grads = torch.autograd.grad(ys[1:].pow(2).sum(), [x0] + list(field.parameters()),
                                allow_unused=True)
    return [torch.zeros(()) if g is None else g for g in grads], block


def _relative(a, b):
    num = sum(float((x - y).norm() ** 2) for x, y in zip(a, b)) ** 0.5
    return num / sum(float(y.norm() ** 2) for y in b) ** 0.5


@pytest.mark.parametrize("spec", list(SPECS), ids=["grand", "grand_nl", "graff", "fisher"])
def test_fused_adjoint_equals_torchdiffeqs_and_direct_backpropagation(spec):
    """Three output times: the fused adjoint's gradients (x0 and every parameter) equal
    torchdiffeq's odeint_adjoint (--integrator torchdiffeq) to the solves' tolerance, and
    direct backpropagation through the fused loop likewise; the forward solve takes the NFE of
    the solve without adjoint, and the backward pass counts its own."""
    ei, n = random_graph(12, p=0.3, seed=1)
    torch.manual_seed(0)
    field = compiler.compile(spec, ei, n, dims=SPECS[spec]).double()
    x0 = torch.rand(n, SPECS[spec]["d"], dtype=torch.float64)
    times = torch.tensor([0.0, 0.4, 0.7, 1.2], dtype=torch.float64)
    tol = dict(rtol=1e-10, atol=1e-12)
    direct, plain = _gradients(field, x0, times, **tol)
    fused, block = _gradients(field, x0, times, adjoint=True, **tol)
    reference, ref = _gradients(field, x0, times, adjoint=True, integrator="torchdiffeq", **tol)
    assert _relative(fused, reference) < 1e-10
    assert _relative(fused, direct) < 1e-8
    assert block.nfe_forward == plain.nfe_forward
    assert block.nfe_backward == ref.nfe_backward > 0      # torchdiffeq's backward steps


def test_backward_method_and_tolerances_reach_the_backward_solve():
    """adjoint_method on the fused loop (bosh3; adaptive_heun, the BLEND reference's, with
    torchdiffeq's reuse of its last stage) at adjoint_rtol / adjoint_atol: gradients within
    about those tolerances of direct backpropagation and equal to odeint_adjoint's (its steps),
    and looser ones take fewer backward evaluations."""
    ei, n = random_graph(12, p=0.3, seed=2)
    torch.manual_seed(1)
    field = compiler.compile("grand", ei, n, dims={"d": 3, "k": 2}).double()
    x0 = torch.rand(n, 3, dtype=torch.float64)
    times = torch.tensor([0.0, 1.5], dtype=torch.float64)
    direct, _ = _gradients(field, x0, times, rtol=1e-10, atol=1e-12)
    for method in ("bosh3", "adaptive_heun"):
        nfe = []
        for rtol in (1e-6, 1e-4):
            grads, block = _gradients(field, x0, times, rtol=1e-10, atol=1e-12, adjoint=True,
                                      adjoint_method=method, adjoint_rtol=rtol,
                                      adjoint_atol=rtol * 1e-2)
            assert _relative(grads, direct) < 100 * rtol, (method, rtol)
            nfe.append(block.nfe_backward)
            reference, ref = _gradients(field, x0, times, rtol=1e-10, atol=1e-12,
                                        adjoint=True, adjoint_method=method, adjoint_rtol=rtol,
                                        adjoint_atol=rtol * 1e-2, integrator="torchdiffeq")
            assert _relative(grads, reference) < 1e-10 and block.nfe_backward == ref.nfe_backward
        assert nfe[1] < nfe[0], (method, nfe)


def test_fixed_step_adjoint_matches_direct_backpropagation_as_the_step_shrinks():
    """rk4 with a step: the continuous adjoint's gradient differs from the discrete one (direct
    backpropagation) by the truncation error, falling at the method's order (about 16x per
    halving), in both integrators alike."""
    ei, n = random_graph(10, p=0.3, seed=3)
    torch.manual_seed(2)
    field = compiler.compile("grand_nl", ei, n, dims={"d": 2, "k": 2}).double()
    x0 = torch.rand(n, 2, dtype=torch.float64)
    times = torch.tensor([0.0, 1.0], dtype=torch.float64)
    errors = []
    for h in (0.25, 0.125):
        cfg = dict(method="rk4", step_size=h)
        direct, _ = _gradients(field, x0, times, **cfg)
        fused, _ = _gradients(field, x0, times, adjoint=True, **cfg)
        reference, _ = _gradients(field, x0, times, adjoint=True, integrator="torchdiffeq", **cfg)
        assert _relative(fused, reference) < 1e-12
        errors.append(_relative(fused, direct))
    assert errors[1] < errors[0] / 8
