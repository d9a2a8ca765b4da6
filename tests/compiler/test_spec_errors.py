"""Malformed specs: each must raise the right SpecError subclass at the right line and column,
with a message that says what is wrong (and a did-you-mean hint where one makes sense)."""
from __future__ import annotations

import pytest

from pde2gnn.compiler.check import check
from pde2gnn.errors import (ArgumentError, EnergyError, FormError, KindError, NameError_, ParseError, ShapeError, SpecError,
                            did_you_mean)
from pde2gnn.compiler.lang import parse

HEAD = "model m\nfield x : node[d]\n"  # lines 1-2 of most cases below


def compile_error(text: str) -> SpecError:
    with pytest.raises(SpecError) as info:
        check(parse(text, "spec.pde"))
    return info.value


# (id, spec text, exception class, line, column, phrase in message, hint or None)
#   hint None: no assertion on the hint; hint "": the error must carry no hint.
CASES = [
    ("misspelt-keyword",
     "model m\nfeild x : node[d]\ndt(x) = lap(x)\n",
     ParseError, 2, 1, "unexpected 'feild'", "did you mean 'field'?"),
    ("misspelt-operator",
     HEAD + "dt(x) = lapl(x)\n",
     NameError_, 3, 9, "unknown operator 'lapl'", "did you mean 'lap'?"),
    ("unknown-name-suggestion",
     HEAD + "param kappa = 1.0\ndt(x) = kapa * lap(x)\n",
     NameError_, 4, 9, "unknown name 'kapa'", "did you mean 'kappa'?"),
    ("unknown-endpoint-name",
     HEAD + "edge a = xx_i\ndt(x) = div(a)\n",
     NameError_, 3, 10, "no node value 'xx' to take at endpoint i", "did you mean 'x_i'?"),
    ("unclosed-paren",
     HEAD + "dt(x) = lap(x\n",
     ParseError, 3, 12, "'(' is never closed", "expressions may span lines only inside brackets"),
    ("unclosed-paren-multiline",
     HEAD + "let y = (x +\n    lap(x)\ndt(x) = y\n",
     ParseError, 3, 9, "'(' is never closed", None),
    ("unclosed-paren-at-eof",
     HEAD + "dt(x) = (lap(x)",
     ParseError, 3, 9, "'(' is never closed", None),
    ("unexpected-character",
     HEAD + "dt(x) = lap(x) $ 2\n",
     ParseError, 3, 16, "unexpected character '$'", ""),
    ("dangling-operator",
     HEAD + "dt(x) = x +\n",
     ParseError, 3, 12, "unexpected end of line; expected", ""),
    ("div-of-node-field",
     HEAD + "dt(x) = div(x)\n",
     KindError, 3, 13, "div expects an edge field, got node[d] x", ""),
    ("grad-of-edge-value",
     HEAD + "edge a = grad(x)\ndt(x) = div(grad(a))\n",
     KindError, 4, 18, "grad expects a node field, got edge[d] a", ""),
    ("node-plus-edge",
     HEAD + "dt(x) = x + grad(x)\n",
     KindError, 3, 9, "cannot combine a node value with an edge value in '+'", ""),
    ("edge-decl-of-node-value",
     HEAD + "edge a = x\ndt(x) = div(a)\n",
     KindError, 3, 10, "edge 'a' must be an edge expression, got node[d]", ""),
    ("rhs-is-edge",
     HEAD + "dt(x) = grad(x)\n",
     KindError, 3, 9, "the right-hand side of dt(x) must be a node field, got edge[d]", ""),
    ("dt-of-undeclared",
     HEAD + "dt(x) = lap(x)\ndt(z) = lap(x)\n",
     FormError, 4, 4, "'z' is not a declared field", ""),
    ("dt-of-misspelt-field",
     HEAD + "dt(xx) = lap(x)\n",
     FormError, 3, 4, "'xx' is not a declared field", "did you mean 'x'?"),
    ("dt-of-param",
     HEAD + "param kappa = 1.0\ndt(x) = lap(x)\ndt(kappa) = lap(x)\n",
     FormError, 5, 4, "'kappa' is a param, not a field", None),
    ("field-without-equation",
     HEAD + "field y : node\ndt(x) = lap(x)\n",
     FormError, 3, 1, "field 'y' has no equation dt(y)", ""),
    ("two-equations",
     HEAD + "dt(x) = lap(x)\ndt(x) = -x\n",
     FormError, 4, 1, "field 'x' has two dt equations (first on line 3)", ""),
    ("duplicate-declaration",
     HEAD + "param x = 1.0\ndt(x) = lap(x)\n",
     NameError_, 3, 1, "'x' is declared twice (first on line 2)", ""),
    ("duplicate-declaration-dim-after-field",  # dims are collected first; still blame the later one
     "model m\nfield d : node\ndim d = 3\ndt(d) = lap(d)\n",
     NameError_, 3, 1, "'d' is declared twice (first on line 2)", ""),
    ("dimension-declared-later-as-param",
     HEAD + "param d = 3\ndt(x) = lap(x)\n",
     NameError_, 2, 16, "'d' is used as a dimension but declared as something else on line 3", ""),
    ("redeclared-builtin",
     HEAD + "let lap = x\ndt(x) = lap(x)\n",
     NameError_, 3, 1, "'lap' is reserved (a built-in operator)", "choose another name"),
    ("matmul-channel-mismatch",
     HEAD + "learn W : [k, k]\ndt(x) = x @ W\n",
     ShapeError, 4, 9, "'@' needs k channels on the left (matrix [k, k]), got node[d]", ""),
    ("add-channel-mismatch",
     "model m\nfield x : node[3]\ninput u : node[2]\ndt(x) = x + u\n",
     ShapeError, 4, 9, "channel counts differ in '+': node[3] and node[2]", ""),
    ("matmul-by-non-matrix",
     HEAD + "param kappa = 2\ndt(x) = x @ kappa\n",
     KindError, 4, 13, "the right operand of '@' must be a learnable matrix, got scalar", ""),
    ("unknown-constraint",
     HEAD + "learn W : [d, d] symm\ndt(x) = x @ W\n",
     NameError_, 3, 18, "unknown constraint 'symm'", "did you mean 'sym'?"),
    ("sym-on-non-square",
     HEAD + "learn W : [d, k] sym\ndt(x) = x @ W\n",
     ShapeError, 3, 18, "constraint 'sym' needs a square matrix, 'W' has shape [d, k]", ""),
    ("let-cycle",
     HEAD + "let a = b + 1\nlet b = a * 2\ndt(x) = a * x\n",
     NameError_, 3, 1, "'a' is defined in terms of itself (a -> b -> a)", ""),
    ("let-self-reference",
     HEAD + "let a = a + 1\ndt(x) = a * x\n",
     NameError_, 3, 1, "'a' is defined in terms of itself (a -> a)", ""),
    ("wrong-arity-dot",
     HEAD + "dt(x) = dot(x) * x\n",
     ArgumentError, 3, 9, "dot takes 2 arguments, got 1", ""),
    ("wrong-arity-kwarg",
     HEAD + "dt(x) = lap(x, k=2)\n",
     ArgumentError, 3, 9, "lap takes 1 argument, got 2", ""),
    ("init-of-non-field",
     HEAD + "param kappa = 1.0\nlet y = init(kappa)\ndt(x) = y * x\n",
     KindError, 4, 14, "init(...) takes an evolving field by name", ""),
    ("endpoint-of-matrix",
     HEAD + "learn W : [d, d]\nedge a = W_i\ndt(x) = div(a)\n",
     KindError, 4, 10, "'W_i' takes a node value at an edge endpoint, but 'W' is matrix [d, d]",
     ""),
    ("call-of-non-function",
     HEAD + "dt(x) = x(x)\n",
     KindError, 3, 9, "'x' is not a function", ""),
    ("energy-slice-of-the-state",      # was accepted here and failed later at the var(...) line
     "model m\nfield x : node[4]\nlet y = 2 * x\nenergy E = sum_i(dot(y[0:2], x[0:2]))\n"
     "dt(x) = -var(E, x)\n",
     EnergyError, 4, 22, "a channel slice of the state cannot be differentiated", None),
    ("energy-used-as-value",
     HEAD + "energy E = dot(x, x)\ndt(x) = E\n",
     KindError, 4, 9, "energy 'E' can only be used as var(E, field)", ""),
    ("builtin-used-as-name",  # no self-suggestion "did you mean 'lap'?"
     HEAD + "dt(x) = lap\n",
     NameError_, 3, 9, "unknown name 'lap'", ""),
    ("field-on-edges",
     "model m\nfield x : edge[d]\ndt(x) = x\n",
     KindError, 2, 1, "fields live on nodes", ""),
    ("param-not-constant",
     HEAD + "param kappa = x\ndt(x) = kappa * x\n",
     KindError, 3, 15, "param 'kappa' must be a constant number expression", ""),
    ("two-models",
     HEAD + "model n\ndt(x) = lap(x)\n",
     FormError, 3, 1, "a spec declares exactly one model", ""),
    ("unknown-graph-method",
     HEAD + "graph knnn(x, k=4)\ndt(x) = lap(x)\n",
     NameError_, 3, 1, "unknown graph construction 'knnn'", "did you mean 'knn'?"),
]


@pytest.mark.parametrize("text, cls, line, column, phrase, hint",
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_spec_error(text, cls, line, column, phrase, hint):
    err = compile_error(text)
    assert type(err) is cls, f"{type(err).__name__}: {err}"
    assert err.span is not None
    assert (err.span.line, err.span.column) == (line, column), str(err)
    assert phrase in err.message, str(err)
    assert err.filename == "spec.pde"
    if hint is not None:
        assert err.hint == hint, str(err)
        if hint:
            assert str(err).endswith(f"\n  hint: {hint}")
        else:
            assert "hint:" not in str(err)
    # str() starts with the file:line:col prefix and the error kind
    assert str(err).startswith(f"spec.pde:{line}:{column}: {cls.kind}: ")


def test_spec_without_field_points_at_the_model_line():
    err = compile_error("model m\nparam a = 1\n")
    assert type(err) is FormError
    assert (err.span.line, err.span.column) == (1, 1)
    assert str(err).startswith("spec.pde:1:1: form error: the spec declares no evolving "
                               "field (add e.g. 'field x : node[d]')")


def _caret_column(formatted: str) -> tuple:
    """(column, width) of the caret run on the caret line of a formatted error."""
    caret_line = formatted.splitlines()[2]
    assert caret_line.startswith("       | ")
    body = caret_line[len("       | "):]
    stripped = body.lstrip(" ")
    return len(body) - len(stripped) + 1, len(stripped)


def test_formatting_caret_under_offending_text():
    err = compile_error(HEAD + "dt(x) = div(x)\n")
    lines = str(err).splitlines()
    assert lines[0] == "spec.pde:3:13: kind error: div expects an edge field, got node[d] x"
    assert lines[1] == "     3 | dt(x) = div(x)"
    assert lines[2] == "       |             ^"
    # the caret sits exactly below the offending character of the quoted source line
    src = lines[1][len("     3 | "):]
    col, width = _caret_column(str(err))
    assert (col, width) == (13, 1)
    assert src[col - 1] == "x"


def test_formatting_caret_width_and_hint():
    err = compile_error(HEAD + "dt(x) = 2 * lapl(x)\n")
    text = str(err)
    lines = text.splitlines()
    assert lines[0] == "spec.pde:3:13: name error: unknown operator 'lapl'"
    col, width = _caret_column(text)
    src = lines[1][len("     3 | "):]
    assert (col, width) == (13, 4)
    assert src[col - 1:col - 1 + width] == "lapl"
    assert lines[3] == "  hint: did you mean 'lap'?"


def test_formatting_caret_with_tab_in_line():
    err = compile_error(HEAD + "dt(x) =\tdiv(x)\n")
    assert (err.span.line, err.span.column) == (3, 13)
    src = str(err).splitlines()[1][len("     3 | "):]
    col, _ = _caret_column(str(err))
    assert src[col - 1] == "x"


def test_formatting_parse_error_caret():
    err = compile_error("model m\nfeild x : node[d]\n")
    lines = str(err).splitlines()
    assert lines[0].startswith("spec.pde:2:1: syntax error: unexpected 'feild'; expected ")
    assert "'field'" in lines[0]
    assert lines[1] == "     2 | feild x : node[d]"
    assert lines[2] == "       | ^^^^^"
    assert lines[3] == "  hint: did you mean 'field'?"


def test_with_source_reattaches_text():
    err = ShapeError("bad", None).with_source("model m\n", "other.pde")
    assert type(err) is ShapeError and err.filename == "other.pde"
    assert str(err) == "other.pde: shape error: bad"


def test_did_you_mean():
    assert did_you_mean("lapl", ["lap", "grad", "div"]) == "did you mean 'lap'?"
    assert did_you_mean("zzz", ["lap", "grad"]) == ""
    assert did_you_mean("lap", ["lap", "grad"]) == ""  # never suggest the name itself


@pytest.mark.parametrize("decl,phrase", [
    ("field field : node", "'field' is reserved"),
    ("param t = 1", "'t' is reserved"),
    ("param _x = 1", "starting with '_'"),
])
def test_reserved_names(decl, phrase):
    err = compile_error(f"model m\n{decl}\nfield u : node\ndt(u) = lap(u)\n")
    assert isinstance(err, NameError_) and phrase in err.message
    assert err.span.line == 2
