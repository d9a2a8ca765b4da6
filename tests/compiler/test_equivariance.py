"""E(n) equivariance: the checker's located errors and the compiled EGNN ODE field (float64)."""
import pytest
import torch

from pde2gnn.compiler.pipeline import compile, front
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


# --- full solves, permutations of a non-complete graph, and every library spec with coords ---

from pathlib import Path

from pde2gnn.compiler.pipeline import compile_stepper, to_ir
from pde2gnn.integrate.solve import ODEBlock, SolverConfig

LIBRARY = Path(__file__).resolve().parents[2] / "library"


def _orthogonal(seed, n=3, det=-1.0):
    """A random orthogonal [n, n] matrix with the given determinant (-1: a reflection)."""
    g = torch.Generator().manual_seed(seed)
    q, r = torch.linalg.qr(torch.randn(n, n, dtype=torch.float64, generator=g))
    q = q * torch.sign(torch.diagonal(r))
    if torch.linalg.det(q) * det < 0:
        q[:, 0] *= -1
    return q


def _complete(n):
    return torch.tensor([(j, i) for i in range(n) for j in range(n) if i != j]).T


@pytest.mark.parametrize("det", [1.0, -1.0])
def test_egnn_ode_full_solve_is_e3_equivariant(det):
    """p(0) -> Q p(0) + b gives p(T) -> Q p(T) + b and the same h(T) (rk4, fixed steps, so the
    steps do not depend on the frame; float64)."""
    torch.manual_seed(1)
    n = 7
    f = compile("library/egnn_ode.pde", _complete(n), n).double()
    block = ODEBlock(f, 1.0, SolverConfig("rk4", step_size=0.05))
    p, h = torch.randn(n, 3, dtype=torch.float64), torch.randn(n, 8, dtype=torch.float64)
    q, b = _orthogonal(2, det=det), torch.randn(3, dtype=torch.float64)
    with torch.no_grad():
        y1 = block(torch.cat([p, h], 1))
        y2 = block(torch.cat([p @ q.T + b, h], 1))
    assert (y1[:, :3] - p).abs().max() > 1e-3              # the points moved
    err_p = (y2[:, :3] - (y1[:, :3] @ q.T + b)).abs().max().item()
    err_h = (y2[:, 3:] - y1[:, 3:]).abs().max().item()
    print(f"egnn_ode full solve (det {det:+.0f}): |p error| {err_p:.2e}, |h error| {err_h:.2e}")
    assert err_p < 1e-6 and err_h < 1e-6


def _sparse_graph(n, seed):
    """A random symmetric graph (each node joined to 3 random others), [2, E]."""
    g = torch.Generator().manual_seed(seed)
    pairs = set()
    for i in range(n):
        for j in torch.randperm(n, generator=g)[:4].tolist():
            if j != i:
                pairs |= {(i, j), (j, i)}
    return torch.tensor(sorted(pairs)).T


@pytest.mark.parametrize("spec", ["egnn_ode", "egnn"])
def test_permutation_equivariance_relabelled_graph(spec):
    """Relabelling the nodes (graph and state together) permutes the output rows."""
    torch.manual_seed(3)
    n = 9
    ei = _sparse_graph(n, 4)
    perm = torch.randperm(n)
    inv = torch.argsort(perm)                 # new node k is old node perm[k]
    ei2 = inv[ei]
    build = compile if spec == "egnn_ode" else lambda s, e, m: compile_stepper(s, e, m).update
    f1 = build(f"library/{spec}.pde", ei, n).double()
    f2 = build(f"library/{spec}.pde", ei2, n).double()
    f2.load_state_dict(f1.state_dict())
    y = torch.randn(n, 11, dtype=torch.float64)
    out1, out2 = _eval(f1, y), _eval(f2, y[perm])
    err = (out2 - out1[perm]).abs().max().item()
    print(f"{spec} permutation error: {err:.2e}")
    assert err < 1e-10


def _eval(f, y):
    f.prepare(y)
    with torch.no_grad():
        return f(torch.tensor(0.0, dtype=y.dtype), y)


def _coords_specs():
    out = []
    for path in sorted(LIBRARY.glob("*.pde")):
        if front(path.read_text()).point_fields:
            out.append(path.stem)
    return out


def test_library_has_coords_specs():
    assert {"egnn_ode", "egnn"} <= set(_coords_specs())


@pytest.mark.parametrize("spec", _coords_specs())
def test_every_coords_library_spec_is_en_equivariant(spec):
    """Every library spec declaring a coords field, on a complete graph with random invariant
    inputs, under a random rotation + reflection + translation (float64): vector outputs (dt)
    rotate, point outputs (next) rotate and translate, everything else is unchanged."""
    torch.manual_seed(5)
    path = LIBRARY / f"{spec}.pde"
    checked = front(path.read_text())
    n = 6
    ei = _complete(n)
    dims = {k: 4 for k, v in checked.dims.items() if v is None}
    build = compile_stepper if checked.discrete else compile
    ir = to_ir(path.read_text(), dims)
    inputs = {}
    for name, typ in checked.inputs.items():
        rows = ei.shape[1] if typ.kind == "edge" else n
        inputs[name] = torch.randn(rows, int(ir.channels(name)), dtype=torch.float64)
    f = build(str(path), ei, n, dims, inputs=inputs)
    f = (f.update if checked.discrete else f).double()
    cols, start = {}, 0
    for name in checked.fields:
        c = int(ir.channels(name))
        cols[name], start = slice(start, start + c), start + c
    y = torch.randn(n, start, dtype=torch.float64)
    q, b = _orthogonal(6, det=-1.0), torch.randn(3, dtype=torch.float64)
    y2 = y.clone()
    for name in checked.point_fields:
        y2[:, cols[name]] = y[:, cols[name]] @ q.T + b
    out1, out2 = _eval(f, y), _eval(f, y2)
    want = out1.clone()
    for name in checked.point_fields:
        moved = out1[:, cols[name]] @ q.T
        want[:, cols[name]] = moved + b if checked.equations[name].op == "next" else moved
    err = (out2 - want).abs().max().item()
    print(f"equivariance error {spec}: {err:.2e}")
    assert out1[:, cols[checked.point_fields[0]]].abs().max() > 1e-6   # not trivially zero
    assert err < 1e-6


def test_egnn_vel_opt_out_spec_is_e3_equivariant_numerically():
    """library/egnn_vel.pde declares p and v0 node[3] (hidden states cannot be coords), so the
    checker does not see it: its layer is checked here, p -> Q p + b, v0 -> Q v0."""
    torch.manual_seed(7)
    n = 5
    f = compile_stepper("library/egnn_vel.pde", _complete(n), n, {"c": 16}).double()
    p, v = torch.randn(2, n, 3, dtype=torch.float64), torch.randn(2, n, 3, dtype=torch.float64)
    q = torch.randint(0, 2, (2, n, 1)).double() * 2 - 1
    h = torch.randn(2, n, 16, dtype=torch.float64)
    Q, b = _orthogonal(8, det=-1.0), torch.randn(3, dtype=torch.float64)
    with torch.no_grad():
        p1, (v1, q1, h1) = f(p, (v, q, h))
        p2, (v2, q2, h2) = f(p @ Q.T + b, (v @ Q.T, q, h))
    err = max((p2 - (p1 @ Q.T + b)).abs().max().item(), (h2 - h1).abs().max().item())
    print(f"equivariance error egnn_vel (node[3] opt-out, numerical): {err:.2e}")
    assert (p1 - p).abs().max() > 1e-3 and err < 1e-6


def test_egnn_newton_flow_is_e3_equivariant_numerically():
    """library/egnn_newton.pde (p, v node[3], opt-out) solved by the nbody task's model
    (:class:`~pde2gnn.train.tasks.nbody.EGNNFlow`, rk4 over the horizon): p -> Q p + b, v -> Q v
    gives p(T) -> Q p(T) + b, float64, for a rotation and a reflection."""
    from pde2gnn.models.egnn import EGNNFlow
    torch.manual_seed(3)
    n = 5
    model = EGNNFlow("library/egnn_newton.pde", 4, 16, n, 1.0).double()
    p, v = torch.randn(2, n, 3, dtype=torch.float64), torch.randn(2, n, 3, dtype=torch.float64)
    q = torch.randint(0, 2, (2, n, 1)).double() * 2 - 1
    for det in (1.0, -1.0):
        Q, b = _orthogonal(9, det=det), torch.randn(3, dtype=torch.float64)
        with torch.no_grad():
            out = model(p, v, q)
            moved = model(p @ Q.T + b, v @ Q.T, q)
        err = (moved - (out @ Q.T + b)).abs().max().item()
        print(f"equivariance error egnn_newton (full rk4 solve, det {det:+.0f}): {err:.2e}")
        assert (out - p).abs().max() > 1e-2 and err < 1e-6
