"""Sheaf language (stalk fields, restriction, sheaf_grad / div / lap / nlap) through the whole
pipeline: compiled NSD specs against a hand-written dense torch NSD in float64, the generated
kernels' adjointness and gauge equivariance, frozen sheaves as one CSR product, checker errors."""
import pytest
import torch

from pde2gnn.compiler import pipeline as compiler
from pde2gnn.compiler.backend import sheaf_ops
from pde2gnn.compiler.backend.sheaf import householder_orthogonal
from pde2gnn.errors import ArgumentError, OptionError, ShapeError, SpecError


from tests.helpers.dtypes import float64_default as _float64  # noqa: F401 (autouse)


def _graph(n=7):
    pairs = [(k, (k + 1) % n) for k in range(n)] + [(0, 3), (2, 5)]
    src = [a for a, b in pairs] + [b for a, b in pairs]
    dst = [b for a, b in pairs] + [a for a, b in pairs]
    return torch.tensor([src, dst]), n


def _dense_maps(net, x, ei, d, k):
    """F_{i<e} for every ordered pair (i, j) of the edge list, by hand from the net's weight;
    with ``lowpass`` the learned block is (d - 1) x (d - 1) and the last coordinate's map 1."""
    m = d - 1 if net.lowpass else d
    maps = {}
    for j, i in ei.t().tolist():   # row 0 = j (source), row 1 = i (receiver)
        z = net.lin.weight @ torch.cat([x[i], x[j]]) if net.lin is not None else None
        if net.kind == "diag":
            F = torch.diag(torch.tanh(z))
        elif net.kind == "general":
            F = torch.tanh(z).reshape(m, m)
        elif net.kind == "orthogonal":      # tanh, then m Householder reflections, by hand
            V = torch.eye(m)
            il = torch.tril_indices(m, m, -1)
            V[il[0], il[1]] = torch.tanh(z)
            F = torch.eye(m)
            for c in range(m):
                v = V[:, c:c + 1]
                F = F @ (torch.eye(m) - 2 * v @ v.T / (v.T @ v))
        else:
            F = torch.eye(m)
        if net.weight is not None:         # the edge weight, the same at both ends
            w = net.weight.weight[0]
            F = F * torch.sigmoid(w @ torch.cat([x[i], x[j]])) * \
                torch.sigmoid(w @ torch.cat([x[j], x[i]]))
        if net.lowpass:
            F = torch.block_diag(F, torch.ones(1, 1))
        maps[(i, j)] = F
    return maps


def _dense_laplacian(maps, n, d, normalise):
    L = torch.zeros(n * d, n * d)
    for (i, j), Fi in maps.items():      # each undirected edge once per direction (i end)
        Fj = maps[(j, i)]
        bi, bj = slice(i * d, i * d + d), slice(j * d, j * d + d)
        L[bi, bi] += Fi.T @ Fi
        L[bi, bj] -= Fi.T @ Fj
    if normalise:
        S = torch.zeros_like(L)
        for v in range(n):
            b = slice(v * d, v * d + d)
            lam, U = torch.linalg.eigh(L[b, b] + torch.eye(d))
            S[b, b] = U @ torch.diag(lam.rsqrt()) @ U.T
        L = S @ L @ S
    return L


@pytest.mark.parametrize("spec,kind", [("nsd_diag", "diag"), ("nsd_bundle", "orthogonal"),
                                       ("nsd_general", "general"), ("experiments/nsd/specs/nsd_identity.pde", "identity"),
                                       ("experiments/nsd/specs/nsd_diag_lp.pde", "diag")])
def test_compiled_nsd_equals_dense_handwritten(spec, kind):
    ei, n = _graph()
    d, k = 3, 2
    torch.manual_seed(0)
    vf = compiler.compile(spec, ei, n, dims={"d": d, "k": k}).double()
    with torch.no_grad():
        for p in vf.parameters():
            p.copy_(torch.randn_like(p) * 0.5)
    y = torch.randn(n, d * k)
    vf.prepare(y)
    out = vf(torch.tensor(0.0), y)
    net = vf.nets.F
    assert net.kind == kind
    X = y.reshape(n, d, k)
    L = _dense_laplacian(_dense_maps(net, X.reshape(n, -1), ei, d, k), n, d, True)
    W1, W2 = vf.learned()["W1"], vf.learned()["W2"]
    eps = vf.learned()["eps"]
    Y = (torch.kron(torch.eye(n), W1) @ y.reshape(n * d, k)) @ W2
    ref = torch.tanh(eps).repeat(n)[:, None] * y.reshape(n * d, k) - \
        torch.nn.functional.elu(L @ Y)
    assert torch.allclose(out.reshape(n * d, k), ref, atol=1e-10)
    # one explicit Euler step of size 1 is the discrete NSD layer (Bodnar et al. eq. 9)
    layer = (1 + torch.tanh(eps)).repeat(n)[:, None] * y.reshape(n * d, k) - \
        torch.nn.functional.elu(L @ Y)
    assert torch.allclose((y + out).reshape(n * d, k), layer, atol=1e-10)


@pytest.mark.parametrize("kind", ["diag", "orthogonal", "general"])
def test_lowpass_coordinate_diffuses_with_the_normalised_graph_laplacian(kind):
    """restriction(..., lowpass=true): learned (and weighted) maps on the first d - 1 stalk
    coordinates, 1 on the last, so the last coordinate of Delta_F x is
    (D + I)^-1/2 (D - A) (D + I)^-1/2 x_last whatever the learned maps (NSD's add_lp)."""
    ei, n = _graph()
    d, k = 3, 2
    spec = SHEAF_OPS_SPEC.replace("dim d = 3", f"dim d = {d}").format(
        kind=f"{kind}, weights=true, lowpass=true", rhs="sheaf_nlap(F, x)")
    torch.manual_seed(3)
    vf = compiler.compile(spec, ei, n).double()
    with torch.no_grad():
        for p in vf.parameters():
            p.copy_(torch.randn_like(p))
    y = torch.randn(n, d * k)
    vf.prepare(y)
    out = vf(torch.tensor(0.0), y).reshape(n, d, k)
    L = _dense_laplacian(_dense_maps(vf.nets.F, y, ei, d, k), n, d, True)
    assert torch.allclose(out.reshape(n * d, k), -L @ y.reshape(n * d, k), atol=1e-10)
    A = torch.zeros(n, n)
    A[ei[1], ei[0]] = 1.0
    deg = A.sum(1)
    S = torch.diag((deg + 1).rsqrt())
    gcn = S @ (torch.diag(deg) - A) @ S
    assert torch.allclose(out[:, -1, :], -gcn @ y.reshape(n, d, k)[:, -1, :], atol=1e-12)


def test_lowpass_needs_a_stalk_of_two():
    ei, n = _graph()
    spec = SHEAF_OPS_SPEC.format(kind="diag, lowpass=true", rhs="sheaf_lap(F, x)")
    with pytest.raises(OptionError, match="stalk of sheaf 'F' .* is 1, but restriction"
                                          ".*lowpass=true.* needs 2 or more: choose 'd' >= 2"):
        compiler.compile(spec, ei, n, dims={"d": 1})     # d bound at compile time: names it
    with pytest.raises(ShapeError, match="lowpass=true.*stalk of 2 or more, got 1"):
        compiler.compile(spec.replace("node[d, k]", "node[1, k]"), ei, n)   # d in the spec


SHEAF_OPS_SPEC = """model s
field x : node[d, k]
dim d = 3
dim k = 2
let x0 = init(x)
edge F = restriction(x0_i, x0_j, kind={kind})
dt(x) = {rhs}
"""


def _field(rhs, kind="general", d=3, k=2):
    ei, n = _graph()
    torch.manual_seed(1)
    vf = compiler.compile(SHEAF_OPS_SPEC.format(kind=kind, rhs=rhs), ei, n).double()
    with torch.no_grad():
        for p in vf.parameters():
            p.copy_(torch.randn_like(p))
    return vf, ei, n


@pytest.mark.parametrize("kind", ["diag", "orthogonal", "general"])
def test_frozen_sheaf_laplacian_is_one_csr_product_and_matches_dense(kind):
    vf, ei, n = _field("sheaf_lap(F, x)", kind)
    src = vf.source
    prepare, step = src.split("def step")
    assert "_sheaf.operator" in prepare and "_sheaf.restriction_maps" in prepare
    assert step.count("_sheaf.apply") == 1 and "_sheaf.operator" not in step
    y = torch.randn(n, 6)
    vf.prepare(y)
    L = _dense_laplacian(_dense_maps(vf.nets.F, y, ei, 3, 2), n, 3, False)
    out = vf(torch.tensor(0.0), y)
    assert torch.allclose(out.reshape(-1, 2), -(L @ y.reshape(-1, 2)), atol=1e-10)
    ev = torch.linalg.eigvalsh(L)
    assert torch.allclose(L, L.T, atol=1e-12) and ev.min() > -1e-10   # PSD
    vf2, _, _ = _field("sheaf_div(F, sheaf_grad(F, x))", kind)
    vf2.load_state_dict(vf.state_dict())
    vf2.prepare(y)
    assert torch.allclose(vf2(torch.tensor(0.0), y), out, atol=1e-10)
    # batched states share the frozen operator
    yb = torch.randn(2, n, 6)
    vf.prepare(y)
    ob = vf(torch.tensor(0.0), yb)
    assert torch.allclose(ob[1].reshape(-1, 2), -(L @ yb[1].reshape(-1, 2)), atol=1e-10)


@pytest.mark.parametrize("kind", ["diag", "orthogonal", "general", "identity"])
def test_edge_weighted_restriction_matches_dense(kind):
    """weights=true: both maps of an edge scaled by w_e = s_ij s_ji (NSD's edge weights); the
    frozen Laplacian equals the hand-written dense one, stays symmetric PSD."""
    vf, ei, n = _field("sheaf_lap(F, x)", f"{kind}, weights=true")
    assert vf.nets.F.weight is not None
    y = torch.randn(n, 6)
    vf.prepare(y)
    L = _dense_laplacian(_dense_maps(vf.nets.F, y, ei, 3, 2), n, 3, False)
    out = vf(torch.tensor(0.0), y)
    assert torch.allclose(out.reshape(-1, 2), -(L @ y.reshape(-1, 2)), atol=1e-10)
    assert torch.allclose(L, L.T, atol=1e-12) and torch.linalg.eigvalsh(L).min() > -1e-10
    with pytest.raises(ArgumentError, match="weights= is true or false"):
        compiler.front(SHEAF_OPS_SPEC.format(kind="diag, weights=1", rhs="sheaf_lap(F, x)"))


def test_identity_sheaf_operators_are_plain_graph_operators():
    ei, n = _graph()
    vf, _, _ = _field("sheaf_lap(F, x)", "identity")
    plain = compiler.compile("model p\nfield x : node[6]\ndt(x) = lap(x)\n", ei, n).double()
    y = torch.randn(n, 6)
    vf.prepare(y)
    plain.prepare(y)
    assert torch.allclose(vf(torch.tensor(0.0), y), plain(torch.tensor(0.0), y), atol=1e-12)


def _maps(vf, x, F):
    s = sheaf_ops._structure(vf.graph, 3)
    return sheaf_ops.Maps.from_directed(F, 3, s)


@pytest.mark.parametrize("kind", ["diag", "general"])
def test_kernels_adjoint_identity(kind):
    vf, ei, n = _field("sheaf_lap(F, x)", kind)
    G = vf.graph
    E = G.num_edges
    F = torch.randn(E, 3) if kind == "diag" else torch.randn(E, 3, 3)
    M = _maps(vf, None, F)
    x = torch.randn(n, 6)
    y = torch.randn(E, 6)
    rev = M.structure.rev
    ya = y - y[rev]                                # antisymmetric: y_ji = -y_ij
    lhs = (sheaf_ops.grad(G, M, x) * ya).sum()
    rhs = -2 * (x * sheaf_ops.div(G, M, ya)).sum()
    assert torch.allclose(lhs, rhs, atol=1e-10)
    # the plain operators obey the same identity on the same edge list
    plain = ((x[G.j] - x[G.i]) * ya).sum()
    assert torch.allclose(plain, -2 * (x * G.sum_j(ya)).sum(), atol=1e-10)


@pytest.mark.parametrize("kind", ["orthogonal", "general"])
def test_compiled_kernels_gauge_equivariance(kind):
    vf, ei, n = _field("sheaf_nlap(F, x)", kind)
    G = vf.graph
    E = G.num_edges
    g = torch.Generator().manual_seed(5)
    F = householder_orthogonal(torch.randn(E, 3, generator=g), 3) if kind == "orthogonal" else \
        torch.randn(E, 3, 3, generator=g)
    Q = householder_orthogonal(torch.randn(n, 3, generator=g), 3)   # an O(d) map per stalk
    x = torch.randn(n, 3, 2, generator=g)
    rot = lambda v: (Q @ v.reshape(n, 3, 2)).reshape(n, 6)  # noqa: E731
    M = sheaf_ops.Maps.from_directed(F, 3, sheaf_ops._structure(G, 3), kind == "orthogonal")
    M2 = sheaf_ops.Maps.from_directed(F @ Q[G.i].transpose(-1, -2), 3, M.structure,
                                      kind == "orthogonal")
    for normalise in (False, True):
        a = sheaf_ops.apply(G, sheaf_ops.operator(G, M, normalise), x.reshape(n, 6))
        b = sheaf_ops.apply(G, sheaf_ops.operator(G, M2, normalise), rot(x))
        assert torch.allclose(b, rot(a), atol=1e-10)
    gr = sheaf_ops.grad(G, M, x.reshape(n, 6))
    assert torch.allclose(sheaf_ops.grad(G, M2, rot(x)), gr, atol=1e-10)   # edge stalks fixed
    assert torch.allclose(sheaf_ops.div(G, M2, gr), rot(sheaf_ops.div(G, M, gr)), atol=1e-10)


def test_gradcheck_through_compiled_restriction_network():
    ei, n = _graph(6)
    vf = compiler.compile("model g\nfield x : node[d, k]\ndim d = 2\ndim k = 2\n"
                          "edge F = restriction(x_i, x_j, kind=general)\n"
                          "dt(x) = sheaf_nlap(F, x)\n", ei, n).double()
    y = torch.randn(n, 4)
    w0 = vf.nets.F.lin.weight.detach().clone()

    def g(w, y):
        out = torch.func.functional_call(vf, {"nets.F.lin.weight": w}, (torch.tensor(0.0), y))
        return out
    vf.prepare(y)
    assert torch.autograd.gradcheck(lambda w, y: g(w, y), (w0.requires_grad_(True),
                                                          y.requires_grad_(True)))


BAD = [
    ("field x : node[4]\nedge F = restriction(x_i, x_j, kind=diag)\ndt(x) = sheaf_lap(F, x)",
     "node[d, k] field", "x_i"),
    ("field x : node[2, 3]\nedge F = restriction(x_i, x_j, kind=orthogonl)\n"
     "dt(x) = sheaf_lap(F, x)", "unknown restriction kind", "orthogonl"),
    ("field x : node[2, 3]\nlet F = restriction(x_i, x_j, kind=diag)\ndt(x) = sheaf_lap(F, x)",
     "restriction maps live on edges", "let F"),
    ("field x : node[2, 3]\ndt(x) = sheaf_lap(restriction(x_i, x_j, kind=diag), x)",
     "declares a sheaf", "restriction"),
    ("field x : node[2, 3]\nedge F = restriction(x_i, x_j, kind=diag)\ndt(x) = sheaf_lap(x, x)",
     "first argument of sheaf_lap", "x"),
    ("field x : node[2, 3]\nfield y : node[6]\nedge F = restriction(x_i, x_j, kind=diag)\n"
     "dt(x) = sheaf_lap(F, x)\ndt(y) = sheaf_lap(F, y)", "expects a node value of a node[d, k]",
     "y"),
    ("field x : node[2, 3]\nedge F = restriction(x_i, x_j, kind=diag)\ndt(x) = x + F",
     "restriction maps can only", "x + F"),
    ("field x : node[2, 3]\nedge F = restriction(x_j, x_i, kind=diag)\ndt(x) = sheaf_lap(F, x)",
     "restriction(u_i, u_j", "restriction"),
    ("field x : node[6]\nlearn W : [2, 2]\ndt(x) = W @ x", "node[d, k] field", "x"),
    ("field x : node[2, 3]\nlearn W : [3, 3]\ndt(x) = W @ x", "2 columns", "W @ x"),
    ("field x : node[2, 3]\ninput u : node[2, 3]\ndt(x) = x", "only a field can have a stalk",
     "2"),
]


@pytest.mark.parametrize("body,msg,caret", BAD)
def test_checker_errors_are_located(body, msg, caret):
    text = "model bad\n" + body + "\n"
    with pytest.raises(SpecError) as e:
        compiler.front(text)
    s = str(e.value)
    assert msg in s, s
    span = e.value.span
    line = text.splitlines()[span.line - 1]
    assert line[span.column - 1:].startswith(caret), (s, line, span)


def test_orthogonal_maps_with_one_dimensional_stalks_are_the_identity():
    """SO(1) = {1}: sheaf_heat with d = 1 is the heat equation (found by the fuzzer: the map
    network had no outputs and was None)."""
    from pde2gnn.compiler import pipeline as compiler
    ei = torch.tensor([[0, 1, 1, 2, 2, 0], [1, 0, 2, 1, 0, 2]])
    sheaf = compiler.compile("sheaf_heat", ei, 3, {"d": 1}).double()
    heat = compiler.compile("model h\nfield x : node[1]\ndt(x) = lap(x)\n", ei, 3).double()
    y = torch.randn(3, 1, dtype=torch.float64)
    sheaf.prepare(y)
    heat.prepare(y)
    t = torch.tensor(0.0, dtype=torch.float64)
    torch.testing.assert_close(sheaf(t, y), heat(t, y))


def test_per_layer_weights_are_euler_steps_with_their_own_fields():
    """solve.EulerLayers: with every layer's weights copied from one field it is the shared-
    weight Euler solve (ODEBlock, step T / L); the layers' parameters are separate tensors."""
    from pde2gnn.integrate.solve import EulerLayers, ODEBlock, SolverConfig

    ei, n = _graph()
    dims = {"d": 3, "k": 2}
    torch.manual_seed(0)
    fields = [compiler.compile("nsd_bundle", ei, n, dims=dims).double() for _ in range(4)]
    with torch.no_grad():
        for p in fields[0].parameters():
            p.copy_(torch.randn_like(p) * 0.5)
    stack = EulerLayers(fields, 2.0)
    y0 = torch.randn(n, 6)
    ids = {id(p) for f in fields for p in f.parameters()}
    assert len(ids) == 4 * len(list(fields[0].parameters()))
    assert not torch.allclose(stack(y0), ODEBlock(fields[0], 2.0, SolverConfig(
        "euler", step_size=0.5))(y0))                       # different weights per layer
    for f in fields[1:]:
        f.load_state_dict(fields[0].state_dict())
    shared = ODEBlock(fields[0], 2.0, SolverConfig("euler", step_size=0.5))(y0)
    assert torch.allclose(stack(y0), shared, atol=1e-12) and stack.nfe_forward == 4


def test_per_layer_weights_need_whole_euler_steps():
    from pde2gnn.errors import OptionError
    from pde2gnn.integrate.solve import SolverConfig
    from pde2gnn.train.tasks.node_classification import TrainConfig

    ok = TrainConfig(time=3.0, per_layer_weights=True, solver=SolverConfig("euler", step_size=1.0))
    assert ok.euler_layers() == 3
    for solver, time in ((SolverConfig("rk4", step_size=1.0), 3.0),
                         (SolverConfig("euler", step_size=1.0), 2.5)):
        with pytest.raises(OptionError, match="per_layer_weights needs method = 'euler'"):
            TrainConfig(time=time, per_layer_weights=True, solver=solver).validate()


def test_sheaf_decay_is_the_weight_decay_of_the_restriction_networks_alone():
    """sheaf_decay (the NSD reference's second Adam group): the restriction networks' weights
    (one per layer with per-layer weights) get it, everything else, the learned edge weights
    included, weight_decay; unset, or with identity maps, there is one group."""
    from torch_geometric.data import Data

    from pde2gnn.compiler.backend.sheaf import Restriction
    from pde2gnn.errors import OptionError
    from pde2gnn.integrate.solve import SolverConfig
    from pde2gnn.models.continuous_gnn import ContinuousGNN
    from pde2gnn.train.tasks.node_classification import TrainConfig, parameter_groups

    ei, n = _graph()
    data = Data(x=torch.rand(n, 5), y=torch.arange(n) % 2, edge_index=ei)
    base = dict(hidden=6, dims={"d": 3, "k": 2}, time=3.0, per_layer_weights=True,
                solver=SolverConfig("euler", step_size=1.0), weight_decay=5e-4)
    model = ContinuousGNN("nsd_bundle", data, 2, TrainConfig(**base, sheaf_decay=0.1))
    groups = parameter_groups(model, TrainConfig(**base, sheaf_decay=0.1))
    nets = [m for m in model.modules() if isinstance(m, Restriction)]
    assert len(nets) == 3 and all(m.weight is not None for m in nets)     # edge weights learned
    assert [g["weight_decay"] for g in groups] == [5e-4, 0.1]
    assert {id(p) for p in groups[1]["params"]} == {id(m.lin.weight) for m in nets}
    assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))
    one = parameter_groups(model, TrainConfig(**base))
    assert len(one) == 1 and len(one[0]["params"]) == len(list(model.parameters()))
    identity = ContinuousGNN("experiments/nsd/specs/nsd_identity.pde", data, 2, TrainConfig(**base, sheaf_decay=0.1))
    assert len(parameter_groups(identity, TrainConfig(**base, sheaf_decay=0.1))) == 1
    with pytest.raises(OptionError, match="sheaf_decay must be at least 0"):
        TrainConfig(sheaf_decay=-1.0)
