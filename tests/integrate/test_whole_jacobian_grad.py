"""Gradients by direct backpropagation through the methods on the whole Jacobian (ros34pw2,
ark3j, ark4j): with respect to y(0), a weight inside L (the diffusivity alpha) and a weight
inside N (the reaction rate beta), against central finite differences and against autograd
through dopri5 at a tight tolerance; the adjoint is refused with an OptionError.

These methods hold the Jacobian J_n constant in the backward pass (the frozen Jacobian of
:mod:`pde2gnn.integrate.jacobian`, not differentiated). They are W-methods / ARK methods whose
order holds for any J_n, so dy_{n+1}/dJ_n is of the size of the local error: the autograd
gradient is the true gradient up to O(the solve's error), like the solution itself.
"""
import numpy as np
import pytest
import torch

from pde2gnn.compiler import pipeline as compiler
from pde2gnn.errors import OptionError
from pde2gnn.graph import construction as graphs
from pde2gnn.integrate.solve import ODEBlock, SolverConfig

pytestmark = pytest.mark.usefixtures("float64")

WHOLE = ["ros34pw2", "ark3j", "ark4j"]
SPEC = ("model rd\ndomain pos : [0, 1] x [0, 1] periodic scheme=grid\nfield u : node\n"
        "learn alpha = 0.05\nlearn beta = 1.0\n"
        "dt(u) = alpha*lap(u) + beta*(u - u^3)\n")     # rho(alpha lap) = 0.05 * 800 = 40
T, RTOL = 0.5, 1e-8


def _setup():
    pos, ei = graphs.grid_graph((10, 10), (0, 0), (1, 1), periodic=True)
    f = compiler.compile(SPEC, torch.as_tensor(ei), 100, inputs={"pos": torch.tensor(pos)})
    y0 = torch.tensor(0.5 * np.sin(2 * np.pi * pos[:, :1]) + 0.3 * np.cos(2 * np.pi * pos[:, 1:]))
    rng = np.random.default_rng(0)
    w = torch.tensor(rng.standard_normal((100, 1)))
    v = torch.tensor(rng.standard_normal((100, 1)))       # a direction in y(0)
    return f, y0, w, v


def _loss(f, y0, w, method, rtol):
    cfg = SolverConfig(method, rtol=rtol, atol=rtol * 1e-2, max_nfe=10 ** 6)
    return (ODEBlock(f, T, cfg)(y0) * w).sum()


def _grads(f, y0, w, v, method, rtol):
    """(d/dy0 . v, d/dalpha, d/dbeta) by autograd, and the solution y(T)."""
    f.zero_grad()
    y = y0.clone().requires_grad_()
    loss = _loss(f, y, w, method, rtol)
    loss.backward()
    p = dict(f.named_parameters())
    alpha = next(g for n, g in p.items() if "alpha" in n)
    beta = next(g for n, g in p.items() if "beta" in n)
    return np.array([float((y.grad * v).sum()), float(alpha.grad), float(beta.grad)])


def _finite_differences(f, y0, w, v, eps=1e-5):
    """Central differences of tight dopri5 solves (rtol 1e-12). The loss depends on alpha
    through exp(alpha lambda T) of the smooth modes (lambda T ~ -4 pi^2 * 0.5 ~ -20), so the
    truncation eps^2 |F'''| / 6 ~ eps^2 20^3 / 6 ~ 1.3e-7; the solve's noise is
    ~ 1e-12 |F| / eps ~ 1e-7: accurate to about 3e-7 of |F'|."""
    p = dict(f.named_parameters())
    out = []
    with torch.no_grad():
        F = lambda y: float(_loss(f, y, w, "dopri5", 1e-12))      # noqa: E731
        out.append((F(y0 + eps * v) - F(y0 - eps * v)) / (2 * eps))
        for key in ("alpha", "beta"):
            q = next(t for n, t in p.items() if key in n)
            q += eps
            up = F(y0)
            q -= 2 * eps
            down = F(y0)
            q += eps
            out.append((up - down) / (2 * eps))
    return np.array(out)


@pytest.fixture(scope="module")
def references():
    torch.set_default_dtype(torch.float64)
    f, y0, w, v = _setup()
    return _finite_differences(f, y0, w, v), _grads(f, y0, w, v, "dopri5", 1e-12)


@pytest.mark.parametrize("method", WHOLE)
@pytest.mark.slow
def test_gradients_match_finite_differences_and_dopri5(method, references):
    fd, explicit = references
    # the tight explicit path is the gradient of a solve accurate to ~1e-11: it and the
    # differences agree to the differences' accuracy (measured: 1e-8)
    assert np.abs(explicit - fd).max() <= 1e-6 * np.abs(fd).max(), (explicit, fd)  # 3x est.
    f, y0, w, v = _setup()
    # internal differentiation: the gradient of an adaptive solve at tolerance rtol is as
    # accurate as its solution, O(rtol) relative (the global error is 10-100 local
    # tolerances; holding J_n constant adds a term of the local error's size), and it
    # converges with rtol: no bias from the frozen Jacobian (measured: at most 23 rtol)
    errors = []
    for rtol in (1e-6, RTOL):
        got = _grads(f, y0, w, v, method, rtol)
        err = np.abs(got - explicit) / np.abs(explicit)
        assert err.max() <= 100 * rtol, (method, rtol, got, explicit, err)
        errors.append(err.max())
    assert errors[1] < errors[0] / 10, errors      # 100x tighter: > 10x closer


@pytest.mark.parametrize("method", WHOLE)
def test_adjoint_refused(method):
    with pytest.raises(OptionError, match=rf"method '{method}'.*adjoint"):
        SolverConfig(method, adjoint=True)
