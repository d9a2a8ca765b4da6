"""The built-in tables (pde2gnn/compiler/lang/builtins.py) are complete and true: every operator can be
lowered to code, its kernel exists, its derivative is the one var(...) uses, an operator the
table keeps out of energies is rejected there with a located error, and every operator, compiled
alone, equals the unfused reference interpreter. A new row is covered by these tests at once."""
import functools
import re

import pytest
import sympy as sp
import torch

from pde2gnn.compiler import pipeline as compiler
from pde2gnn.compiler.backend import sheaf_ops
from pde2gnn.compiler.backend.constraints import PARAMETRIZATIONS
from pde2gnn.compiler.backend.graph_ops import GraphOps
from pde2gnn.compiler.backend.nets import BUILD
from pde2gnn.compiler.backend.reference import interpret
from pde2gnn.errors import ArgumentError, EnergyError, OptionError
from pde2gnn.compiler.lang.builtins import BUILTINS, CONSTRAINTS, NET_TYPES
from pde2gnn.compiler.symbolic import ops as O
from pde2gnn.compiler.symbolic.energy import SYMMETRIC_CONSTRAINTS
from pde2gnn.compiler.symbolic.geometry import GEO_FUNCTIONS

#: lowered by their own stage rather than a kernel: init (prepare), sqrt (a power), var (the
#: energy derivation), the geometric operators (discretize/geometry.py)
STRUCTURAL = {"init", "sqrt", "var"}


@pytest.mark.parametrize("name", BUILTINS)
def test_every_builtin_has_a_symbolic_class_and_a_lowering(name):
    b = BUILTINS[name]
    if b.group == "geometry":
        assert name in GEO_FUNCTIONS and b.stencil
        return
    if b.group == "sheaf":       # lowered by symbolic/sheaf.py to calls into backend/sheaf_ops
        assert b.stencil and callable(getattr(sheaf_ops, b.kernel.split(".", 1)[1]))
        return
    if name != "var":
        assert name in O.FUNCTIONS, f"{name}: no symbolic class"
    if b.kernel is None:
        assert b.stencil or name in STRUCTURAL, f"{name}: neither a kernel nor a stencil rule"
        return
    where, _, attr = b.kernel.partition(".")
    if where == "torch":
        assert callable(functools.reduce(getattr, attr.split("."), torch)), b.kernel
    else:
        assert where == "_G" and callable(getattr(GraphOps, attr)), b.kernel
    assert O.KERNELS[O.FUNCTIONS[name]] == b.kernel


@pytest.mark.parametrize("name", [n for n, b in BUILTINS.items()
                                  if b.derivative and b.group == "elementwise"])
def test_derivative_in_the_table_is_the_symbolic_one(name):
    u = sp.Symbol("u")
    f = O.FUNCTIONS[name]
    stated = sp.sympify(BUILTINS[name].derivative, locals={**O.FUNCTIONS, "u": u},
                        convert_xor=True)
    assert sp.simplify(f(u).diff(u) - stated) == 0


def _energy_use(name):
    """An energy that applies built-in ``name`` to x (or to grad(x) for an edge operator)."""
    b = BUILTINS[name]
    arg = "grad(x)" if b.takes == "edge" else "x"
    kind = b.gives or ("edge" if b.takes == "edge" else "node")
    value = f"{name}({arg})"
    return f"sum_ij(dot({value}, {value}))" if kind == "edge" else \
        f"sum_i(dot({value}, {value}))"


@pytest.mark.parametrize("name", [n for n, b in BUILTINS.items() if b.energy])
def test_operators_kept_out_of_energies_are_located_errors(name):
    text = (f"model m\nfield x : node[2]\nenergy E = {_energy_use(name)}\n"
            "dt(x) = -var(E, x)\n")
    with pytest.raises(EnergyError, match=re.escape(f"{name} {BUILTINS[name].energy}")) as e:
        compiler.front(text)
    assert e.value.span.line == 3


def _alone(name):
    """A spec whose flow is built-in ``name`` applied once (positive arguments for log, sqrt)."""
    b = BUILTINS[name]
    arg = {"node": "x", "edge": "grad(x) * a"}.get(b.takes, "x")
    if name in ("log", "sqrt"):
        arg = "(x * x + 1)"
    if name == "dot":
        return "dt(x) = dot(x, x @ W, heads=2) @ V + sum_j(dot(x_i, x_j) * x_j)"
    if name == "cat":
        return "dt(x) = cat(x[0:2], tanh(x[2:4]))"
    if name == "where":
        return "dt(x) = where(gt(x, 0), x @ W, 0.5 * x) + sum_j(where(a > 0.5, x_j, -x_j))"
    if b.group == "compare":
        return f"dt(x) = {name}(x, x @ W) * x + sum_j({name}(a, 0.5) * x_j)"
    value = f"{name}({arg})" if name != "dropout" else "dropout(x, 0.5)"
    kind = b.gives or b.takes or "node"
    return f"dt(x) = sum_j({value} * x_j)" if kind == "edge" else f"dt(x) = {value} + 0 * x"


@pytest.mark.parametrize("name", [n for n, b in BUILTINS.items()
                                  if b.group not in ("energy", "geometry", "sheaf")
                                  and n != "init"])
def test_each_operator_compiled_alone_equals_the_reference(name):
    text = ("model m\nfield x : node[4]\nlearn W : [4, 4]\nlearn V : [2, 4]\n"
            "edge a = sigmoid(dot(x_i, x_j))\n" + _alone(name) + "\n")
    gen = torch.Generator().manual_seed(0)
    src = torch.tensor([0, 1, 2, 3, 4, 5, 0, 2, 5, 1, 3, 0])
    dst = torch.tensor([1, 2, 3, 4, 5, 0, 3, 5, 2, 0, 0, 4])
    field = compiler.compile(text, torch.stack([src, dst]), 6).double()
    with torch.no_grad():
        for p in field.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64))
    y0 = torch.randn(6, 4, generator=gen, dtype=torch.float64)
    y = y0 + 0.1
    field.prepare(y0)
    t = torch.tensor(0.0, dtype=torch.float64)
    torch.manual_seed(1)           # dropout: the same mask for both
    got = field(t, y)
    torch.manual_seed(1)
    torch.testing.assert_close(got, interpret(field, t, y, y0), rtol=1e-12, atol=1e-12)


def test_constraint_and_network_tables_match_the_backend():
    assert set(PARAMETRIZATIONS) == set(CONSTRAINTS)
    assert set(SYMMETRIC_CONSTRAINTS) == {n for n, c in CONSTRAINTS.items() if c.symmetric}
    assert set(BUILD) == set(NET_TYPES)


def test_max_j_is_the_neighbourhood_maximum():
    """max_j against a hand-written loop over the receivers, with its gradient."""
    ei = torch.tensor([[1, 2, 3, 0, 2, 1], [0, 0, 0, 1, 1, 2]])   # node 3 has no neighbour
    x = torch.randn(4, 2, dtype=torch.float64, requires_grad=True)
    field = compiler.compile("model m\nfield x : node[2]\ndt(x) = max_j(x_j * x_j)\n", ei, 4)
    field = field.double()
    field.prepare(x)
    got = field(torch.tensor(0.0), x)
    want = torch.stack([(x[ei[0][ei[1] == i]] ** 2).max(0).values if (ei[1] == i).any()
                        else torch.zeros(2, dtype=torch.float64) for i in range(4)])
    torch.testing.assert_close(got, want, rtol=0, atol=0)
    g, = torch.autograd.grad(got.sum(), x)
    g_want, = torch.autograd.grad(want.sum(), x)
    torch.testing.assert_close(g, g_want)


def test_dropout_masks_while_training_and_is_the_identity_in_evaluation():
    """dropout(u, p): while training each entry is 0 with probability p, the others u / (1 - p)
    (so the mean is kept); after .eval() exactly u; p = 0 generates the code of u itself; a rate
    outside [0, 1) or not a constant is a located error."""
    ei = torch.tensor([[1, 2, 3, 0, 2, 1], [0, 0, 0, 1, 1, 2]])
    text = "model m\nfield x : node[2000]\nparam p = 0.3\ndt(x) = dropout(lap(x), p)\n"
    field = compiler.compile(text, ei, 4).double()
    x = torch.randn(4, 2000, dtype=torch.float64)
    field.prepare(x)
    t = torch.tensor(0.0)
    full = compiler.compile("model m\nfield x : node[2000]\ndt(x) = lap(x)\n", ei, 4).double()
    full.prepare(x)
    want = full(t, x)
    got = field(t, x)
    kept = got != 0
    torch.testing.assert_close(got[kept], want[kept] / 0.7)
    dropped = 1 - kept[want != 0].double().mean().item()     # node 3 has no neighbour: 0
    assert abs(dropped - 0.3) < 0.02                            # 6000 draws: 4.8 std
    field.eval()
    torch.testing.assert_close(field(t, x), want)
    zero = compiler.compile(text, ei, 4, params={"p": 0.0})
    assert zero.source == full.source
    with pytest.raises(OptionError, match="dropout rate"):
        compiler.compile(text, ei, 4, params={"p": 1.0})
    with pytest.raises(ArgumentError) as e:
        compiler.front("model m\nfield x : node[2]\ndt(x) = dropout(x, x)\n")
    assert e.value.span.column == 20      # the second x


def test_detach_keeps_the_value_and_stops_the_gradient():
    """detach(u) has u's value; no gradient reaches a parameter or the initial state through it
    (GRAND's source beta * x(0) with x(0) detached), while the other terms keep theirs."""
    ei = torch.tensor([[1, 2, 3, 0, 2, 1], [0, 0, 0, 1, 1, 2]])
    body = ("field x : node[2]\nlearn W : [2, 2]\nlearn V : [2, 2]\nlearn beta = 0.5\n"
            "let x0 = init(x)\ndt(x) = {} + x @ V + beta * {}\n")
    plain = compiler.compile("model m\n" + body.format("x @ W", "x0"), ei, 4).double()
    cut = compiler.compile("model m\n" + body.format("detach(x @ W)", "detach(x0)"), ei, 4)
    cut = cut.double()
    cut.load_state_dict(plain.state_dict())
    y0 = torch.randn(4, 2, dtype=torch.float64, requires_grad=True)
    y = (y0 + 0.1).detach().requires_grad_()
    t = torch.tensor(0.0, dtype=torch.float64)
    out = {}
    for name, field in (("plain", plain), ("cut", cut)):
        field.prepare(y0)
        f = field(t, y)
        params = [field.learnables[k].value for k in ("W", "V", "beta")]
        out[name] = (f, torch.autograd.grad(f.sum(), params + [y0, y], allow_unused=True))
    (f_plain, g_plain), (f_cut, g_cut) = out["plain"], out["cut"]
    torch.testing.assert_close(f_cut, f_plain, rtol=1e-12, atol=1e-12)  # same forward value
    g_w, g_v, g_beta, g_y0, g_y = g_cut
    assert g_w is None or torch.count_nonzero(g_w) == 0                  # nothing through W
    assert g_y0 is None or torch.count_nonzero(g_y0) == 0                # nor into x(0)
    assert torch.count_nonzero(g_plain[0]) > 0 and torch.count_nonzero(g_plain[3]) > 0
    torch.testing.assert_close(g_v, g_plain[1])                          # the rest unchanged
    torch.testing.assert_close(g_beta, g_plain[2])
    v = plain.learnables["V"].value
    torch.testing.assert_close(g_y, torch.ones_like(y) @ v.t())         # only through x @ V
    assert O.FUNCTIONS["detach"](sp.Integer(2)) == 2                     # folded on numbers


def test_max_ij_is_the_maximum_over_all_edges_and_channels():
    """max_ij against torch's max of the whole edge tensor, its gradient included (split on
    ties as torch.max splits it), and per graph of a batched union."""
    ei = torch.tensor([[1, 2, 3, 0, 2, 1, 5, 4], [0, 0, 0, 1, 1, 2, 4, 5]])
    x = torch.randn(6, 2, dtype=torch.float64, requires_grad=True)
    field = compiler.compile("model m\nfield x : node[2]\ndt(x) = sum_j(max_ij(x_j * x_i))\n",
                             ei, 6).double()
    field.prepare(x)
    got = field(torch.tensor(0.0), x)
    prods = x[ei[0]] * x[ei[1]]                                   # [E, 2], j = row 0
    deg = torch.bincount(ei[1], minlength=6).to(x.dtype)[:, None]
    want = (deg * prods.max()).expand(6, 2)
    torch.testing.assert_close(got, want)
    g, = torch.autograd.grad(got.sum(), x)
    g_want, = torch.autograd.grad(want.sum(), x)
    torch.testing.assert_close(g, g_want)
    G = GraphOps(ei, 6)
    e = torch.tensor([[1.0, 3.0], [3.0, 0.0]]).repeat(4, 1).requires_grad_()   # ties
    m = G.max_ij(e)
    assert m.shape == (8, 1) and torch.all(m == 3.0)
    gt, = torch.autograd.grad(m[0, 0], e)
    gr, = torch.autograd.grad(e.max(), e)
    torch.testing.assert_close(gt, gr)
    batch = torch.tensor([0, 0, 0, 0, 1, 1])                     # nodes 4, 5: a second graph
    G.set_batch(batch)
    e = torch.randn(8, 2)                                         # rows in G's edge order
    second = batch[G.i] == 1
    want = torch.where(second, e[second].max(), e[~second].max())
    torch.testing.assert_close(G.max_ij(e)[:, 0], want, rtol=0, atol=0)


def test_named_initialisers_of_a_matrix_learnable():
    """``learn W : [r, c] = eye | orthogonal`` (lang/builtins.py INITIALISERS): torch.nn.init's
    eye_ / orthogonal_; on a vector or a constrained matrix a located ShapeError."""
    from pde2gnn.errors import ShapeError
    ei = torch.tensor([[1, 2, 3, 0], [0, 1, 2, 3]])
    text = ("model m\nfield x : node[4]\nlearn A : [4, 4] = eye\nlearn B : [4, 3] = orthogonal\n"
            "learn C : [3, 4]\ndt(x) = x @ A @ B @ C\n")
    L = compiler.compile(text, ei, 4).learned()
    torch.testing.assert_close(L["A"], torch.eye(4))
    torch.testing.assert_close(L["B"].T @ L["B"], torch.eye(3), atol=1e-6, rtol=0)
    for bad, col in (("learn A : [4] = eye", 17), ("learn A : [4, 4] sym = eye", 24)):
        with pytest.raises(ShapeError) as e:
            compiler.front(text.replace("learn A : [4, 4] = eye", bad))
        assert e.value.span.line == 3 and e.value.span.column == col
