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
