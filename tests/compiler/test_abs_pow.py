"""``_G.abs_pow(u, p)``: ``|u| ** p`` for a number p > 1 (G^2's gate, Rusch et al., ICLR 2023,
eq. 5), whose derivative ``p |u| ** (p - 1) sign(u)`` is formed in the forward pass. Its values,
first and second derivatives equal ``torch.abs(u) ** p`` (float64, exact zeros and numbers below
the smallest normal included), for half-integer exponents (products and one square root) and
others (``pow``). ``_G.sum_abs_pow_diff(u, p)`` (sum_j |u_j - u_i|^p in one kernel) equals the
gathers computed by hand on graphs with repeated edges, self-loops and an isolated node, first
and second derivatives included; the generated code of ``sum_j(abs(u_j - u_i)^p)`` calls it,
and ``abs(...)^p`` elsewhere calls abs_pow, only for p > 1."""
import pytest
import torch

from pde2gnn.compiler import pipeline as compiler
from pde2gnn.compiler.backend.pointwise_ops import PointwiseOps
from pde2gnn.errors import DataError

from tests.helpers.graphs import random_graph

EXPONENTS = [1.5, 2.0, 2.5, 3.0, 3.7, 4.5, 8.5, 9.5]


def _u(dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    u = torch.randn(40, 6, generator=g, dtype=dtype)
    u[0, :3] = 0.0                                   # exact zeros (ReLU differences)
    u[1, 0] = torch.finfo(dtype).tiny / 8            # below the smallest normal number
    u[1, 1] = -torch.finfo(dtype).tiny / 8
    return u.requires_grad_()


@pytest.mark.parametrize("p", EXPONENTS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_values_and_gradient_equal_torch_abs_pow(p, dtype):
    """Relative to the norm of the reference: a few roundings of the dtype (the square root and
    products against exp(p log |u|))."""
    u = _u(dtype)
    got, want = PointwiseOps.abs_pow(u, p), u.abs() ** p
    eps = torch.finfo(dtype).eps
    assert got.shape == want.shape and got.dtype == dtype
    assert torch.allclose(got, want, rtol=8 * p * eps, atol=0)
    w = torch.randn(got.shape, generator=torch.Generator().manual_seed(1), dtype=dtype)
    a, = torch.autograd.grad((got * w).sum(), u)
    b, = torch.autograd.grad((want * w).sum(), u)
    assert torch.allclose(a, b, rtol=8 * p * eps, atol=0)
    assert (a[0, :3] == 0).all()                     # the derivative at 0 is 0 for p > 1


@pytest.mark.parametrize("p", EXPONENTS)
def test_first_and_second_derivatives_by_finite_differences(p):
    """gradcheck / gradgradcheck (float64; away from 0, where the second derivative of
    |u|^p is singular for p < 2)."""
    u = torch.randn(5, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    u = (u + 0.3 * torch.sign(u)).requires_grad_()
    assert torch.autograd.gradcheck(lambda v: PointwiseOps.abs_pow(v, p), (u,))
    assert torch.autograd.gradgradcheck(lambda v: PointwiseOps.abs_pow(v, p), (u,))


def test_exponent_at_most_one_is_refused():
    with pytest.raises(DataError, match="exponent > 1"):
        PointwiseOps.abs_pow(torch.ones(2, 2), 1.0)


def _spec(p):
    return ("model m\nfield x : node[4]\nlearn W : [4, 4]\n"
            f"dt(x) = tanh(mean_j(abs(grad(x @ W))^{p})) * x\n")


def test_abs_pow_outside_an_edge_difference():
    """abs(u)^p of a node value is one abs_pow call."""
    ei, n = random_graph(10, seed=4)
    spec = "model m\nfield x : node[4]\nlearn W : [4, 4]\ndt(x) = -abs(x @ W)^2.5\n"
    assert "_G.abs_pow(" in compiler.compile(spec, ei, n).source


def _graphs():
    ei, n = random_graph(12, seed=3)
    keep = (ei[0] != 11) & (ei[1] != 11)                       # node 11 isolated
    ei = ei[:, keep]
    loops = torch.tensor([[0, 4], [0, 4]])
    return {"random": ei, "repeated": torch.cat([ei, ei[:, :5], loops], 1),
            "directed": ei[:, ::2]}, n


@pytest.mark.parametrize("graph", ["random", "repeated", "directed"])
@pytest.mark.parametrize("p", [1.5, 2.5, 3.0, 3.7])
def test_sum_abs_pow_diff_equals_the_gathers(graph, p):
    """Forward and gradient against sum_j |u_j - u_i|^p by hand (index_add over the targets),
    1e-12 relative to the norms; second derivatives by gradgradcheck (where they exist)."""
    from pde2gnn.compiler.backend.graph_ops import GraphOps
    eis, n = _graphs()
    ei = eis[graph]
    ops = GraphOps(ei, n).double()
    g = torch.Generator().manual_seed(6)
    u = torch.randn(n, 5, generator=g, dtype=torch.float64, requires_grad=True)
    got = ops.sum_abs_pow_diff(u, p)
    src, dst = ei
    want = torch.zeros(n, 5, dtype=torch.float64).index_add(0, dst, (u[src] - u[dst]).abs() ** p)
    assert torch.allclose(got, want, rtol=0, atol=1e-12 * float(want.detach().abs().amax()))
    w = torch.randn(n, 5, generator=g, dtype=torch.float64)
    a, = torch.autograd.grad((got * w).sum(), u)
    b, = torch.autograd.grad((want * w).sum(), u)
    assert torch.allclose(a, b, rtol=0, atol=1e-12 * float(b.abs().amax()))
    if graph == "repeated" and p < 2:   # a self-loop's difference is 0: |d|^p has no second
        return                          # derivative there for p < 2 (nor has the unfused form)
    v = torch.randn(n, 2, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradgradcheck(lambda x: ops.sum_abs_pow_diff(x, p), (v,))


@pytest.mark.parametrize("p,kernel", [(2.5, "_G.sum_abs_pow_diff("), (3, "_G.sum_abs_pow_diff("),
                                      (0.5, None), (1, None)])
def test_generated_code_calls_the_kernels_for_exponents_above_one(p, kernel):
    """mean_j(abs(grad(.))^p) with p > 1 is one sum_abs_pow_diff call; the field and its
    gradient in W equal the reference interpreter's (gathers, torch.abs and **) to 1e-12
    relative to their norms."""
    from pde2gnn.compiler.backend.reference import interpret
    ei, n = random_graph(10, seed=4)
    field = compiler.compile(_spec(p), ei, n).double()
    assert "_G.abs_pow(" not in field.source
    assert (kernel is None and "sum_abs_pow_diff" not in field.source) or kernel in field.source
    g = torch.Generator().manual_seed(5)
    params = list(field.learned().values())
    with torch.no_grad():
        for q in params:
            q.copy_(torch.randn(q.shape, generator=g, dtype=torch.float64))
    x = torch.randn(n, 4, generator=g, dtype=torch.float64)
    t = torch.tensor(0.0, dtype=torch.float64)
    field.prepare(x)
    got, want = field(t, x), interpret(field, t, x, x)
    scale = float(want.detach().abs().amax())
    assert torch.allclose(got, want, rtol=0, atol=1e-12 * scale)
    w = torch.randn(n, 4, generator=g, dtype=torch.float64)
    for a, b in zip(torch.autograd.grad((got * w).sum(), params),
                    torch.autograd.grad((want * w).sum(), params)):
        assert torch.allclose(a, b, rtol=0, atol=1e-12 * float(b.abs().amax()))


@pytest.mark.parametrize("graph,symmetric", [("random", True), ("repeated", False),
                                             ("directed", False), ("repeated_sym", True)])
@pytest.mark.parametrize("block", [12, 1 << 17])
def test_blocks_and_symmetric_pairs_equal_the_whole_tensor_form(graph, symmetric, block,
                                                                monkeypatch):
    """The blocked kernel (blocks of 2 edges, and one block) on the pairs i < j of a symmetric
    graph (repeated edges and self-loops included) or every edge of another: values and
    gradients equal the whole-tensor form (two gathers, abs_pow, two scatters) to 1e-12
    relative to the norms, float64."""
    from pde2gnn.compiler.backend import edge_power
    from pde2gnn.compiler.backend.graph_ops import GraphOps
    monkeypatch.setattr(edge_power, "BLOCK_ENTRIES", block)
    eis, n = _graphs()
    eis["repeated_sym"] = torch.cat([eis["random"], eis["random"][:, :3],
                                     eis["random"][:, :3].flip(0), torch.tensor([[2], [2]])], 1)
    ops = GraphOps(eis[graph], n).double()
    assert ops._power_pairs()[2] is symmetric
    g = torch.Generator().manual_seed(7)
    u = torch.relu(torch.randn(n, 5, generator=g, dtype=torch.float64)).requires_grad_()
    got = ops.sum_abs_pow_diff(u, 2.5)
    want = ops.sum_j(ops.abs_pow(ops.gather_j(u) - ops.gather_i(u), 2.5))
    assert torch.allclose(got, want, rtol=0, atol=1e-12 * float(want.detach().abs().amax()))
    w = torch.randn(n, 5, generator=g, dtype=torch.float64)
    a, = torch.autograd.grad((got * w).sum(), u)
    b, = torch.autograd.grad((want * w).sum(), u)
    assert torch.allclose(a, b, rtol=0, atol=1e-12 * float(b.abs().amax()))
