"""``SolverConfig(auto_memory=True)`` (issue 40 item 4): the backward pass's memory estimate
against the storages autograd really keeps, and the choice it makes."""
import logging
import weakref

import numpy as np
import pytest
import torch

from pde2gnn import compiler
from pde2gnn.errors import OptionError, SolverError
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
    assert est.work == M.working_set(est.stages, y0.numel() * 8, shared)
    assert kept == est.direct - est.work, (kept, est)     # the saved bytes, exactly


def test_checkpoint_keeps_one_state_per_step():
    vf, y0 = _heat()
    s = y0.numel() * 8
    est = M.estimate("rk4", 10, s, 1000, 5 * s, 0)
    # saved: 10 step inputs and one recomputed step's 4 evaluations; working set
    # (2 S + 2) states + 4 x shared
    assert est.checkpoint == 1000 + 10 * s + 4 * 5 * s + (2 * 4 + 2) * s + 4 * 1000
    # saved: 40 evaluations; working set (S + 4) states + 4 x shared
    assert est.direct == 1000 + 40 * 5 * s + (4 + 4) * s + 4 * 1000
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


def _epoch(spec, n, d, cfg):
    """A small epoch around a compiled ``spec`` on an SBM of n nodes, d float32 channels:
    linear encoder -> ODEBlock(cfg) -> linear decoder -> cross-entropy -> backward."""
    ei, block = construction.stochastic_block_model(n, 3, 10, seed=0)
    ode = ODEBlock(compiler.compile(spec, ei, n, {"d": d}), 1.0, cfg)
    enc, dec = torch.nn.Linear(8, d), torch.nn.Linear(d, 3)
    x = torch.randn(n, 8, generator=torch.Generator().manual_seed(0))
    return ode, lambda: torch.nn.functional.cross_entropy(dec(ode(enc(x))), block).backward()


@pytest.mark.parametrize("spec,method,choice,most", [
    ("heat", "rk4", "direct", 1.3), ("heat", "midpoint", "checkpoint", 2.0),
    ("grand", "rk4", "direct", 1.2), ("grand", "rk4", "checkpoint", 1.3),
    ("grand", "euler", "direct", 1.2)])
def test_estimate_covers_the_epoch_peak(spec, method, choice, most):
    """Saved bytes plus the working set (:func:`memory.working_set`) against the measured peak
    of an epoch's live tensors after the estimate (:func:`memory.peak_after_plan`): never
    below it, and at most ``most`` times it (the bounds measured by benchmarks/memory_peak.py
    at 3,000 nodes x 16 channels; GRAND-l's attention makes the working set largest relative
    to a state)."""
    cfg = SolverConfig(method, step_size=0.25, auto_memory=True, memory_limit=100.0)
    ode, run = _epoch(spec, 1500, 16, cfg)
    if choice == "checkpoint":                 # a budget between checkpointing and direct
        run()
        e = ode.memory_estimate
        ode.config = SolverConfig(method, step_size=0.25, auto_memory=True,
                                  memory_limit=(e.direct + e.checkpoint) / 2 / 2 ** 30)
    peak = M.peak_after_plan(run)
    est = ode.memory_estimate
    assert est.choice == choice
    bytes_ = est.direct if choice == "direct" else est.checkpoint
    assert peak <= bytes_ <= most * peak, (peak, bytes_, est)
    with pytest.raises(SolverError, match="no auto_memory estimate"):
        M.peak_after_plan(lambda: None)


def test_choice_flips_to_checkpointing_where_direct_stops_fitting():
    """GRAND-l, rk4, 16 channels, one memory_limit L: the estimate of direct backpropagation
    grows linearly with the nodes; at 0.9x the size where it reaches L auto_memory keeps
    direct backpropagation and the epoch's peak stays under L; at 1.25x (the estimate exceeds
    GRAND-l's measured peak by up to 1.13x at 16 channels) it switches to checkpointing, whose
    peak stays under L, where direct backpropagation's peak (measured by forcing it) exceeds
    L. The saved bytes alone (the estimate before the working set was added) would still have
    chosen direct backpropagation there."""
    big = SolverConfig("rk4", step_size=0.25, auto_memory=True, memory_limit=100.0)
    ode, run = _epoch("grand", 1000, 16, big)
    run()
    e = ode.memory_estimate
    n_star = 2000
    limit = e.direct * n_star / 1000             # direct's estimate reaches L at about n_star
    cfg = SolverConfig("rk4", step_size=0.25, auto_memory=True, memory_limit=limit / 2 ** 30)
    peaks = {}
    for n, choice in ((int(0.9 * n_star), "direct"), (int(1.25 * n_star), "checkpoint")):
        ode, run = _epoch("grand", n, 16, cfg)
        peaks[n, choice] = M.peak_after_plan(run)
        assert ode.memory_estimate.choice == choice
        assert peaks[n, choice] <= limit
    est = ode.memory_estimate                    # at 1.25 n_star
    assert est.direct - est.work <= limit        # the saved bytes alone: "direct fits"
    ode, run = _epoch("grand", int(1.25 * n_star), 16, big)
    assert M.peak_after_plan(run) > limit
