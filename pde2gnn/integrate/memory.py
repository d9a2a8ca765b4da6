"""How much memory the backward pass of a solve needs, and the gradient method that fits
(``SolverConfig(auto_memory=True)``, optionally with ``memory_limit`` in GiB).

Backpropagating through an explicit Runge-Kutta solve keeps what each evaluation of the field
saves for autograd. One probe (:func:`saved_bytes`) evaluates the field twice at distinct states
under ``torch.autograd.graph.saved_tensors_hooks`` and splits the saved storages into *shared*
ones (seen in both: parameters, fused sparse matrices, attention fixed per solve), kept once
per solve, and *per-evaluation* ones (the stage state and anything computed from it). With S
stages, n steps and state bytes s:

- direct backpropagation keeps ``shared + K(n) * per_eval``, K(n) the evaluations whose graph
  the solution still references: S n for a fixed-step method; for an adaptive one its
  E(n) = 2 + (S - 1) n evaluations (first same as last) less the initial-step probe, which is
  detached, i.e. 1 + (S - 1) n (rejected steps' graphs are freed);
- per-step checkpointing (Chen et al. 2016, "Training deep nets with sublinear memory cost";
  fixed-step methods) keeps ``shared + n * s`` (each step's input state), and recomputes one
  step at a time in the backward pass: ``+ S * per_eval``;
- the adjoint method (Chen et al. 2018, "Neural ordinary differential equations") keeps no
  graph: ``shared + 3 (S + 2) s + per_eval`` for the augmented backward solve (state, adjoint
  and their stages; an upper bound, independent of n).

Those are the bytes *saved*; the backward pass holds more at its peak. The peak of live tensor
bytes (:func:`peak_after_plan`: from the estimate to the end of an epoch's backward pass,
encoder -> solve -> decoder -> loss; ``benchmarks/memory_peak.py``) is, for heat with direct
backpropagation, exactly K(n) per_eval + (S + 2) s (euler, midpoint, rk4; 16 and 64 channels:
the cotangents of the S stages and of the state, and the solution kept by the next layer); for
GRAND-l it exceeds the saved bytes by up to 7.7 states at 16 channels and 6.4 at 64 (the
backward of its attention, prepared once per solve: queries, keys, edge arrays), and with
checkpointing by up to 2 S + 0.8 states. So every estimate adds a working set
(:func:`working_set`): (S + 4) s + 4 shared for direct backpropagation and the adjoint,
(2 S + 2) s + 4 shared for checkpointing, which covered every case measured (estimate / peak
1.005-1.27 for GRAND-l, 1.13-1.9 for heat).

:func:`choose` takes the cheapest in compute whose estimate fits: direct, else checkpointing,
else the adjoint (each only where the solver configuration allows it); the choice and its
numbers are logged on the ``pde2gnn`` logger. Available memory: ``memory_limit`` GiB if given,
else 80 % of the free memory of the state's device (``torch.cuda.mem_get_info`` on CUDA; the
host's available memory from psutil, or ``/proc/meminfo``, on CPU).

An adaptive method's step count is known only after the solve: where its steps shrink (a stiff
or blowing-up flow) the graph outgrows the estimate, so every solve that records a backward
graph runs under a :class:`MemoryGuard`. Under ``auto_memory`` it holds the estimate's budget
in evaluations, (available - shared - working set) / per_eval, and raises :class:`OverBudget`
past it; the ``ODEBlock`` then solves again with the adjoint (logged). Otherwise it looks at
the device's free memory every :data:`CHECK_EVERY` evaluations and raises a
:class:`SolverError` naming the remedies when less than :data:`MIN_FREE` of the total is left
and the solve itself took at least half of what was free at its first look: a clear error
instead of the kernel's OOM killer.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from typing import Optional, Tuple

import torch
from torch import Tensor

from pde2gnn.errors import SolverError
from pde2gnn.integrate.solver_config import TORCHDIFFEQ_METHODS
from pde2gnn.integrate.tableaus import TABLEAUS

log = logging.getLogger("pde2gnn")

#: the part of the free memory a solve's backward may plan on
HEADROOM = 0.8
#: a solve recording a backward graph stops when less than this fraction of the device's memory
#: is free (and it took at least half of what was free at its start: :class:`MemoryGuard`)
MIN_FREE = 0.05


def working_set(stages: int, state: int, shared: int, checkpoint: bool = False) -> int:
    """Bytes the backward pass holds beyond the saved ones (module docstring): (S + 4) states
    for direct backpropagation and the adjoint, (2 S + 2) with per-step checkpointing (the
    recomputed step's S stage values as well), and 4 x the shared storages (the gradients of
    what the field prepared once per solve: an attention's scores, softmax and values); S
    stages, ``state`` and ``shared`` in bytes. Measured bounds, not a derivation from the code."""
    return (2 * stages + 2 if checkpoint else stages + 4) * state + 4 * shared


#: the profiler range of :func:`plan`
PLAN_MARK = "auto_memory.plan"
#: evaluations between two looks of :class:`MemoryGuard` at the free memory (the first look, at
#: this many evaluations, records what is free; a look costs about 30-100 us, psutil)
CHECK_EVERY = 16


def _storage(t: Tensor) -> Tuple[int, int]:
    s = t.untyped_storage()
    return s.data_ptr(), s.nbytes()


def saved_bytes(field, y: Tensor, t: float = 0.0) -> Tuple[int, int]:
    """``(shared, per_eval)`` bytes that autograd keeps from evaluations of ``field`` (called
    as ``field(t, y)``, prepared): two probes at y and 1.5 y + 1 with grad; storages saved by
    both are shared, the others per evaluation (their bytes over the two probes, halved)."""
    seen = []
    for k, y_k in enumerate((y, 1.5 * y.detach() + 1.0)):
        found = {}

        def pack(x):
            if torch.is_tensor(x):
                ptr, n = _storage(x)
                found[ptr] = n
            return x
        y_k = y_k.detach().requires_grad_(True)
        with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(pack, lambda x: x):
            field(torch.tensor(t, dtype=y.dtype, device=y.device), y_k)
        seen.append(found)
    shared = {p: n for p, n in seen[0].items() if p in seen[1]}
    per_eval = sum(n for d in seen for p, n in d.items() if p not in shared) // 2
    return sum(shared.values()), per_eval


@dataclass
class MemoryEstimate:
    """Bytes each gradient method keeps for the backward pass of one solve (module docstring).

    Attributes:
        state, shared, per_eval: bytes of the state, of the storages kept once per solve, and
            of those kept per evaluation.
        stages, steps, evaluations: the method's stages, the (estimated) steps, E(n).
        direct, checkpoint, adjoint: the estimates (``checkpoint`` None for an adaptive method).
        available: the budget compared against; choice: ``direct``, ``checkpoint``, ``adjoint``.
        work: the working set of direct backpropagation and the adjoint in bytes
            (:func:`working_set`; checkpointing's is larger and included in ``checkpoint``).
    """
    state: int
    shared: int
    per_eval: int
    stages: int
    steps: int
    evaluations: int
    direct: int
    checkpoint: Optional[int]
    adjoint: int
    available: int
    choice: str = "direct"
    work: int = 0

    def fitting(self) -> int:
        """Evaluations whose graphs fit ``available`` beside the shared storages and the
        backward pass's working set (>= 0)."""
        return max(0, (self.available - self.shared - self.work) // max(self.per_eval, 1))


def estimate(method: str, steps: int, state: int, shared: int, per_eval: int,
             available: int) -> MemoryEstimate:
    """The estimates of :class:`MemoryEstimate` for ``steps`` steps of ``method`` (a
    :data:`~pde2gnn.integrate.tableaus.TABLEAUS` name), all sizes in bytes: the saved bytes of
    each method plus its backward pass's working set (:func:`working_set`; module
    docstring)."""
    tab = TABLEAUS[method]
    S = tab.stages
    evals = 2 + (S - 1) * steps if tab.adaptive and tab.carries_last else \
        2 + S * steps if tab.adaptive else S * steps
    kept = evals - 1 if tab.adaptive else evals       # the initial-step probe is detached
    work, work_cp = working_set(S, state, shared), working_set(S, state, shared, True)
    return MemoryEstimate(
        state, shared, per_eval, S, steps, evals, direct=shared + kept * per_eval + work,
        checkpoint=None if tab.adaptive else shared + steps * state + S * per_eval + work_cp,
        adjoint=shared + 3 * (S + 2) * state + per_eval + work, available=available,
        work=work)


def choose(est: MemoryEstimate, can_checkpoint: bool, can_adjoint: bool) -> MemoryEstimate:
    """Set ``est.choice``: direct if it fits ``est.available``, else checkpointing, else the
    adjoint (the allowed one with the smallest estimate when nothing fits); logged."""
    options = [("direct", est.direct)]
    if can_checkpoint and est.checkpoint is not None:
        options.append(("checkpoint", est.checkpoint))
    if can_adjoint:
        options.append(("adjoint", est.adjoint))
    fits = [name for name, b in options if b <= est.available]
    est.choice = fits[0] if fits else min(options, key=lambda o: o[1])[0]
    gib = 2.0 ** 30
    log.info("auto_memory: %d steps x %d stages, state %.3g MiB, kept per evaluation %.3g MiB, "
             "shared %.3g MiB; backward needs direct %.3g GiB, checkpoint %s, adjoint %.3g GiB "
             "against %.3g GiB available -> %s%s", est.steps, est.stages, est.state / 2 ** 20,
             est.per_eval / 2 ** 20, est.shared / 2 ** 20, est.direct / gib,
             "-" if est.checkpoint is None else f"{est.checkpoint / gib:.3g} GiB",
             est.adjoint / gib, est.available / gib, est.choice,
             "" if fits else " (nothing fits: the smallest)")
    return est


def free_and_total(device) -> Tuple[int, int]:
    """``(free, total)`` bytes of ``device``: ``torch.cuda.mem_get_info`` on CUDA; on a CPU the
    host's available and total memory (psutil, else ``/proc/meminfo``)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)
    try:
        import psutil
        vm = psutil.virtual_memory()
        return vm.available, vm.total
    except ImportError:
        with open("/proc/meminfo") as fh:
            info = dict(line.split(":", 1) for line in fh)
        return tuple(int(info[k].split()[0]) * 1024 for k in ("MemAvailable", "MemTotal"))


def available_bytes(device, limit_gib: Optional[float] = None) -> int:
    """The memory budget of a solve on ``device``: ``limit_gib`` GiB, else :data:`HEADROOM`
    of the device's free memory."""
    if limit_gib is not None:
        return int(limit_gib * 2 ** 30)
    return int(HEADROOM * free_and_total(device)[0])


class OverBudget(SolverError):
    """``auto_memory``: an adaptive solve's graph outgrew the estimate's budget (its steps
    shrank); the ``ODEBlock`` solves again with the adjoint."""


class MemoryGuard:
    """The memory guard of one solve that records a backward graph (module docstring).

    Args:
        name: how messages name the ODE.
        device: the state's device.
        budget: ``auto_memory``: the evaluations whose graphs fit (:meth:`MemoryEstimate.
            fitting`); None: watch the device's free memory instead.

    ``check(t, n)`` is called before each evaluation (``n`` evaluations at once: an affine
    field's Krylov step), at time ``t``; ``nfe`` counts them. It does nothing while grad is
    disabled (a solve under ``no_grad``, or the adjoint's).

    Raises:
        OverBudget: more than ``budget`` evaluations kept (``nfe - 1``: the initial-step probe
            of an adaptive method keeps no graph; rejected steps are counted too, an upper
            bound).
        SolverError: without a budget, the free memory under :data:`MIN_FREE` of the total
            after the solve took at least half of what was free at its first look
            (:data:`CHECK_EVERY` evaluations in).
    """

    def __init__(self, name: str, device, budget: Optional[int] = None):
        self.name, self.device, self.budget = name, torch.device(device), budget
        self.free0, self.nfe, self._look = None, 0, CHECK_EVERY

    def check(self, t, n: int = 1) -> None:
        if not torch.is_grad_enabled():
            return
        self.nfe += n
        nfe = self.nfe
        if self.budget is not None:
            if nfe - 1 > self.budget:
                raise OverBudget(f"the solve of {self.name} kept the graphs of {nfe - 1} "
                                 f"evaluations by t = {float(t):.4g}, more than the {self.budget}"
                                 " that fit auto_memory's budget")
            return
        if nfe < self._look:
            return
        self._look = nfe + CHECK_EVERY
        free, total = free_and_total(self.device)
        if self.free0 is None:          # a short solve never looks
            self.free0 = free
        elif free < MIN_FREE * total and self.free0 - free >= 0.5 * self.free0:
            gib = 2.0 ** 30
            raise SolverError(
                f"the solve of {self.name} is running out of memory: after {nfe} evaluations "
                f"(t = {float(t):.4g}) its backward graph took {(self.free0 - free) / gib:.3g} "
                f"GiB and {free / gib:.3g} of {total / gib:.3g} GiB are left on "
                f"{self.device.type}; the steps shrank (a stiff or blowing-up flow, or a long "
                "time). Set auto_memory = true (it switches to the adjoint or checkpointing), "
                "use a fixed-step method with checkpoint, or shorten the time")


def steps_of(method: str, time: float, step_size: Optional[float],
             first_step: Optional[float] = None) -> int:
    """Steps of a solve over ``time``: ``ceil(time / step_size)`` for a fixed step (one step
    without it), ``ceil(time / first_step)`` for an adaptive method (its initial step: an
    upper bound when steps grow, as they do on diffusive dynamics)."""
    h = first_step if TABLEAUS[method].adaptive else step_size
    return max(1, math.ceil(abs(time) / h - 1e-9)) if h else 1


def plan(field, cfg, y0: Tensor, t: Tensor):
    """``auto_memory``: ``(estimate, cfg)`` for one solve of ``field`` from ``y0`` over the
    times ``t`` with the :class:`~pde2gnn.integrate.solver_config.SolverConfig` ``cfg``: the
    :class:`MemoryEstimate` (steps from the step size, or an adaptive method's initial step) and
    ``cfg`` with the chosen checkpoint / adjoint set and auto_memory unset. Runs inside a
    ``torch.profiler.record_function`` range named :data:`PLAN_MARK` (:func:`peak_after_plan`)."""
    with torch.profiler.record_function(PLAN_MARK):
        return _plan(field, cfg, y0, t)


def _plan(field, cfg, y0: Tensor, t: Tensor):
    from pde2gnn.integrate.rk import _initial_step
    tab = TABLEAUS[cfg.method]
    shared, per_eval = saved_bytes(field, y0, float(t[0]))
    first = None
    if tab.adaptive:    # with grad: a field prepared from a y(0) with grad refuses no_grad
        f = lambda s, y: field(torch.full((), s, dtype=y.dtype,  # noqa: E731
                                          device=y.device), y.detach()).detach()
        first = _initial_step(f, float(t[0]), y0.detach(), f(float(t[0]), y0), tab.order,
                              cfg.rtol, cfg.atol)
    steps = steps_of(cfg.method, float(t[-1] - t[0]), cfg.step_size, first)
    est = estimate(cfg.method, steps, y0.numel() * y0.element_size(), shared, per_eval,
                   available_bytes(y0.device, cfg.memory_limit))
    choose(est, not tab.adaptive, cfg.method in TORCHDIFFEQ_METHODS)
    return est, replace(cfg, auto_memory=False, memory_limit=None,
                        checkpoint=est.choice == "checkpoint", adjoint=est.choice == "adjoint")


def peak_after_plan(run) -> int:
    """The peak of live tensor bytes on the CPU during ``run()`` (a callable: e.g. an epoch's
    forward and backward pass) above what was live when its first :func:`plan` ended, i.e.
    what ``auto_memory``'s estimate must cover: every allocation and free of torch's CPU
    allocator, from ``torch.profiler``'s memory timeline (``profile_memory=True``; a diagnostic
    for tests and benchmarks, slow on large graphs).

    Raises:
        SolverError: ``run()`` made no ``auto_memory`` estimate.
    """
    from torch.profiler import ProfilerActivity, profile
    from torch.profiler import _memory_profiler as mp
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        run()
    res = prof.profiler.kineto_results
    ends = [e.end_ns() for e in res.events() if e.name() == PLAN_MARK]
    if not ends:
        raise SolverError("peak_after_plan: the run made no auto_memory estimate")
    live, peak, ref = 0, 0, None
    for t, action, _, nbytes in mp.MemoryProfile(res).timeline:
        if ref is None and t >= ends[0]:
            ref = peak = live
        live += {mp.Action.CREATE: nbytes, mp.Action.DESTROY: -nbytes}.get(action, 0)
        if ref is not None:
            peak = max(peak, live)
    return 0 if ref is None else peak - ref


def guard_for(cfg, est: Optional[MemoryEstimate], device, name: str) -> Optional[MemoryGuard]:
    """The :class:`MemoryGuard` of a solve with grad under ``cfg``: the budget of ``est`` (the
    ``auto_memory`` estimate) where it chose direct backpropagation of an adaptive method, else
    the free-memory floor; None for an adjoint solve (its forward keeps no graph)."""
    if cfg.adjoint:
        return None
    adaptive = cfg.method in TABLEAUS and TABLEAUS[cfg.method].adaptive
    budget = est.fitting() if est is not None and est.choice == "direct" and adaptive else None
    return MemoryGuard(name, device, budget)


def guarded(func, guard: Optional[MemoryGuard], n: int = 1):
    """``func(t, ...)`` with ``guard.check(t, n)`` before each call: ``n`` evaluations per call
    (the S - 1 of an affine field's Krylov step); ``func`` itself without a guard."""
    if guard is None or func is None:
        return func

    def f(t, *args):
        guard.check(t, n)
        return func(t, *args)
    return f
