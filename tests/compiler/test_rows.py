"""One row per operator holds all its rules (lang/builtins.py): every row declares each concern
(its derivative for var(...) or the reason it has none, non-negativity, equivariance class,
i <-> j exchange, domain axes, documentation line), the stages read the rows generically, and a
row missing a rule its use needs is a located error naming the row and the field.

Geometric operators (dx, dy, dz, dgrad) in an energy: applied to inputs only they are constants
of var(...) and compile (the derived flow equals torch.autograd's gradient of the same energy
density, compiled as a flow, in float64); an evolving field passing through them is refused at
the operator, since their rows give no transpose rule."""
import dataclasses
import math

import numpy as np
import pytest
import torch

from pde2gnn.compiler import pipeline as compiler
from pde2gnn.compiler.check.equivariance import _CLASSES
from pde2gnn.compiler.lang import builtins as B
from pde2gnn.compiler.symbolic import ops as O
from pde2gnn.errors import EnergyError, FormError, UnsupportedError
from pde2gnn.graph import construction as graphs

SIGNS = ("nonneg", "preserves", "any")


@pytest.mark.parametrize("name", B.BUILTINS)
def test_every_row_declares_every_concern(name):
    b = B.BUILTINS[name]
    for concern in B.CONCERNS:
        if concern == "derivative" and b.energy:
            continue                       # the reason var(...) cannot differentiate it
        B.rule(b, concern)                 # raises UnsupportedError naming row and field
    assert not (b.energy and b.derivative), f"{name}: both a derivative and a reason"
    assert b.sign in SIGNS, f"{name}: sign {b.sign!r}"
    assert b.equivariance in _CLASSES, f"{name}: equivariance {b.equivariance!r}"
    assert b.swap in ("args", "-") or b.swap in O.FUNCTIONS, f"{name}: swap {b.swap!r}"
    if b.swap in O.FUNCTIONS:              # partners name each other
        assert B.BUILTINS[b.swap].swap == name
    assert b.axes in (0, 1, 2, 3) and (b.axes > 0) == (b.group == "geometry")
    assert b.fold is None or callable(getattr(math, b.fold))
    assert b.doc and "\n" not in b.doc


def test_rule_names_the_row_and_the_missing_field():
    row = dataclasses.replace(B.BUILTINS["tanh"], sign=None)
    with pytest.raises(UnsupportedError, match="built-in 'tanh' declares no sign rule"):
        B.rule(row, "sign")


@pytest.mark.parametrize("concern, text, line", [
    ("sign", "field x : node[2]\ndt(x) = tanh(x)^0.5\n", 3),
    ("equivariance", "field p : coords[2]\ndt(p) = sum_j(tanh(dot(p_i - p_j, "
                     "p_i - p_j)) * (p_j - p_i))\n", 3),
    ("derivative", "field x : node[2]\nenergy E = sum_i(dot(tanh(x), x))\ndt(x) = -var(E, x)\n",
     3),
])
def test_undeclared_rule_is_a_located_error(monkeypatch, concern, text, line):
    """Blanking one concern of tanh's row: the stage that needs it fails at the call, naming
    the row and the field (the loud default), instead of guessing."""
    monkeypatch.setitem(B.BUILTINS, "tanh", dataclasses.replace(B.BUILTINS["tanh"],
                                                                **{concern: None}))
    with pytest.raises(UnsupportedError, match=f"built-in 'tanh' declares no {concern} rule") \
            as e:
        compiler.front("model m\n" + text)
    assert e.value.span is not None and e.value.span.line == line


@pytest.mark.parametrize("base, ok", [
    ("norm(x)", True), ("sqrt(abs(x))", True), ("where(x > 0, relu(x), exp(x))", True),
    ("mean_j(softmax_j(dot(x_i, x_j)) * relu(x_j))", True), ("tanh(x)", False),
    ("where(x > 0, x, exp(x))", False), ("sum_j(x_j)", False)])
def test_non_negativity_comes_from_the_rows(base, ok):
    text = f"model m\nfield x : node[2]\ndt(x) = ({base})^0.5 + 0 * x\n"
    if ok:
        compiler.front(text)
    else:
        with pytest.raises(FormError, match="non-integer power"):
            compiler.front(text)


def test_domain_axes_come_from_the_rows():
    text = "model m\ndomain pos : [0, 1]\nfield u : node\ndt(u) = {}(u)\n"
    compiler.front(text.format("dx"))
    for op in ("dy", "dz"):
        with pytest.raises(FormError, match=f"{op} needs a {B.BUILTINS[op].axes}-D domain") as e:
            compiler.front(text.format(op))
        assert e.value.span.line == 4


GEO = ("model m\ndomain pos : [0, 1] x [0, 1] x [0, 1]\nfield u : node[1]\ninput a : node[1]\n")
#: an energy density of u in which the geometric operators see the input a only
DENSITY = ("dot(dx(a), u * u) + dot(dy(a) * a, u) + dot(dz(a), u * u * u) "
           "+ sum_j(dgrad(a) * dot(u_i, u_j))")


def test_geometric_operators_of_inputs_in_an_energy_match_autograd():
    """E = sum_i density_i(u): the compiled -var(E, u) equals -dE/du by torch.autograd of the
    density compiled as a flow (same graph, same geometric weights), in float64."""
    rng = np.random.default_rng(3)
    pos = graphs.random_points(60, (0, 0, 0), (1, 1, 1), rng)
    ei = torch.as_tensor(graphs.knn_graph(pos, 8))
    ei = torch.unique(torch.cat([ei, ei.flip(0)], 1), dim=1)      # symmetric, as var assumes
    n = len(pos)
    a = torch.tensor(np.sin(3 * pos[:, :1]) + pos[:, 1:2] * pos[:, 2:3])
    inputs = {"pos": torch.tensor(pos), "a": a}
    sumj = DENSITY.replace("sum_j(dgrad(a) * dot(u_i, u_j))", "")
    flow = compiler.compile(GEO + f"energy E = sum_i({sumj.rstrip(' +')}) + "
                            "sum_ij(dgrad(a) * dot(u_i, u_j))\ndt(u) = -var(E, u)\n",
                            ei, n, inputs=inputs).double()
    density = compiler.compile(GEO + f"dt(u) = {DENSITY}\n", ei, n, inputs=inputs).double()
    u = torch.randn(n, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    t = torch.tensor(0.0, dtype=torch.float64)
    flow.prepare(u)
    density.prepare(u)
    ux = u.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(density(t, ux).sum(), ux)
    with torch.no_grad():
        got = flow(t, u)
    assert grad.norm() > 1e-3
    torch.testing.assert_close(got, -grad, rtol=1e-10, atol=1e-10 * float(grad.norm()))


@pytest.mark.parametrize("op, use", [("dx", "sum_i(dot(dx(u), dx(u)))"),
                                     ("dy", "sum_i(dot(dy(u * a), a))"),
                                     ("dz", "sum_i(dot(dz(a + u), u))"),
                                     ("dgrad", "sum_ij(dot(dgrad(u), dgrad(a)))")])
def test_a_field_through_a_geometric_operator_is_refused_at_the_operator(op, use):
    text = GEO + f"energy E = {use}\ndt(u) = -var(E, u)\n"
    with pytest.raises(EnergyError, match=f"{op} has no derivative rule for var") as e:
        compiler.front(text)
    assert e.value.span.line == 5
    assert text.splitlines()[4][e.value.span.column - 1:].startswith(op)
