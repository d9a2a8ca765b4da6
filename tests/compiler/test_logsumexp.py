"""logsumexp_j, the smooth maximum over N(i) (one row in lang/builtins.py and one GraphOps
kernel): the compiled flow and its gradients equal a hand-written PyTorch version (float64),
also on an empty graph and on a one-node graph, it does not overflow, and var(...) of an energy
with it (its row's pullback at_i(c) * softmax_j(u)) equals torch.autograd's gradient."""
import pytest
import torch

from pde2gnn.compiler import pipeline as compiler

from tests.helpers.graphs import random_graph

SPEC = ("model m\nfield x : node[3]\nlearn W : [3, 3]\n"
        "dt(x) = logsumexp_j(x_j @ W + x_i) - x\n")


def logsumexp_by_hand(e, i, n):
    """log sum_{edges (i, j)} exp(e_ij) per node i and channel, by torch.logsumexp on each
    neighbourhood; 0 for a node without neighbours."""
    rows = [torch.logsumexp(e[i == k], dim=0) if bool((i == k).any())
            else e.new_zeros(e.shape[1]) for k in range(n)]
    return torch.stack(rows) if rows else e.new_zeros(0, e.shape[1])


def _graphs():
    ei, n = random_graph(9, seed=2)
    keep = (ei[0] != 8) & (ei[1] != 8)            # node 8 isolated: no neighbours
    return {"random": (ei[:, keep], n), "empty": (torch.zeros(2, 0, dtype=torch.long), 5),
            "one_node": (torch.zeros(2, 0, dtype=torch.long), 1),
            "self_loop": (torch.zeros(2, 1, dtype=torch.long), 1)}


@pytest.mark.parametrize("graph", ["random", "empty", "one_node", "self_loop"])
def test_flow_and_gradients_equal_pytorch_by_hand(graph):
    """Value and gradients with respect to x and W (float64): one logsumexp per neighbourhood,
    a few well-conditioned operations, so 1e-12 relative to the norms."""
    ei, n = _graphs()[graph]
    field = compiler.compile(SPEC, ei, n).double()
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        field.learned()["W"].copy_(torch.randn(3, 3, generator=g, dtype=torch.float64))
    w = field.learned()["W"]
    x = torch.randn(n, 3, generator=g, dtype=torch.float64, requires_grad=True)
    field.prepare(x.detach())
    got = field(torch.tensor(0.0, dtype=torch.float64), x)
    i, j = field.graph.i, field.graph.j
    want = logsumexp_by_hand(x[j] @ w + x[i], i, n) - x
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
    cot = torch.randn(n, 3, generator=g, dtype=torch.float64)
    grads = torch.autograd.grad((got * cot).sum(), (x, w), allow_unused=True)
    refs = torch.autograd.grad((want * cot).sum(), (x, w), allow_unused=True)
    for a, b, v in zip(grads, refs, (x, w)):       # without edges W is not used: gradient 0
        a, b = (torch.zeros_like(v) if g is None else g for g in (a, b))
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12 * max(1.0, float(b.norm())))
    if graph in ("empty", "one_node"):            # no neighbours: logsumexp_j is 0
        torch.testing.assert_close(got, -x)


def test_no_overflow_and_bounds_of_a_smooth_maximum():
    """exp(1000) overflows; the shifted kernel gives max_j <= logsumexp_j <= max_j + log deg."""
    ei, n = random_graph(9, seed=3)
    f = compiler.compile("model m\nfield x : node[1]\ndt(x) = logsumexp_j(1000 * x_j)\n",
                         ei, n).double()
    g = compiler.compile("model m\nfield x : node[1]\ndt(x) = max_j(1000 * x_j)\n",
                         ei, n).double()
    x = torch.rand(n, 1, dtype=torch.float64)
    f.prepare(x)
    g.prepare(x)
    soft, hard = f(torch.tensor(0.0), x), g(torch.tensor(0.0), x)
    deg = torch.bincount(f.graph.i, minlength=n).double()[:, None]
    assert torch.isfinite(soft).all()
    assert (soft >= hard - 1e-9).all() and (soft <= hard + deg.log() + 1e-9).all()


def test_energy_derivative_from_the_row_matches_autograd():
    """E = sum_i logsumexp_j(dot(x_i, x_j @ W)) + 1/2 sum_i dot(x, x) on a symmetric graph with
    a non-symmetric W: the derived -var(E, x) is minus torch.autograd's dE/dx (its pullback, the
    x_j rule and softmax_j's exchange with softmax_i together)."""
    spec = ("model m\nfield x : node[3]\nlearn W : [3, 3]\nenergy E = "
            "sum_i(logsumexp_j(dot(x_i, x_j @ W))) + 1/2 * sum_i(dot(x, x))\n"
            "dt(x) = -var(E, x)\n")
    ei, n = random_graph(9, seed=4)
    field = compiler.compile(spec, ei, n).double()
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        field.learned()["W"].copy_(torch.randn(3, 3, generator=g, dtype=torch.float64))
    w = field.learned()["W"].detach()
    x = torch.randn(n, 3, generator=g, dtype=torch.float64, requires_grad=True)
    i, j = field.graph.i, field.graph.j
    energy = logsumexp_by_hand((x[i] * (x[j] @ w)).sum(1, keepdim=True), i, n).sum() \
        + 0.5 * (x * x).sum()
    (gref,) = torch.autograd.grad(energy, x)
    field.prepare(x.detach())
    with torch.no_grad():
        got = field(torch.tensor(0.0, dtype=torch.float64), x.detach())
    assert gref.norm() > 1e-3
    torch.testing.assert_close(got, -gref, rtol=1e-10, atol=1e-10 * float(gref.norm()))
