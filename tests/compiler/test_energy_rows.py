"""var(E, x) of operators whose derivative comes from their row (lang/builtins.py): the derived
flow equals torch.autograd's gradient of the same energy written by hand in PyTorch, and every
row the table lets into energies has a rule var(...) can use."""
import pytest
import torch

from pde2gnn.compiler import pipeline as compiler
from pde2gnn.compiler.lang.builtins import BUILTINS
from pde2gnn.compiler.symbolic import ops as O

from tests.helpers.graphs import random_graph


def _squareplus(s):
    return 0.5 * (s + torch.sqrt(s * s + 4.0))


def _normalised(s, index, n):
    """sp(s_e) / sum of sp over the edges sharing ``index`` (i: over N(i), j: into j)."""
    sp = _squareplus(s)
    total = torch.zeros(n, dtype=s.dtype).index_add(0, index, sp)
    return sp / total[index]


def _softmax(s, index, n):
    """exp(s_e) / sum of exp over the edges sharing ``index`` (i: over N(i), j: into j)."""
    ex = torch.exp(s)
    return ex / torch.zeros(n, dtype=s.dtype).index_add(0, index, ex)[index]


def _by_hand(name, x, i, j, w, n):
    """The energies of ENERGIES below in plain PyTorch (i receives, j is the neighbour)."""
    s = (x[i] * (x[j] @ w)).sum(1)
    sym = (x[i] * x[j]).sum(1)
    if name == "issue":
        return _normalised((x[i] * x[j]).sum(1), i, n).sum()
    if name == "weighted_j":
        return (_normalised(s, i, n) * sym).sum() + 0.5 * (x * x).sum()
    if name == "weighted_i":
        return (_normalised(s, j, n) * torch.tanh(sym)).sum()
    if name == "softmax_j":
        return (_softmax(s, i, n) * sym).sum()
    if name == "softmax_i":
        return (_softmax(s, j, n) * torch.tanh(sym)).sum() + (_softmax(sym, i, n) ** 2).sum()
    if name == "receiver":
        return s.sum()
    if name == "mean_heads":
        return ((x * x).mean(1) * (x * x).sum(1)).sum()
    if name == "cat":
        return (torch.cat([x, torch.tanh(x)], 1) * torch.cat([x @ w, x], 1)).sum()
    if name == "where":
        return torch.where(sym > 0, s, torch.tanh(sym)).sum() + (
            ((x * x).sum(1) > 1).double() * (x * x).sum(1)).sum()
    return (torch.log(_normalised(s, i, n)) * (x[j] - x[i]).norm(dim=1)).sum()


ENERGIES = {
    # the energy of issue 37: sum_j of a normalised row is 1, so E = #nodes and var(E, x) = 0
    "issue": "sum_ij(squareplus_j(dot(x_i, x_j)))",
    "weighted_j": "sum_ij(squareplus_j(dot(x_i, x_j @ W)) * dot(x_i, x_j)) "
                  "+ 1/2 * sum_i(dot(x, x))",
    "weighted_i": "sum_ij(squareplus_i(dot(x_i, x_j @ W)) * tanh(dot(x_i, x_j)))",
    "nested": "sum_ij(log(squareplus_j(dot(x_i, x_j @ W))) * norm(grad(x)))",
    # softmax_j / softmax_i: their rows' pullbacks, each the other's i <-> j exchange
    "softmax_j": "sum_ij(softmax_j(dot(x_i, x_j @ W)) * dot(x_i, x_j))",
    "softmax_i": "sum_ij(softmax_i(dot(x_i, x_j @ W)) * tanh(dot(x_i, x_j))) "
                 "+ sum_ij(softmax_j(dot(x_i, x_j))^2)",
    # x_i inside a reduction over N(i) inside sum_i stays an edge value
    "receiver": "sum_i(sum_j(dot(x_i, x_j @ W)))",
    # rows with pullbacks besides squareplus, and cat's structural rule
    "mean_heads": "sum_i(mean_heads(x * x) * dot(x, x))",
    "cat": "sum_i(dot(cat(x, tanh(x)), cat(x @ W, x)))",
    "where": "sum_ij(where(dot(x_i, x_j) > 0, dot(x_i, x_j @ W), tanh(dot(x_i, x_j)))) "
             "+ sum_i((dot(x, x) > 1) * dot(x, x))",
}


@pytest.mark.parametrize("name", ENERGIES)
def test_squareplus_energy_matches_autograd(name):
    """dt(x) = -var(E, x) is minus torch.autograd's gradient of E (float64, symmetric graph
    with a non-symmetric W, so E_ij != E_ji): the row's pullback, its i <-> j swap and the
    structural rules together. Tolerance: 1e-10 relative to the gradient's norm (a few dozen
    well-conditioned float64 operations per entry)."""
    spec = (f"model m\nfield x : node[d]\nlearn W : [d, d]\nenergy E = {ENERGIES[name]}\n"
            "dt(x) = -var(E, x)\n")
    ei, n = random_graph(9, seed=4)
    d = 3
    field = compiler.compile(spec, ei, n, dims={"d": d}).double()
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in field.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64))
    w = field.learned()["W"].detach()
    x = torch.randn(n, d, generator=g, dtype=torch.float64, requires_grad=True)
    (gref,) = torch.autograd.grad(_by_hand(name, x, field.graph.i, field.graph.j, w, n), x)
    field.prepare(x.detach())
    with torch.no_grad():
        got = field(torch.tensor(0.0, dtype=torch.float64), x.detach())
    scale = max(gref.norm().item(), 1.0)
    assert (got + gref).norm().item() <= 1e-10 * scale, (got, -gref)
    if name != "issue":
        assert gref.norm() > 1e-3             # a gradient worth comparing


def test_issue_energy_is_constant_so_its_flow_vanishes():
    """The issue's energy is sum_i 1 (each row of squareplus_j sums to 1): the derived flow is
    zero up to rounding, although symbolically it is not written as 0."""
    ei, n = random_graph(9, seed=4)
    field = compiler.compile("model m\nfield x : node[2]\nenergy E = " + ENERGIES["issue"] +
                             "\ndt(x) = -var(E, x)\n", ei, n).double()
    x = torch.randn(n, 2, dtype=torch.float64)
    field.prepare(x)
    with torch.no_grad():
        assert field(torch.tensor(0.0), x).abs().max() < 1e-12


def test_every_energy_capable_row_has_a_derivative_rule():
    """A row that lets its operator into energies (``energy`` None) has a ``derivative`` entry
    (``var``'s own row says not applicable); otherwise var(...) would fail late. Fails naming
    every row that has neither."""
    missing = [name for name, b in BUILTINS.items() if b.energy is None and not b.derivative]
    assert not missing, (f"rows allowed in energies with no derivative rule for var: {missing}; "
                         "give each a `derivative` entry in lang/builtins.py or an `energy` "
                         "reason that keeps it out of energies")
