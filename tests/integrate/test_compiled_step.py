"""The compiled Runge-Kutta step (pde2gnn/integrate/compiled.py) of every continuous library
spec: one graph under torch.compile(fullgraph=True), its sparse products in the padded ELL
form (pde2gnn/compiler/backend/ell.py), traced in the first solve only (by dynamo, then ahead
of time) and never again across step sizes, times, a new y(0) and new parameter values (dynamo's
own count of graphs); several fixed steps per compiled call, exact against one at a time, and equal to the eager fused loop (pde2gnn.integrate.rk.rk_solve, CSR
products) to 1e-10 in float64 (rk4 on four specs and through ODEBlock with gradients, euler on
the rest: the field is the same graph, and tracing four evaluations per step would cost the
suite four times as much).

torch.compile's ``eager`` backend runs the traced graph without generating kernels: it checks
the tracing (no graph break, no recompilation), which is what depends on pde2gnn's code;
inductor's C++ build would cost ~1 minute per spec on this CPU (benchmarks/scale.py times it).
"""
import pickle

import pytest
import torch

from pde2gnn.compiler import pipeline as compiler
from pde2gnn.errors import OptionError
from pde2gnn.integrate.compiled import CompiledStep, solve_fixed
from pde2gnn.integrate.rk import rk_solve, step_grid
from pde2gnn.integrate.solve import ODEBlock, SolverConfig

from tests.compiler.test_reference import LIBRARY, N, compiled_field

ODES = [p for p in LIBRARY if not compiler.is_discrete(str(p))]
RK4 = {"heat", "kuramoto_sivashinsky", "allen_cahn", "graff"}   # the others: euler
SHEAVES = {p.stem for p in ODES if compiler.front(str(p)).sheaves}


def _graphs() -> int:
    """Graphs dynamo has traced in this process (``torch.compile`` and ``aot_compile``)."""
    return torch._dynamo.utils.counters["stats"]["unique_graphs"]


@pytest.mark.parametrize("path", [p for p in ODES if p.stem not in SHEAVES], ids=lambda p: p.stem)
@pytest.mark.slow
def test_compiled_step_equals_eager_and_traces_once(path):
    torch._dynamo.reset()
    gen = torch.Generator().manual_seed(3)
    field = compiled_field(path, gen)
    method = "rk4" if path.stem in RK4 else "euler"     # tracing 4 evaluations costs 4x
    stages = {"rk4": 4, "euler": 1}[method]
    step = CompiledStep(field, method, backend="eager", log=None)
    traced, before = [], _graphs()
    for k, (times, steps) in enumerate([((0.0, 2.0, 5.0), 5), ((0.0, 1.4, 6.0), 10)]):
        y0 = (1 + k) * 0.5 * torch.randn(N, field.state_width, generator=gen,
                                         dtype=torch.float64)
        with torch.no_grad():
            for p in field.parameters():             # the next epoch: new parameter values
                p.mul_(1 + 0.1 * k)
            field.prepare(y0)
            # time unit: 1 / 100 of the field's rate at y0 (biharmonic, random MLPs: stiff)
            rate = field(torch.tensor(0.0, dtype=torch.float64), y0).abs().max() / y0.abs().max()
            unit = 0.01 / max(1.0, float(rate))
            ts, h = [unit * v for v in times], unit * times[-1] / steps
            want = rk_solve(field, y0, ts, method=method, step_size=h).ys
            got, nfe = solve_fixed(step, y0, ts, step_size=h)
        assert nfe == stages * steps and torch.isfinite(want).all()
        scale = want.abs().max().item()
        assert (got - want).abs().max().item() <= 1e-10 * max(scale, 1.0)
        traced.append(_graphs() - before)
    # the first solve traces the step (dynamo, then ahead of time); the second, with another
    # step size, end time, y(0) and parameter values, traces nothing
    assert 1 <= traced[0] <= 2 and traced[1] == traced[0], f"{path.stem}: traced {traced}"
    assert step.how.startswith("ahead of time"), step.how
    if "spmm" in field.source:                   # every sparse product in ELL form here
        assert "ELL" in step.products and "csr_mm" not in step.products, step.products


@pytest.mark.parametrize("path", [p for p in ODES if p.stem in SHEAVES], ids=lambda p: p.stem)
def test_sheaf_specs_are_refused_with_a_clear_error(path):
    field = compiled_field(path, torch.Generator().manual_seed(3))
    with pytest.raises(OptionError, match="sheaf"):
        CompiledStep(field, "rk4", backend="eager", log=None)


def test_ode_block_compile_option_trains_like_eager(monkeypatch, capsys):
    """SolverConfig(compile=True) through ODEBlock, with gradients: the same loss and
    gradients as the eager loop, fixed-step (rk4) and adaptive (dopri5), and a log line."""
    from pde2gnn.integrate import compiled as C
    monkeypatch.setattr(C, "DEFAULT_BACKEND", "eager")     # tracing only (see above)
    torch._dynamo.reset()
    gen = torch.Generator().manual_seed(0)
    field = compiled_field(next(p for p in ODES if p.stem == "grand"), gen)
    x = torch.randn(N, field.state_width, generator=gen, dtype=torch.float64,
                    requires_grad=True)
    for solver in (dict(method="rk4", step_size=0.1),
                   dict(method="dopri5", rtol=1e-6, atol=1e-8)):
        results = []
        capsys.readouterr()
        for compile_ in (False, True):
            block = ODEBlock(field, 0.5, SolverConfig(compile=compile_, **solver))
            loss = block(x).square().sum()
            results.append((loss.detach(), torch.autograd.grad(loss, x)[0], block.nfe_forward))
        (l0, g0, n0), (l1, g1, n1) = results
        assert n0 == n1
        assert abs(float(l1 - l0)) <= 1e-10 * abs(float(l0))
        assert (g1 - g0).abs().max() <= 1e-10 * g0.abs().max()
        lines = [s for s in capsys.readouterr().out.splitlines() if s.startswith("compiled: ")]
        assert len(lines) == 1 and "'grand'" in lines[0] and "eager" in lines[0]


def test_training_epochs_trace_once(monkeypatch):
    """Three training epochs of an ODEBlock with compile=True (rk4, gradients): new inputs
    and, as after an optimiser step, new parameter values each epoch; dynamo traces in the
    first epoch only (the step with grad, ahead of time), and the gradients equal the eager
    loop's to 1e-10 in every epoch."""
    from pde2gnn.integrate import compiled as C
    monkeypatch.setattr(C, "DEFAULT_BACKEND", "eager")     # tracing only (see above)
    torch._dynamo.reset()
    gen = torch.Generator().manual_seed(5)
    field = compiled_field(next(p for p in ODES if p.stem == "grand"), gen)
    eager = ODEBlock(field, 0.5, SolverConfig(method="rk4", step_size=0.1))
    block = ODEBlock(field, 0.5, SolverConfig(method="rk4", step_size=0.1, compile=True))
    traced = []
    for epoch in range(3):
        x = torch.randn(N, field.state_width, generator=gen, dtype=torch.float64,
                        requires_grad=True)
        with torch.no_grad():
            for p in field.parameters():
                p.add_(0.05 * torch.randn(p.shape, generator=gen, dtype=p.dtype))
        before = _graphs()
        grads = []
        for b in (eager, block):
            loss = b(x).square().sum()
            grads.append(torch.autograd.grad(loss, [x] + list(field.parameters()),
                                             allow_unused=True))
        traced.append(_graphs() - before)
        for g0, g1 in zip(*grads):
            if g0 is not None:
                assert (g1 - g0).abs().max() <= 1e-10 * max(g0.abs().max().item(), 1.0)
    assert traced[0] >= 1 and traced[1:] == [0, 0], traced
    assert block._compiled[1].how.startswith("ahead of time")
    with torch.no_grad():       # evaluation: a second ahead-of-time compile, beside the first
        y = block(x)            # (torch pickles the state its guards read, this module's too)
        assert block._compiled[1].how.startswith("ahead of time"), block._compiled[1].how
        assert torch.allclose(y, eager(x), rtol=0, atol=1e-12)
        again = pickle.loads(pickle.dumps(block))   # torch.save: compiled again when used
        assert torch.allclose(again(x), y, rtol=0, atol=1e-12)


@pytest.mark.slow
def test_rewiring_between_solves_gives_the_eager_solve():
    """The ahead-of-time step checks dynamo's guards at the start of every solve: after
    ``set_graph`` (rewiring, BLEND-kNN) to a graph with as many edges, and to one with fewer,
    the compiled solve equals the eager loop on the new graph (its ELL form built for it),
    tracing again where the guards say the field changed."""
    from tests.compiler.test_reference import random_graph
    torch._dynamo.reset()
    gen = torch.Generator().manual_seed(6)
    field = compiled_field(next(p for p in ODES if p.stem == "grand"), gen)
    step = CompiledStep(field, "rk4", backend="eager", log=None)
    x = torch.randn(N, field.state_width, generator=gen, dtype=torch.float64)
    same = random_graph(torch.Generator().manual_seed(11))
    graphs = [None, same, same[:, 1:]]
    assert graphs[1].shape[1] == field.graph.num_edges
    for ei in graphs:
        if ei is not None:
            field.set_graph(ei)
        with torch.no_grad():
            field.prepare(x)
            want = rk_solve(field, x, [0.0, 0.3], method="rk4", step_size=0.1).ys
            got, _ = solve_fixed(step, x, [0.0, 0.3], step_size=0.1)
        assert (got - want).abs().max() <= 1e-10 * want.abs().max()
        g = field.graph                           # the new graph's products are in ELL form
        assert any(getattr(p, "ell", None) is not None for p in (g._pattern(), g._loops))


def _grid_heat(shape=(6, 5), channels=2):
    from pde2gnn.graph.construction import grid_graph
    pos, ei = grid_graph(shape, (0.0, 0.0), (1.0, 1.0), periodic=True)
    n = pos.shape[0]
    return compiler.compile("heat", ei, n, {"d": channels}).double(), n


@pytest.mark.parametrize("spec", ["heat-grid", "grand"])
@pytest.mark.slow
def test_a_block_of_steps_equals_the_steps_one_by_one(spec):
    """``CompiledStep.steps``: k steps as one traced call (unequal step sizes, a step of size 0
    leaving the state as it is) equal k calls of the compiled step to 1e-13 in float64."""
    torch._dynamo.reset()
    gen = torch.Generator().manual_seed(8)
    if spec == "grand":
        field = compiled_field(next(p for p in ODES if p.stem == "grand"), gen)
        y0 = torch.randn(N, field.state_width, generator=gen, dtype=torch.float64)
    else:
        field, n = _grid_heat()
        y0 = torch.randn(n, 2, generator=gen, dtype=torch.float64)
    step = CompiledStep(field, "rk4", backend="eager", log=None, block=3)
    t0s = torch.tensor([0.0, 0.01, 0.035], dtype=torch.float64)
    dts = torch.tensor([0.01, 0.025, 0.0], dtype=torch.float64)
    with torch.no_grad():
        field.prepare(y0)
        ys = step.steps(t0s, dts, y0)
        y, one = y0, []
        for m in range(3):
            y, _ = step(t0s[m], dts[m], y)
            one.append(y)
    assert len(ys) == 3 and torch.equal(ys[2], ys[1])          # dt = 0: unchanged
    for a, b in zip(ys, one):
        assert (a - b).abs().max() <= 1e-13 * b.abs().max()


@pytest.mark.slow
def test_blocked_solves_are_exact_and_trace_once():
    """solve_fixed in blocks: the first solve (12 steps) fixes the block at 4 (the largest
    divisor of 12 not above ``block``); solves of 12, 7 (its last block padded with steps of
    size 0) and 3 steps, with output times between grid points and a shortened last step,
    equal the eager loop to 1e-13 and trace nothing after the first (dynamo's own count)."""
    torch._dynamo.reset()
    field, n = _grid_heat((5, 7), 1)
    gen = torch.Generator().manual_seed(9)
    step = CompiledStep(field, "rk4", backend="eager", log=None, block=5)
    traced = []
    for ts, h in (([0.0, 0.013, 0.06], 0.005), ([0.0, 0.02, 0.031], 0.0045),
                  ([0.0, 0.004, 0.007, 0.01], None)):
        y0 = torch.randn(n, 1, generator=gen, dtype=torch.float64)
        before = _graphs()
        with torch.no_grad():
            field.prepare(y0)
            want = rk_solve(field, y0, ts, method="rk4", step_size=h).ys
            got, nfe = solve_fixed(step, y0, ts, step_size=h)
        traced.append(_graphs() - before)
        assert got.shape == want.shape
        assert (got - want).abs().max() <= 1e-13 * want.abs().max()
        assert nfe == 4 * (len(step_grid(ts, h)) - 1)
    assert step.block_size(7) == 4 and traced[0] >= 1 and traced[1:] == [0, 0], traced
    assert "shifted grid (5x7 periodic" in step.products, step.products
