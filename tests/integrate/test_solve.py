"""The fused Runge-Kutta integrator (pde2gnn.integrate.rk) against torchdiffeq, analytic solutions and
gradcheck, all in float64."""
import math
import pickle

import numpy as np
import pytest
import scipy.linalg
import torch
import torch._dynamo
import torchdiffeq

from pde2gnn.compiler import pipeline as compiler
from pde2gnn.errors import DataError, OptionError, SolverError
from pde2gnn.integrate.rk import TABLEAUS, _initial_step, rk_solve, stage_sum
from pde2gnn.graph.construction import grid_graph
from pde2gnn.integrate.solve import ODEBlock, SolverConfig

from tests.helpers.graphs import random_graph

ADAPTIVE = [m for m, t in TABLEAUS.items() if t.adaptive]
FIXED = [m for m, t in TABLEAUS.items() if not t.adaptive]


def _laplacian(ei, n):
    a = torch.zeros(n, n, dtype=torch.float64)
    a[ei[1], ei[0]] = 1.0
    return a - torch.diag(a.sum(1))


@pytest.mark.parametrize("method", list(TABLEAUS))
def test_tableau_consistency(method):
    """Rows of a sum to c (the stage times), b sums to 1, error weights to 0."""
    t = TABLEAUS[method]
    assert len(t.a) == len(t.c) == t.stages - 1
    for c, row in zip(t.c, t.a):
        assert math.isclose(sum(row), c, abs_tol=1e-12)
    assert math.isclose(sum(t.b), 1.0, abs_tol=1e-12)
    if t.e is not None:
        assert math.isclose(sum(t.e), 0.0, abs_tol=1e-12) and len(t.e) == t.stages
    if t.mid is not None:
        assert math.isclose(sum(t.mid), 0.5, abs_tol=1e-12)


@pytest.mark.parametrize("method", FIXED)
def test_convergence_order_on_heat_equation(method):
    """dt(x) = lap(x) on a graph, fixed steps h, against expm(L t): the fitted order of the
    error at T is the tableau's order."""
    ei, n = random_graph(10, seed=3)
    lap = _laplacian(ei, n) * 0.3
    x0 = torch.randn(n, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    T = 1.0
    exact = torch.as_tensor(scipy.linalg.expm(lap.numpy() * T)) @ x0
    order = TABLEAUS[method].order
    hs = [0.2, 0.1, 0.05]
    errs = []
    for h in hs:
        steps = round(T / h)
        ts = [k * h for k in range(steps + 1)]
        sol = rk_solve(lambda t, y: lap @ y, x0, ts, method=method)
        errs.append(float((sol.ys[-1] - exact).abs().max()))
        assert sol.nfe == TABLEAUS[method].stages * steps
    fitted = np.polyfit(np.log(hs), np.log(errs), 1)[0]
    assert abs(fitted - order) < 0.3, (method, fitted, errs)


@pytest.mark.parametrize("method", ADAPTIVE)
def test_adaptive_convergence_order_with_fixed_step_grid(method):
    """The adaptive tableaus' solution weights, used as fixed-step methods, have their
    stated order."""
    from pde2gnn.integrate.rk import Tableau
    t = TABLEAUS[method]
    fixed = Tableau(t.name + "_fixed", t.order, t.c, t.a, t.b)
    TABLEAUS[fixed.name] = fixed
    try:
        ei, n = random_graph(10, seed=3)
        lap = _laplacian(ei, n) * 0.3
        x0 = torch.randn(n, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
        exact = torch.as_tensor(scipy.linalg.expm(lap.numpy())) @ x0
        hs = [0.5, 0.25, 0.125]
        errs = [float((rk_solve(lambda t, y: lap @ y, x0, [k * h for k in range(round(1 / h) + 1)],
                                method=fixed.name).ys[-1] - exact).abs().max()) for h in hs]
        fitted = np.polyfit(np.log(hs), np.log(errs), 1)[0]
        # on a linear problem a method can show one order more than its nonlinear order
        assert t.order - 0.3 < fitted < t.order + 1.3, (method, fitted, errs)
    finally:
        del TABLEAUS[fixed.name]


def _library_case(name):
    """(field, y0) for a library spec on a small graph, in float64."""
    torch.manual_seed(0)
    if name == "convection_diffusion":
        pos, ei = grid_graph((8, 8), (0.0, 0.0), (2 * math.pi, 2 * math.pi), True)
        n = pos.shape[0]
        field = compiler.compile(name, torch.as_tensor(ei), n, dims={"d": 2},
                                 inputs={"pos": torch.as_tensor(pos)}).double()
        y0 = torch.sin(torch.as_tensor(pos, dtype=torch.float64) @ torch.tensor(
            [[1.0, 2.0], [2.0, -1.0]], dtype=torch.float64))
        return field, y0
    ei, n = random_graph(12, seed=2)
    dims = {"heat": {"d": 3}, "grand": {"d": 4, "k": 3}, "grand_nl": {"d": 4, "k": 3},
            "beltrami": {"d": 4, "p": 2, "k": 4, "h": 2}, "graff_nl": {"d": 3}}[name]
    field = compiler.compile(name, ei, n, dims=dims).double()
    with torch.no_grad():
        for p in field.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return field, torch.randn(n, field.state_width, dtype=torch.float64)


LIBRARY = ["heat", "grand", "grand_nl", "beltrami", "graff_nl", "convection_diffusion"]


@pytest.mark.parametrize("name", LIBRARY)
@pytest.mark.parametrize("method", ["dopri5", "bosh3", "rk4"])
def test_same_steps_solution_and_gradients_as_torchdiffeq(name, method):
    """The fast path takes torchdiffeq's steps (same NFE) and agrees with it on the solution
    and on the gradients with respect to y(0) and every parameter, to 1e-6 (float64).

    torchdiffeq lets a gradient flow through its first step size, which it chooses from y(0);
    the fast path holds step sizes constant. So the gradients are compared with torchdiffeq
    given the same first step (``options['first_step']``, which saves it one evaluation).
    """
    field, y0 = _library_case(name)
    T = 0.4
    t = torch.tensor([0.0, 0.15, T], dtype=torch.float64)
    fixed = not TABLEAUS[method].adaptive
    tol = {"dopri5": 1e-7, "bosh3": 1e-5}.get(method, 1e-7)
    cfg = dict(method=method, rtol=tol, atol=tol, step_size=0.05 if fixed else None)
    params = [p for p in field.parameters() if p.requires_grad]

    def run(integrator):
        x0 = y0.clone().requires_grad_()
        block = ODEBlock(field, T, SolverConfig(**cfg, integrator=integrator))
        ys = block(x0, t)
        grads = torch.autograd.grad((ys[1:] ** 2).sum(), [x0] + params, allow_unused=True)
        return ys.detach(), grads, block.nfe_forward

    ys_fast, g_fast, nfe_fast = run("pde2gnn")
    ys_ref, _, nfe_ref = run("torchdiffeq")
    assert nfe_fast == nfe_ref
    assert (ys_fast - ys_ref).abs().max() < 1e-6 * max(1.0, ys_ref.abs().max())

    x0 = y0.clone().requires_grad_()
    field.prepare(x0)
    opts = {"step_size": 0.05} if fixed else {}
    if not fixed:
        opts["first_step"] = _initial_step(
            _CountingStub(field), 0.0, x0,
            field(torch.zeros((), dtype=torch.float64), x0).detach(),
            TABLEAUS[method].order, cfg["rtol"], cfg["atol"])
    ys = torchdiffeq.odeint(field, x0, t, rtol=cfg["rtol"], atol=cfg["atol"], method=method,
                            options=opts)
    g_ref = torch.autograd.grad((ys[1:] ** 2).sum(), [x0] + params, allow_unused=True)
    for a, b in zip(g_fast, g_ref):
        if b is None:
            assert a is None or a.abs().max() == 0
            continue
        assert (a - b).abs().max() < 1e-6 * max(1.0, b.abs().max()), (name, method)


class _CountingStub:
    """What ``_initial_step`` calls: f(t: float, y)."""

    def __init__(self, field):
        self.field = field

    def __call__(self, t, y):
        return self.field(torch.full((), t, dtype=y.dtype), y)


def test_tsit5_matches_expm_and_beats_loose_tolerance():
    ei, n = random_graph(10, seed=5)
    lap = _laplacian(ei, n)
    x0 = torch.randn(n, 3, dtype=torch.float64)
    exact = torch.as_tensor(scipy.linalg.expm(lap.numpy() * 0.8)) @ x0
    for rtol, bound in [(1e-4, 1e-3), (1e-9, 1e-7)]:
        sol = rk_solve(lambda t, y: lap @ y, x0, [0.0, 0.8], method="tsit5", rtol=rtol,
                       atol=rtol * 1e-2)
        assert (sol.ys[-1] - exact).abs().max() < bound


def test_dense_output_at_many_times_matches_expm():
    """Output times inside steps are read off the dense output (quartic for dopri5)."""
    ei, n = random_graph(10, seed=6)
    lap = _laplacian(ei, n) * 0.2
    x0 = torch.randn(n, 2, dtype=torch.float64)
    ts = np.linspace(0, 2.0, 41)
    sol = rk_solve(lambda t, y: lap @ y, x0, ts, method="dopri5", rtol=1e-6, atol=1e-8)
    assert sol.steps < 20          # fewer steps than output times: most come from interpolation
    for tk, yk in zip(ts, sol.ys):
        exact = torch.as_tensor(scipy.linalg.expm(lap.numpy() * tk)) @ x0
        assert (yk - exact).abs().max() < 1e-4


def test_gradcheck_through_fast_solve():
    ei, n = random_graph(6, seed=1)
    field = compiler.compile("grand", ei, n, dims={"d": 2, "k": 2}).double()
    x0 = torch.randn(n, 2, dtype=torch.float64, requires_grad=True)
    for cfg in (SolverConfig(method="dopri5", rtol=1e-7, atol=1e-7),
                SolverConfig(method="tsit5", rtol=1e-7, atol=1e-7),
                SolverConfig(method="rk4", step_size=0.1)):
        assert torch.autograd.gradcheck(lambda x: ODEBlock(field, 0.3, cfg)(x), (x0,))


def test_stage_sum_gradcheck():
    ks = [torch.randn(4, 3, dtype=torch.float64, requires_grad=True) for _ in range(3)]
    base = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda b, *k: stage_sum(b, [0.5, 0.0, -2.0], k),
                                    (base, *ks))
    assert torch.autograd.gradcheck(lambda *k: stage_sum(None, [1.5, 0.25, 0.0], k), tuple(ks))


def test_max_nfe_underflow_and_bad_options():
    lap = torch.tensor([[-1.0, 1.0], [1.0, -1.0]], dtype=torch.float64) * 1e4
    with pytest.raises(SolverError, match="max_nfe = 30"):
        rk_solve(lambda t, y: lap @ y, torch.ones(2, 1, dtype=torch.float64), [0.0, 10.0],
                 rtol=1e-10, atol=1e-10, max_nfe=30)
    with pytest.raises(SolverError, match="underflow"):
        rk_solve(lambda t, y: y ** 3, torch.ones(2, 1, dtype=torch.float64) * 10, [0.0, 5.0],
                 max_nfe=100000)
    with pytest.raises(OptionError, match="unknown Runge-Kutta method"):
        rk_solve(lambda t, y: y, torch.ones(1), [0.0, 1.0], method="rk45")
    with pytest.raises(OptionError, match="increasing"):
        rk_solve(lambda t, y: y, torch.ones(1), [0.0, 1.0, 0.5])
    with pytest.raises(OptionError, match="only in the pde2gnn integrator"):
        SolverConfig(method="tsit5", integrator="torchdiffeq")
    with pytest.raises(OptionError, match="unknown integrator"):
        SolverConfig(integrator="scipy")


def test_nonfinite_initial_state_is_a_data_error(ring):
    ei, n = ring
    field = compiler.compile("model heat\nfield x : node\ndt(x) = lap(x)\n", ei, n)
    y0 = torch.ones(n, 1)
    y0[2] = float("nan")
    with pytest.raises(DataError, match="initial state .* NaN"):
        ODEBlock(field, 1.0)(y0)


def test_field_pickles_and_solves_the_same_after_loading(ring, tmp_path):
    ei, n = ring
    field = compiler.compile("grand", ei, n, dims={"d": 3, "k": 2}).double()
    y0 = torch.randn(n, 3, dtype=torch.float64)
    before = ODEBlock(field, 1.0)(y0)
    clone = pickle.loads(pickle.dumps(field))
    torch.save(field, tmp_path / "field.pt")
    loaded = torch.load(tmp_path / "field.pt", weights_only=False)
    for f in (clone, loaded):
        assert torch.equal(ODEBlock(f, 1.0)(y0), before)


def test_torch_compile_traces_the_field_once(ring):
    ei, n = ring
    field = compiler.compile("grand", ei, n, dims={"d": 3, "k": 2})
    y0 = torch.randn(n, 3)
    field.prepare(y0)
    torch._dynamo.reset()
    counts = {"n": 0}

    def backend(gm, example_inputs):
        counts["n"] += 1
        return gm.forward

    compiled = torch.compile(field, backend=backend)
    t = torch.zeros(())
    for k in range(4):
        out = compiled(t, y0 + k)
        assert torch.allclose(out, field(t, y0 + k))
    assert counts["n"] == 1


def test_plain_odeint_adjoint_is_refused_where_it_would_be_wrong_and_right_elsewhere(ring):
    """torchdiffeq.odeint_adjoint on a field whose constants depend on y(0) (GRAND-l's
    attention and source term come from init(x)) would miss that dependence: it raises and
    names ODEBlock. Without init(...) (state-dependent attention, no source term) its
    gradients equal direct backprop."""
    ei, n = ring
    t = torch.tensor([0.0, 0.5], dtype=torch.float64)
    field = compiler.compile("grand", ei, n, dims={"d": 3, "k": 2}).double()
    y0 = torch.randn(n, 3, dtype=torch.float64, requires_grad=True)
    field.prepare(y0)
    with pytest.raises(SolverError, match="ODEBlock"):
        torchdiffeq.odeint_adjoint(field, y0, t)
    with torch.no_grad():                   # inference: prepared without a graph, no error
        field.prepare(y0)
        torchdiffeq.odeint(field, y0, t)

    spec = ("model attention\nfield x : node[d]\ndim k = 2\nlearn W_K : [d, k]\n"
            "learn W_Q : [d, k]\nlearn alpha = 0\n"
            "edge a = softmax_j(dot(x_i @ W_K, x_j @ W_Q) / sqrt(k))\n"
            "dt(x) = sigmoid(alpha) * div(a * grad(x))\n")
    field = compiler.compile(spec, ei, n, dims={"d": 3}).double()
    params = list(field.parameters())
    grads = []
    for solve in (torchdiffeq.odeint, torchdiffeq.odeint_adjoint):
        x0 = y0.detach().clone().requires_grad_()
        field.prepare(x0)
        ys = solve(field, x0, t, rtol=1e-10, atol=1e-10)
        grads.append(torch.autograd.grad((ys[-1] ** 2).sum(), [x0] + params))
    for a, b in zip(*grads):
        assert (a - b).abs().max() < 1e-6 * max(1.0, b.abs().max())


def test_state_dtype_and_device_mismatch_is_explained(ring):
    ei, n = ring
    field = compiler.compile("grand", ei, n, dims={"d": 3, "k": 2})       # float32
    for y0 in (torch.randn(n, 3, dtype=torch.float64), torch.ones(n, 3, dtype=torch.long)):
        with pytest.raises(DataError, match="field.to"):
            ODEBlock(field, 1.0)(y0)


@pytest.mark.parametrize("method", ["dopri5", "tsit5", "rk4", "midpoint"])
@pytest.mark.parametrize("spec", ["grand", "model lin\nfield x : node[d]\ndt(x) = x\n"])
def test_solve_without_grad_reuses_buffers_and_gives_the_same_answer(ring, spec, method):
    """Without grad the stage states go into one reused buffer; the answer is the one of a
    solve with grad, also for a field that returns its own state (dt(x) = x)."""
    ei, n = ring
    dims = {"d": 3, "k": 2} if spec == "grand" else {"d": 3}
    field = compiler.compile(spec, ei, n, dims=dims).double()
    y0 = torch.randn(n, 3, dtype=torch.float64)
    cfg = SolverConfig(method=method, rtol=1e-8, atol=1e-8,
                       step_size=None if TABLEAUS[method].adaptive else 0.05)
    t = torch.tensor([0.0, 0.3, 1.0], dtype=torch.float64)
    with torch.no_grad():
        quiet = ODEBlock(field, 1.0, cfg)(y0, t)
    loud = ODEBlock(field, 1.0, cfg)(y0.clone().requires_grad_(), t)
    assert torch.allclose(quiet, loud.detach(), rtol=0, atol=1e-13)
    if spec.startswith("model lin"):
        assert torch.allclose(quiet[-1], y0 * math.e,
                              rtol=1e-6 if TABLEAUS[method].adaptive else 2e-3)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_fixed_grid_of_an_end_time_rounded_to_float32_matches_torchdiffeq(dtype):
    """T = 12.8 held as a float32 tensor is 12.8000002: 128 rk4 steps of 0.1 reach it (the last
    lengthened by 2e-7), as torchdiffeq's float32 grid takes, not 128 plus one of 2e-7 (four
    evaluations for nothing); the states agree with torchdiffeq's to rounding."""
    a = torch.tensor([[-0.3, 0.2], [0.1, -0.5]], dtype=dtype)
    calls = {"ours": 0, "torchdiffeq": 0}

    def field(who):
        def f(t, y):
            calls[who] += 1
            return y @ a
        return f
    t = torch.tensor([0.0, 12.8], dtype=torch.float32)
    y0 = torch.tensor([[1.0, -2.0]], dtype=dtype)
    ours = rk_solve(field("ours"), y0, t, method="rk4", step_size=0.1)
    ref = torchdiffeq.odeint(field("torchdiffeq"), y0, t, method="rk4",
                             options={"step_size": 0.1})
    assert calls["ours"] == calls["torchdiffeq"] == 4 * 128 == ours.nfe
    tol = 10 * ours.nfe * torch.finfo(dtype).eps        # rounding over the evaluations
    assert (ours.ys[-1] - ref[-1]).abs().max() <= tol * ref[-1].abs().max()
