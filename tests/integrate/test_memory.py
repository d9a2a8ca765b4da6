"""``SolverConfig(auto_memory=True)`` (issue 40 item 4): the backward pass's memory estimate
against the storages autograd really keeps, and the choice it makes."""
import logging
import weakref

import numpy as np
import pytest
import torch

from pde2gnn import compiler
from pde2gnn.errors import OptionError
from pde2gnn.graph import construction
from pde2gnn.integrate import memory as M
from pde2gnn.integrate.rk import rk_solve
from pde2gnn.integrate.solve import ODEBlock
from pde2gnn.integrate.solver_config import SolverConfig


def _heat(n=60, d=3):
    ei, _ = construction.stochastic_block_model(n, 3, 6.0, seed=2)
    return compiler.compile("heat", ei, n, {"d": d}).double(), \
        torch.randn(n, d, dtype=torch.float64, generator=torch.Generator().manual_seed(0))


def _allen_cahn(m=10, d=2):
    pos, ei = construction.grid_graph((m, m), (0.0, 0.0), (2 * np.pi, 2 * np.pi),
                                      periodic=True)
    vf = compiler.compile("allen_cahn", ei, m * m, {"d": d},
                          inputs={"pos": torch.tensor(pos)}).double()
    return vf, torch.randn(m * m, d, dtype=torch.float64,
                           generator=torch.Generator().manual_seed(0))


def _kept_bytes(solve):
    """Bytes of the distinct storages that autograd still holds after ``solve()`` (saved
    tensors of evaluations whose graph was freed, e.g. rejected steps, do not count)."""
    saved = []

    def pack(x):
        saved.append(weakref.ref(x))
        return x
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda x: x):
        out = solve()
    alive = {}
    for r in saved:
        x = r()
        if x is not None:
            s = x.untyped_storage()
            alive[s.data_ptr()] = s.nbytes()
    return sum(alive.values()), out


@pytest.mark.parametrize("build,method,step", [(_heat, "rk4", 0.1), (_allen_cahn, "rk4", 0.05),
                                               (_heat, "dopri5", None),
                                               (_allen_cahn, "midpoint", 0.1)])
def test_direct_estimate_is_what_autograd_keeps(build, method, step):
    vf, y0 = build()
    y0 = y0.requires_grad_(True)
    vf.prepare(y0)
    shared, per_eval = M.saved_bytes(vf, y0)
    assert per_eval >= y0.numel() * 8          # at least the stage state of each evaluation
    kept, sol = _kept_bytes(lambda: rk_solve(vf, y0, [0.0, 1.0], method=method,
                                             step_size=step, rtol=1e-5, atol=1e-7))
    assert sol.rejected == 0
    est = M.estimate(method, sol.steps, y0.numel() * 8, shared, per_eval, 2 ** 40)
    assert est.evaluations == sol.nfe
    assert kept == est.direct, (kept, est)


def test_checkpoint_keeps_one_state_per_step():
    vf, y0 = _heat()
    est = M.estimate("rk4", 10, y0.numel() * 8, 1000, 5 * y0.numel() * 8, 0)
    assert est.checkpoint == 1000 + 10 * y0.numel() * 8 + 4 * 5 * y0.numel() * 8
    assert est.direct == 1000 + 40 * 5 * y0.numel() * 8
    assert M.estimate("dopri5", 10, 8, 0, 8, 0).checkpoint is None      # fixed steps only
    assert M.steps_of("rk4", 1.0, 0.1) == 10 and M.steps_of("dopri5", 1.0, None, 0.3) == 4


@pytest.mark.parametrize("limit_of,choice", [(lambda e: 10 * e.direct, "direct"),
                                             (lambda e: (e.direct + e.checkpoint) / 2,
                                              "checkpoint"),
                                             (lambda e: e.checkpoint - 1, "adjoint")])
def test_choice_follows_the_budget_and_keeps_the_gradient(limit_of, choice, caplog):
    vf, y0 = _heat(n=200, d=4)
    y0.requires_grad_(True)
    vf.prepare(y0)
    shared, per_eval = M.saved_bytes(vf, y0)
    ref = M.estimate("rk4", 20, y0.numel() * 8, shared, per_eval, 0)
    assert ref.adjoint < ref.checkpoint < ref.direct
    cfg = SolverConfig("rk4", step_size=0.05, auto_memory=True,
                       memory_limit=limit_of(ref) / 2 ** 30)
    block = ODEBlock(vf, 1.0, cfg)
    with caplog.at_level(logging.INFO, logger="pde2gnn"):
        (block(y0) ** 2).sum().backward()
    assert block.memory_estimate.choice == choice
    assert block.memory_estimate.direct == ref.direct
    assert f"-> {choice}" in caplog.text and "GiB available" in caplog.text
    g = y0.grad.clone()
    y0.grad = None
    (ODEBlock(vf, 1.0, SolverConfig("rk4", step_size=0.05))(y0) ** 2).sum().backward()
    assert (g - y0.grad).abs().max() <= 1e-10 * y0.grad.abs().max()


def test_auto_memory_options_are_checked():
    with pytest.raises(OptionError, match="auto_memory"):
        SolverConfig(memory_limit=1.0)
    with pytest.raises(OptionError, match="auto_memory"):
        SolverConfig("rk4", step_size=0.1, auto_memory=True, checkpoint=True)
    with pytest.raises(OptionError, match="memory_limit"):
        SolverConfig(auto_memory=True, memory_limit=-1.0)
    assert M.available_bytes("cpu") > 0 and M.available_bytes("cpu", 2.0) == 2 ** 31
