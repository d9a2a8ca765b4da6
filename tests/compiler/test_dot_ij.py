"""``_G.dot_ij(u, v)``: ``dot(u_i, v_j)`` as a sampled dense-dense product (SDDMM) on the CSR
pattern, the attention scores of GRAND / BLEND without two [E, c] gathers. Its values and both
gradients equal the gather form ``dot(gather_i(u), gather_j(v))`` computed by hand (float64), on
graphs with repeated edges, self-loops, an isolated node and an empty edge list, with one and
with several heads; and the generated code of a spec reading ``dot(x_i @ A, x_j @ B)`` calls it."""
import pytest
import torch

from pde2gnn.compiler import pipeline as compiler
from pde2gnn.compiler.backend.graph_ops import GraphOps

from tests.helpers.graphs import random_graph


def _graphs():
    ei, n = random_graph(12, seed=3)
    keep = (ei[0] != 11) & (ei[1] != 11)                       # node 11 isolated
    ei = ei[:, keep]
    loops = torch.tensor([[0, 4], [0, 4]])
    repeated = torch.cat([ei, ei[:, :5], loops], 1)            # multi-edges and self-loops
    return {"random": (ei, n), "repeated": (repeated, n),
            "empty": (torch.zeros(2, 0, dtype=torch.long), 4)}


def _norm(t):
    return float(t.detach().abs().amax()) if t.numel() else 0.0


def _by_hand(u, v, ei, heads):
    """The edges in GraphOps's CSR order (sorted by target i, then source j), gathered."""
    src, dst = ei
    order = torch.argsort(dst * u.shape[0] + src, stable=True)
    i, j = dst[order], src[order]
    uv = u[i] * v[j]
    return uv.reshape(uv.shape[0], heads, uv.shape[1] // heads).sum(-1)


@pytest.mark.parametrize("graph", ["random", "repeated", "empty"])
@pytest.mark.parametrize("heads", [1, 3])
def test_values_and_gradients_equal_the_gathers(graph, heads):
    """A sum of 6 / heads products per entry and their adjoints: 1e-13 relative to the norms."""
    ei, n = _graphs()[graph]
    ops = GraphOps(ei, n).double()
    g = torch.Generator().manual_seed(1)
    u = torch.randn(n, 6, generator=g, dtype=torch.float64, requires_grad=True)
    v = torch.randn(n, 6, generator=g, dtype=torch.float64, requires_grad=True)
    got = ops.dot_ij(u, v, heads)
    want = _by_hand(u, v, ei, heads)
    assert got.shape == want.shape == (ei.shape[1], heads)
    assert torch.allclose(got, want, rtol=0, atol=1e-13 * (1 + _norm(want)))
    w = torch.randn(want.shape, generator=g, dtype=torch.float64)
    gu, gv = torch.autograd.grad((got * w).sum(), (u, v))
    hu, hv = torch.autograd.grad((want * w).sum(), (u, v))
    for a, b in ((gu, hu), (gv, hv)):
        assert torch.allclose(a, b, rtol=0, atol=1e-13 * (1 + _norm(b)))


def test_batched_and_mismatched_operands_take_the_gather_form():
    """[B, N, c] operands (trajectories on one graph) equal the gathers computed by hand."""
    ei, n = _graphs()["random"]
    ops = GraphOps(ei, n).double()
    g = torch.Generator().manual_seed(2)
    u = torch.randn(2, n, 4, generator=g, dtype=torch.float64)
    v = torch.randn(2, n, 4, generator=g, dtype=torch.float64)
    got = ops.dot_ij(u, v)
    for b in range(2):
        assert torch.allclose(got[b], _by_hand(u[b], v[b], ei, 1), rtol=0, atol=1e-13)


SPEC = ("model m\nfield x : node[4]\nlearn A : [4, 4]\nlearn B : [4, 4]\n"
        "dt(x) = sum_j(softmax_j(dot(x_j @ B, x_i @ A)) * (x_j - x_i))\n")


def test_generated_code_calls_dot_ij_and_matches_the_unfused_reference():
    """dot(v_j, u_i) is dot_ij(u, v) (dot is symmetric); the field, and its gradients in A and
    B, equal the reference interpreter's (which evaluates dot on gathers) on the repeated-edge
    graph, to 1e-12 relative to their norms."""
    from pde2gnn.compiler.backend.reference import interpret
    ei, n = _graphs()["repeated"]
    field = compiler.compile(SPEC, ei, n).double()
    assert "_G.dot_ij(" in field.source and "_G.dot(" not in field.source
    g = torch.Generator().manual_seed(3)
    params = list(field.learned().values())
    with torch.no_grad():
        for p in params:
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64))
    x = torch.randn(n, 4, generator=g, dtype=torch.float64)
    t = torch.tensor(0.0, dtype=torch.float64)
    w = torch.randn(n, 4, generator=g, dtype=torch.float64)
    field.prepare(x)
    got = field(t, x)
    want = interpret(field, t, x, x)
    assert torch.allclose(got, want, rtol=0, atol=1e-12 * _norm(want))
    for a, b in zip(torch.autograd.grad((got * w).sum(), params),
                    torch.autograd.grad((want * w).sum(), params)):
        assert torch.allclose(a, b, rtol=0, atol=1e-12 * _norm(b))
