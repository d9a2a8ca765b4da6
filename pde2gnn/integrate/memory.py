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

:func:`choose` takes the cheapest in compute whose estimate fits: direct, else checkpointing,
else the adjoint (each only where the solver configuration allows it); the choice and its
numbers are logged on the ``pde2gnn`` logger. Available memory: ``memory_limit`` GiB if given,
else 80 % of the free memory of the state's device (``torch.cuda.mem_get_info`` on CUDA; the
host's available memory from psutil, or ``/proc/meminfo``, on CPU).
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Optional, Tuple

import torch
from torch import Tensor

from pde2gnn.integrate.tableaus import TABLEAUS

log = logging.getLogger("pde2gnn")

#: the part of the free memory a solve's backward may plan on
HEADROOM = 0.8


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


def estimate(method: str, steps: int, state: int, shared: int, per_eval: int,
             available: int) -> MemoryEstimate:
    """The estimates of :class:`MemoryEstimate` for ``steps`` steps of ``method`` (a
    :data:`~pde2gnn.integrate.tableaus.TABLEAUS` name), all sizes in bytes."""
    tab = TABLEAUS[method]
    S = tab.stages
    evals = 2 + (S - 1) * steps if tab.adaptive and tab.fsal else \
        2 + S * steps if tab.adaptive else S * steps
    kept = evals - 1 if tab.adaptive else evals       # the initial-step probe is detached
    return MemoryEstimate(
        state, shared, per_eval, S, steps, evals, direct=shared + kept * per_eval,
        checkpoint=None if tab.adaptive else shared + steps * state + S * per_eval,
        adjoint=shared + 3 * (S + 2) * state + per_eval, available=available)


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


def available_bytes(device, limit_gib: Optional[float] = None) -> int:
    """The memory budget of a solve on ``device``: ``limit_gib`` GiB, else :data:`HEADROOM`
    of the device's free memory."""
    if limit_gib is not None:
        return int(limit_gib * 2 ** 30)
    device = torch.device(device)
    if device.type == "cuda":
        free = torch.cuda.mem_get_info(device)[0]
    else:
        try:
            import psutil
            free = psutil.virtual_memory().available
        except ImportError:
            with open("/proc/meminfo") as fh:
                info = dict(line.split(":", 1) for line in fh)
            free = int(info["MemAvailable"].split()[0]) * 1024
    return int(HEADROOM * free)


def steps_of(method: str, time: float, step_size: Optional[float],
             first_step: Optional[float] = None) -> int:
    """Steps of a solve over ``time``: ``ceil(time / step_size)`` for a fixed step (one step
    without it), ``ceil(time / first_step)`` for an adaptive method (its initial step: an
    upper bound when steps grow, as they do on diffusive dynamics)."""
    h = first_step if TABLEAUS[method].adaptive else step_size
    return max(1, math.ceil(abs(time) / h - 1e-9)) if h else 1
