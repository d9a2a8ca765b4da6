"""Implicit stages on a graph with hubs (the unnormalised Laplacian of a Barabasi-Albert graph):
the Jacobi-preconditioned CG solve against scipy's spsolve, the matrix-free path that ``auto``
takes when L's matrix is too costly to probe, and the fitted orders of the IMEX methods through
CG solves against expm_multiply (the ``heat`` case of benchmarks/stiff.py, small)."""
import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sps
import torch
from scipy.sparse.linalg import expm_multiply, spsolve

from pde2gnn.compiler import pipeline as compiler
from pde2gnn.integrate.imex import imex_solve
from pde2gnn.integrate.linsolve import SolveStats, StageSolver, cg




def _heat(n):
    """The compiled heat field on a seeded BA graph (m = 2) and its Laplacian sum_j (x_j - x_i)
    built from the edge list (scipy CSR, independent of the compiler)."""
    e = np.array(nx.barabasi_albert_graph(n, 2, seed=0).edges()).T
    ei = np.hstack([e, e[::-1]])
    a = sps.csr_matrix((np.ones(ei.shape[1]), (ei[0], ei[1])), shape=(n, n))
    lap = (a - sps.diags(np.asarray(a.sum(1)).ravel())).tocsr()
    f = compiler.compile("heat", torch.as_tensor(ei), n, dims={"d": 1})
    return f, lap


def _operator(f, y0, max_colours=8):
    """L of the prepared field, refusing to probe its matrix above ``max_colours`` colours (the
    hubs of the graph need more), as on a 10^5-node graph with the default 256."""
    f.prepare(y0)
    op = f.split_operator()
    op.max_colours = max_colours
    return op


def test_cg_stage_solve_against_spsolve(float64):
    """(I - g L) x = b with g lambda_max ~ 10^3. L = A - D is symmetric negative semidefinite,
    so I - g L has eigenvalues >= 1 and ||x - x*|| <= ||r|| <= tol = rtol ||b|| + atol sqrt(n):
    the CG's own stopping test bounds the error (spsolve's rounding, cond * eps ||x|| with
    cond <= 1 + 2 g d_max, is far below it)."""
    n, g = 800, 10.0
    f, lap = _heat(n)
    y0 = torch.randn(n, 1, generator=torch.Generator().manual_seed(0))
    op = _operator(f, y0)
    assert op.matrix() is None and op.is_symmetric()
    stats = SolveStats()
    solver = StageSolver(op, "auto", rtol=1e-8, atol=1e-12, stats=stats)
    assert solver.kind(y0) == "cg"          # no matrix (hubs), symmetric: matrix-free CG
    b = torch.randn(n, 1, generator=torch.Generator().manual_seed(1))
    x = solver.solve(g, b)
    exact = spsolve((sps.identity(n) - g * lap).tocsc(), b.numpy().ravel())
    tol = 1e-8 * float(b.norm()) + 1e-12 * n ** 0.5
    assert np.linalg.norm(x.numpy().ravel() - exact) <= tol + 1e-12 * np.linalg.norm(exact)
    assert stats.iterations > 0 and stats.products >= stats.iterations


def test_jacobi_preconditioner_cuts_cg_iterations(float64):
    """On a graph with hubs the diagonal of I - g L spans 1 + 2 g .. 1 + g d_max; Jacobi
    scaling removes that spread, so the preconditioned CG needs fewer iterations for the same
    residual (both are the same Krylov method, so both reach it)."""
    n, g = 800, 10.0
    f, lap = _heat(n)
    y0 = torch.zeros(n, 1)
    op = _operator(f, y0)
    m = (sps.identity(n) - g * lap).tocsr()
    apply = lambda v: torch.as_tensor(m @ v.numpy())            # noqa: E731
    b = torch.randn(n, 1, generator=torch.Generator().manual_seed(2))
    tol = 1e-10 * float(b.norm())
    inv_d = 1.0 / (1.0 - g * op.diag())
    assert torch.allclose(1.0 / inv_d.ravel(), torch.as_tensor(m.diagonal()), rtol=1e-14)
    x1, its_jacobi, res1, ok1 = cg(apply, b, torch.zeros_like(b), inv_d, tol, 5000)
    x0, its_plain, res0, ok0 = cg(apply, b, torch.zeros_like(b), None, tol, 5000)
    assert ok1 and ok0 and res1 <= tol and res0 <= tol
    assert its_jacobi < its_plain


@pytest.mark.parametrize("name,order", [("ark3", 3), ("ark4", 4), ("ars443", 3)])
def test_heat_on_power_law_graph_order_against_expm(float64, name, order):
    """Heat on a 300-node BA graph (lambda_max ~ 2 d_max), fixed steps with h lambda_max from
    about 1.4 down to 0.35, every stage solved by matrix-free CG at 1e-3 of rtol 1e-12: the
    error against expm_multiply falls as h^p (p the method's order)."""
    n, T = 300, 0.25
    f, lap = _heat(n)
    y0 = torch.randn(n, 1, generator=torch.Generator().manual_seed(3))
    exact = expm_multiply(T * lap, y0.numpy().ravel())
    hs = [T / k for k in (8, 16, 32)]
    errs = []
    for h in hs:
        op = _operator(f, y0)
        sol = imex_solve(op, f.rest, y0, [0.0, T], method=name, step_size=h, affine=True,
                         rtol=1e-12, atol=1e-14, linear_solver="auto")
        assert sol.linear_solver == "cg" and sol.iterations > 0
        errs.append(np.linalg.norm(sol.ys[-1].numpy().ravel() - exact) / np.linalg.norm(exact))
    p = np.polyfit(np.log(hs), np.log(errs), 1)[0]
    assert abs(p - order) < 0.35, (p, errs)


def test_adaptive_heat_on_power_law_graph(float64):
    """The adaptive ark4 solve to T = 10 with CG stages (the benchmark's configuration, small):
    the error against expm_multiply falls with rtol and stays within 10 rtol of ||y(T)||."""
    n, T = 600, 10.0
    f, lap = _heat(n)
    y0 = torch.randn(n, 1, generator=torch.Generator().manual_seed(4))
    exact = expm_multiply(T * lap, y0.numpy().ravel())
    errs = []
    for rtol in (1e-4, 1e-6):
        op = _operator(f, y0)
        sol = imex_solve(op, f.rest, y0, [0.0, T], method="ark4", rtol=rtol, atol=rtol / 100)
        assert sol.linear_solver == "cg"
        errs.append(np.linalg.norm(sol.ys[-1].numpy().ravel() - exact) / np.linalg.norm(exact))
        assert errs[-1] <= 10 * rtol
    assert errs[1] < errs[0] / 10
