"""Constraints on learnable tensors hold exactly after optimiser steps."""
import pytest
import torch

from pde2gnn.compiler.backend.constraints import Learnable


def _check(name, w, m):
    if name in ("sym", "diag", "psd", "diag_dom"):
        assert torch.equal(w, w.T)
    if name == "diag":
        assert torch.count_nonzero(w - torch.diag(torch.diagonal(w))) == 0
    if name == "positive":
        assert (w > 0).all()
    if name == "psd":
        assert torch.linalg.eigvalsh(w).min() > -1e-10
    if name == "diag_dom":
        p = m.parametrizations.value[0]
        off = w - torch.diag(torch.diagonal(w))
        expected = p.q * off.abs().sum(1) + p.r
        assert torch.allclose(torch.diagonal(w), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ["sym", "diag", "positive", "psd", "diag_dom"])
def test_constraint_holds_after_optimiser_steps(name):
    g = torch.Generator().manual_seed(0)
    init = torch.randn(5, 5, generator=g, dtype=torch.float64)
    init = init @ init.T if name == "psd" else init.abs() + 0.1 if name == "positive" else init
    m = Learnable(init, [name])
    opt = torch.optim.Adam(m.parameters(), lr=0.1)
    target = torch.randn(5, 5, generator=g, dtype=torch.float64)
    for _ in range(5):
        opt.zero_grad()
        loss = ((m.value - target) ** 2).sum() + m.value.sum() ** 2
        loss.backward()
        opt.step()
        _check(name, m.value.detach(), m)
    if name == "diag_dom":  # q and r are trained too
        p = m.parametrizations.value[0]
        assert not torch.equal(p.q.detach(), torch.ones(5, dtype=torch.float64))


def test_diag_dom_reproduces_assigned_symmetric_value():
    w = torch.randn(4, 4, dtype=torch.float64)
    w = w + w.T
    m = Learnable(w, ["diag_dom"])
    assert torch.allclose(m.value, w, atol=1e-12)


def test_diagonal_learnable_is_a_channel_product_with_the_dense_values_and_gradients():
    """``u @ W`` with ``learn W : [d, d] diag`` is generated as ``u * diagonal(W)`` (the
    diagonal taken once per solve, no dense product per evaluation), on a grouped sparse
    product and inside a non-linear function alike; values and gradients (of the state and of
    W's raw parameter) equal the dense form's, written out by hand."""
    from pde2gnn.compiler import pipeline as compiler
    from tests.helpers.graphs import random_graph
    spec = ("model diagprod\nfield x : node[d]\nlearn W : [d, d] diag\nlearn V : [d, d]\n"
            "dt(x) = sum_j(x_j - x_i) @ W + tanh(x @ W) @ V\n")
    ei, n = random_graph(9, seed=2)
    field = compiler.compile(spec, ei, n, dims={"d": 4}).double()
    assert "@ W" not in field.source and "torch.diagonal(W)" in field.source
    raw = field.learnables["W"].parametrizations.value.original      # the diagonal, [4]
    assert raw.shape == (4,)
    with torch.no_grad():
        raw.copy_(torch.randn(4, dtype=torch.float64))
    x = torch.randn(n, 4, dtype=torch.float64, requires_grad=True)
    field.prepare(x)
    out = field(torch.tensor(0.0, dtype=torch.float64), x)
    w = torch.diag(raw)
    a = torch.zeros(n, n, dtype=torch.float64)
    a.index_put_((ei[1], ei[0]), torch.ones(ei.shape[1], dtype=torch.float64), accumulate=True)
    ref = (a @ x - a.sum(1, keepdim=True) * x) @ w + \
        torch.tanh(x @ w) @ field.learnables["V"].value
    assert torch.allclose(out, ref, rtol=0, atol=1e-12 * float(ref.abs().max()))
    g = torch.randn_like(ref)
    got = torch.autograd.grad(out, (x, raw), g)
    want = torch.autograd.grad(ref, (x, raw), g)
    for a_, b_ in zip(got, want):
        assert torch.allclose(a_, b_, rtol=0, atol=1e-12 * float(b_.abs().max()))
