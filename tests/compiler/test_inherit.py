"""Spec inheritance (``model b extends a``, ``override``) and the TOML defaults that follow it."""
import textwrap

import pytest

from pde2gnn.compiler import pipeline as compiler
from pde2gnn.train.config import load_defaults
from pde2gnn.errors import NameError_, ShapeError
from pde2gnn.compiler.lang import ast as A
from pde2gnn.compiler.lang.parser import parse

PARENT = """\
model base
field x : node[d]
dim k = 4
learn W : [d, k]
learn V : [k, d]
let y = x @ W
dt(x) = lap(x) + y @ V
"""


def write(folder, name, text):
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def test_child_equals_the_flat_spec(tmp_path):
    write(tmp_path, "base.pde", PARENT)
    child = write(tmp_path, "child.pde", """\
        model child extends base
        override dim k = 3
        learn c = 0.5
        override dt(x) = lap(x) + c * (y @ V)
        """)
    flat = write(tmp_path, "flat.pde", PARENT.replace("model base", "model child")
                 .replace("dim k = 4", "dim k = 3")
                 .replace("dt(x) = lap(x) + y @ V", "dt(x) = lap(x) + c * (y @ V)")
                 + "learn c = 0.5\n")
    merged = compiler.front(str(child)).spec
    # the parent's order, overrides in place, new statements after
    assert [type(s).__name__ for s in merged.statements] == [
        "ModelDecl", "FieldDecl", "DimDecl", "LearnDecl", "LearnDecl", "LetDecl", "Equation",
        "LearnDecl"]
    assert merged.statements[2].value == 3 and merged.name == "child"
    assert compiler.explain(str(child), "python") == compiler.explain(str(flat), "python")
    # resolving is idempotent: the merged spec checks again to the same thing
    assert compiler.front(merged).spec.statements == merged.statements


def test_parse_extends_and_override():
    spec = parse("model b extends a\noverride learn W : [d, d] diag\noverride dt(x) = x\n")
    model, learn, eq = spec.statements
    assert (model.name, model.parent) == ("b", "a") and model.parent_span.column == 17
    assert isinstance(learn, A.Override) and learn.statement.constraints[0][0] == "diag"
    assert isinstance(eq, A.Override) and eq.statement.field == "x"


def test_redeclaring_without_override_names_both_files(tmp_path):
    parent = write(tmp_path, "base.pde", PARENT)
    child = write(tmp_path, "child.pde", "model child extends base\nlearn W : [d, k] sym\n")
    with pytest.raises(NameError_) as e:
        compiler.front(str(child))
    msg = str(e.value)
    assert msg.startswith(f"{child}:2:1: name error: 'W' is already declared by the parent "
                          f"model 'base' at {parent}:4")
    assert "override" in e.value.hint


@pytest.mark.parametrize("child, what", [
    ("model child extends base\noverride learn Z = 1\n", "override of 'Z': the parent model "
     "'base'"),
    ("model child extends base\noverride dt(u) = u\n", r"override of equation dt\(u\)"),
    ("model child\nfield x : node[1]\noverride dt(x) = x\n", "extends none"),
    ("model child extends nosuchmodel\n", "unknown parent model 'nosuchmodel'"),
])
def test_bad_inheritance_is_a_located_name_error(tmp_path, child, what):
    write(tmp_path, "base.pde", PARENT)
    path = write(tmp_path, "child.pde", child)
    with pytest.raises(NameError_, match=what) as e:
        compiler.front(str(path))
    assert str(e.value).startswith(f"{path}:")


def test_inheritance_cycle(tmp_path):
    write(tmp_path, "a.pde", "model a extends b\n")
    b = write(tmp_path, "b.pde", "model b extends a\nfield x : node[1]\ndt(x) = x\n")
    with pytest.raises(NameError_, match="inheritance cycle"):
        compiler.front(str(b))


def test_an_error_in_an_inherited_statement_quotes_the_parent(tmp_path):
    parent = write(tmp_path, "base.pde", PARENT)
    child = write(tmp_path, "child.pde", "model child extends base\n"
                                         "override learn W : [d, d]\n")   # y @ V: d vs k
    with pytest.raises(ShapeError) as e:
        compiler.front(str(child))
    assert str(e.value).startswith(f"{parent}:7:")
    assert "dt(x) = lap(x) + y @ V" in str(e.value)


def test_parent_beside_the_child_wins_over_the_library(tmp_path):
    write(tmp_path, "heat.pde", PARENT)          # shadows library/heat.pde
    child = write(tmp_path, "child.pde", "model child extends heat\n")
    assert "W" in compiler.front(str(child)).learns
    text = compiler.front("model child extends heat\n")   # spec text: the library's heat
    assert "kappa" in text.params


def test_library_variants_extend(tmp_path):
    spec = compiler.front("graff_d").spec
    learn_w = next(s for s in spec.statements if getattr(s, "name", None) == "W")
    assert [c for c, _ in learn_w.constraints] == ["diag"]
    assert learn_w.span.file.endswith("graff_d.pde")      # the override's own file
    omega = next(s for s in spec.statements if getattr(s, "name", None) == "Omega")
    assert omega.span.file.endswith("graff.pde")


def test_toml_defaults_follow_the_parent(tmp_path):
    write(tmp_path, "base.pde", PARENT)
    write(tmp_path, "base.toml", """\
        [default]
        lr = 0.1
        epochs = 10
        [default.dims]
        d = 8
        [Cora]
        lr = 0.5
        """)
    child = write(tmp_path, "child.pde", "model child extends base\n")
    # no TOML of its own: the parent's [default], not its data-set tables
    assert load_defaults(child, "Cora") == {"lr": 0.1, "epochs": 10, "dims": {"d": 8}}
    write(tmp_path, "child.toml", """\
        inherit_datasets = true
        [default]
        epochs = 20
        [default.dims]
        k = 2
        """)
    assert load_defaults(child, "Cora") == {"lr": 0.5, "epochs": 20, "dims": {"d": 8, "k": 2}}
    write(tmp_path, "other.pde", "model other\nfield x : node[1]\ndt(x) = x\n")
    write(tmp_path, "other.toml", 'inherit = "base"\n[Cora]\nepochs = 3\n')
    assert load_defaults(tmp_path / "other.pde", "Cora") == {"lr": 0.1, "epochs": 3,
                                                             "dims": {"d": 8}}
