"""``method = "auto"`` (:mod:`pde2gnn.integrate.auto`) picks each of its three methods on a
case built for it: dopri5 (mild heat), ark3 (stiff heat: the stiffness in L; stiff N on a graph
with hubs), ros34pw2 (Cahn-Hilliard: N = lap(c^3) stiff); and training through an adaptive
IMEX solve of a field whose L comes from init(x) (GREAD) gives gradients."""
import logging

import networkx as nx
import numpy as np
import pytest
import torch

from pde2gnn.compiler import pipeline as compiler
from pde2gnn.graph import construction as graphs
from pde2gnn.integrate.auto import choose, rest_jacobian, spectral_radius
from pde2gnn.integrate.solve import ODEBlock, SolverConfig

CH = """model ch
domain pos : [0, 1] x [0, 1] periodic scheme=grid
field c : node
param g = 0.001
dt(c) = lap(c^3 - c - g*lap(c))
"""
CUBIC = """model cubic_exchange
field u : node
dt(u) = sum_j(u_j^3 - u_i^3) - u
"""


pytestmark = pytest.mark.usefixtures("float64")


def _grid(spec, n=16):
    pos, ei = graphs.grid_graph((n, n), (0, 0), (1, 1), periodic=True)
    inputs = {"pos": torch.tensor(pos)} if "domain" in spec else None
    return compiler.compile(spec, torch.as_tensor(ei), n * n, dims=None if inputs else {"d": 1},
                            inputs=inputs)


def test_heat_dopri5_when_mild_ark3_when_stiff(caplog):
    f = _grid("heat")
    y0 = torch.randn(256, 1, generator=torch.Generator().manual_seed(3))
    f.prepare(y0)
    mild, stiff = choose(f, y0, 0.0, 0.5), choose(f, y0, 0.0, 100.0)
    assert mild.method == "dopri5" and stiff.method == "ark3"
    assert stiff.rho_rest == 0.0                  # affine: N constant
    assert 7.0 < stiff.rho_linear <= 8.0 + 1e-9   # rho(L) = 8 on a periodic grid
    with caplog.at_level(logging.INFO, logger="pde2gnn"):
        block = ODEBlock(f, 100.0, SolverConfig("auto", rtol=1e-6, atol=1e-8))
        block(y0)
    assert block.auto_choice.method == "ark3" and "the stiffness is in L" in caplog.text and "-> ark3" in caplog.text


@pytest.mark.slow
def test_cahn_hilliard_ros34pw2():
    """N = lap(c^3) has rho(J_N) ~ 3 max c^2 rho(lap) ~ 3 * 2048 on a 16x16 unit grid."""
    f = _grid(CH)
    y0 = torch.tanh(3 * torch.randn(256, 1, generator=torch.Generator().manual_seed(0)))
    f.prepare(y0)
    c = choose(f, y0, 0.0, 0.1)
    assert c.method == "ros34pw2" and not c.hubs
    assert c.rho_rest * 0.1 > 200 and c.rho_rest > c.rho_linear / 1e3
    block = ODEBlock(f, 0.1, SolverConfig("auto", rtol=1e-5, atol=1e-7))
    with torch.no_grad():
        y = block(y0)
    ref = ODEBlock(f, 0.1, SolverConfig("ros34pw2", rtol=1e-5, atol=1e-7))
    with torch.no_grad():
        assert torch.equal(y, ref(y0))


def test_stiff_rest_on_a_graph_with_hubs_ark3():
    """A star with 700 leaves: the centre's Jacobian row has 701 entries (> 512)."""
    g = nx.star_graph(700)
    e = np.array(g.edges()).T
    ei = torch.as_tensor(np.hstack([e, e[::-1]]))
    f = compiler.compile(CUBIC, ei, 701)
    y0 = 1.0 + 0.1 * torch.rand(701, 1, generator=torch.Generator().manual_seed(1))
    f.prepare(y0)
    c = choose(f, y0, 0.0, 1.0)
    assert c.hubs and c.method == "ark3" and c.rho_rest > 200
    assert "hubs" in c.reason


def test_spectral_radius_of_a_diagonal():
    d = torch.tensor([[1.0], [-5.0], [2.0]])
    assert abs(spectral_radius(lambda v: d * v, d, iterations=60, settled=0.0) - 5.0) < 1e-6
    est = spectral_radius(lambda v: d * v, d)      # stops once settled: error factor 0.4^k
    assert abs(est - 5.0) <= 0.1 * 5.0 and 3 <= spectral_radius.products < 20


def test_settled_estimates_within_ten_percent_of_twenty_iterations():
    """The early stop keeps every estimate of the cases above within 10 % of the full 20
    power iterations (by VJPs before: now forward differences of N), in fewer products."""
    ch = _grid(CH)
    y_ch = torch.tanh(3 * torch.randn(256, 1, generator=torch.Generator().manual_seed(0)))
    heat = _grid("heat")
    y_heat = torch.randn(256, 1, generator=torch.Generator().manual_seed(3))
    t = torch.zeros(())
    for f, y0 in ((heat, y_heat), (ch, y_ch)):
        f.prepare(y0)
        ops = [f.linear] + ([] if f.affine else [rest_jacobian(f, t, y0)])
        for op in ops:
            full = spectral_radius(op, y0, settled=0.0)
            early = spectral_radius(op, y0)
            assert abs(early - full) <= 0.1 * full and spectral_radius.products < 20, (early, full)
    # the forward difference against autograd's vector-Jacobian product (J_N symmetric here:
    # lap(c^3) has Jacobian lap diag(3 c^2), similar to a symmetric one, same spectrum)
    ch.prepare(y_ch)
    v = torch.randn(256, 1, generator=torch.Generator().manual_seed(5))
    y = y_ch.clone().requires_grad_()
    exact = torch.autograd.functional.jvp(lambda u: ch.rest(t, u), y, v)[1]
    fd = rest_jacobian(ch, t, y_ch)(v)
    assert float((fd - exact).norm() / exact.norm()) < 1e-5     # ~ sqrt(u) (1 + |y|) |J''|


def test_training_through_adaptive_imex_with_weights_from_init():
    """GREAD's attention is built from init(x) during prepare, which then requires grad: the
    IMEX loop's first-step heuristic evaluates the field under autograd (it used to refuse)."""
    pos, ei = graphs.grid_graph((6, 6), (0, 0), (1, 1), periodic=True)
    f = compiler.compile("gread", torch.as_tensor(ei), 36, dims={"d": 3}).double()
    enc = torch.nn.Linear(3, 3).double()
    y0 = enc(torch.randn(36, 3, generator=torch.Generator().manual_seed(2)))
    block = ODEBlock(f, 5.0, SolverConfig("ark3", rtol=1e-4, atol=1e-6))
    block(y0).square().sum().backward()
    assert enc.weight.grad is not None and float(enc.weight.grad.norm()) > 0


def test_choice_reused_while_the_weights_move_little():
    """A training run's solves: the estimate is made once per AUTO_REUSE solves while the
    weights move by under 10 %, again at once when they move more, or when T changes."""
    from pde2gnn.integrate.solver_config import AUTO_REUSE
    pos, ei = graphs.grid_graph((6, 6), (0, 0), (1, 1), periodic=True)
    f = compiler.compile("gread", torch.as_tensor(ei), 36, dims={"d": 3}).double()
    y0 = torch.randn(36, 3, generator=torch.Generator().manual_seed(2))
    block = ODEBlock(f, 500.0, SolverConfig("auto", rtol=1e-3, atol=1e-5))
    p = next(f.parameters())
    with torch.no_grad():
        for k in range(AUTO_REUSE + 2):
            p.mul_(1.001)                    # an optimiser's small steps
            block(y0)
        assert block.auto_estimates == 2 and block.auto_choice.method == "ark3"
        p.mul_(2.0)                          # a large move: estimated again
        block(y0)
        assert block.auto_estimates == 3
        block.time = 0.01                    # another span: estimated again
        block(y0)
        assert block.auto_estimates == 4 and block.auto_choice.method == "dopri5"
