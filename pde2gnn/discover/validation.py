"""Validation of a found spec: simulate it from held-out initial frames and compare (with a
plot)."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch

from pde2gnn.discover.data import Trajectories
from pde2gnn.discover.gram import _float64


def validate(spec_text: str, data: Trajectories, indices: Optional[Sequence[int]] = None,
             png: Optional[str] = None, nodes_in_plot: int = 4, rtol: float = 1e-6,
             atol: float = 1e-8) -> dict:
    """Simulate a (found) spec from the initial frames of held-out trajectories on the data's
    graph and compare with the data at the data's frame times.

    Args:
        spec_text: the spec (one field). data: trajectories; ``indices``: which (default
            ``data.test``, else the last 15 %). png: plot of data and simulation at a few nodes
            of the first trajectory.

    Returns:
        {'trajectories', 'rel_l2' (||x_sim - x|| / ||x|| over all held-out frames),
         'mae', 'rel_l2_per_trajectory', 'max_abs', 'nfe', 'seconds', 'png'}.

    Raises:
        SolverError: the found spec diverges.
    """
    from pde2gnn.compiler.pipeline import compile as compile_spec
    from pde2gnn.compiler.pipeline import front
    from pde2gnn.integrate.solve import ODEBlock, SolverConfig

    idx = np.asarray(indices if indices is not None else data.test, dtype=int)
    if idx.size == 0:
        B = data.shape[0]
        idx = np.arange(B - max(1, int(round(0.15 * B))), B)
    t0 = time.perf_counter()
    checked = front(spec_text)
    chan = next(iter(checked.fields.values())).channels
    x = data.frames[idx]                                               # [b, T, N]
    times = torch.tensor(data.times - data.times[0])
    inputs = {checked.domain.name: torch.tensor(data.pos)} if checked.domain else {}
    batched = isinstance(chan, str)            # node[d]: trajectories as channels, else batch axis
    with _float64(), torch.no_grad():
        vf = compile_spec(spec_text, torch.as_tensor(data.edge_index), data.shape[2],
                          {chan: len(idx)} if batched else None, None, inputs)
        y0 = torch.tensor(x[:, 0].T if batched else x[:, 0, :, None])  # [N, b] or [b, N, 1]
        block = ODEBlock(vf, float(times[-1]), SolverConfig("dopri5", rtol, atol,
                                                             max_nfe=200000))
        ys = block(y0, times)                                          # [T, N, b] / [T, b, N, 1]
        ys = (ys.permute(2, 0, 1) if batched else ys[..., 0].permute(1, 0, 2)).numpy()  # [b, T, N]
    err = ys - x
    per = np.sqrt((err ** 2).sum((1, 2)) / np.maximum((x ** 2).sum((1, 2)), 1e-300))
    out = {"trajectories": idx.tolist(),
           "rel_l2": float(np.sqrt((err ** 2).sum() / max((x ** 2).sum(), 1e-300))),
           "mae": float(np.abs(err).mean()), "max_abs": float(np.abs(err).max()),
           "rel_l2_per_trajectory": per.tolist(), "nfe": int(block.nfe_forward),
           "seconds": time.perf_counter() - t0}
    if png:
        plot_validation(data.times, x[0], ys[0], png, f"{checked.name}: held-out trajectory "
                        f"{int(idx[0])}, rel. L2 error {per[0]:.3g}", nodes_in_plot)
        out["png"] = str(png)
    return out


def plot_validation(times: np.ndarray, data: np.ndarray, sim: np.ndarray, path: str, title: str,
                    count: int = 4) -> None:
    """PNG: data (dots) and simulation (lines) at ``count`` nodes, ``data``/``sim`` ``[T, N]``,
    plus the error over time (max over nodes)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    nodes = np.linspace(0, data.shape[1] - 1, count).round().astype(int)
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
    for n, col in zip(nodes, plt.cm.tab10.colors):
        a.plot(times, data[:, n], "o", ms=3, color=col, label=f"node {n} data")
        a.plot(times, sim[:, n], "-", lw=1.2, color=col, label=f"node {n} found spec")
    a.set_xlabel("t")
    a.set_ylabel("x")
    a.legend(fontsize=6, ncol=2)
    b.semilogy(times, np.abs(sim - data).max(1) + 1e-16, "k-")
    b.set_xlabel("t")
    b.set_ylabel("max over nodes |x_found - x_data|")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
