"""The generated C loop nest of a compiled step on a periodic grid
(pde2gnn/compiler/backend/grid_loop.py; CompiledStep(loop=True)): heat (one and two channels,
float32, 1-D, 2-D and 3-D grids), Cahn-Hilliard (a stencil of a non-linear node temporary) and
a Kuramoto-Sivashinsky-like spec (the biharmonic, dx and dy, squares, tanh) solved through it
equal the eager fused loop (CSR products) to 1e-12 relative in float64 (the loop's arithmetic
is the traced one, up to fused multiply-adds: a few ulps per step), with output times between
grid points and a second solve from a new state; batches of one and of three states. The loop
is rebuilt when the grid's weights change; where it cannot be used (gradients, no shifted
grid product, an operation it does not write, no C compiler) the step falls back to
torch.compile and says why. Dynamo traces the step
with a recording backend (no inductor); the C compiler builds each kernel once (cached by its
source's hash)."""
import pytest
import torch

from pde2gnn.compiler.backend import grid_loop
from pde2gnn.compiler.pipeline import compile as compile_spec
from pde2gnn.graph import construction as graphs
from pde2gnn.integrate.compiled import CompiledStep, solve_fixed
from pde2gnn.integrate.rk import rk_solve

CAHN_HILLIARD = """model cahn_hilliard
domain pos : [0, 6] x [0, 4] periodic
field c : node[1]
param g = 0.01
dt(c) = lap(c^3 - c - g*lap(c))
"""
KS = """model ks
domain pos : [0, 6] x [0, 4] periodic
field u : node[1]
dt(u) = -lap(u) - 0.1*lap(lap(u)) - (dx(u)^2 + dy(u)^2)/2 + tanh(u)
"""
HIGH = (6.0, 4.0, 5.0)

needs_cc = pytest.mark.skipif(grid_loop.compiler() is None, reason="no C compiler")


def _field(spec, shape, dims=None, dtype=torch.float64):
    n = 1
    for s in shape:
        n *= s
    pos, ei = graphs.grid_graph(shape, (0.0,) * len(shape), HIGH[:len(shape)], periodic=True)
    inputs = None if spec == "heat" else {"pos": torch.tensor(pos)}
    f = compile_spec(spec, ei, n, dims, inputs=inputs).to(dtype)
    return f, n


def _solve(f, n, y0, ts, h, block=1):
    """One step a call (block=1): tracing 4 steps would cost 4x; blocks are tested once."""
    step = CompiledStep(f, "rk4", backend="eager", log=None, loop=True, block=block)
    with torch.no_grad():
        f.prepare(y0)
        want = rk_solve(f, y0, ts, method="rk4", step_size=h).ys
        got, _ = solve_fixed(step, y0, ts, step_size=h)
    return step, got, want


@needs_cc
@pytest.mark.parametrize("spec, shape, dims, dtype, h", [
    ("heat", (8, 6), {"d": 1}, torch.float64, 0.004),
    ("heat", (8, 6), {"d": 2}, torch.float64, 0.004),
    ("heat", (5, 4, 6), {"d": 1}, torch.float64, 0.004),
    ("heat", (10,), {"d": 1}, torch.float64, 0.004),
    ("heat", (8, 6), {"d": 1}, torch.float32, 0.004),
    (CAHN_HILLIARD, (8, 6), None, torch.float64, 0.001),
    (KS, (8, 6), None, torch.float64, 0.0004),
], ids=["heat", "heat-2ch", "heat-3d", "heat-1d", "heat-f32", "cahn_hilliard", "ks"])
def test_the_loop_equals_the_eager_solve(spec, shape, dims, dtype, h):
    f, n = _field(spec, shape, dims, dtype)
    y0 = torch.randn(n, f.state_width, generator=torch.Generator().manual_seed(1), dtype=dtype)
    ts = [0.0, 3.3 * h, 8 * h]           # an output time between grid points
    step, got, want = _solve(f, n, y0, ts, h, block=4 if spec == "heat" and dims == {
        "d": 1} and len(shape) == 2 and dtype == torch.float64 else 1)
    assert step._loops, step.how                       # the loop ran, not torch.compile
    assert step.how.startswith("a generated C loop nest"), step.how
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    assert (got - want).abs().max() <= tol * want.abs().max()
    with torch.no_grad():                              # a second solve reuses the kernel
        kernel = next(iter(step._loops.values()))
        y1 = 0.5 * y0.flip(0).contiguous()
        want = rk_solve(f, y1, ts, method="rk4", step_size=h).ys
        got, _ = solve_fixed(step, y1, ts, step_size=h)
    assert next(iter(step._loops.values())) is kernel
    assert (got - want).abs().max() <= tol * want.abs().max()


@needs_cc
def test_the_source_stores_stage_values_and_vectorises_the_interior():
    """heat, rk4, one step on 8x6: one loop per stage; each reads the stage input at 5 points,
    wraps only near the row ends (``W`` a modulo there, the identity inside); a stored stage
    derivative and input per stage, a few scratch arrays by liveness."""
    f, n = _field("heat", (8, 6), {"d": 1})
    y0 = torch.randn(n, 1, dtype=torch.float64)
    step = CompiledStep(f, "rk4", backend="eager", log=None, loop=True)
    with torch.no_grad():
        f.prepare(y0)
        step(torch.tensor(0.0, dtype=torch.float64), torch.tensor(0.01, dtype=torch.float64), y0)
    k = next(iter(step._loops.values()))
    assert k.loops == 4 and k.stored <= 4
    assert k.source.count("#define W(x) (x)") == 4
    assert k.source.count("#define W(x) (((x) + 6) % 6)") == 8
    assert "restrict" in k.source and "pow(" not in k.source


@needs_cc
def test_rebuilt_when_the_grid_weights_change():
    """A new static operator (other constant weights: refresh at the next solve's start) drops
    the kernel; the next solve builds one for the new weights and equals the eager loop."""
    f, n = _field(CAHN_HILLIARD, (8, 6))
    y0 = torch.randn(n, 1, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    step, got, want = _solve(f, n, y0, [0.0, 0.004], 0.001)
    first = next(iter(step._loops.values()))
    with torch.no_grad():
        for v in f._static_cache.values():
            if torch.is_tensor(v) and v.is_floating_point():
                v.mul_(1.5)
        want = rk_solve(f, y0, [0.0, 0.004], method="rk4", step_size=0.001).ys
        got, _ = solve_fixed(step, y0, [0.0, 0.004], step_size=0.001)
    assert step._loops and next(iter(step._loops.values())) is not first
    assert (got - want).abs().max() <= 1e-12 * want.abs().max()


@needs_cc
def test_falls_back_with_gradients():
    """With gradients the step is torch.compile's (the loop has no backward pass); it says why."""
    f, n = _field("heat", (8, 6), {"d": 1})
    y0 = torch.randn(n, 1, dtype=torch.float64, requires_grad=True)
    step = CompiledStep(f, "rk4", backend="eager", log=None, loop=True)
    f.prepare(y0)
    y1, _ = step(torch.tensor(0.0, dtype=torch.float64), torch.tensor(0.01, dtype=torch.float64),
                 y0)
    assert not step._loops and "no C loop: gradients" in step.how
    y1.sum().backward()
    assert y0.grad is not None


def test_falls_back_without_a_grid_or_with_an_unwritten_operation():
    """No shifted grid product (an irregular graph): torch.compile, saying why; an operation
    the loop does not write raises Unsupported naming it; ``loop=None`` means on with inductor
    only."""
    ei = torch.randint(0, 30, (2, 120), generator=torch.Generator().manual_seed(0))
    g = compile_spec("heat", ei, 30, {"d": 1}).double()
    x = torch.randn(30, 1, dtype=torch.float64)
    step = CompiledStep(g, "rk4", backend="eager", log=None, loop=True)
    with torch.no_grad():
        g.prepare(x)
        step(torch.tensor(0.0, dtype=torch.float64), torch.tensor(0.01, dtype=torch.float64), x)
    assert not step._loops and "no C loop: no shifted grid product" in step.how
    assert CompiledStep(g, "rk4", backend="inductor", log=None).loop
    assert not CompiledStep(g, "rk4", backend="eager", log=None).loop

    def relu_step(x):
        return torch.relu(torch.roll(x.reshape(6, 5, 1), 1, 0)).reshape(30, 1)
    with pytest.raises(grid_loop.Unsupported, match="relu"):
        grid_loop.build(relu_step, (x,))


def test_no_compiler_is_a_reason(monkeypatch, tmp_path):
    monkeypatch.setenv("CC", "/nonexistent/cc")
    with pytest.raises(grid_loop.Unsupported, match="no C compiler"):
        grid_loop._build("void step(void) {}\n", str(tmp_path))


@needs_cc
def test_batches_of_states():
    """``[1, N, c]`` (simulate's layout for one trajectory: the product's transposes move no
    value) runs the loop, equal to the eager loop. ``[3, N, c]`` traced whole is refused,
    saying why (the transposes move values); CompiledStep traces it on one state and runs
    that kernel on each (``grid_loop.Batched``), equal to the eager loop."""
    f, n = _field(CAHN_HILLIARD, (8, 6))
    y0 = torch.randn(1, n, 1, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    step, got, want = _solve(f, n, y0, [0.0, 0.003], 0.001)
    assert step._loops, step.how
    assert (got - want).abs().max() <= 1e-12 * want.abs().max()
    two = torch.cat([y0, -y0, 0.5 * y0])
    a, b, c = step._weights(two)
    args = (step, torch.tensor(0.0, dtype=torch.float64), torch.tensor(0.001, dtype=torch.float64),
            two, a, b, c)
    with pytest.raises(grid_loop.Unsupported, match="a batch of several states"):
        grid_loop.build(type(step)._step, args)
    step, got, want = _solve(f, n, two, [0.0, 0.0025], 0.001)   # traced on one, run on each
    assert isinstance(next(iter(step._loops.values())), grid_loop.Batched), step.how
    assert got.shape == want.shape == (2, 3, n, 1)
    assert (got - want).abs().max() <= 1e-12 * want.abs().max()
