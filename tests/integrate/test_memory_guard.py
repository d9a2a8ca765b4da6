"""The memory guard of solves that record a backward graph (issue 39: ACMP on Film was killed by
the kernel's OOM killer at 13.4 GB, its dopri5 steps shrinking on a repulsive, stiff flow):
auto_memory switches an adaptive solve to the adjoint once its graph outgrows the estimate's
budget, and without auto_memory a solve that exhausts the free memory stops with a SolverError
naming the remedies."""
import logging
import re

import pytest
import torch

from pde2gnn import compiler
from pde2gnn.errors import SolverError
from pde2gnn.graph import construction
from pde2gnn.integrate import memory as M
from pde2gnn.integrate import solve as S
from pde2gnn.integrate.solve import ODEBlock
from pde2gnn.integrate.solver_config import SolverConfig

GIB = 2 ** 30


def _heat(n=60, d=3):
    ei, _ = construction.stochastic_block_model(n, 3, 6.0, seed=2)
    y0 = torch.randn(n, d, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    return compiler.compile("heat", ei, n, {"d": d}).double(), y0.requires_grad_(True)


def test_budget_counts_kept_evaluations_and_sleeps_without_grad():
    g = M.MemoryGuard("'x'", "cpu", budget=3)
    g.check(0.5, 4)                              # 3 kept: the initial-step probe keeps none
    with pytest.raises(M.OverBudget, match="kept the graphs of 4 evaluations by t = 0.5"):
        g.check(0.5)
    with torch.no_grad():
        g.check(0.5, 100)
    # the budget: what is left beside the shared storages and the backward's working set
    est = M.estimate("dopri5", 3, 8, 1000, 100, 1000 + M.working_set(7, 8, 1000) + 750)
    assert est.fitting() == 7 and M.estimate("dopri5", 3, 8, 10, 10, 5).fitting() == 0


def test_auto_memory_switches_to_the_adjoint_when_the_steps_shrink(monkeypatch, caplog):
    """The estimate believes one step (as for an adaptive method whose initial step is large
    and whose steps then shrink); the budget holds 8 evaluations, the solve takes more: the
    solve is redone with the adjoint, whose gradient is direct backpropagation's to the
    tolerances."""
    vf, y0 = _heat()
    vf.prepare(y0)
    shared, per_eval = M.saved_bytes(vf, y0)
    monkeypatch.setattr(M, "steps_of", lambda *a, **k: 1)
    cfg = dict(method="dopri5", rtol=1e-7, atol=1e-9)
    work = M.working_set(7, y0.numel() * y0.element_size(), shared)   # dopri5: 7 stages
    block = ODEBlock(vf, 0.5, SolverConfig(**cfg, auto_memory=True,
                                           memory_limit=(shared + work + 8 * per_eval) / GIB))
    with caplog.at_level(logging.INFO, logger="pde2gnn"):
        (block(y0) ** 2).sum().backward()
    assert re.search(r"auto_memory: the solve of 'heat' kept the graphs of \d+ evaluations by "
                     r"t = [\d.e-]+, more than the 8 that fit auto_memory's budget -> adjoint",
                     caplog.text)
    assert block.memory_estimate.choice == "adjoint" and block.nfe_backward > 0
    g, y0.grad = y0.grad.clone(), None
    direct = ODEBlock(vf, 0.5, SolverConfig(**cfg))
    (direct(y0) ** 2).sum().backward()
    assert direct.nfe_forward > 9
    # both solves are within the tolerances of the exact flow's gradient: rtol 1e-7 over a
    # contraction (heat), with a factor 100 for the accumulation over the steps
    assert (g - y0.grad).norm() <= 1e-5 * y0.grad.norm()


def test_a_fitting_budget_keeps_direct_backpropagation(monkeypatch):
    vf, y0 = _heat()
    block = ODEBlock(vf, 1.0, SolverConfig("dopri5", auto_memory=True, memory_limit=1.0))
    (block(y0) ** 2).sum().backward()
    assert block.memory_estimate.choice == "direct" and block.nfe_backward == 0


def _falling_memory(monkeypatch, free0, later):
    """``free_and_total`` reports ``free0`` GiB free of 100 at the guard's first look (16
    evaluations into the solve), then ``later``."""
    calls = []

    def fake(device):
        calls.append(device)
        return int((free0 if len(calls) == 1 else later) * GIB), 100 * GIB
    monkeypatch.setattr(M, "free_and_total", fake)
    return calls


def test_exhausted_memory_is_a_solver_error_not_the_oom_killer(monkeypatch):
    vf, y0 = _heat()
    block = ODEBlock(vf, 1.0, SolverConfig("rk4", step_size=0.01))
    calls = _falling_memory(monkeypatch, 50, 2)
    with pytest.raises(SolverError, match=r"'heat' is running out of memory: after 32 "
                       r"evaluations \(t = 0.0\d+\) its backward graph took 48 GiB and 2 of "
                       r"100 GiB are left on cpu.*auto_memory = true"):
        block(y0)
    assert len(calls) == 2                      # every CHECK_EVERY = 16 evaluations
    with torch.no_grad():                       # no graph recorded: no guard
        _falling_memory(monkeypatch, 50, 2)
        assert torch.isfinite(block(y0)).all()


def test_memory_short_before_the_solve_is_not_the_solves_fault(monkeypatch):
    """Free memory under the floor, but the solve took less than half of what was free at its
    first look (other processes hold the rest): it runs; a solve shorter than CHECK_EVERY
    evaluations never looks."""
    vf, y0 = _heat()
    _falling_memory(monkeypatch, 3, 2)
    out = ODEBlock(vf, 1.0, SolverConfig("rk4", step_size=0.01))(y0)
    assert torch.isfinite(out).all()
    calls = _falling_memory(monkeypatch, 50, 2)
    ODEBlock(vf, 1.0, SolverConfig("rk4", step_size=0.5))(y0)        # 8 evaluations
    assert calls == []


def test_gpu_out_of_memory_becomes_a_solver_error(monkeypatch):
    vf, y0 = _heat()

    def oom(*a, **k):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB\nmore")
    monkeypatch.setattr(S, "rk_solve", oom)
    with pytest.raises(SolverError, match=r"'heat' ran out of GPU memory \(dopri5\): set "
                       r"auto_memory = true .*\(CUDA out of memory. Tried to allocate 2.00 GiB\)$"):
        ODEBlock(vf, 1.0, SolverConfig())(y0)


def test_auto_memory_plans_a_field_prepared_from_a_y0_with_grad():
    """The adaptive method's initial-step probe ran under no_grad, which a field whose
    coefficients come from init(x) (GRAND's attention) refuses once prepared from a y(0) with
    grad: auto_memory failed on every such spec (ACMP, GRAND) with dopri5. The probe's
    gradient is now the direct solve's."""
    ei, _ = construction.stochastic_block_model(40, 2, 5.0, seed=1)
    vf = compiler.compile("grand", ei, 40, {"d": 3, "k": 4}).double()
    y0 = torch.randn(40, 3, dtype=torch.float64,
                     generator=torch.Generator().manual_seed(3)).requires_grad_(True)
    block = ODEBlock(vf, 1.0, SolverConfig("dopri5", auto_memory=True, memory_limit=1.0))
    (block(y0) ** 2).sum().backward()
    assert block.memory_estimate.choice == "direct"
    g, y0.grad = y0.grad.clone(), None
    (ODEBlock(vf, 1.0, SolverConfig("dopri5"))(y0) ** 2).sum().backward()
    assert (g - y0.grad).abs().max() <= 1e-12 * y0.grad.abs().max()
