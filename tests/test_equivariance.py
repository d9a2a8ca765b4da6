"""E(n) equivariance: the checker's located errors and the compiled EGNN ODE field (float64)."""
import pytest
import torch

from pde2gnn.compiler import compile, front
from pde2gnn.errors import KindError

BASE = """model m
field p : coords[3]
field h : node[4]
net F : mlp(in=4, out=4, hidden=8)
net G : mlp(in=3, out=4, hidden=8)
edge r = p_i - p_j
"""


def test_network_fed_raw_coordinate_is_located_error():
    src = BASE + "dt(p) = sum_j(r * dot(r, r))\ndt(h) = G(p)\n"
    with pytest.raises(KindError, match="breaks E\\(n\\) equivariance") as e:
        front(src)
    assert e.value.span.line == 8


@pytest.mark.parametrize("rhs", ["p", "sum_j(r * r)", "tanh(sum_j(r))", "sum_j(r)[0:1] * p"])
def test_non_equivariant_coordinate_updates_rejected(rhs):
    with pytest.raises(KindError, match="E\\(n\\)"):
        front(BASE + f"dt(p) = {rhs}\ndt(h) = F(h)\n")


def test_opt_out_node_field_not_checked():
    front(BASE.replace("coords[3]", "node[3]") + "dt(p) = p\ndt(h) = G(p)\n")


def test_egnn_ode_field_is_e3_equivariant():
    torch.manual_seed(0)
    n = 6
    ei = torch.tensor([(j, i) for i in range(n) for j in range(n) if i != j]).T
    f = compile("library/egnn_ode.pde", ei, n).double()
    p, h = torch.randn(n, 3, dtype=torch.float64), torch.randn(n, 8, dtype=torch.float64)
    q, _ = torch.linalg.qr(torch.randn(3, 3, dtype=torch.float64))
    q[:, 0] *= -1                                         # include a reflection
    b = torch.randn(3, dtype=torch.float64)
    def ev(y):
        f.prepare(y)
        return f(torch.tensor(0.0, dtype=torch.float64), y)
    out = ev(torch.cat([p, h], 1))
    out2 = ev(torch.cat([p @ q.T + b, h], 1))
    assert torch.allclose(out2[:, :3], out[:, :3] @ q.T, atol=1e-6)
    assert torch.allclose(out2[:, 3:], out[:, 3:], atol=1e-6)
    perm = torch.randperm(n)
    out3 = ev(torch.cat([p, h], 1)[perm])
    assert torch.allclose(out3, out[perm], atol=1e-6)
    print("equivariance error egnn_ode:", (out2[:, :3] - out[:, :3] @ q.T).abs().max().item())
