"""The lowering passes (pde2gnn/compiler/passes/, issue 37 item 4), one by one.

For each pass: a small input program and the output it must give (symbolically), and that the
field's values are unchanged by it: the program before and after the pass, evaluated by the
unfused reference interpreter (:mod:`pde2gnn.compiler.backend.reference`) with the same graph,
inputs and learnables, agree to float64 rounding relative to the answer's size. Before pass
``stencils`` the program still holds the continuous operators (no interpreter rule): that pass
is checked against hand-written gather / scatter code instead. Then ``fuse=False`` (the fusing
passes off) against the fused code for every library spec, and ``explain --after``.
"""
import sympy as sp
import pytest
import torch

from pde2gnn.compiler import passes
from pde2gnn.compiler import pipeline as compiler
from pde2gnn.compiler.backend.reference import interpret
from pde2gnn.compiler.discretize.program import DEG_INV
from pde2gnn.compiler.symbolic import ops as O
from pde2gnn.compiler.symbolic.symbols import Level
from pde2gnn.errors import OptionError
from pde2gnn.graph.construction import delaunay_graph

from tests.helpers.fuzzing import assert_close_norm, jittered_grid
from tests.helpers.specs import ALL_SPECS

N = 12
HEAD = "model m\nfield x : node[2]\n"
x, xi, xj = sp.Symbol("x"), O.AtI(sp.Symbol("x")), O.AtJ(sp.Symbol("x"))


def free_dims(spec):
    """Size 4 for every dimension of ``spec`` without a default."""
    return {k: 4 for k, v in compiler.front(spec).dims.items() if v is None}


def history(spec, fuse=True):
    """``{pass name: program after it}`` plus ``'initial'``, for spec text or a library name."""
    st = compiler.stages(spec, free_dims(spec), fuse=fuse)
    out = {"initial": passes.initial(st.ir)}
    out.update(st.history)
    return out


# ------------------------------------------------------------------ each pass: in -> out
def test_pass_names_and_order():
    assert passes.NAMES == ("stencils", "hoist_nested", "normalise", "fuse_linear",
                            "fuse_inside", "dirichlet_rows", "split", "lift_gathers", "cse",
                            "level_hoist")
    assert [p.name for p in passes.PASSES if p.fusing] == ["fuse_linear", "fuse_inside"]
    for p in passes.PASSES:      # every pass documents what it rewrites and keeps
        doc = __import__(p.run.__module__, fromlist=["_"]).__doc__
        assert doc and "Invariants" in doc, p.name


def test_stencils_replaces_the_graph_operators():
    h = history(HEAD + "dt(x) = lap(x) + mean_j(x_j) + div(grad(x))\n")
    assert h["initial"].remainder["x"].has(O.Lap, O.MeanJ, O.Div, O.Grad)
    got = h["stencils"].remainder["x"]
    want = O.SumJ(xj - xi) + DEG_INV * O.SumJ(xj) + O.SumJ(xj - xi)
    assert sp.simplify(got - want) == 0
    assert not got.has(O.Lap, O.MeanJ, O.Div, O.Grad)
    assert h["stencils"].groups == [] and h["stencils"].temps == []
    assert h["initial"].remainder["x"].has(O.Lap)      # the input is left unchanged


def test_stencils_values_equal_hand_written_gather_scatter():
    ei, n = ring()
    f = compiler.compile(HEAD + "dt(x) = lap(x) + mean_j(x_j) + div(grad(x))\n", ei, n).double()
    y = torch.randn(n, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    src, dst = ei
    lap = torch.zeros_like(y).index_add_(0, dst, y[src] - y[dst])
    deg = torch.bincount(dst, minlength=n).to(y)[:, None]
    mean = torch.zeros_like(y).index_add_(0, dst, y[src]) / deg
    st = compiler.stages(HEAD + "dt(x) = lap(x) + mean_j(x_j) + div(grad(x))\n")
    got = interpret(f, torch.tensor(0.0), y, y, st.after("stencils"))
    assert_close_norm(got, 2 * lap + mean, rtol=1e-13)


def test_hoist_nested_gives_reductions_temporaries():
    h = history("model m\nfield u : node[1]\ndt(u) = lap(lap(u))\n")
    u = sp.Symbol("u")
    assert h["stencils"].temps == []
    p = h["hoist_nested"]
    assert p.temps == ["_red0"]
    r = sp.Symbol("_red0")
    assert p.remainder["_red0"] == O.SumJ(O.AtJ(u) - O.AtI(u))
    assert p.remainder["u"] == O.SumJ(O.AtJ(r) - O.AtI(r))
    assert list(p.remainder) == ["u", "_red0"]         # fields first


def test_normalise_pushes_endpoints_and_distributes_sums():
    h = history(HEAD + "learn W : [2, 2]\ndt(x) = div(grad(x) * 2) @ W\n")
    W = sp.Symbol("W")
    got = h["normalise"].remainder["x"]
    want = 2 * O.SumJ(O.MatMul(xj, W)) - 2 * O.SumJ(O.MatMul(xi, W))
    assert sp.expand(got - want) == 0
    assert all(isinstance(a.args[0], (O.AtI, O.AtJ)) for a in got.atoms(O.MatMul))


def test_fuse_linear_makes_one_group_per_source():
    h = history(HEAD + "param k = 0.5\ndt(x) = k * lap(x) - x\n")
    assert h["normalise"].groups == []
    p = h["fuse_linear"]
    assert len(p.groups) == 1 and p.remainder["x"] == 0
    g = p.groups[0]
    assert (g.target, g.source, g.right) == ("x", "x", ())
    assert sp.simplify(g.weight_j - 0.5) == 0 and sp.simplify(g.weight_i + 0.5) == 0
    assert g.diag == -1


def test_fuse_linear_leaves_non_linear_terms_in_the_remainder():
    p = history(HEAD + "dt(x) = lap(x) + tanh(x)\n")["fuse_linear"]
    assert len(p.groups) == 1 and p.remainder["x"] == O.FUNCTIONS["tanh"](x)


def test_fuse_inside_makes_a_lin_temporary():
    h = history(HEAD + "dt(x) = relu(lap(x))\n")
    assert h["fuse_linear"].groups == [] and h["fuse_linear"].temps == []
    p = h["fuse_inside"]
    assert p.temps == ["_lin0"]
    assert p.remainder["x"] == O.FUNCTIONS["relu"](sp.Symbol("_lin0"))
    assert [g.target for g in p.groups] == ["_lin0"] and "_lin0" not in p.remainder


def test_fuse_inside_numbers_temporaries_in_order_with_the_nested_ones():
    p = history("model m\nfield u : node[1]\ndt(u) = lap(tanh(lap(u)))\n")["fuse_inside"]
    # lap's argument tanh(lap(u)) is hoisted (_red0); inside it, lap(u) is fused (_lin0),
    # computed before _red0, its groups before u's
    assert p.temps == ["_lin0", "_red0"]
    assert p.remainder["_red0"] == O.FUNCTIONS["tanh"](sp.Symbol("_lin0"))
    assert [g.target for g in p.groups] == ["_lin0", "u"]


def test_dirichlet_rows_zeroes_the_rows_of_pinned_nodes():
    spec = ("model pinned\nfield u : node[1]\ninput hot : node mask\n"
            "bc u : hot dirichlet(2)\ndt(u) = 0.5 * lap(u)\n")
    h = history(spec)
    before, after = h["fuse_inside"].groups[0], h["dirichlet_rows"].groups[0]
    hot = sp.Symbol("hot")
    assert sp.simplify(after.weight_j - O.AtI(1 - hot) * before.weight_j) == 0
    assert before.weight_j != after.weight_j            # the input program kept its weights
    assert history(HEAD + "dt(x) = lap(x)\n")["dirichlet_rows"].groups[0].weight_j == 1


def test_split_puts_frozen_groups_in_L():
    p = history(HEAD + "dt(x) = lap(x) + div(exp(-norm(grad(x))) * grad(x))\n")["split"]
    frozen = [k for k, g in enumerate(p.groups)
              if p.analyzer.level(g.weight_j) < Level.STEP]
    assert p.split.linear == frozenset(frozen) and len(frozen) == 1
    assert "weights depend on the state" in p.split.description or p.remainder["x"] != 0
    nested = history("model m\nfield u : node[1]\ndt(u) = lap(lap(u))\n")["split"]
    assert nested.split.through == ("_red0",)


def test_lift_gathers_computes_on_nodes_before_gathering():
    h = history("grand")
    before = h["split"].groups
    after = h["lift_gathers"].groups
    lifted = [a for g in after for a in g.weight_j.atoms(O.AtI, O.AtJ)]
    assert any(isinstance(a.args[0], O.MatMul) for a in lifted)     # (init(x) @ W_K)_i
    assert not any(isinstance(m.args[0], (O.AtI, O.AtJ))
                   for g in after for m in g.weight_j.atoms(O.MatMul))
    assert any(isinstance(m.args[0], (O.AtI, O.AtJ))
               for g in before for m in g.weight_j.atoms(O.MatMul))


def test_cse_finds_a_let_used_twice():
    p = history(HEAD + "let e = tanh(x)\ndt(x) = e * e + relu(e)\n", fuse=True)["cse"]
    assert O.FUNCTIONS["tanh"](x) in p.shared
    assert history(HEAD + "dt(x) = tanh(x)\n")["cse"].shared == frozenset()


def test_level_hoist_records_where_values_are_computed():
    from pde2gnn.compiler.passes.level_hoist import hoisted
    p = history("grand")["level_hoist"]
    w = p.groups[0].weight_j
    assert p.levels[w] == Level.SOLVE      # attention from init(x): once per solve
    assert hoisted(p)[Level.SOLVE]
    heat = history("heat")["level_hoist"]
    assert not hoisted(heat)[Level.SOLVE] and heat.level(heat.groups[0].weight_j) == Level.STATIC


# ------------------------------------------------------------------ values unchanged
def ring(n=N):
    pairs = [(k, (k + 1) % n) for k in range(n)] + [(0, n // 2), (2, n - 3)]
    src = [a for a, b in pairs] + [b for a, b in pairs]
    dst = [b for a, b in pairs] + [a for a, b in pairs]
    return torch.tensor([src, dst]), n


def grid_inputs(checked, gen, dims):
    """The jittered grid fixture (tests/helpers/fuzzing.py) and its Delaunay graph, random
    inputs and the domain's coordinates."""
    dim = len(checked.domain.bounds) if checked.domain is not None else 2
    pos = jittered_grid(N, dim, seed=3)
    ei = delaunay_graph(pos.numpy())
    inputs = {}
    for name, t in checked.inputs.items():
        if checked.domain is not None and (name == checked.domain.name
                                           or name in checked.coordinates):
            continue
        c = t.channels if isinstance(t.channels, int) else dims.get(t.channels, 4)
        if name in checked.masks:
            inputs[name] = torch.rand(N, generator=gen) < 0.3
            continue
        if name in checked.series:
            inputs[name] = (torch.randn(3, N, int(c), generator=gen, dtype=torch.float64),
                            torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64))
            continue
        rows = ei.shape[1] if t.kind == "edge" else N
        inputs[name] = torch.randn(rows, int(c), generator=gen, dtype=torch.float64)
    if checked.domain is not None:
        inputs[checked.domain.name] = pos
    return ei, inputs


def build(spec, fuse, gen_seed=3, state=None):
    """The compiled field of ``spec`` (float64, random learnables) on the jittered grid."""
    gen = torch.Generator().manual_seed(gen_seed)
    torch.manual_seed(0)
    checked = compiler.front(spec)
    dims = {k: 4 for k, v in checked.dims.items() if v is None}
    ei, inputs = grid_inputs(checked, gen, dims)
    if checked.discrete:
        field = compiler.compile_stepper(spec, ei, N, dims, None, inputs, fuse=fuse) \
            .double().update
    else:
        field = compiler.compile(spec, ei, N, dims, None, inputs, fuse=fuse).double()
    with torch.no_grad():
        if state is None:
            for p in field.parameters():
                p.copy_(0.3 * torch.randn(p.shape, generator=gen, dtype=torch.float64))
        else:
            field.load_state_dict(state)
    return field, gen


PINNED = ("model pinned\nfield u : node[2]\ninput hot : node mask\ninput g : node[2]\n"
          "bc u : hot dirichlet(1 + 0.5 * sin(t))\ndt(u) = 0.5 * lap(u) + tanh(lap(u)) + g\n")
REPRESENTATIVE = ["heat", "grand", "graff_nl", "adgn", "gread", "kuramoto_sivashinsky",
                  "convection_diffusion", "beltrami_nl", "padgn", "egnn", "nsd_diag"]
CASES = [str(p) for name in REPRESENTATIVE for p in ALL_SPECS if p.stem == name] + [PINNED]


@pytest.mark.parametrize("spec", CASES, ids=lambda s: s.rsplit("/", 1)[-1][:12])
def test_every_pass_keeps_the_values(spec):
    """Each pass from ``hoist_nested`` on: the program after it and the program before it,
    evaluated by the reference interpreter on the same field, agree to float64 rounding of
    reassociated sums of O(degree) products, relative to the answer's size."""
    field, gen = build(spec, True)
    st = compiler.stages(spec, free_dims(spec))
    y0 = torch.randn(N, field.state_width, generator=gen, dtype=torch.float64)
    y = y0 + 0.1 * torch.randn(N, field.state_width, generator=gen, dtype=torch.float64)
    t = torch.tensor(0.3, dtype=torch.float64)
    free = torch.ones(N, dtype=torch.bool)
    if spec == PINNED:      # a state that takes the prescribed values at the Dirichlet nodes
        free = field._inputs()["hot"].reshape(-1) == 0
        y[~free] = 1 + 0.5 * torch.sin(t)
        assert 0 < int(free.sum()) < N
    field.prepare(y0)
    before = interpret(field, t, y, y0, st.after("stencils"))
    assert before.abs().max() > 0
    for name, program in st.history[1:]:
        after = interpret(field, t, y, y0, program)
        try:
            assert_close_norm(after[free], before[free], rtol=1e-11)
        except AssertionError as e:
            raise AssertionError(f"pass {name} changed the values: {e}") from None
        before = after
    if spec == PINNED:      # the rows of the Dirichlet nodes: dg/dt
        want = (0.5 * torch.cos(t)).expand_as(after[~free])
        assert_close_norm(after[~free], want, rtol=1e-13)


@pytest.mark.parametrize("path", ALL_SPECS, ids=lambda p: p.stem)
def test_unfused_code_equals_fused_code(path):
    """``fuse=False`` (no sparse products, every term by gather / scatter) against the fused
    field, same learnables, on the jittered grid: float64 rounding, relative."""
    fused, gen = build(str(path), True)
    plain, _ = build(str(path), False, state=fused.state_dict())
    assert not plain.program.groups and "fuse_linear" not in plain.program.passes
    shapes = [[N, fused.state_width]]
    if not fused.program.ir.checked.sheaves:
        shapes.append([2, N, fused.state_width])
    for shape in shapes:
        y0 = torch.randn(*shape, generator=gen, dtype=torch.float64)
        y = y0 + 0.1 * torch.randn(*shape, generator=gen, dtype=torch.float64)
        t = torch.tensor(0.3, dtype=torch.float64)
        outs = []
        for f in (fused, plain):
            f.prepare(y0)
            out = f(t, y)
            outs.append(out[0] if isinstance(out, tuple) else out)
        assert_close_norm(outs[1], outs[0], rtol=1e-11)


# ------------------------------------------------------------------ explain --after
def test_explain_after_each_pass():
    for name in passes.NAMES:
        text = compiler.explain("gread", after=name)
        assert text.splitlines()[1] == f"# after pass {name}"
    assert "_lin" in compiler.explain("adgn", after="fuse_inside")
    assert "_lin0" not in compiler.explain("adgn", after="fuse_linear")
    assert "sparse CSR" not in compiler.explain("heat", after="normalise")
    assert "skipped: fuse=False" in compiler.explain("heat", after="fuse_linear", fuse=False)
    assert compiler.explain("heat", "stencil") == compiler.explain("heat")


def test_explain_after_an_unknown_pass_lists_the_names():
    with pytest.raises(OptionError) as e:
        compiler.explain("heat", after="fuse_liner")
    msg = str(e.value)
    assert "did you mean 'fuse_linear'" in msg and all(n in msg for n in passes.NAMES)


def test_cli_explain_after_and_no_fuse(capsys):
    from pde2gnn.cli.commands import main
    assert main(["explain", "heat", "--after", "normalise"]) == 0
    assert "# after pass normalise" in capsys.readouterr().out
    assert main(["explain", "heat", "--stage", "python", "--no-fuse"]) == 0
    out = capsys.readouterr().out
    assert "_G.spmm" not in out and "_G.sum_j" in out
    assert main(["explain", "heat", "--after", "fuse_lin"]) == 2


def test_generate_runs_the_missing_code_generation_passes():
    """A discretised program handed to the code generator directly gets the same code."""
    from pde2gnn.compiler.backend.codegen import generate
    st = compiler.stages("grand", {"d": 4})
    assert "level_hoist" not in st.stencil.passes
    assert generate(st.stencil).source == st.code
    assert st.program.passes == passes.NAMES


def test_normalised_edge_weight_of_a_constant_score_stays_inside_sum_j():
    """``squareplus_i(0 * s)`` folds to ``squareplus_i(0)``: still one value per edge (1 / the
    number of edges leaving j), so pass ``normalise`` must not pull it out of ``sum_j`` as a
    scalar (it did, and the unfused code multiplied an [E] vector by an [N] sum)."""
    spec = ("model rw\nfield x : node[2]\nlet x0 = init(x)\n"
            "edge a = squareplus_i(0 * dot(x0_i, x0_j))\ndt(x) = sum_j(a * x_j) - x\n")
    text = compiler.explain(spec, after="normalise", fuse=False)
    assert "SquareplusI(0)*SumJ" not in text.replace(" ", "")
    fused, gen = build(spec, True)
    plain, _ = build(spec, False, state=fused.state_dict())
    y = torch.randn(N, 2, generator=gen, dtype=torch.float64)
    for f in (fused, plain):
        f.prepare(y)
    assert_close_norm(plain(0.0, y), fused(0.0, y), rtol=1e-11)
