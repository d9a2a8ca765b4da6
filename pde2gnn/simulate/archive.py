"""Writing a simulation's ``.npz`` (:func:`_write_archive`, the same for one run and for
merged shards) and its PNG preview (:func:`plot_frames`)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from .. import provenance
from .config import SimulationConfig


def _write_archive(out, common: dict, frames: np.ndarray, residual: np.ndarray, first,
                   info: dict, timing: dict, cfg: SimulationConfig, png, log) -> dict:
    """The ``.npz`` of the package docstring (:mod:`pde2gnn.simulate`) from the frames
    ``[B, T_all, M]`` (with the protocol's long-horizon times after the first ``cfg.frames``)
    and the shared arrays; the same for one run and for merged shards."""
    sampling = {k: common[k] for k in info["sampling_keys"]}
    times = common["times_all"]
    meta = {k: info[k] for k in ("spec", "graph", "nodes", "edges")}
    meta.update(timing)
    meta.update({"torch": torch.__version__, **provenance(str(common["spec"])),
                 # named axes of the arrays, e.g. xarray.DataArray(d["frames"], dims=...)
                 "dims": {"frames": ["trajectory", "time", "node"], "times": ["time"],
                          "pos": ["node", "axis"], "edge_index": ["endpoint", "edge"]},
                 "options": info["options"]})
    extra = {}
    if sampling:
        K = cfg.frames
        extra = dict(sampling, long_times=times[K:-1], long_frames=frames[:, K:-1],
                     fixed_point=frames[:, -1], fixed_point_time=np.array(float(times[-1])),
                     fixed_point_residual=residual)
        frames, times = frames[:, :K], times[:K]
        first = first[:K] if first is not None else None
        meta["protocol"] = {"name": cfg.protocol, "T": cfg.horizon,
                            **{k: len(v) for k, v in sampling.items()},
                            "fixed_point_residual": float(residual.max())}
    arrays = dict(frames=frames, times=times, node_index=common["node_index"], **extra,
                  edge_index=common["edge_index"], full_edge_index=common["full_edge_index"],
                  train=common["train"], val=common["val"], test=common["test"],
                  spec=common["spec"], meta=np.array(json.dumps(meta)))
    if "pos" in common:
        arrays.update(pos=common["pos"], full_pos=common["full_pos"])
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **arrays)
    meta["out"] = str(out)
    pos = common.get("full_pos")
    if png and first is not None:
        plot_frames(first, times, pos, cfg, png, f"{info['spec']}: {info['graph']}")
        meta["png"] = str(png)
    wall = timing.get("wall_seconds", 0.0)
    log(f"{info['spec']} on {info['graph']} ({info['nodes']} nodes, {info['edges']} edges, "
        f"scheme {timing['scheme'] or 'graph'}): {info['trajectories']} trajectories x "
        f"{cfg.frames} frames in {timing['solve_seconds']:.1f} s of solving "
        f"({timing['compile_seconds']:.1f} s compiling, {wall:.1f} s total), NFE "
        f"{timing['nfe']} over {timing['solves']} solve(s); wrote {out}")
    return meta


# ---------------------------------------------------------------------------------------------

def plot_frames(frames: np.ndarray, times: np.ndarray, pos: Optional[np.ndarray],
                cfg: SimulationConfig, path: str, title: str, count: int = 5) -> None:
    """PNG of ``count`` frames of one trajectory (``frames`` ``[T, N]``), matplotlib Agg."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ks = np.unique(np.linspace(0, len(times) - 1, count).round().astype(int))
    fig, axes = plt.subplots(1, len(ks), figsize=(3 * len(ks), 3), squeeze=False)
    lo, hi = np.percentile(frames, 1), np.percentile(frames, 99)
    order = np.argsort(frames[0])
    for ax, k in zip(axes[0], ks):
        if pos is not None and pos.shape[1] == 2 and cfg.graph == "grid":
            img = frames[k].reshape(cfg.n, cfg.n).T
            ax.imshow(img, origin="lower", vmin=lo, vmax=hi, cmap="RdBu_r",
                      extent=(pos[:, 0].min(), pos[:, 0].max(), pos[:, 1].min(), pos[:, 1].max()))
        elif pos is not None and pos.shape[1] >= 2:
            ax.scatter(pos[:, 0], pos[:, 1], c=frames[k], s=4, vmin=lo, vmax=hi, cmap="RdBu_r")
            ax.set_aspect("equal")
        else:
            ax.plot(frames[k][order], lw=0.8)
            ax.set_ylim(lo, hi)
            ax.set_xlabel("node (sorted by f at t = 0)")
        ax.set_title(f"t = {times[k]:.3g}")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
