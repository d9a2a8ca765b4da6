"""Linear stencils inside non-linear functions and powers are fused into node temporaries
(``_lin<k>``, one sparse product each) instead of gather / scatter: the discretised program
has no message-passing remainder left, and its value equals hand-written finite differences
(Kuramoto-Sivashinsky on a periodic grid) and hand-written PyTorch (powers on a random graph)."""
import numpy as np
import torch

from pde2gnn.compiler import pipeline as compiler
from pde2gnn.graph import construction as graphs
from pde2gnn.compiler.symbolic import ops as O


def _gathers(program):
    return [f for f, r in program.remainder.items() if r.has(O.SumJ, O.AtI, O.AtJ)]


def test_kuramoto_sivashinsky_squares_are_sparse_products():
    p = compiler.to_stencil("kuramoto_sivashinsky", {"d": 1})
    assert _gathers(p) == []
    assert sum(t.startswith("_lin") for t in p.temps) == 2   # dx(u) and dy(u)


def test_kuramoto_sivashinsky_equals_periodic_finite_differences():
    n, L = 16, 32 * np.pi
    h = L / n
    pos, ei = graphs.grid_graph((n, n), (0.0, 0.0), (L, L), periodic=True)
    rng = np.random.default_rng(0)
    u = rng.standard_normal((n, n, 2))
    vf = compiler.compile("kuramoto_sivashinsky", ei, n * n, {"d": 2},
                          inputs={"pos": torch.tensor(pos)}).double()
    y = torch.tensor(u.reshape(n * n, 2))
    vf.prepare(y)
    got = vf(torch.tensor(0.0, dtype=torch.float64), y).detach().numpy().reshape(n, n, 2)

    def lap(f):
        return (np.roll(f, 1, 0) + np.roll(f, -1, 0) + np.roll(f, 1, 1) + np.roll(f, -1, 1)
                - 4 * f) / h ** 2
    ux = (np.roll(u, -1, 0) - np.roll(u, 1, 0)) / (2 * h)    # axis 0 is x (grid_graph)
    uy = (np.roll(u, -1, 1) - np.roll(u, 1, 1)) / (2 * h)
    want = -lap(u) - lap(lap(u)) - (ux ** 2 + uy ** 2) / 2
    scale = np.abs(want).max()
    assert np.abs(got - want).max() <= 1e-12 * scale * n


SPEC = """model p
field x : node[3]
dt(x) = lap(x)^3 - 2*sqrt(1 + mean_j(x_j)^2) + exp(x)^2
"""


def test_powers_of_linear_stencils_equal_handwritten_torch():
    gen = torch.Generator().manual_seed(1)
    N = 20
    pairs = {(k, (k + 1) % N) for k in range(N)}
    while len(pairs) < 3 * N:
        a, b = torch.randint(N, (2,), generator=gen).tolist()
        if a != b:
            pairs.add((a, b))
    ei = torch.tensor(sorted(pairs)).T        # one-way edges, unequal degrees
    p = compiler.to_stencil(SPEC)
    assert _gathers(p) == []
    assert sum(t.startswith("_lin") for t in p.temps) == 2   # lap(x), mean_j(x_j); not exp(x)
    vf = compiler.compile(SPEC, ei, N).double()
    x = torch.randn(N, 3, generator=gen, dtype=torch.float64)
    vf.prepare(x)
    got = vf(torch.tensor(0.0, dtype=torch.float64), x)
    j, i = ei
    lap = torch.zeros_like(x).index_add_(0, i, x[j] - x[i])
    deg = torch.zeros(N, dtype=torch.float64).index_add_(0, i, torch.ones(len(i), dtype=torch.float64))
    mean = torch.zeros_like(x).index_add_(0, i, x[j]) / deg[:, None]
    want = lap ** 3 - 2 * torch.sqrt(1 + mean ** 2) + torch.exp(x) ** 2
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12 * want.abs().max().item())

