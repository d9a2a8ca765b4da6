"""Energies and var(E, x): the derived GRAFF flow, energy decrease, Dirichlet energy -> heat flow."""
import pytest
import sympy as sp
import torch

from pde2gnn.compiler import pipeline as compiler
from pde2gnn.errors import EnergyError, FormError, KindError, ShapeError
from pde2gnn.integrate.solve import ODEBlock, SolverConfig
from pde2gnn.compiler.symbolic import ops as O
from pde2gnn.compiler.symbolic.energy import tidy

from tests.helpers.graphs import random_graph

GRAFF = """model graff
field x : node[d]
learn Omega : [d, d] {omega}
learn W : [d, d] {w}
learn beta = 0
energy E = 1/2 * sum_i(dot(x_i, x_i @ Omega)) - 1/2 * sum_ij(abar_ij * dot(x_i, x_j @ W))
dt(x) = -var(E, x) + beta * init(x)
"""


def with_self_loops(ei, n):
    loops = torch.arange(n)
    return torch.cat([ei, torch.stack([loops, loops])], 1)


def dense_abar(ei, n):
    a = torch.zeros(n, n, dtype=torch.float64)
    a[ei[1], ei[0]] = 1.0
    dis = a.sum(1).rsqrt()
    return dis[:, None] * a * dis[None, :]


def set_learned(field, **values):
    with torch.no_grad():
        for k, v in values.items():
            m = field.learnables[k]
            if m.constraints:
                m.value = v
            else:
                m.value.copy_(v)


def test_graff_flow_derived_symbolically():
    ir = compiler.to_ir(GRAFF.format(omega="diag", w="sym"), dims={"d": 3})
    x, om, w, beta = sp.symbols("x Omega W beta")
    expected = -O.MatMul(x, om) + O.SumJ(O.ABAR * O.MatMul(O.AtJ(x), w)) + beta * O.Init(x)
    assert sp.expand(ir.rhs["x"] - expected) == 0
    # without symmetry constraints the flow has the symmetrised matrices
    ir = compiler.to_ir(GRAFF.format(omega="", w=""), dims={"d": 3})
    half = sp.Rational(1, 2)
    expected = (-half * O.MatMul(x, om) - half * O.MatMul(x, O.Transpose(om))
                + half * O.SumJ(O.ABAR * O.MatMul(O.AtJ(x), w))
                + half * O.SumJ(O.ABAR * O.MatMul(O.AtJ(x), O.Transpose(w))) + beta * O.Init(x))
    assert sp.expand(ir.rhs["x"] - expected) == 0


def test_graff_stencil_fuses_into_sparse_groups():
    prog = compiler.to_stencil("graff", dims={"d": 4})
    rights = sorted(str(g.right) for g in prog.groups)
    assert rights == ["(Omega,)", "(W,)"]
    assert all(a.has(O.Init) for a in sp.Add.make_args(prog.remainder["x"]))


@pytest.mark.parametrize("omega,w", [("diag", "sym"), ("", ""), ("diag", "diag_dom")])
def test_graff_flow_matches_hand_written(omega, w):
    ei, n = random_graph(14, seed=4)
    ei = with_self_loops(ei, n)
    d = 5
    field = compiler.compile(GRAFF.format(omega=omega, w=w), ei, n, dims={"d": d}).double()
    g = torch.Generator().manual_seed(0)
    om, wm = torch.randn(d, d, generator=g, dtype=torch.float64), torch.randn(
        d, d, generator=g, dtype=torch.float64)
    if w == "diag_dom":
        wm = 0.5 * (wm + wm.T)
    set_learned(field, Omega=om, W=wm, beta=torch.tensor(0.3, dtype=torch.float64))
    lw = field.learned()
    om_c, w_c = lw["Omega"], lw["W"]
    x0 = torch.randn(n, d, generator=g, dtype=torch.float64)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    field.prepare(x0)
    got = field(torch.tensor(0.0), x)
    sym = lambda m: 0.5 * (m + m.T)  # noqa: E731
    ref = -x @ sym(om_c) + dense_abar(ei, n) @ x @ sym(w_c) + 0.3 * x0
    assert (got - ref).abs().max() < 1e-6


def graff_energy(x, om, w, abar):
    return 0.5 * (x * (x @ om)).sum() - 0.5 * (x * (abar @ x @ w)).sum()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_energy_non_increasing_along_linear_flow(seed):
    ei, n = random_graph(12 + seed, seed=seed)
    ei = with_self_loops(ei, n)
    d = 4
    field = compiler.compile(GRAFF.format(omega="diag", w="sym"), ei, n, dims={"d": d}).double()
    g = torch.Generator().manual_seed(10 + seed)
    set_learned(field, Omega=torch.randn(d, d, generator=g, dtype=torch.float64),
                W=torch.randn(d, d, generator=g, dtype=torch.float64))
    lw = field.learned()
    abar = dense_abar(ei, n)
    x0 = torch.randn(n, d, generator=g, dtype=torch.float64)
    times = torch.linspace(0, 2, 21, dtype=torch.float64)
    with torch.no_grad():
        ys = ODEBlock(field, 2.0, SolverConfig("dopri5", rtol=1e-9, atol=1e-10))(x0, times)
        es = [graff_energy(y, lw["Omega"], lw["W"], abar).item() for y in ys]
    assert all(b <= a + 1e-9 for a, b in zip(es, es[1:]))
    assert es[-1] < es[0]


def test_dirichlet_energy_gives_heat_flow():
    """E = 1/4 sum_ij |x_j - x_i|^2 (ordered edges) has var(E, x) = -lap(x): dt(x) = lap(x)."""
    spec = ("model dirichlet\nfield x : node[d]\n"
            "energy E = 1/4 * sum_ij(dot(grad(x), grad(x)))\ndt(x) = -var(E, x)\n")
    ir = compiler.to_ir(spec, dims={"d": 2})
    x = sp.Symbol("x")
    stencil_lap = O.SumJ(O.AtJ(x)) - O.SumJ(O.AtI(x))
    rhs = tidy(ir.rhs["x"].replace(O.Grad, lambda u: O.AtJ(u) - O.AtI(u)), lambda e: 1)
    assert sp.expand(rhs - stencil_lap) == 0
    ei, n = random_graph(10, seed=7)
    heat = "model heat\nfield x : node[d]\ndt(x) = lap(x)\n"
    xv = torch.randn(n, 2, dtype=torch.float64)
    outs = []
    for s in (spec, heat):
        f = compiler.compile(s, ei, n, dims={"d": 2}).double()
        f.prepare(xv)
        outs.append(f(torch.tensor(0.0), xv))
    assert (outs[0] - outs[1]).abs().max() < 1e-12


def test_nonlinear_energy_matches_autograd():
    """var of a non-quadratic energy equals torch.autograd's gradient of the same energy."""
    spec = ("model nl\nfield x : node[d]\nlearn W : [d, d]\n"
            "energy E = sum_i(log(1 + dot(x, x))) + sum_ij(abar_ij * tanh(dot(x_i, x_j @ W)))"
            " + 1/2 * sum_ij(norm(grad(x)))\n"
            "dt(x) = -var(E, x)\n")
    ei, n = random_graph(9, seed=2)
    d = 3
    f = compiler.compile(spec, ei, n, dims={"d": d}).double()
    w = f.learned()["W"].detach()
    x = torch.randn(n, d, dtype=torch.float64, requires_grad=True)
    i, j, ab = f.graph.i, f.graph.j, f.graph.abar.double()
    e = (torch.log(1 + (x * x).sum(1)).sum() + (ab[:, 0] * torch.tanh(
        (x[i] * (x[j] @ w)).sum(1))).sum() + 0.5 * (x[j] - x[i]).norm(dim=1).sum())
    (gref,) = torch.autograd.grad(e, x)
    f.prepare(x.detach())
    got = f(torch.tensor(0.0), x.detach())
    assert (got + gref).abs().max() < 1e-9


@pytest.mark.parametrize("body,err,where", [
    ("energy E = dot(x, x)", EnergyError, "dot(x, x)"),
    ("energy E = sum_i(relu(dot(x, x)))", EnergyError, "relu"),
    ("energy E = sum_i(dot(x_i, x_j))", KindError, "x_j"),
    ("energy E = sum_i(dot(standardize_i(x), x))", EnergyError, "standardize_i"),
    ("energy E = sum_ij(x_i)\n", ShapeError, "x_i"),
    ("energy E = sum_i(x)", None, None),
])
def test_energy_errors(body, err, where):
    spec = f"model m\nfield x : node[d]\n{body}\ndt(x) = -var(E, x)\n"
    if err is None:  # one-channel x: fine
        spec = spec.replace("node[d]", "node")
        compiler.to_ir(spec)
        return
    with pytest.raises(err) as e:
        compiler.to_ir(spec)
    if where:
        line = e.value.format().splitlines()
        assert "^" in line[-1] or "^" in line[-2]
        assert where in e.value.source.splitlines()[e.value.span.line - 1][
            e.value.span.column - 1:e.value.span.end_column - 1]


def test_sum_outside_energy_is_form_error():
    with pytest.raises(FormError, match="only be used in an energy"):
        compiler.to_ir("model m\nfield x : node\ndt(x) = sum_i(x) * x\n")


def test_graff_nl_is_relu_of_the_linear_flow():
    ei, n = random_graph(11, seed=6)
    ei = with_self_loops(ei, n)
    d = 4
    lin = compiler.compile("graff", ei, n, dims={"d": d}).double()
    nl = compiler.compile("graff_nl", ei, n, dims={"d": d}).double()
    nl.load_state_dict(lin.state_dict())
    x = torch.randn(n, d, dtype=torch.float64)
    outs = []
    for f in (lin, nl):
        f.prepare(x)
        outs.append(f(torch.tensor(0.0), x))
    assert (torch.relu(outs[0]) - outs[1]).abs().max() < 1e-12


def test_nonlinear_argument_is_fused_into_a_sparse_temporary():
    """relu(-X Omega + Abar X W + beta X0): the linear part becomes the groups of _lin0 (one
    sparse product), only the relu and the source term stay in the remainder."""
    prog = compiler.to_stencil("graff_nl", dims={"d": 4})
    assert prog.temps == ["_lin0"]
    assert sorted(str(g.right) for g in prog.groups if g.target == "_lin0") == \
        ["(Omega,)", "(W,)"]
    assert not prog.remainder["x"].has(O.SumJ, O.AtJ)
    assert "where _lin0_i" in str(prog)


def test_graff_dd_bn_matches_batch_norm_of_the_flow():
    """dt(x) = standardize_i(Abar X W) equals torch's batch norm in training mode, no affine
    part (the GRAFF reference's layer-wise batch norm), applied to the hand-written update."""
    ei, n = random_graph(13, seed=2)
    ei = with_self_loops(ei, n)
    d = 5
    field = compiler.compile("graff_dd_bn", ei, n, dims={"d": d}).double()
    x = torch.randn(n, d, dtype=torch.float64)
    field.prepare(x)
    got = field(torch.tensor(0.0), x)
    w = field.learned()["W"]
    update = dense_abar(ei, n) @ x @ (0.5 * (w + w.T))
    ref = torch.nn.functional.batch_norm(update, None, None, training=True, eps=1e-5)
    assert (got - ref).abs().max() < 1e-10
    assert got.mean(0).abs().max() < 1e-12


def test_standardize_is_per_graph_in_a_batch():
    from pde2gnn.compiler.backend.graph_ops import GraphOps
    u = torch.randn(3, 7, 2, dtype=torch.float64)
    g = GraphOps(torch.zeros(2, 0, dtype=torch.long), 7)
    s = g.standardize_i(u)
    for b in range(3):
        assert (s[b] - g.standardize_i(u[b])).abs().max() < 1e-14
    assert (s.var(-2, unbiased=False) - u.var(-2, unbiased=False) / (
        u.var(-2, unbiased=False) + 1e-5)).abs().max() < 1e-12


def test_spectral_class_finds_the_fastest_mode_of_the_full_linear_flow():
    """max eig of K = -(Omega x I) + (W x Abar) (the flow -X Omega + Abar X W on vec X) equals
    the faster of the two extreme-mode rates, and the class names the side it sits on."""
    import numpy as np
    from pde2gnn.train.diagnostics import spectral_class
    rng = np.random.default_rng(3)
    n, d = 9, 4
    a = (rng.random((n, n)) < 0.4).astype(float)
    a = np.triu(a, 1)
    a = a + a.T + np.eye(n)
    deg = a.sum(1)
    abar = a / np.sqrt(np.outer(deg, deg))
    lam = np.linalg.eigvalsh(abar)
    for seed in range(4):
        g = np.random.default_rng(seed)
        w = g.normal(size=(d, d))
        w = w + w.T
        om = np.diag(g.normal(size=d))
        k = -np.kron(om, np.eye(n)) + np.kron(w, abar)
        top = np.linalg.eigvalsh(k)[-1]
        rep = spectral_class(torch.tensor(w), lam[0], lam[-1], torch.tensor(om))
        assert abs(top - max(rep["rate_low"], rep["rate_high"])) < 1e-9
        assert rep["class"] == ("HFD" if rep["rate_high"] > rep["rate_low"] else "LFD")
    # W = -I, Omega = 0: the oscillating mode wins (negative times negative)
    rep = spectral_class(-torch.eye(2), -0.5, 1.0)
    assert rep["class"] == "HFD" and rep["rate_high"] == 0.5 and rep["rate_low"] == -1.0
