"""Numerics of compiled fields: analytic solutions, adjoint identities, hand-written references."""
import numpy as np
import pytest
import scipy.linalg
import torch

from pde2gnn.compiler import pipeline as compiler
from pde2gnn.errors import OptionError, SolverError
from pde2gnn.integrate.solve import ODEBlock, SolverConfig

from tests.helpers.graphs import random_graph

HEAT = "model heat\nfield x : node[d]\nparam kappa = 1.0\ndt(x) = kappa * lap(x)\n"


def dense_adjacency(edge_index, n):
    a = np.zeros((n, n))
    a[edge_index[1].numpy(), edge_index[0].numpy()] = 1.0
    return a


def test_heat_matches_matrix_exponential(ring):
    ei, n = ring
    field = compiler.compile(HEAT, ei, n, dims={"d": 3}, params={"kappa": 0.8}).double()
    x0 = torch.randn(n, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    t = 1.3
    y = ODEBlock(field, t, SolverConfig("dopri5", rtol=1e-10, atol=1e-12))(x0)
    a = dense_adjacency(ei, n)
    lap = np.diag(a.sum(1)) - a
    ref = scipy.linalg.expm(-0.8 * t * lap) @ x0.numpy()
    assert np.abs(y.detach().numpy() - ref).max() < 1e-6


def test_heat_conserves_mass_and_dissipates_dirichlet_energy():
    ei, n = random_graph(20, seed=3)
    field = compiler.compile(HEAT, ei, n, dims={"d": 2}).double()
    x0 = torch.randn(n, 2, dtype=torch.float64)
    times = torch.linspace(0, 1, 6, dtype=torch.float64)
    ys = ODEBlock(field, 1.0, SolverConfig(rtol=1e-9, atol=1e-10))(x0, times)
    mass = ys.sum(1)
    assert torch.allclose(mass, mass[0].expand_as(mass), atol=1e-8)
    i, j = field.graph.i, field.graph.j
    energy = [0.25 * ((y[j] - y[i]) ** 2).sum().item() for y in ys]
    assert all(b <= a + 1e-12 for a, b in zip(energy, energy[1:]))


def _eval(spec, ei, n, dims, inputs, x):
    field = compiler.compile(spec, ei, n, dims=dims, inputs=inputs).double()
    field.prepare(x)
    return field(torch.tensor(0.0, dtype=torch.float64), x)


def test_grad_div_adjoint_identity():
    """<grad x, F>_E = -<x, div F> for a flux F_ij = -F_ji, with <F, G>_E = 1/2 sum_ij F G."""
    ei, n = random_graph(15, seed=5)
    g = torch.Generator().manual_seed(2)
    x = torch.randn(n, 3, dtype=torch.float64, generator=g)
    v = torch.randn(n, 3, dtype=torch.float64, generator=g)
    w = torch.rand(n, 1, dtype=torch.float64, generator=g)
    flux = "edge F = (w_i + w_j) * grad(v)\n"
    head = "model m\nfield x : node[3]\ninput v : node[3]\ninput w : node[1]\n" + flux
    inputs = {"v": v, "w": w}
    div_f = _eval(head + "dt(x) = div(F)\n", ei, n, {}, inputs, x)
    grad_dot = _eval(head + "dt(x) = sum_j(grad(x) * F)\n", ei, n, {}, inputs, x)
    lhs = 0.5 * grad_dot.sum()
    rhs = -(x * div_f).sum()
    assert abs(lhs - rhs) < 1e-10 * max(1.0, abs(float(rhs)))


def test_laplacian_is_symmetric_negative_semidefinite():
    ei, n = random_graph(10, seed=7)
    field = compiler.compile(HEAT, ei, n, dims={"d": 1}).double()
    field.prepare(torch.zeros(n, 1, dtype=torch.float64))
    cols = [field(torch.tensor(0.0), torch.eye(n, dtype=torch.float64)[:, k:k + 1])
            for k in range(n)]
    lap = torch.cat(cols, 1)
    assert torch.allclose(lap, lap.T)
    assert torch.linalg.eigvalsh(lap).max() < 1e-10


def grand_reference(x, x0, ei, n, wk, wq, alpha, beta):
    """GRAND-l by hand: sigmoid(alpha) (A(x0) - I) x + beta x0, A = row softmax of scores."""
    src, dst = ei[0], ei[1]
    k = wk.shape[1]
    scores = ((x0 @ wk)[dst] * (x0 @ wq)[src]).sum(-1) / k ** 0.5
    dense = torch.full((n, n), float("-inf"), dtype=x.dtype)
    dense[dst, src] = scores
    a = torch.softmax(dense, dim=1)
    return torch.sigmoid(alpha) * (a @ x - x) + beta * x0


def test_grand_matches_hand_written_pytorch():
    ei, n = random_graph(14, seed=11)
    field = compiler.compile("grand", ei, n, dims={"d": 5, "k": 3}).double()
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in field.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64))
    x0 = torch.randn(n, 5, dtype=torch.float64, generator=g)
    x = torch.randn(n, 5, dtype=torch.float64, generator=g)
    field.prepare(x0)
    out = field(torch.tensor(0.0), x)
    L = field.learned()
    ref = grand_reference(x, x0, ei, n, L["W_K"], L["W_Q"], L["alpha"], L["beta"])
    assert (out - ref).abs().max() < 1e-6


def test_grand_nonlinear_matches_hand_written_pytorch():
    ei, n = random_graph(10, seed=12)
    field = compiler.compile("grand_nl", ei, n, dims={"d": 4, "k": 2}).double()
    x0 = torch.randn(n, 4, dtype=torch.float64)
    x = torch.randn(n, 4, dtype=torch.float64)
    field.prepare(x0)
    L = field.learned()
    ref = grand_reference(x, x, ei, n, L["W_K"], L["W_Q"], L["alpha"], 0.0) + L["beta"] * x0
    assert (field(torch.tensor(0.0), x) - ref).abs().max() < 1e-10


@pytest.mark.parametrize("model", ["grand", "grand_nl", "heat"])
def test_gradcheck_through_compiled_field(model):
    ei, n = random_graph(7, seed=4)
    dims = {"d": 3, "k": 2} if model != "heat" else {"d": 3}
    field = compiler.compile(model, ei, n, dims=dims).double()
    with torch.no_grad():
        for p in field.parameters():
            p.add_(0.3)

    def f(x0, x):
        field.prepare(x0)
        return field(torch.tensor(0.0, dtype=torch.float64), x)

    x0 = torch.randn(n, 3, dtype=torch.float64, requires_grad=True)
    x = torch.randn(n, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(f, (x0, x))
    params = [p for p in field.parameters()]
    if params:
        def g(*ps):
            with torch.nn.utils.stateless._reparametrize_module(
                    field, {name: p for (name, _), p in zip(field.named_parameters(), ps)}):
                return f(x0.detach(), x.detach())
        assert torch.autograd.gradcheck(g, tuple(p.detach().clone().requires_grad_() for p in params))


def test_grand_fuses_into_one_sparse_product_without_edge_channel_tensors():
    ei, n = random_graph(8)
    field = compiler.compile("grand", ei, n, dims={"d": 4, "k": 2})
    step = field.source.split("def step")[1].split("def linear")[0]
    # the frozen diagonal -sigmoid(alpha) joins the attention in one CSR matrix
    assert step.count("_G.spmm_loops(") == 1 and "_G.spmm(" not in step
    assert "gather" not in step and "sum_j" not in step
    assert step.count("*") == 0


def test_float32_and_float64(ring):
    ei, n = ring
    for dtype in (torch.float32, torch.float64):
        field = compiler.compile("grand", ei, n, dims={"d": 4, "k": 2}).to(dtype)
        x0 = torch.randn(n, 4, dtype=dtype)
        y = ODEBlock(field, 1.0)(x0)
        assert y.dtype == dtype and y.shape == (n, 4)


def test_coupled_fields_wave_equation(ring):
    """u_t = v, v_t = lap(u): y(t) = expm(t [[0, I], [L, 0]]) y0 with L = A - D."""
    ei, n = ring
    spec = "model wave\nfield u : node\nfield v : node\ndt(u) = v\ndt(v) = lap(u)\n"
    field = compiler.compile(spec, ei, n).double()
    y0 = torch.randn(n, 2, dtype=torch.float64)
    y = ODEBlock(field, 0.9, SolverConfig(rtol=1e-10, atol=1e-12))(y0)
    a = dense_adjacency(ei, n)
    lap = a - np.diag(a.sum(1))
    big = np.block([[np.zeros((n, n)), np.eye(n)], [lap, np.zeros((n, n))]])
    ref = scipy.linalg.expm(0.9 * big) @ np.concatenate([y0[:, 0].numpy(), y0[:, 1].numpy()])
    got = np.concatenate([y[:, 0].detach().numpy(), y[:, 1].detach().numpy()])
    assert np.abs(got - ref).max() < 1e-6


def test_adjoint_gradients_match_direct_backprop(ring):
    ei, n = ring
    torch.manual_seed(0)
    field = compiler.compile("grand", ei, n, dims={"d": 3, "k": 2}).double()
    x0 = torch.randn(n, 3, dtype=torch.float64, requires_grad=True)
    grads = []
    for adjoint in (False, True):
        block = ODEBlock(field, 1.0, SolverConfig(rtol=1e-9, atol=1e-10, adjoint=adjoint))
        field.zero_grad()
        x0.grad = None
        block(x0).pow(2).sum().backward()
        grads.append([x0.grad.clone()] + [p.grad.clone() for p in field.parameters()])
        if adjoint:
            assert block.nfe_backward > 0
    for a, b in zip(*grads):
        assert torch.allclose(a, b, atol=1e-6)


def test_adjoint_tolerances_steer_the_backward_solve(ring):
    """adjoint_rtol / adjoint_atol reach torchdiffeq's backward solve: looser ones take fewer
    backward evaluations and a gradient within about their size of direct backpropagation;
    left unset, the forward tolerances apply; set without adjoint, a clear error."""
    ei, n = ring
    torch.manual_seed(0)
    field = compiler.compile("grand", ei, n, dims={"d": 3, "k": 2}).double()
    x0 = torch.randn(n, 3, dtype=torch.float64, requires_grad=True)

    def grad(**cfg):
        block = ODEBlock(field, 2.0, SolverConfig(rtol=1e-9, atol=1e-10, **cfg))
        x0.grad = None
        block(x0).pow(2).sum().backward()
        return x0.grad.clone(), block.nfe_backward

    exact, _ = grad()
    tight, nfe_tight = grad(adjoint=True)
    same, nfe_same = grad(adjoint=True, adjoint_rtol=1e-9, adjoint_atol=1e-10)
    loose, nfe_loose = grad(adjoint=True, adjoint_rtol=1e-4, adjoint_atol=1e-6)
    scale = exact.norm()
    assert nfe_same == nfe_tight and torch.equal(same, tight)
    assert (tight - exact).norm() < 1e-6 * scale
    assert nfe_loose < nfe_tight
    assert 0 < (loose - exact).norm() < 1e-2 * scale
    with torch.no_grad():      # no gradient taken: the plain fused solve, the same numbers
        block = ODEBlock(field, 2.0, SolverConfig(rtol=1e-9, atol=1e-10, adjoint=True,
                                                  adjoint_rtol=1e-4))
        plain = ODEBlock(field, 2.0, SolverConfig(rtol=1e-9, atol=1e-10))
        assert torch.equal(block(x0), plain(x0)) and block.nfe_forward == plain.nfe_forward
    with pytest.raises(OptionError, match="set adjoint too"):
        SolverConfig(adjoint_rtol=1e-4)
    with pytest.raises(OptionError, match="adjoint_atol"):
        SolverConfig(adjoint=True, adjoint_atol=-1.0)


def test_max_nfe_guard_raises_clear_error(ring):
    ei, n = ring
    field = compiler.compile(HEAT, ei, n, dims={"d": 1}, params={"kappa": 50.0})
    with pytest.raises(SolverError, match="max_nfe = 20"):
        ODEBlock(field, 5.0, SolverConfig(rtol=1e-8, atol=1e-8, max_nfe=20))(torch.randn(n, 1))


def test_diverging_solve_raises_clear_error(ring):
    ei, n = ring
    field = compiler.compile("model blow\nfield x : node\ndt(x) = x^2\n", ei, n)
    with pytest.raises(SolverError):
        ODEBlock(field, 10.0, SolverConfig(max_nfe=2000))(torch.ones(n, 1))


@pytest.mark.parametrize("self_loops", [False, True])
def test_operator_with_folded_diagonal_matches_dense_and_gradchecks(self_loops):
    """``with_diagonal`` / ``spmm_loops``: (A + diag(d)) x as one CSR product on the edges-plus-
    loops pattern equals the dense product, with or without self-loops already in the graph;
    gradients in A's values, d and x pass gradcheck; batched operators fall back exactly."""
    from pde2gnn.compiler.backend.graph_ops import GraphOps
    ei, n = random_graph(7, seed=4)
    if self_loops:
        ei = torch.cat([ei, torch.arange(n).repeat(2, 1)], 1)
    g = GraphOps(ei, n).double()
    v = torch.rand(g.num_edges, dtype=torch.float64, requires_grad=True)
    d = torch.randn(n, 1, dtype=torch.float64, requires_grad=True)
    x = torch.randn(n, 3, dtype=torch.float64, requires_grad=True)
    dense = torch.zeros(n, n, dtype=torch.float64)
    dense.index_put_((g.i, g.j), v.detach(), accumulate=True)
    dense += torch.diag(d.detach()[:, 0])
    out = g.spmm_loops(g.with_diagonal(v, d), x)
    assert torch.allclose(out, dense @ x.detach(), atol=1e-12)
    assert torch.autograd.gradcheck(lambda v, d, x: g.spmm_loops(g.with_diagonal(v, d), x),
                                    (v, d, x))
    xb = torch.randn(2, n, 3, dtype=torch.float64)
    assert torch.allclose(g.spmm_loops(g.with_diagonal(v, d), xb), dense @ xb, atol=1e-12)
    vb = torch.stack([v.detach(), 2 * v.detach()])          # per-trajectory operator
    pair = g.with_diagonal(vb, d.detach())
    assert isinstance(pair, tuple)
    assert torch.allclose(g.spmm_loops(pair, xb)[1], (dense + (dense - torch.diag(
        d.detach()[:, 0]))) @ xb[1], atol=1e-12)


@pytest.mark.parametrize("shape", [(7, 1), (7, 3), (3,)])
def test_sparse_product_with_bias_matches_sum_and_gradchecks(shape):
    """``spmm_loops(A, x, b)`` = b + (A + diag(d)) x in one ``torch.addmm`` (the source of a
    boundary condition as the product's bias): equal to the separate sum, unbatched and batched
    ([N, 1] biases fuse, others fall back to a sum), gradients in A's values, x and b pass
    gradcheck."""
    from pde2gnn.compiler.backend.graph_ops import GraphOps
    ei, n = random_graph(7, seed=5)
    g = GraphOps(ei, n).double()
    v = torch.rand(g.num_edges, dtype=torch.float64, requires_grad=True)
    d = torch.randn(n, 1, dtype=torch.float64)
    x = torch.randn(n, 3, dtype=torch.float64, requires_grad=True)
    b = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    ref = g.spmm_loops(g.with_diagonal(v, d), x) + b
    assert torch.allclose(g.spmm_loops(g.with_diagonal(v, d), x, b), ref, rtol=0, atol=1e-12)
    assert torch.autograd.gradcheck(
        lambda v, x, b: g.spmm_loops(g.with_diagonal(v, d), x, b), (v, x, b))
    assert torch.autograd.gradcheck(lambda v, x, b: g.spmm(v, x, b), (v, x, b))
    xb = torch.randn(2, n, 3, dtype=torch.float64)
    assert torch.allclose(g.spmm_loops(g.with_diagonal(v, d), xb, b),
                          g.spmm_loops(g.with_diagonal(v, d), xb) + b, rtol=0, atol=1e-12)
