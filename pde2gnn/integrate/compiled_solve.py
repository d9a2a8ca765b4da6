"""Fixed-step solves on a :class:`~pde2gnn.integrate.compiled.CompiledStep`: the step grid of
:func:`pde2gnn.integrate.rk.rk_solve`, several steps per compiled call, linear interpolation to
output times between grid points (re-exported by :mod:`pde2gnn.integrate.compiled`)."""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import torch
from torch import Tensor

from pde2gnn.errors import OptionError, SolverError
from pde2gnn.integrate.rk import step_grid
from pde2gnn.integrate.tableaus import TABLEAUS


def solve_fixed(step, y0: Tensor, t: Sequence[float],
                step_size: Optional[float] = None, max_nfe: Optional[int] = None,
                name: str = "the ODE") -> Tuple[Tensor, int]:
    """Integrate with a fixed-step method on its compiled step: the grid of
    :func:`pde2gnn.integrate.rk.rk_solve` (the output times, or ``step_size`` steps ending on the last
    time) and linear interpolation to output times between grid points.

    Args:
        step: the compiled step (its field prepared for y0).
        y0: the initial state. t: increasing output times (floats or a 1-D tensor).
        step_size: the grid step (None: the output times are the grid). max_nfe: the guard.

    Returns:
        ``ys [len(t), *y0.shape]`` and the number of evaluations (stages x steps).

    Raises:
        OptionError: output times not increasing, or an adaptive method.
        SolverError: more than ``max_nfe`` evaluations.
    """
    if TABLEAUS[step.method].adaptive:
        raise OptionError(f"solve_fixed takes fixed-step methods, got '{step.method}'")
    ts = [float(v) for v in (t.tolist() if torch.is_tensor(t) else t)]
    if len(ts) < 1 or any(b <= a for a, b in zip(ts, ts[1:])):
        raise OptionError(f"output times must be strictly increasing, got {ts}")
    grid = step_grid(ts, step_size)
    stages = len(step.uses)
    if max_nfe is not None and stages * (len(grid) - 1) > max_nfe:
        raise SolverError(f"the solve of {name} would exceed max_nfe = {max_nfe} function "
                          f"evaluations ({len(grid) - 1} steps of {stages}): use a larger "
                          "step size")
    step.new_solve()
    t0s = torch.tensor(grid[:-1], dtype=y0.dtype, device=y0.device)
    dts = torch.tensor([b - a for a, b in zip(grid[:-1], grid[1:])], dtype=y0.dtype,
                       device=y0.device)
    k = step.block_size(len(grid) - 1)
    out, j, at = [y0], 1, 0
    while at < len(grid) - 1:
        take = min(k, len(grid) - 1 - at)
        if k == 1:
            ys = (step(t0s[at], dts[at], y0)[0],)
        else:                   # the last block padded with steps of size 0 (outputs unused)
            pad = k - take
            ys = step.steps(torch.cat([t0s[at:at + take], t0s[-1:].expand(pad) + dts[-1:]])
                            if pad else t0s[at:at + k],
                            torch.cat([dts[at:at + take], dts.new_zeros(pad)])
                            if pad else dts[at:at + k], y0)[:take]
        for m, y1 in enumerate(ys):
            t0, t1 = grid[at + m], grid[at + m + 1]
            while j < len(ts) and t1 >= ts[j]:
                if ts[j] == t1:
                    out.append(y1)
                else:
                    out.append(torch.lerp(y0, y1, (ts[j] - t0) / (t1 - t0)))
                j += 1
            y0 = y1
        at += take
    return torch.stack(out), stages * (len(grid) - 1)
