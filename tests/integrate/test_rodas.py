"""Rodas methods (pde2gnn.integrate.imex_tableaus ``rodas4``, ``rodas5p``) and the form of
the Rosenbrock step without products with J: order conditions of the converted coefficients,
the transformed coefficients against the k form, the embedded error on y' = lambda y,
reverse time, gradients refused. Fitted orders against expm and against a tight
reference, and stiff stability, are in test_whole_jacobian.py (parametrised over these
methods too)."""
import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from pde2gnn.errors import OptionError
from pde2gnn.integrate.imex import imex_solve
from pde2gnn.integrate.imex_tableaus import ROSENBROCK_TABLEAUS
from pde2gnn.integrate.linsolve import MatrixOperator
from pde2gnn.integrate.solve import ODEBlock, SolverConfig

from tests.integrate.test_whole_jacobian import REACTION, _grid_field, fitted_order

pytestmark = pytest.mark.usefixtures("float64")

RODAS = {"rodas4": 4, "rodas5p": 5}


def _conditions(t, w):
    """Residuals of the Rosenbrock order conditions up to order 4 (Hairer & Wanner II,
    Table IV.7.1; beta = alpha + Gamma strictly lower, beta'_i = sum_j beta_ij)."""
    s, g = t.stages, t.gamma
    a, G = np.array(t.alpha), np.array(t.gammas)
    beta = a + G
    bp, al = beta.sum(1), a.sum(1)
    return np.abs([w.sum() - 1, w @ bp - (0.5 - g),
                   w @ al ** 2 - 1 / 3, w @ beta @ bp - (1 / 6 - g + g * g),
                   w @ al ** 3 - 1 / 4, (w * al) @ a @ bp - (1 / 8 - g / 3),
                   w @ beta @ al ** 2 - (1 / 12 - g / 3),
                   w @ beta @ beta @ bp - (1 / 24 - g / 2 + 1.5 * g * g - g ** 3)])


def _stability(t, w, z):
    """R(z) = 1 + z w^T (I - z B)^-1 1, B = alpha + Gamma with gamma on the diagonal."""
    B = np.array(t.alpha) + np.array(t.gammas) + t.gamma * np.eye(t.stages)
    return 1 + z * w @ np.linalg.solve(np.eye(t.stages) - z * B, np.ones(t.stages))


@pytest.mark.parametrize("name", list(RODAS))
def test_rodas_order_conditions_and_l_stability(name):
    """The published transformed coefficients, converted to the k form, satisfy the
    conditions to order 4 (the solution) and 3 (rodas4's embedded solution: its order-4
    residuals are not zero); nodes c as published; both solutions L-stable: R(-inf) = 0,
    |R(iy)| <= 1 on the imaginary axis."""
    t = ROSENBROCK_TABLEAUS[name]
    b, bh = np.array(t.b), np.array(t.bhat)
    assert _conditions(t, b).max() < 1e-12
    assert _conditions(t, bh)[:4].max() < 1e-12
    if name == "rodas4":
        assert _conditions(t, bh)[4:].max() > 1e-3
        assert np.allclose(t.c, (0, 0.386, 0.21, 0.63, 1, 1), atol=1e-14)
    else:
        assert _conditions(t, bh).max() < 1e-12     # Rodas5P's embedded pair is order 4
        assert np.allclose(t.c[:5], (0, 0.6358126895828704, 0.4095798393397535,
                                     0.9769306725060716, 0.4288403609558664), atol=1e-14)
    # R(z) - e^z = O(z^(p + 1)): p = 4 for rodas4, p = 6 for rodas5p (its linear order)
    zs = np.array([0.2, 0.1, 0.05])
    local = [abs(_stability(t, b, z) - math.exp(z)) for z in zs]
    assert abs(fitted_order(zs, local) - (5 if name == "rodas4" else 7)) < 0.3, local
    for w in (b, bh):
        assert abs(_stability(t, w, -1e10)) < 1e-6
        assert max(abs(_stability(t, w, 1j * y)) for y in np.logspace(-2, 4, 200)) <= 1 + 1e-9
    assert not t.w_method


@pytest.mark.parametrize("name", ["ros34pw2"] + list(RODAS))
def test_transformed_form_is_the_k_form(name):
    """The step runs in the form without products with J (u = Gamma k): a = alpha Gamma^-1,
    C = I / gamma - Gamma^-1, m = b Gamma^-1 give back alpha, Gamma and b."""
    t = ROSENBROCK_TABLEAUS[name]
    a, C, m, e = (np.array(v) for v in t.transformed)
    G = np.array(t.gammas) + t.gamma * np.eye(t.stages)
    assert np.allclose(np.linalg.inv(np.eye(t.stages) / t.gamma - C), G, rtol=1e-12, atol=1e-12)
    assert np.allclose(a @ G, t.alpha, atol=1e-12)
    assert np.allclose(m @ G, t.b, atol=1e-12)
    assert np.allclose(e @ G, np.array(t.b) - np.array(t.bhat), atol=1e-12)


@pytest.mark.parametrize("name", list(RODAS))
def test_rodas_embedded_error_on_scalar_lambda(name, monkeypatch):
    """y' = lambda y (lambda = -0.5): the estimate y1 - y1_hat matches the embedded
    solution's true local error, which falls as h^(q + 1) (q = order - 1)."""
    tab = ROSENBROCK_TABLEAUS[name]
    monkeypatch.setitem(ROSENBROCK_TABLEAUS, "hat", replace(tab, name="hat", b=tab.bhat))
    op = MatrixOperator(np.array([[-0.5]]))
    zero = lambda t, y: torch.zeros_like(y)       # noqa: E731
    hs = [0.2, 0.1, 0.05]
    ests = []
    for h in hs:
        y0 = torch.ones(1, 1)
        y1 = imex_solve(op, zero, y0, [0.0, h], method=name, step_size=h).ys[-1]
        y1h = imex_solve(op, zero, y0, [0.0, h], method="hat", step_size=h).ys[-1]
        est, true = float(y1 - y1h), float(math.exp(-0.5 * h) - y1h)
        assert abs(est - true) < 0.1 * abs(true), (h, est, true)
        ests.append(abs(est))
    assert abs(fitted_order(hs, ests) - RODAS[name]) < 0.3, ests


@pytest.mark.parametrize("name", list(RODAS))
def test_rodas_reverse_time(name):
    """Decreasing output times on y' = -y: y(0) = e y(1), through both outputs."""
    op = MatrixOperator(np.array([[-1.0]]))
    zero = lambda t, y: torch.zeros_like(y)       # noqa: E731
    sol = imex_solve(op, zero, torch.ones(1, 1), [1.0, 0.5, 0.0], method=name,
                     rtol=1e-9, atol=1e-12)
    assert abs(float(sol.ys[1]) - math.exp(0.5)) < 1e-7 * math.e
    assert abs(float(sol.ys[-1]) - math.e) < 1e-7 * math.e


def test_rodas_refreshes_j_every_step_and_keeps_no_h_grid():
    """Not a W-method: one Jacobian per accepted step (plus the first), and the step sizes are
    the controller's (not rounded to powers of sqrt(2)), so LUs = steps + rejected."""
    f, pos = _grid_field(10, REACTION)
    y0 = torch.tensor(0.5 * np.sin(2 * np.pi * pos[:, :1]))
    f.prepare(y0)
    sol = imex_solve(f.split_operator(), f.rest, y0, [0.0, 1.0], method="rodas5p", rtol=1e-6,
                     atol=1e-8, field=f)
    assert sol.jacobians == sol.steps
    assert sol.factorizations == sol.steps + sol.rejected


@pytest.mark.parametrize("name", list(RODAS))
def test_rodas_refuses_gradients(name):
    """Differentiated with J held fixed, a method that is not a W-method has first-order
    gradients (measured: rodas5p 1e-4 relative against dopri5's at rtol 1e-8, where
    ros34pw2 gives 5e-8): y0 or a parameter requiring grad gets an OptionError that points
    to ros34pw2; without gradients the solve runs."""
    f, pos = _grid_field(6, REACTION)
    y0 = 0.2 + 0.6 * torch.rand(36, 1, generator=torch.Generator().manual_seed(0))
    with pytest.raises(OptionError, match="ros34pw2"):
        ODEBlock(f, 1.0, SolverConfig(name))(y0.clone().requires_grad_())
    with torch.no_grad():
        y = ODEBlock(f, 1.0, SolverConfig(name, rtol=1e-8, atol=1e-10))(y0)
    ref = ODEBlock(f, 1.0, SolverConfig("dopri5", rtol=1e-11, atol=1e-13))(y0)
    assert float((y - ref).norm()) <= 1e-6 * float(ref.norm())
