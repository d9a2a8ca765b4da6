"""Reverse time: torchdiffeq's test problems (tests/problems.py of rtqichen/torchdiffeq,
reimplemented: ConstantODE, SineODE, LinearODE on t from 8 down to 1) solved with decreasing
output times by the explicit loop (pde2gnn.integrate.rk) and by the IMEX loop, against their exact
solutions; and a compiled heat equation run forward then back."""
import math

import numpy as np
import pytest
import scipy.linalg
import torch

from pde2gnn.integrate.imex import imex_solve
from pde2gnn.integrate.linsolve import MatrixOperator
from pde2gnn.integrate.rk import rk_solve

T = torch.linspace(1, 8, 10, dtype=torch.float64).flip(0)      # 8 -> 1, as construct_problem


def constant():
    """y' = a + (y - (a t + b))^5, y = a t + b (a = 0.2, b = 3)."""
    a, b = 0.2, 3.0
    return (lambda t, y: a + (y - (a * t + b)) ** 5), (lambda t: a * t + b), None


def sine():
    """y' = 2 y / t + t^4 sin 2t - t^2 + 4 t^3."""
    f = lambda t, y: 2 * y / t + t**4 * torch.sin(2 * t) - t**2 + 4 * t**3     # noqa: E731

    def exact(t):
        return (-0.5 * t**4 * torch.cos(2 * t) + 0.5 * t**3 * torch.sin(2 * t)
                + 0.25 * t**2 * torch.cos(2 * t) - t**3 + 2 * t**4 + (math.pi - 0.25) * t**2)
    return f, exact, None


def linear():
    """y' = A y, A = 2U - (U + U^T) (skew), U ~ 0.1 N(0, 1) in 10 dimensions; y = expm(A t) 1."""
    g = torch.Generator().manual_seed(0)
    U = torch.randn(10, 10, generator=g, dtype=torch.float64) * 0.1
    A = 2 * U - (U + U.T)

    def exact(t):
        return torch.stack([torch.tensor(scipy.linalg.expm(A.numpy() * float(ti)) @ np.ones(10))
                            for ti in t.reshape(-1)]).reshape(*t.shape, 10, 1)
    return (lambda t, y: A @ y), exact, A


PROBLEMS = {"constant": constant, "sine": sine, "linear": linear}


def _y0(exact, problem):
    y0 = exact(T[:1])[0]
    return y0.reshape(10, 1) if problem == "linear" else y0.reshape(1, 1)


def _exact(exact, problem):
    return exact(T).reshape(len(T), -1, 1)


@pytest.mark.parametrize("problem", list(PROBLEMS))
@pytest.mark.parametrize("method", ["dopri5", "tsit5", "bosh3"])
def test_explicit_reverse(problem, method):
    f, exact, _ = PROBLEMS[problem]()
    sol = rk_solve(f, _y0(exact, problem), T, method=method, rtol=1e-9, atol=1e-9)
    ref = _exact(exact, problem)
    assert float((sol.ys - ref).abs().max() / ref.abs().max()) < 1e-5


@pytest.mark.parametrize("problem", list(PROBLEMS))
def test_fixed_step_reverse(problem):
    f, exact, _ = PROBLEMS[problem]()
    sol = rk_solve(f, _y0(exact, problem), T, method="rk4", step_size=0.005)
    ref = _exact(exact, problem)
    # outputs between grid points are linear interpolants (as torchdiffeq's): O(h^2)
    assert float((sol.ys - ref).abs().max() / ref.abs().max()) < 1e-5


@pytest.mark.parametrize("problem", list(PROBLEMS))
@pytest.mark.parametrize("method", ["ark3", "ark4"])
@pytest.mark.slow
def test_imex_reverse(problem, method):
    """IMEX: the linear problem with L = A (implicit), the others with L = 0 and N = f."""
    f, exact, A = PROBLEMS[problem]()
    n = 10 if problem == "linear" else 1
    op = MatrixOperator(A.numpy() if A is not None else np.zeros((n, n)))
    rest = (lambda t, y: torch.zeros_like(y)) if A is not None else f
    sol = imex_solve(op, rest, _y0(exact, problem), T, method=method, rtol=1e-9, atol=1e-9,
                     affine=A is not None)
    ref = _exact(exact, problem)
    assert float((sol.ys - ref).abs().max() / ref.abs().max()) < 1e-6


@pytest.mark.parametrize("method", ["esdirk3", "backward_euler"])
def test_implicit_reverse_linear(method):
    f, exact, A = linear()
    op = MatrixOperator(A.numpy())
    kw = dict(step_size=0.001) if method == "backward_euler" else {}
    sol = imex_solve(op, lambda t, y: torch.zeros_like(y), _y0(exact, "linear"), T,
                     method=method, rtol=1e-9, atol=1e-9, affine=True, **kw)
    ref = _exact(exact, "linear")
    tol = 1e-2 if method == "backward_euler" else 1e-6
    assert float((sol.ys - ref).abs().max() / ref.abs().max()) < tol


def test_reverse_equals_forward_flipped():
    """Solving 1 -> 8 and 8 -> 1 on y' = -y + sin(t) visits the same solution."""
    f = lambda t, y: -y + torch.sin(t)      # noqa: E731
    y8 = rk_solve(f, torch.ones(1, 1, dtype=torch.float64), T.flip(0), rtol=1e-10,
                  atol=1e-12).ys
    back = rk_solve(f, y8[-1], T, rtol=1e-10, atol=1e-12).ys
    assert torch.allclose(back.flip(0), y8, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("problem", list(PROBLEMS))
@pytest.mark.parametrize("method", ["ros34pw2", "rodas4", "rodas5p"])
@pytest.mark.slow
def test_rosenbrock_reverse(problem, method):
    """The Rosenbrock methods on the whole Jacobian (the sine problem depends on t: its f_t
    term is exercised), intermediate outputs from the cubic Hermite interpolant."""
    f, exact, A = PROBLEMS[problem]()
    n = 10 if problem == "linear" else 1
    op = MatrixOperator(A.numpy() if A is not None else np.eye(n))     # J's pattern
    sol = imex_solve(op, None, _y0(exact, problem), T, method=method, rtol=1e-9, atol=1e-9,
                     field=f)
    ref = _exact(exact, problem)
    assert float((sol.ys - ref).abs().max() / ref.abs().max()) < 1e-5
