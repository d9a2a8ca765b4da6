"""CPU threads chosen by problem size: one thread for small problems unless told otherwise.

On a graph of a few hundred nodes one evaluation of a vector field is tens of microseconds of
arithmetic; splitting it over OpenMP threads costs a fork / join per kernel and, when another
process holds the second core, a wait on that core for nothing (issue 40: ``nsd_bundle`` on
Texas ran at 1.035 s per epoch with two threads on a busy machine, 0.023 s on an idle one).
The rule, in one place: the work of one evaluation is ``(E + N) * channels`` (the non-zeros of
the sparse operator times the state's width, batch included); below :data:`SMALL_WORK` torch
runs on one thread, above it on the threads it started with. ``--threads N`` wins.

Only the command line opts in (:func:`request`); a library user's ``torch.set_num_threads``
is never changed. :func:`fit` is called by :meth:`VectorField.prepare` at every solve and logs
a line when it changes the number.

Importing this module does not import torch (``pde2gnn check`` imports the command module and
starts without torch): torch is imported, and the number it started with read, at the first
call that needs them, before any call here changes it.
"""
from __future__ import annotations

from typing import Optional

#: (E + N) x channels per evaluation below which one thread is used. Measured on this
#: project's 2-core machine under load (heat, float64): 3.6e4 -> two threads 1.14x slower
#: than one, 3.5e5 -> 0.79x, 1.4e6 -> 0.61x (benchmarks/scale.py prints its own table).
SMALL_WORK = 1 << 17

_mode: Optional[int] = None          # None: not the CLI, leave torch alone; 0: auto; n: fixed
_default: Optional[int] = None      # what torch started with (OMP_NUM_THREADS or the cores)
_chosen: Optional[int] = None


def _torch():
    """torch, imported now; the first call records the threads it started with."""
    global _default
    import torch
    if _default is None:
        _default = torch.get_num_threads()
    return torch


def request(threads: int, log=print) -> None:
    """The command line's ``--threads``: ``n > 0`` fixes n threads now; 0 chooses by problem
    size at every solve (:func:`fit`).

    Raises:
        OptionError: a negative number.
    """
    from pde2gnn.options import RULES
    global _mode, _chosen
    threads = RULES["threads"].check("--threads", threads)   # the shared option rule
    _mode, _chosen = threads, None
    if threads:
        _torch().set_num_threads(threads)
        log(f"threads: {threads} (--threads)")


def choose(work: int) -> int:
    """Threads for one evaluation of ``work`` = (E + N) x channels: 1 below
    :data:`SMALL_WORK`, else the threads torch started with."""
    _torch()
    return 1 if work < SMALL_WORK else _default


def fit(num_edges: int, num_nodes: int, width: int, log=print) -> None:
    """In the command line's automatic mode, set the threads for a solve of a state of
    ``width`` channels (batch included) on a graph of ``num_edges`` edges and ``num_nodes``
    nodes (:func:`choose`), and log the choice when it changes; otherwise do nothing."""
    global _chosen
    if _mode != 0:
        return
    work = (num_edges + num_nodes) * width
    n = choose(work)
    if n != _chosen:
        _chosen = n
        _torch().set_num_threads(n)
        side = "below" if work < SMALL_WORK else "at least"
        log(f"threads: {n} ((E + N) x channels = {work:.3g} per evaluation, {side} "
            f"{SMALL_WORK:.3g}; --threads N to override)")
