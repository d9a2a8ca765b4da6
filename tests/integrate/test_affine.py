"""Affine fields (f = L y + c, L and c fixed during a solve) and their Krylov-form steps.

The Krylov form (:func:`pde2gnn.integrate.tableaus.affine_step_source`) must take the same steps as the
stage form and torchdiffeq: the same NFE, and the same solution and gradients up to rounding.
"""
import math

import pytest
import torch
from torch_geometric.utils import erdos_renyi_graph, to_undirected
from torchdiffeq import odeint

from pde2gnn.compiler import pipeline as compiler
from pde2gnn.integrate.solve import ODEBlock, SolverConfig
from pde2gnn.integrate.tableaus import TABLEAUS, affine_step_source, krylov_weights

N = 40
TIME_DEPENDENT = "model forced\nfield x : node[d]\ndt(x) = lap(x) + sin(t)\n"
FIXED = {"rk4", "euler", "midpoint", "heun2", "heun3"}


@pytest.fixture(scope="module")
def graph():
    torch.manual_seed(3)
    return to_undirected(erdos_renyi_graph(N, 0.15)), N


def _field(spec, graph, dims):
    ei, n = graph
    torch.manual_seed(0)
    free = {k for k, v in compiler.front(spec).dims.items() if v is None}
    f = compiler.compile(spec, ei, n, {k: v for k, v in dims.items() if k in free}).double()
    with torch.no_grad():
        for p in f.parameters():
            p.copy_(0.3 * torch.randn_like(p))
    return f


@pytest.mark.parametrize("spec,affine", [("heat", True), ("grand", True), ("graff", True),
                                         ("graff_dd", True), ("beltrami", True),
                                         ("grand_nl", False), ("beltrami_nl", False),
                                         (TIME_DEPENDENT, False)])
def test_affine_is_detected_and_linear_is_the_state_linear_part(graph, spec, affine):
    f = _field(spec, graph, {"d": 4, "p": 2, "k": 2})
    assert f.affine is affine
    if not affine:
        return
    y0, y = (torch.randn(N, f.state_width, dtype=torch.float64) for _ in range(2))
    f.prepare(y0)
    t = torch.zeros((), dtype=torch.float64)
    lin = f._namespace["linear"](y, f.graph, f._input_values, f._learned, f._static_cache,
                                 f._solve_cache)
    c = f(t, torch.zeros_like(y))
    assert (f(t, y) - (lin + c)).abs().max() < 1e-12
    assert (f(t, 2 * y) - (2 * lin + c)).abs().max() < 1e-12


@pytest.mark.parametrize("spec", ["heat", "grand", "graff"])
@pytest.mark.parametrize("method", ["dopri5", "tsit5", "bosh3", "rk4", "euler", "midpoint"])
def test_krylov_form_takes_the_steps_of_the_stage_form(graph, spec, method):
    f = _field(spec, graph, {"d": 3} if spec == "heat" else {"d": 4, "k": 2})
    x0 = torch.randn(N, f.state_width, dtype=torch.float64, requires_grad=True)
    t = torch.tensor([0.0, 0.4, 1.0], dtype=torch.float64)
    out = []
    for affine in (True, False):
        cfg = SolverConfig(method, rtol=1e-7, atol=1e-8, affine=affine,
                           step_size=0.1 if method in FIXED else None)
        block = ODEBlock(f, 1.0, cfg)
        ys = block(x0, t)
        loss = (ys ** 2).sum() + ys[1].sum()
        grads = torch.autograd.grad(loss, [x0] + list(f.parameters()), allow_unused=True)
        out.append((ys, grads, block.nfe_forward))
    (ya, ga, na), (ys_, gs, ns) = out
    assert na == ns
    assert (ya - ys_).abs().max() < 1e-10 * (1 + ys_.abs().max())
    for a, b in zip(ga, gs):
        if a is not None:
            assert (a - b).abs().max() < 1e-9 * (1 + b.abs().max())


def test_krylov_form_matches_torchdiffeq(graph):
    f = _field("grand", graph, {"d": 4, "k": 2})
    x0 = torch.randn(N, 4, dtype=torch.float64)
    t = torch.tensor([0.0, 0.5, 2.0], dtype=torch.float64)
    block = ODEBlock(f, 2.0, SolverConfig("dopri5", rtol=1e-6, atol=1e-8))
    with torch.no_grad():
        ys = block(x0, t)
        calls = []
        ref = odeint(lambda s, y: calls.append(1) or f(s, y), x0, t, rtol=1e-6, atol=1e-8,
                     method="dopri5")
    assert block.nfe_forward == len(calls)
    assert (ys - ref).abs().max() < 1e-10


@pytest.mark.parametrize("method", sorted(TABLEAUS))
def test_krylov_weights_reproduce_the_stage_polynomial(method):
    """On y' = lam y the stage form's y1 is R(h lam) y0 with R the stability polynomial;
    the Krylov weights of b must be its coefficients: sum_m w_m lam^m == (R(h lam) - 1) / lam
    (for a first-same-as-last tableau, b puts no weight on the last stage)."""
    tab = TABLEAUS[method]
    lam, h = -0.7, 0.3
    ks, y1 = [lam], 1.0
    for c, row in zip(tab.c, tab.a):
        ks.append(lam * (1.0 + h * sum(a * k for a, k in zip(row, ks))))
    y1 = 1.0 + h * sum(b * k for b, k in zip(tab.b, ks))
    w = krylov_weights(tab, tab.b, h)
    vecs = [lam * lam ** m for m in range(len(w) - tab.fsal)] + ([lam * y1] if tab.fsal else [])
    assert math.isclose(1.0 + sum(a * v for a, v in zip(w, vecs)), y1, rel_tol=1e-13)
    compile(affine_step_source(tab), method, "exec")     # the generated step is valid Python


def test_explain_shows_the_generated_affine_step():
    src = compiler.explain("grand", "python")
    assert "def linear(" in src and "def affine_step(" in src
    assert "def affine_step(" not in compiler.explain("grand_nl", "python")


def test_affine_field_pickles_and_solves_after_loading(graph):
    import pickle
    f = _field("grand", graph, {"d": 4, "k": 2})
    x0 = torch.randn(N, 4, dtype=torch.float64)
    cfg = SolverConfig("dopri5", rtol=1e-6, atol=1e-8)
    with torch.no_grad():
        a = ODEBlock(f, 1.0, cfg)(x0)
        g = pickle.loads(pickle.dumps(f))
        b = ODEBlock(g, 1.0, cfg)(x0)
    assert g.affine and torch.equal(a, b)
