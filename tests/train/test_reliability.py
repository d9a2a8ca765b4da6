"""Regression tests of the defects issue 15 found: each one either computes the right numbers
now, or is a located error (file:line:col; options and data errors name the option / input)."""
import re
import subprocess
import sys
import time

import pytest
import torch

from pde2gnn.compiler import pipeline as compiler
from pde2gnn.errors import DataError, FormError, OptionError, ParseError, ShapeError, SpecError
from pde2gnn.compiler.lang.parser import parse, parse_file

from tests.helpers.fuzzing import run_pipeline

HEAD = "model m\nfield x : node[d]\n"


def graph():
    """Symmetric 5-ring with a chord, as edge_index [2, E], N = 5."""
    pairs = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 0), (0, 2)]
    src = [a for a, b in pairs] + [b for a, b in pairs]
    dst = [b for a, b in pairs] + [a for a, b in pairs]
    return torch.tensor([src, dst]), 5


def lap(x, ei):
    """Hand-written graph Laplacian sum_j (x_j - x_i) (edge_index[1] receives)."""
    j, i = ei
    return torch.zeros_like(x).index_add(0, i, x[j] - x[i])


def field(text, d=3, **kw):
    ei, n = graph()
    return compiler.compile(text, ei, n, dims={"d": d} if d else None, **kw)


def evaluate(vf, y0, y=None):
    vf.prepare(y0)
    return vf(torch.tensor(0.0), y0 if y is None else y)


# ------------------------------------------------------------------ computed correctly now
def test_init_anywhere_in_a_right_hand_side():
    vf = field(HEAD + "dt(x) = x * init(x) + (x + init(x))^2")
    y0, y = torch.randn(5, 3), torch.randn(5, 3)
    assert torch.allclose(evaluate(vf, y0, y), y * y0 + (y + y0) ** 2)
    assert torch.allclose(evaluate(field(HEAD + "dt(x) = init(x)"), y0, y), y0)


@pytest.mark.parametrize("rhs, expected", [
    ("1", lambda x: torch.ones_like(x)),
    ("sigmoid(a) + x", lambda x: 0.5 + x),
    ("standardize_i(0 * x)", lambda x: torch.zeros_like(x)),
    ("dot(1, 2) + x", lambda x: 2 + x),
    ("abs(exp(x))", torch.exp),
    ("tanh(0) + sin(x) * cos(x)", lambda x: torch.sin(x) * torch.cos(x)),
])
def test_constants_broadcast_to_the_state(rhs, expected):
    vf = field(HEAD + "let a = 0\n" + f"dt(x) = {rhs}")
    x = torch.randn(5, 3)
    assert torch.allclose(evaluate(vf, x), expected(x))
    assert not re.search(r"\b(re|im|inf|zoo)\b", vf.source)


def test_constant_channels_survive_cat_and_matmul():
    vf = field("model m\nfield x : node[2]\nfield w : node[4]\ndt(x) = (init(x) - init(x)) @ W"
               "\nlearn W : [2, 2]\ndt(w) = cat(x, 0 * x)", d=None)
    y = torch.randn(5, 6)
    out = evaluate(vf, y)
    assert torch.equal(out[:, :2], torch.zeros(5, 2))
    assert torch.allclose(out[:, 2:], torch.cat([y[:, :2], torch.zeros(5, 2)], 1))


def test_energy_with_a_global_sum_matches_autograd():
    """E = 1 / sum_i <x_i, x_i>: -var(E, x) = 2 x / S^2 (and the energy may come after use)."""
    vf = field(HEAD + "let f = -var(E, x)\nenergy E = 1 / sum_i(dot(x, x))\ndt(x) = f")
    x = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    e = 1 / (x * x).sum()
    (g,) = torch.autograd.grad(e, x)
    assert torch.allclose(evaluate(vf.double(), x.detach()), -g)


@pytest.mark.parametrize("name", ["lambda", "None", "class", "async", "y"])
def test_python_keywords_as_names(name):
    text = f"model m\nfield {name} : node[d]\nparam k = 2\ndt({name}) = k * lap({name})"
    compile(compiler.explain(text, "python", {"d": 3}).split("\n", 1)[1], "<explain>", "exec")
    ei, _ = graph()
    x = torch.randn(5, 3)
    assert torch.allclose(evaluate(field(text), x), 2 * lap(x, ei), atol=1e-6)


def test_long_sums_and_products_are_flattened():
    vf = field(HEAD + "dt(x) = " + " + ".join(["x"] * 2000))
    x = torch.randn(5, 3)
    assert torch.allclose(evaluate(vf, x), 2000 * x, rtol=1e-5)
    vf = field(HEAD + "dt(x) = " + " * ".join(["1.001"] * 600) + " * x")
    assert torch.allclose(evaluate(vf, x), 1.001 ** 600 * x, rtol=1e-5)


@pytest.mark.parametrize("text", [
    HEAD + "dt(x) = " + "tanh(" * 10 + "x" + ")" * 10,
    HEAD + "let a0 = x\n" + "".join(f"let a{k} = tanh(a{k - 1}) + a{k - 1}\n"
                                    for k in range(1, 11)) + "dt(x) = a10",
])
def test_compile_time_of_nesting_and_let_chains(text):
    """Measured (docs/guide/reliability.md): 0.38 s for tanh nested 10 deep (83 s before); bound loose for CI."""
    t = time.perf_counter()
    assert run_pipeline(text) is None
    assert time.perf_counter() - t < 5.0


# ------------------------------------------------------------------ located spec errors
@pytest.mark.parametrize("text, cls, line, col, phrase", [
    (HEAD + "dt(x) = x^1e400", FormError, 3, 11, "beyond the floating-point range"),
    (HEAD + "learn a = 1e400\ndt(x) = a * x", FormError, 3, 11, "floating-point range"),
    (HEAD + "dt(x) = 1/0 * lap(x)", SpecError, 3, 11, "not finite"),
    (HEAD + "dt(x) = 1e308 * 1e308 * x", SpecError, 3, 9, "not finite"),
    (HEAD + "dt(x) = sqrt(-1) * x", SpecError, 3, 9, "complex"),
    (HEAD + "learn b = 1e308\ndt(x) = b * x", SpecError, 3, 11, "within +-3.4e+38"),
    ("model m\ndomain pos : [0, 0] x [0, 1]\nfield f : node\ndt(f) = dx(f)", ShapeError, 2, 15,
     "empty or reversed"),
    ("model m\ndomain pos : [0, 1e400] x [0, 1]\nfield f : node\ndt(f) = dx(f)", FormError, 2,
     18, "floating-point range"),
    ("model m\nfield f : node[1]\nnet g : mlp(in=1, out=1, hidden=99999999999)\nnext(f) = g(f)",
     ShapeError, 3, 33, "above the limit of 65536"),
    ("model m\ndt(x) = 1", FormError, 1, 1, "declares no evolving field"),
    ("model m\ndim k = 0\nfield x : node[k]\ndt(x) = x", ShapeError, 2, 1, "at least 1"),
    (HEAD + "dt(x) = " + "-(" * 250 + "x" + ")" * 250, FormError, 3, 9, "nested 251 levels"),
])
def test_located_spec_errors(text, cls, line, col, phrase):
    with pytest.raises(cls) as info:
        run_pipeline_raising(text)
    assert str(info.value).startswith(f"fuzz.pde:{line}:{col}: ") and phrase in str(info.value)


def run_pipeline_raising(text):
    err = run_pipeline(text)
    if err is not None:
        raise err


def test_non_utf8_spec_file_is_a_located_error(tmp_path):
    p = tmp_path / "latin1.pde"
    p.write_bytes(b"model m\nfield x : node[d]\n# caf\xe9\ndt(x) = lap(x)\n")
    with pytest.raises(ParseError, match=r"latin1.pde:3:6: syntax error: the file is not UTF-8"):
        parse_file(p)
    r = subprocess.run([sys.executable, "-m", "pde2gnn", "check", str(p)], capture_output=True,
                       text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "not UTF-8" in r.stderr


@pytest.mark.parametrize("args, phrase", [
    (["check", "heat", "--param", "kappa=nan"], "param 'kappa' must be a finite number"),
    (["check", "heat", "--dim", "d=0"], "dimension 'd'"),
    (["check", "heat", "--dim", "d=99999999"], "dimension 'd' must be between 1 and 65536"),
])
def test_cli_bad_options_exit_2(args, phrase, capsys):
    from pde2gnn.cli.commands import main
    assert main(args) == 2
    assert phrase in capsys.readouterr().err


def test_limits_can_be_raised(monkeypatch):
    from pde2gnn.compiler import check as C
    text = "model m\nfield f : node[1]\nnet g : mlp(in=1, out=1, hidden=70000)\nnext(f) = g(f)"
    with pytest.raises(ShapeError):
        C.check(parse(text))
    monkeypatch.setitem(C.LIMITS, "net_size", 100000)
    C.check(parse(text))


# ------------------------------------------------------------------ data at the API boundary
@pytest.mark.parametrize("edit, phrase", [
    (lambda ei, n: (ei.float(), n), "integer node indices"),
    (lambda ei, n: (ei, 4), "outside [0, 4)"),
    (lambda ei, n: (ei - 1, n), "outside [0, 5)"),
    (lambda ei, n: (ei, 0), "num_nodes must be a positive integer"),
    (lambda ei, n: (ei, -3), "num_nodes must be a positive integer"),
    (lambda ei, n: (ei[0], n), "shape [2, E]"),
])
def test_bad_graphs_are_data_errors(edit, phrase):
    ei, n = edit(*graph())
    with pytest.raises(DataError, match=phrase.replace("[", r"\[").replace(")", r"\)")):
        compiler.compile("heat", ei, n, dims={"d": 2})


def test_bad_inputs_are_data_errors():
    ei, n = graph()
    spec = "model m\ninput u : node[1]\nfield x : node[1]\ndt(x) = u * x"
    with pytest.raises(DataError, match="input 'u' contains NaN"):
        compiler.compile(spec, ei, n, inputs={"u": torch.full((5, 1), float("nan"))})
    with pytest.raises(DataError, match="has no input 'v'"):
        compiler.compile(spec, ei, n, inputs={"u": torch.ones(5, 1), "v": torch.ones(5, 1)})
    dom = "model m\ndomain pos : [0, 1] x [0, 1]\nfield f : node\ndt(f) = dx(f)"
    pos = torch.rand(5, 2)
    pos[2, 0] = float("nan")
    with pytest.raises(DataError, match="input 'pos' contains NaN"):
        compiler.compile(dom, ei, n, inputs={"pos": pos})


def test_energy_spec_refuses_a_directed_graph_and_is_exact_on_a_symmetric_one():
    ei, n = graph()
    spec = HEAD + "energy E = sum_ij(abar_ij * dot(x_i, x_j))\ndt(x) = -var(E, x)"
    with pytest.raises(DataError, match="symmetric graph"):
        compiler.compile(spec, ei[:, :6], n, dims={"d": 2})
    vf = compiler.compile(spec, ei, n, dims={"d": 2}).double()
    x = torch.randn(n, 2, dtype=torch.float64, requires_grad=True)
    deg = torch.bincount(ei[1], minlength=n).double()
    j, i = ei
    e = ((x[i] * x[j]).sum(1) / (deg[i] * deg[j]).sqrt()).sum()
    (g,) = torch.autograd.grad(e, x)
    assert torch.allclose(evaluate(vf, x.detach()), -g, atol=1e-12)


def test_dot_heads_divisibility_names_the_dimension():
    ei, n = graph()
    with pytest.raises(OptionError, match="'k'"):
        compiler.compile(HEAD + "dim k = 8\nlearn W : [d, k]\nlet q = x @ W\n"
                         "edge a = dot(q_i, q_j, heads=4)\n"
                         "dt(x) = sum_j(mean_heads(a) * x_j)", ei, n, dims={"d": 2, "k": 6})


# ------------------------------------------------------------------ options before any work
@pytest.mark.parametrize("extra, phrase", [
    (["--epochs", "0"], "epochs must be at least 1"),
    (["--lr", "nan"], "lr must be a finite number"),
    (["--lr", "-1"], "lr must be above 0"),
    (["--dropout", "2"], "dropout must be in [0, 1)"),
    (["--rtol", "nan"], "rtol must be a finite number above 0"),
    (["--param", "kappa=inf"], "param 'kappa' must be a finite number"),
])
def test_train_options_are_checked_before_any_work(extra, phrase, tmp_path, capsys):
    """No data is read: the data root does not even exist."""
    from pde2gnn.cli.commands import main
    assert main(["train", "heat", "--dataset", "Cora", "--data-root", str(tmp_path / "none")]
                + extra) == 2
    err = capsys.readouterr().err
    assert phrase in err and "Traceback" not in err


def test_results_path_is_checked_before_training_and_written_atomically(tmp_path, capsys):
    from pde2gnn.cli.commands import main
    from pde2gnn.train.results import write_atomic
    afile = tmp_path / "a_file"
    afile.write_text("x")
    for bad, phrase in [(afile / "r.json", "is a file"), (tmp_path, "is a folder")]:
        assert main(["train", "heat", "--dataset", "Cora", "--data-root", str(tmp_path / "no"),
                     "--results", str(bad)]) == 2
        assert phrase in capsys.readouterr().err
    out = tmp_path / "sub" / "r.json"
    write_atomic(str(out), "{}")
    write_atomic(str(out), '{"a": 1}')
    assert out.read_text() == '{"a": 1}' and [p.name for p in out.parent.iterdir()] == ["r.json"]


def test_data_root_is_never_created(tmp_path, capsys):
    from pde2gnn.cli.commands import main
    root = tmp_path / "no" / "such" / "dir"
    assert main(["train", "heat", "--dataset", "Cora", "--data-root", str(root)]) == 2
    assert "is not an existing folder" in capsys.readouterr().err and not (tmp_path / "no").exists()


@pytest.mark.parametrize("content", [b"", b"garbage", None])
def test_corrupted_positional_encoding_cache_is_named_and_rebuilt(content, tmp_path):
    from pde2gnn.graph.posenc import cache_key, positional_encoding
    ei, n = graph()
    good = positional_encoding("lap", ei, n, dim=2, cache=tmp_path)
    path = tmp_path / (cache_key("lap", ei, n, 2, 0, {}) + ".pt")
    data = path.read_bytes()
    path.write_bytes(content if content is not None else data[: len(data) // 2])
    with pytest.warns(UserWarning, match=re.escape(str(path))):
        again = positional_encoding("lap", ei, n, dim=2, cache=tmp_path)
    assert torch.allclose(torch.as_tensor(again), torch.as_tensor(good))
    assert torch.allclose(torch.as_tensor(positional_encoding("lap", ei, n, dim=2,
                                                              cache=tmp_path)),
                          torch.as_tensor(good))


def test_explain_ir_substitutes_params_without_dims():
    assert "2*lap(x)" in compiler.explain("heat", "ir", params={"kappa": 2.0})
    with pytest.raises(OptionError, match="'kappa' must be a finite number"):
        compiler.explain("heat", "ir", params={"kappa": float("nan")})


def test_stepper_explains_dtype_and_device_mismatch():
    ei, n = graph()
    st = compiler.compile_stepper("model m\nfield f : node[1]\nnext(f) = f + lap(f)", ei, n)
    out, _ = st(torch.ones(1, n, 1))
    assert torch.equal(out, torch.ones(1, n, 1))
    for bad in (torch.ones(1, n, 1, dtype=torch.float64), torch.ones(1, n, 1, dtype=torch.long)):
        with pytest.raises(DataError, match="must be a torch.float32 tensor on cpu"):
            st(bad)


def test_channel_selection_beyond_a_bound_dimension_names_it():
    """Found by the slow fuzz profile: x[2] of x : node[d] with d = 2."""
    ei, n = graph()
    spec = HEAD + "dt(x) = x[2]"
    with pytest.raises(OptionError, match="'d' = \\[2\\].*line 3, column 9 needs at least 3"):
        compiler.compile(spec, ei, n, dims={"d": 2})
    x = torch.randn(n, 3)
    assert torch.allclose(evaluate(compiler.compile(spec, ei, n, dims={"d": 3}), x), x[:, 2:3])


def test_found_by_the_seed_7_slow_fuzz_run():
    """--(x - x) on node[2] (a constant wrapped twice), sigmoid of a channel-carrying constant
    inside cat, and a declaration named pi (the constant)."""
    x = torch.randn(5, 2)
    vf = field("model m\nfield x : node[2]\ndt(x) = --(x - x)", d=None)
    assert torch.equal(evaluate(vf, x), torch.zeros(5, 2))
    vf = field("model m\nfield x : node[2]\nfield w : node[4]\ndt(x) = x\n"
               "dt(w) = cat(x, sigmoid(0 * x))", d=None)
    y = torch.randn(5, 6)
    assert torch.allclose(evaluate(vf, y)[:, 2:], torch.cat([y[:, :2], torch.full((5, 2), 0.5)],
                                                            1))
    with pytest.raises(SpecError, match="fuzz.pde:2:1: name error: 'pi' is reserved"):
        run_pipeline_raising("model m\ndomain pi : [0, 1] x [0, 1]\nfield f : node\n"
                             "dt(f) = lap(f)")
