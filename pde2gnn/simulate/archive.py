"""Writing a simulation's ``.npz`` (:func:`_write_archive`, the same for one run and for
merged shards), its PNG panels and its movie (:mod:`~pde2gnn.simulate.plots`)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, Optional

import numpy as np
import torch

from pde2gnn import provenance
from pde2gnn.simulate.config import SimulationConfig
from pde2gnn.simulate.plots import make_view, plot_fields, write_movie


def field_key(name: str, fields: Dict[str, int]) -> str:
    """The ``.npz`` key of a field's frames: ``frames`` for a spec with one field,
    ``frames_<name>`` for each of several."""
    return "frames" if len(fields) == 1 else f"frames_{name}"


def _write_archive(out, common: dict, frames: Dict[str, np.ndarray], extra: Dict[str, np.ndarray],
                   first: Optional[Dict[str, np.ndarray]], info: dict, timing: dict,
                   cfg: SimulationConfig, png, log) -> dict:
    """The ``.npz`` of the package docstring (:mod:`pde2gnn.simulate`) from the per-field frames
    ``{f: [B, T_all, M, C]}`` (with the protocol's long-horizon times after the first
    ``cfg.frames``), the per-trajectory ``extra`` arrays (``residual``, ``steady_time``,
    ``sum_<f>``), trajectory 0 on every node ``first`` (``{f: [T_all, N]}``, for the pictures)
    and the shared arrays; the same for one run and for merged shards. ``out`` None: nothing is
    written. Returns the meta dict with ``fields``, ``times`` (and ``sums``) added."""
    sampling = {k: common[k] for k in info["sampling_keys"]}
    times = common["times_all"]
    chans = info["fields"]
    keys = {f: field_key(f, chans) for f in chans}
    meta = {k: info[k] for k in ("spec", "graph", "nodes", "edges")}
    meta.update(timing)
    meta.update({"torch": torch.__version__, **provenance(str(common["spec"])),
                 "fields": {f: {"key": keys[f], "channels": c} for f, c in chans.items()},
                 # named axes of the arrays, e.g. xarray.DataArray(d["frames"], dims=...)
                 "dims": {**{keys[f]: ["trajectory", "time", "node"] + (["channel"] if c > 1
                                                                        else [])
                             for f, c in chans.items()},
                          "times": ["time"], "pos": ["node", "axis"],
                          "edge_index": ["endpoint", "edge"]},
                 "options": info["options"]})
    frames = {f: (v[..., 0] if chans[f] == 1 else v) for f, v in frames.items()}
    ex = {}
    if sampling:
        K = cfg.frames
        (f, v), = frames.items()
        ex = dict(sampling, long_times=times[K:-1], long_frames=v[:, K:-1],
                  fixed_point=v[:, -1], fixed_point_time=np.array(float(times[-1])),
                  fixed_point_residual=extra["residual"])
        frames, times = {f: v[:, :K]}, times[:K]
        first = {f: x[:K] for f, x in first.items()} if first is not None else None
        meta["protocol"] = {"name": cfg.protocol, "T": cfg.horizon,
                            **{k: len(v) for k, v in sampling.items()},
                            "fixed_point_residual": float(extra["residual"].max())}
    sums = {}
    if cfg.track_sum:
        sums = {f: (extra[f"sum_{f}"][..., 0] if chans[f] == 1 else extra[f"sum_{f}"])
                [:, :len(times)] for f in chans}
        ex.update({f"sum_{f}": v for f, v in sums.items()})
        meta["sum_drift"] = {f: _drift(v) for f, v in sums.items()}
    if cfg.steady_tol is not None:
        ex["steady_time"] = extra["steady_time"]
        meta["steady"] = {"tol": cfg.steady_tol, "stopped": int(np.isfinite(
            extra["steady_time"]).sum()), "latest": float(np.nanmax(extra["steady_time"]))
            if np.isfinite(extra["steady_time"]).any() else None}
    arrays = dict(**{keys[f]: v for f, v in frames.items()}, times=times,
                  node_index=common["node_index"], **ex,
                  edge_index=common["edge_index"], full_edge_index=common["full_edge_index"],
                  train=common["train"], val=common["val"], test=common["test"],
                  spec=common["spec"], meta=np.array(json.dumps(meta)))
    for k in ("pos", "full_pos", "cells"):
        if k in common:
            arrays[k] = common[k]
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(out, **arrays)
        meta["out"] = str(out)
    title = f"{info['spec']}: {info['graph']}"
    pictures = []
    if (png or cfg.movie) and first is not None:
        pos = common.get("full_pos")
        grid = cfg.n if cfg.graph == "grid" and not cfg.graph_file else None
        view = make_view(pos, common["full_edge_index"], grid, common.get("cells"),
                         mesh=cfg.graph == "delaunay" and not cfg.graph_file, seed=cfg.seed)
        if png:
            plot_fields(first, times, view, png, title)
            meta["png"] = str(png)
            pictures.append(str(png))
        if cfg.movie:
            mv = write_movie(first, times, view, cfg.movie, title, cfg.fps)
            meta["movie"] = mv
            pictures.append(f"{cfg.movie} ({mv['frames']} frames, {mv['writer']})")
    wall = timing.get("wall_seconds", 0.0)
    fields_txt = ", ".join(f"{f}[{c}]" if c > 1 else f for f, c in chans.items())
    log(f"{info['spec']} ({fields_txt}) on {info['graph']} ({info['nodes']} nodes, "
        f"{info['edges']} edges, scheme {timing['scheme'] or 'graph'}): {info['trajectories']} "
        f"trajectories x {len(times)} frames in {timing['solve_seconds']:.1f} s of solving "
        f"({timing['compile_seconds']:.1f} s compiling the spec, "
        + (f"{timing['torch_compile_seconds']:.1f} s compiling the step for --compile, "
           if timing.get("torch_compile_seconds") else "")
        + f"{wall:.1f} s total), NFE "
        f"{timing['nfe']} over {timing['solves']} solve(s)"
        + (f"; wrote {out}" if out else "") + (f", {', '.join(pictures)}" if pictures else ""))
    if sums:
        log("  sum over the nodes, largest |S(t) - S(0)| / max(|S(0)|, 1e-300) over "
            "trajectories: " + ", ".join(f"{f} {d:.3g}" for f, d in meta["sum_drift"].items()))
    if "steady" in meta:
        st = meta["steady"]
        log(f"  steady state (--steady-tol {st['tol']:g}): {st['stopped']} of "
            f"{info['trajectories']} trajectories stopped" + (
                f", the last at t = {st['latest']:.6g}" if st["latest"] is not None else ""))
    return {**meta, "fields": frames, "times": times, **({"sums": sums} if sums else {})}


def _drift(s: np.ndarray) -> float:
    """max over trajectories, times (and channels) of |S(t) - S(0)| / |S(0)|."""
    s0 = s[:, :1]
    return float((np.abs(s - s0) / np.maximum(np.abs(s0), 1e-300)).max())

