"""The shifted-copies form of the sparse products on periodic grids
(pde2gnn/compiler/backend/grid.py), which the compiled path uses: found from the CSR pattern
alone (square, non-square, 1-D and 3-D grids; not on an irregular graph, a non-periodic grid or
a relabelled grid, which keep the ELL form), and, both wraps (rolled axes, a padded last axis), equal to the CSR product and a dense matrix
(float64, values and gradients to 1e-13 relative) for several stencils: the 5-point Laplacian
with its diagonal, the 13-point stencil of lap(lap(u)), the central difference dx
(antisymmetric), anisotropic weights, per-row weights, several channels and a batch. Under
torch.compile (the ``eager`` backend: tracing only) the traced product is the shifted form, and
a spec's compiled step on a periodic grid says so and equals the eager loop."""
import pytest
import torch

from pde2gnn.compiler.backend import ell, grid
from pde2gnn.compiler.backend.csr import csr_product
from pde2gnn.compiler.backend.graph_ops import GraphOps
from pde2gnn.graph import construction as graphs
from tests.helpers.dynamo import traced_product


def _stencil_graph(shape, offsets):
    """A periodic grid of ``shape`` (C order) whose node p receives from p + d for every d in
    ``offsets`` (PyG convention: edge j -> i), distinct per row."""
    n = 1
    for s in shape:
        n *= s
    idx = torch.arange(n).reshape(shape)
    src, dst = [], []
    for d in offsets:
        src.append(torch.roll(idx, [-v for v in d], list(range(len(shape)))).reshape(-1))
        dst.append(idx.reshape(-1))
    return torch.stack([torch.cat(src), torch.cat(dst)]), n


def _dense(ops, values):
    a = torch.zeros(ops.num_nodes, ops.num_nodes, dtype=values.dtype)
    return a.index_put((ops.i, ops.j), values, accumulate=True)


FIVE = [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)]
THIRTEEN = [(a, b) for a in range(-2, 3) for b in range(-2, 3) if abs(a) + abs(b) <= 2]


def _weights(ops, kind, gen):
    """CSR values of a stencil: ``lap`` (1 off the diagonal, -deg on it), ``dx`` (+-1/2 along
    the last axis, 0 elsewhere), ``aniso`` (axis 0 weight 3, axis 1 weight 0.5, diagonal the
    negative row sum), ``bilap`` (the 13-point weights of the squared 5-point Laplacian) or
    ``random`` (a different weight on every entry)."""
    shape = ops.grid_shape
    coords = lambda k: torch.stack(torch.unravel_index(k, shape), 1)   # noqa: E731
    d = coords(ops.j) - coords(ops.i)
    d = torch.where(d > torch.tensor(shape) // 2, d - torch.tensor(shape), d)
    d = torch.where(d < -(torch.tensor(shape) - 1) // 2, d + torch.tensor(shape), d)
    if kind == "random":
        return torch.randn(ops.num_edges, generator=gen, dtype=torch.float64)
    if kind == "lap":
        return torch.where((d == 0).all(1), -4.0, 1.0).double()
    if kind == "dx":
        return 0.5 * d[:, -1].double() * (d[:, 0] == 0)
    if kind == "aniso":
        off = torch.where(d[:, 0] != 0, 3.0, 0.5).double()
        return torch.where((d == 0).all(1), -7.0, off)
    if kind == "bilap":          # (lap o lap): 20 at the centre, -8 at distance 1, 2 diagonal, 1
        r = d.abs().sum(1)
        return torch.where(r == 0, 20.0, torch.where(r == 1, -8.0, torch.where(
            (d.abs() == 1).all(1), 2.0, 1.0))).double()
    raise ValueError(kind)


CASES = [((8, 8), FIVE, "lap"), ((7, 5), FIVE, "aniso"), ((6, 9), FIVE, "dx"),
         ((9, 10), THIRTEEN, "bilap"), ((5, 6), FIVE, "random"), ((11, 8), THIRTEEN, "random")]


@pytest.mark.parametrize("shape,offsets,kind", CASES, ids=[f"{c[2]}-{c[0]}" for c in CASES])
@pytest.mark.parametrize("batched,wrap", [(False, "pad"), (True, "pad"), (False, "roll"),
                                          (True, "roll")])
def test_shifted_product_equals_csr_and_dense_with_gradients(shape, offsets, kind, batched, wrap):
    gen = torch.Generator().manual_seed(len(offsets) + shape[0])
    ei, n = _stencil_graph(shape, offsets)
    ops = GraphOps(ei, n).double()
    ops.grid_shape = shape
    form = grid.detect(ops.crow, ops.col)
    assert form is not None and form.shape == shape and form.width == len(offsets)
    assert sorted(map(tuple, form.offsets.tolist())) == sorted(offsets)
    values = _weights(ops, kind, gen).requires_grad_(True)
    x = torch.randn(*((2,) if batched else ()), n, 3, generator=gen, dtype=torch.float64,
                    requires_grad=True)
    g = torch.randn(x.shape, generator=gen, dtype=torch.float64)
    want = csr_product(values, x, ops)                        # eager: the CSR product
    flat = x.transpose(0, 1).reshape(n, 6) if batched else x
    got = grid.grid_product(form, values, flat, wrap)
    got = got.reshape(n, 2, 3).transpose(0, 1) if batched else got
    scale = want.abs().max()
    assert (got - want).abs().max() <= 1e-13 * scale
    assert (got - _dense(ops, values.detach()) @ x.detach()).abs().max() <= 1e-13 * scale
    for a, b in zip(torch.autograd.grad(got, (values, x), g),
                    torch.autograd.grad(want, (values, x), g)):
        assert (a - b).abs().max() <= 1e-13 * b.abs().max()


@pytest.mark.parametrize("shape", [(12,), (4, 9), (9, 4), (16, 16), (3, 4, 5), (5, 3, 3)])
def test_grid_graphs_are_found_with_their_shape(shape):
    """grid_graph's periodic grids (axis neighbours; their edges-plus-diagonal pattern too):
    found with the grid's own shape, the product exact against the dense matrix."""
    pos, ei = graphs.grid_graph(shape, (0.0,) * len(shape), (1.0,) * len(shape), periodic=True)
    ops = GraphOps(ei, pos.shape[0]).double()
    for crow, col in ((ops.crow, ops.col), (None, None)):
        if crow is None:
            ops.with_diagonal(torch.ones(ops.num_edges, dtype=torch.float64), 1.0)
            crow, col = ops._loops.crow, ops._loops.col
        form = grid.detect(crow, col)
        assert form is not None and form.shape == tuple(shape), (shape, form and form.shape)
    values = torch.randn(ops.num_edges, dtype=torch.float64)
    x = torch.randn(ops.num_nodes, 2, dtype=torch.float64)
    form = grid.detect(ops.crow, ops.col)
    want = _dense(ops, values) @ x
    assert (grid.grid_product(form, values, x) - want).abs().max() <= 1e-13 * want.abs().max()


def test_shifted_product_gradcheck():
    ei, n = _stencil_graph((4, 5), FIVE)
    ops = GraphOps(ei, n).double()
    form = grid.detect(ops.crow, ops.col)
    gen = torch.Generator().manual_seed(5)
    values = torch.randn(ops.num_edges, generator=gen, dtype=torch.float64, requires_grad=True)
    x = torch.randn(n, 2, generator=gen, dtype=torch.float64, requires_grad=True)
    for wrap in ("pad", "roll"):
        assert torch.autograd.gradcheck(lambda v, u: grid.grid_product(form, v, u, wrap),
                                        (values, x))
    with pytest.raises(ValueError, match="wrap"):
        grid.grid_product(form, values, x, "clamp")


def _relabelled(shape):
    pos, ei = graphs.grid_graph(shape, (0.0, 0.0), (1.0, 1.0), periodic=True)
    perm = torch.randperm(pos.shape[0], generator=torch.Generator().manual_seed(0))
    return perm[ei], pos.shape[0]


def _uniform_knn():
    """Every node receives from 4 random others: rows of equal length, no grid."""
    gen = torch.Generator().manual_seed(1)
    n = 36
    src = torch.stack([torch.randperm(n - 1, generator=gen)[:4] for _ in range(n)])
    src = src + (src >= torch.arange(n).unsqueeze(1)).long()
    return torch.stack([src.reshape(-1), torch.arange(n).repeat_interleave(4)]), n


def _open_grid():
    pos, ei = graphs.grid_graph((6, 6), (0.0, 0.0), (1.0, 1.0), periodic=False)
    return ei, pos.shape[0]


@pytest.mark.parametrize("make", [_relabelled, _uniform_knn, _open_grid],
                         ids=["relabelled grid", "uniform random graph", "non-periodic grid"])
def test_a_graph_that_is_not_a_periodic_grid_keeps_the_ell_form(make):
    ei, n = make((6, 6)) if make is _relabelled else make()
    ops = GraphOps(ei, n).double()
    assert grid.detect(ops.crow, ops.col) is None
    said = ell.prepare(torch.nn.ModuleDict({"g": ops}))
    assert "ELL" in said and "shifted" not in said and ops.grid is None


def test_compiled_product_traces_the_shifted_form_for_constant_weights():
    """Under torch.compile a periodic grid's product whose values are static and the same at
    each offset in every row (recorded by ell.prepare from the field's static values) is the
    shifted form (torch.roll, the weights constants of the code, no gather, no csr_mm) with
    the eager values; values that differ from row to row, values not recorded and
    ``shifted=False`` keep the ELL gather."""
    pos, ei = graphs.grid_graph((6, 5), (0.0, 0.0), (1.0, 1.0), periodic=True)
    ops = GraphOps(ei, 30).double()
    ops.grid_shape = (6, 5)
    gen = torch.Generator().manual_seed(3)
    constant = _weights(ops, "aniso", gen) * 0.7
    per_row = _weights(ops, "random", gen)
    x = torch.randn(30, 2, generator=gen, dtype=torch.float64)
    holder = torch.nn.ModuleDict({"g": ops})
    holder._static_cache = {"_s0": constant, "_s1": per_row}
    for values, shifted, expect in ((constant, True, True), (per_row, True, False),
                                    (constant.clone(), True, False), (constant, False, False)):
        said = ell.prepare(holder, shifted=shifted)
        assert ("shifted grid (6x5 periodic, K = 4)" in said) == shifted, said
        assert len(ops.grid.baked) == 1 if shifted else ops.grid is None
        want = ops.spmm(values, x)
        got, code = traced_product(ops, values, x)
        assert (got - want).abs().max() <= 1e-14 * want.abs().max()
        assert ("roll" in code) == expect and "csr_mm" not in code, code
        assert ("ell_idx" in code) != expect, code


def test_changed_static_values_are_recorded_again():
    """ell.refresh: a new static tensor (a new graph's weights) replaces the recorded one;
    the same tensor changed in place (its version) is checked again."""
    pos, ei = graphs.grid_graph((5, 5), (0.0, 0.0), (1.0, 1.0), periodic=True)
    ops = GraphOps(ei, 25).double()
    holder = torch.nn.ModuleDict({"g": ops})
    holder._static_cache = {"_s0": torch.ones(ops.num_edges, dtype=torch.float64)}
    ell.prepare(holder)
    assert ops.grid.baked[0][2] == (1.0,) * 4 and not ell.refresh(holder)
    holder._static_cache["_s0"].mul_(2.0)
    assert ell.refresh(holder) and ops.grid.baked[0][2] == (2.0,) * 4
    holder._static_cache = {"_s0": torch.randn(ops.num_edges, dtype=torch.float64)}
    assert ell.refresh(holder) and ops.grid.baked == ()


CAHN_HILLIARD = """model cahn_hilliard
domain pos : [0, 2*pi] x [0, 2*pi] periodic
field c : node[1]
param g = 0.01
dt(c) = lap(c^3 - c - g*lap(c))
"""


@pytest.mark.parametrize("spec", ["heat", "cahn_hilliard"])
def test_compiled_step_on_a_periodic_grid_uses_the_shifted_form(spec):
    from pde2gnn.compiler.pipeline import compile as compile_spec
    from pde2gnn.integrate.compiled import CompiledStep, solve_fixed
    from pde2gnn.integrate.rk import rk_solve
    pos, ei = graphs.grid_graph((8, 6), (0.0, 0.0), (6.0, 4.0), periodic=True)
    if spec == "heat":
        f = compile_spec("heat", ei, 48, {"d": 2}).double()
    else:
        f = compile_spec(CAHN_HILLIARD.replace("2*pi] x [0, 2*pi]", "6] x [0, 4]"), ei, 48,
                         inputs={"pos": torch.tensor(pos)}).double()
    gen = torch.Generator().manual_seed(0)
    y0 = torch.randn(48, f.state_width, generator=gen, dtype=torch.float64)
    torch._dynamo.reset()
    step = CompiledStep(f, "rk4", backend="eager", log=None)
    with torch.no_grad():
        f.prepare(y0)
        ts = [0.0, 0.013, 0.05]
        want = rk_solve(f, y0, ts, method="rk4", step_size=0.004).ys
        got, _ = solve_fixed(step, y0, ts, step_size=0.004)
    assert "shifted grid (8x6 periodic, K = 5)" in step.products, step.products
    assert (got - want).abs().max() <= 1e-12 * want.abs().max()


@pytest.mark.slow
def test_inductor_compiles_the_shifted_form_and_blocks():
    """inductor itself (the other tests trace only): Cahn-Hilliard on a 12x10 periodic grid,
    rk4 in blocks of 3 steps, both products in the shifted form with constant weights; equal
    to the eager loop to 1e-12 (float64)."""
    from pde2gnn.compiler.pipeline import compile as compile_spec
    from pde2gnn.integrate.compiled import CompiledStep, solve_fixed
    from pde2gnn.integrate.rk import rk_solve
    pos, ei = graphs.grid_graph((12, 10), (0.0, 0.0), (6.0, 5.0), periodic=True)
    f = compile_spec(CAHN_HILLIARD.replace("2*pi] x [0, 2*pi]", "6] x [0, 5]"), ei, 120,
                     inputs={"pos": torch.tensor(pos)}).double()
    y0 = torch.randn(120, 1, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    torch._dynamo.reset()
    step = CompiledStep(f, "rk4", backend="inductor", log=None, block=3, loop=False)
    with torch.no_grad():
        f.prepare(y0)
        ts = [0.0, 0.0021, 0.006]
        want = rk_solve(f, y0, ts, method="rk4", step_size=0.001).ys
        got, _ = solve_fixed(step, y0, ts, step_size=0.001)
    assert step.products.endswith("shifted grid (12x10 periodic, K = 5)"), step.products
    assert step.block_size(6) == 3
    assert (got - want).abs().max() <= 1e-12 * want.abs().max()


def test_inductor_options_for_narrow_states(monkeypatch):
    """CompiledStep._options: a narrow CPU state (< 8 channels) with a shifted grid product
    gets 256-bit vectors where inductor's own choice is wider; one with an ELL product and no
    grid product scalar C++; wide states, another backend and narrower CPUs keep inductor's
    choice."""
    from pde2gnn.integrate import compiled as C
    from pde2gnn.compiler.pipeline import compile as compile_spec
    pos, ei = graphs.grid_graph((8, 6), (0.0, 0.0), (6.0, 4.0), periodic=True)
    step = C.CompiledStep(compile_spec("heat", ei, 48, {"d": 1}).double(), "rk4",
                          backend="inductor", log=None)
    narrow, wide = torch.zeros(48, 1), torch.zeros(48, 8)
    monkeypatch.setattr(C, "_vector_bits", lambda: 512)
    step.products = "edges: ELL (K = 4); edges + diagonal: shifted grid (8x6 periodic, K = 5)"
    assert step._options(narrow) == {"cpp.simdlen": 256} and step._options(wide) == {}
    step.products = "edges: ELL (K = 4)"
    assert step._options(narrow) == {"cpp.simdlen": 1} and step._options(wide) == {}
    monkeypatch.setattr(C, "_vector_bits", lambda: 256)
    step.products = "edges + diagonal: shifted grid (8x6 periodic, K = 5)"
    assert step._options(narrow) == {}
    step.backend = "eager"
    assert step._options(narrow) == {}
