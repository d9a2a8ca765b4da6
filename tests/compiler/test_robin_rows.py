"""A Robin condition whose a or b depends on t, evaluated on the boundary rows only
(``backend/sources.py``: ``on_rows``, ``OnRows`` -> ``source_rows.take``; issue 36): the
generated field against the plain full-node formula S (g - a u) / (b + a d) written by hand
in PyTorch (values, batched states), against the same spec evaluated term by term on every
node (``fuse=False``), and its gradients (gradcheck in the state and in an input inside a
and b). The term is in N of the split (L is frozen within a solve, so a u term whose
coefficient changes with t cannot be in it): L y + N = f is checked in
``tests/compiler/test_split.py``."""
import pytest
import torch

from pde2gnn.compiler import pipeline as compiler
from pde2gnn.compiler.backend import source_rows
from pde2gnn.graph import construction as graphs

SPEC = """model robin_t
field u : node[2]
domain pos : [0, 1] x [0, 1]
input k : node
bc u : x = 1 robin(1 + k * y, 2 + k * sin(t), cos(t) * y)
dt(u) = lap(u)
"""


def _field(centring, n=9, fuse=True):
    pos, ei = graphs.grid_graph((n, n), (0, 0), (1, 1), centring=centring)
    pos = torch.tensor(pos, dtype=torch.float64)
    k = 0.5 + torch.sin(3 * pos[:, :1]) ** 2          # node input, positive
    f = compiler.compile(SPEC, ei, n * n, inputs={"pos": pos, "k": k}, fuse=fuse).double()
    return f, pos, k


def _by_hand(f, pos, k, t, y):
    """S (g - a u) / (b + a d) on every node, a, b, g at the wall x = 1."""
    S, d = f.graph.geo_lap__u_s0, f.graph.geo_lap__u_d0
    yy = pos[:, 1:]
    a, b, g = 1 + k * yy, 2 + k * torch.sin(t), torch.cos(t) * yy
    return S * (g - a * y) / (b + a * d)


@pytest.mark.parametrize("centring", ["vertex", "cell"])
def test_rows_equal_the_full_node_formula(centring):
    f, pos, k = _field(centring)
    step = f.source.split("def step")[1]
    assert "_rows.take(" in step and "_rows.bias(" in step    # the rows path is taken
    S = f.graph.geo_lap__u_s0
    assert 0 < int((S != 0).sum()) < f.graph.num_nodes // 4    # only the face's rows
    ref, _, _ = _field(centring, fuse=False)                    # every term on every node
    g = torch.Generator().manual_seed(0)
    for shape in ((81, 2), (3, 81, 2)):
        y = torch.randn(*shape, generator=g, dtype=torch.float64)
        f.prepare(y)
        ref.prepare(y)
        for t in (0.3, 1.7):
            t = torch.tensor(t, dtype=torch.float64)
            out = f(t, y)
            scale = float(out.abs().max())
            want = f.linear(y) + _by_hand(f, pos, k, t, y)
            assert float((out - want).abs().max()) <= 1e-12 * scale
            assert float((out - ref(t, y)).abs().max()) <= 1e-12 * scale
        if len(shape) == 3:
            for b in range(3):
                torch.testing.assert_close(f(t, y)[b], f(t, y[b]), rtol=1e-13, atol=1e-13)


def test_robin_rows_gradcheck_in_the_state_and_an_input_inside_a_and_b():
    f, pos, k0 = _field("vertex", n=6)
    t = torch.tensor(0.8, dtype=torch.float64)

    def field(y, k):
        f.set_inputs({"k": k})
        f.prepare(y.detach())
        return f(t, y)

    y = torch.randn(36, 2, dtype=torch.float64, requires_grad=True)
    k = k0.clone().requires_grad_()
    assert torch.autograd.gradcheck(field, (y, k))
    # and the same gradient as the formula by hand
    out = field(y, k)
    v = torch.randn_like(out)
    gy, gk = torch.autograd.grad((out * v).sum(), (y, k))
    want = f.linear(y) + _by_hand(f, pos, k, t, y)
    hy, hk = torch.autograd.grad((want * v).sum(), (y, k))
    torch.testing.assert_close(gy, hy, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(gk, hk, rtol=1e-12, atol=1e-12)


def test_a_mask_robin_with_b_in_time_is_on_the_mask_rows():
    """``robin(a, b, g)`` on a node mask: the flux m (g - a u) / b, here with b in t."""
    n = 10
    pos, ei = graphs.grid_graph((n, n), (0, 0), (1, 1))
    pos = torch.tensor(pos, dtype=torch.float64)
    wall = ((pos - 0.5) ** 2).sum(1) < 0.2 ** 2
    spec = ("model m\nfield u : node[3]\ndomain pos : [0, 1] x [0, 1]\ninput wall : node mask\n"
            "bc u : wall robin(1 + x, 2 + sin(t), y * cos(t))\ndt(u) = lap(u) + u - u^3\n")
    f = compiler.compile(spec, ei, n * n, inputs={"pos": pos, "wall": wall}).double()
    assert "_rows.take(" in f.source.split("def step")[1]
    y = torch.randn(2, n * n, 3, dtype=torch.float64)
    f.prepare(y)
    t = torch.tensor(0.6, dtype=torch.float64)
    x, yy, m = pos[:, :1], pos[:, 1:], wall[:, None].double()
    flux = m * (yy * torch.cos(t) - (1 + x) * y) / (2 + torch.sin(t))
    want = f.linear(y) - y ** 3 + flux        # L y: lap(u) + u
    out = f(t, y)
    assert float((out - want).abs().max()) <= 1e-12 * float(out.abs().max())


def test_a_mask_on_most_nodes_keeps_every_row():
    """Over :data:`source_rows.DENSE` of the nodes the rows are all nodes (no scatter)."""
    n = 8
    pos, ei = graphs.grid_graph((n, n), (0, 0), (1, 1))
    pos = torch.tensor(pos, dtype=torch.float64)
    wall = pos[:, 0] > 0.2
    spec = ("model m\nfield u : node[2]\ndomain pos : [0, 1] x [0, 1]\ninput wall : node mask\n"
            "bc u : wall robin(1 + y, 2 + cos(t), x)\ndt(u) = lap(u)\n")
    f = compiler.compile(spec, ei, n * n, inputs={"pos": pos, "wall": wall}).double()
    sources = [v for v in f._static_fn(f.graph, f._inputs()).values()
               if isinstance(v, source_rows.Source)]
    assert len(sources) == 1 and sources[0].rows is None
    t = torch.tensor(1.1, dtype=torch.float64)
    x, yy, m = pos[:, :1], pos[:, 1:], wall[:, None].double()
    for y in (torch.randn(n * n, 2, dtype=torch.float64), torch.randn(2, n * n, 2, dtype=torch.float64)):
        f.prepare(y)
        want = f.linear(y) + m * (x - (1 + yy) * y) / (2 + torch.cos(t))
        out = f(t, y)
        assert float((out - want).abs().max()) <= 1e-12 * float(out.abs().max())
