"""Well-formed specs parse (comments, blank lines, wrapped expressions) and check."""
from __future__ import annotations

from pde2gnn.compiler.check import Type, check
from pde2gnn.compiler.lang import ast as A
from pde2gnn.compiler.lang import parse

GRAND = """\
# GRAND (Chamberlain et al. 2021): attention-weighted diffusion
model grand
field x : node[d]
learn W_K : [d, k]
learn W_Q : [d, k]
let x0 = init(x)                  # attention from the initial state, frozen (GRAND-l)
edge a = softmax_j(dot(x0_i @ W_K, x0_j @ W_Q) / sqrt(k))
dt(x) = div(a * grad(x))
"""


def test_empty_and_comment_only_specs_parse():
    assert parse("", "e.pde").statements == ()
    assert parse("# nothing here\n\n   # indented comment\n", "e.pde").statements == ()


def test_comments_and_blank_lines():
    text = ("\n\n# leading comment\n"
            "model heat   # trailing comment\n"
            "\n"
            "   \n"
            "field x : node[d]\n"
            "# between statements\n"
            "\n"
            "param kappa = 1.0 # another\n"
            "dt(x) = kappa * lap(x)")  # no final newline
    spec = parse(text, "heat.pde")
    kinds = [type(s) for s in spec.statements]
    assert kinds == [A.ModelDecl, A.FieldDecl, A.ParamDecl, A.Equation]
    assert spec.name == "heat"
    # spans are 1-based and refer to the original text
    model, fld, param, eq = spec.statements
    assert (model.span.line, model.span.column) == (4, 1)
    assert (fld.span.line, param.span.line, eq.span.line) == (7, 10, 11)
    assert (eq.field_span.line, eq.field_span.column) == (11, 4)
    checked = check(spec)
    assert checked.fields == {"x": Type("node", ("d",))}
    assert checked.params["kappa"].value == A.Number(1.0, checked.params["kappa"].value.span)


def test_expression_wrapped_in_parentheses_across_lines():
    text = ("model m\n"
            "field x : node[d]\n"
            "param kappa = 0.5\n"
            "let y = (kappa * lap(x)   # comment inside the bracket\n"
            "\n"
            "         - x\n"
            "         + 2 * x)\n"
            "dt(x) = y\n")
    spec = parse(text, "wrap.pde")
    let = spec.statements[3]
    assert isinstance(let, A.LetDecl) and let.name == "y"
    assert isinstance(let.value, A.BinOp) and let.value.op == "+"
    assert (let.value.span.line, let.value.span.end_line) == (4, 7)
    eq = spec.statements[4]
    assert isinstance(eq, A.Equation) and eq.span.line == 8
    assert check(spec).let_types["y"] == Type("node", ("d",))


def test_call_arguments_across_lines_and_line_continuation():
    text = ("model m\n"
            "field x : node[d]\n"
            "edge a = softmax_j(dot(x_i,\n"
            "                       x_j))\n"
            "dt(x) = div(a * grad(x)) \\\n"
            "        - x\n")
    spec = parse(text, "wrap.pde")
    assert [type(s) for s in spec.statements] == [A.ModelDecl, A.FieldDecl, A.LetDecl,
                                                 A.Equation]
    checked = check(spec)
    assert checked.let_types["a"] == Type("edge", (1,))


def test_operator_precedence():
    spec = parse("model m\nfield x : node\ndt(x) = -x + 2 * x ^ 2 @ W / 3\n", "p.pde")
    rhs = spec.statements[2].rhs
    # -x + ((2 * (x ^ 2)) @ W) / 3
    assert rhs.op == "+"
    assert isinstance(rhs.left, A.Neg)
    assert rhs.right.op == "/"
    assert rhs.right.left.op == "@"
    assert rhs.right.left.left.op == "*"
    assert rhs.right.left.left.right.op == "^"


def test_learn_declarations():
    text = ("model m\nfield x : node[d]\n"
            "learn W : [d, d] sym diag_dom = 0\n"
            "learn b : [d]\n"
            "learn s : scalar positive\n"
            "dt(x) = x @ W + b * s\n")
    spec = parse(text, "l.pde")
    w, b, s = spec.statements[2:5]
    assert [c for c, _ in w.constraints] == ["sym", "diag_dom"]
    assert [dim.value for dim in w.shape] == ["d", "d"]
    assert isinstance(w.init, A.Number) and w.init.value == 0.0
    assert [dim.value for dim in b.shape] == ["d"] and b.init is None
    assert s.shape == () and [c for c, _ in s.constraints] == ["positive"]
    checked = check(spec)
    assert checked.learn_types == {"W": Type("matrix", ("d", "d")), "b": Type("scalar", ("d",)),
                                   "s": Type("scalar", (1,))}


def test_grand_spec_parses_and_checks():
    spec = parse(GRAND, "grand.pde")
    assert spec.name == "grand"
    checked = check(spec)
    assert checked.name == "grand"
    assert checked.fields == {"x": Type("node", ("d",))}
    assert checked.dims == {"d": None, "k": None}
    assert checked.learn_types == {"W_K": Type("matrix", ("d", "k")),
                                   "W_Q": Type("matrix", ("d", "k"))}
    assert checked.let_types == {"x0": Type("node", ("d",)), "a": Type("edge", (1,))}
    assert set(checked.equations) == {"x"}
    eq = checked.equations["x"]
    assert checked.type_of(eq.rhs) == Type("node", ("d",))
    # the attention logits: x0_i @ W_K is an edge value with k channels
    a = checked.lets["a"].value               # softmax_j(...)
    logits = a.args[0].left                   # dot(x0_i @ W_K, x0_j @ W_Q)
    assert checked.type_of(logits.args[0]) == Type("edge", ("k",))
    assert checked.type_of(logits) == Type("edge", (1,))


def test_dim_declaration_binds_default():
    text = "model m\ndim d = 4\nfield x : node[d]\ndt(x) = lap(x)\n"
    checked = check(parse(text, "d.pde"))
    assert checked.dims == {"d": 4}
    assert checked.fields["x"] == Type("node", ("d",))
