"""The built-in tables (pde2gnn/lang/builtins.py) are complete and true: every operator can be
lowered to code, its kernel exists, its derivative is the one var(...) uses, an operator the
table keeps out of energies is rejected there with a located error, and every operator, compiled
alone, equals the unfused reference interpreter. A new row is covered by these tests at once."""
import functools
import re

import pytest
import sympy as sp
import torch

from pde2gnn import compiler
from pde2gnn.backend import sheaf_ops
from pde2gnn.backend.constraints import PARAMETRIZATIONS
from pde2gnn.backend.graph_ops import GraphOps
from pde2gnn.backend.nets import BUILD
from pde2gnn.backend.reference import interpret
from pde2gnn.errors import EnergyError
from pde2gnn.lang.builtins import BUILTINS, CONSTRAINTS, NET_TYPES
from pde2gnn.symbolic import ops as O
from pde2gnn.symbolic.energy import SYMMETRIC_CONSTRAINTS
from pde2gnn.symbolic.geometry import GEO_FUNCTIONS

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


@pytest.mark.parametrize("name", [n for n, b in BUILTINS.items() if b.derivative])
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
    value = f"{name}({arg})"
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
    torch.testing.assert_close(field(t, y), interpret(field, t, y, y0), rtol=1e-12, atol=1e-12)


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
