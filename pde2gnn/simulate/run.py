"""One simulation (:func:`simulate`): compile the spec on the graph, solve the trajectories in
chunks of ``batch`` and write the ``.npz`` (or, with ``--shard``, this shard's chunks)."""
from __future__ import annotations

import math
import time
from dataclasses import asdict, replace
from typing import Callable, Dict, Optional

import numpy as np
import torch

from .. import graphs
from ..errors import OptionError
from .archive import _write_archive
from .config import SimulationConfig, ndcn_sampling
from .initial import build_graph, initial_conditions
from .particles import simulate_particles
from .shards import _check_shard, _open_shard, _save_atomic, shard_path


def simulate(spec, out: str, cfg: Optional[SimulationConfig] = None, png: Optional[str] = None,
             progress: bool = True, log: Callable[[str], None] = print) -> dict:
    """Simulate ``cfg.trajectories`` trajectories of a spec and write them to ``out`` (.npz).

    Returns a summary dict (nodes, edges, scheme, NFE, wall time, output paths).

    Raises:
        OptionError: options that do not fit the spec; DataError: unreadable data;
        SolverError: a solve that diverges or exceeds its evaluation budget.
    """
    from tqdm.auto import tqdm

    from ..compiler import compile as compile_spec
    from ..compiler import load, stages
    from ..solve import ODEBlock, SolverConfig

    cfg = cfg or SimulationConfig()
    t_start = time.perf_counter()
    parsed = load(spec)
    ir = stages(parsed).lowered          # dimensions and params still symbols
    if cfg.graph == "complete" or cfg.ic == "charged":
        return simulate_particles(parsed, ir, out, cfg, progress, log)
    if len(ir.rhs) != 1:
        raise OptionError(f"simulate needs a spec with one field, '{ir.name}' has "
                          f"{len(ir.rhs)}")
    fname = next(iter(ir.rhs))
    chan = ir.symbols[fname].type.channels
    if isinstance(chan, int) and chan != 1:
        raise OptionError(f"field '{fname}' has {chan} fixed channels: write it as node[d] so "
                          "trajectories can be batched as channels, or with one channel")
    sampling = ndcn_sampling(cfg.protocol, cfg.seed) if cfg.protocol else None
    if sampling is not None:
        if cfg.horizon <= 0:
            raise OptionError(f"the protocol's horizon T must be positive, got {cfg.horizon}")
        frames = int(sampling.pop("frames"))
        cfg = replace(cfg, frames=frames, dt=cfg.horizon / (frames - 1), sample=0)
    if cfg.frames < 2 or cfg.dt <= 0 or cfg.trajectories < 1:
        raise OptionError("need frames >= 2, dt > 0 and at least one trajectory")
    dtype = {"float64": torch.float64, "float32": torch.float32}.get(cfg.dtype)
    if dtype is None:
        raise OptionError(f"dtype must be float64 or float32, got {cfg.dtype}")
    rng = np.random.default_rng(cfg.seed)
    B = cfg.trajectories
    batch = 1 if chan == 1 else max(1, min(cfg.batch, B))
    dims = {**cfg.dims, **({chan: batch} if isinstance(chan, str) else {})}
    domain = ir.bind(dims, cfg.params).constants.domain
    box = domain.box if domain else None
    pos, ei, desc = build_graph(cfg, box, rng)
    n = int(pos.shape[0]) if pos is not None else cfg.nodes if cfg.graph in graphs.NDCN_GRAPHS \
        else int(ei.max()) + 1
    times = torch.arange(cfg.frames, dtype=dtype) * cfg.dt
    if sampling is not None:   # long-horizon checks: the truth on (T, 4T] and at the fixed point
        T = float(times[-1])
        long_times = T * (1 + torch.arange(1, 61, dtype=dtype) / 20)             # [60], to 4T
        fp_time = cfg.fixed_point_time or 20 * T
        times = torch.cat([times, long_times, torch.tensor([fp_time], dtype=dtype)])
    f0 = initial_conditions(cfg, pos, box, n, B, rng)
    if cfg.sample and cfg.graph not in graphs.NDCN_GRAPHS:
        if pos is None:
            raise OptionError("--sample needs node coordinates (kNN); use --sample 0")
        node_index, sub_ei = graphs.subgraph_knn(pos, cfg.sample, cfg.sample_k, rng)
    else:
        node_index, sub_ei = np.arange(n), ei
    perm = rng.permutation(B)
    n_tr = int(round(cfg.split[0] * B))
    n_va = int(round(cfg.split[1] * B))
    np_dtype = np.float64 if cfg.dtype == "float64" else np.float32
    # everything of the archive but the frames: the same in every shard of a run
    common = dict(times_all=times.numpy(), node_index=node_index,
                  edge_index=np.asarray(sub_ei), full_edge_index=np.asarray(ei),
                  train=perm[:n_tr], val=perm[n_tr:n_tr + n_va], test=perm[n_tr + n_va:],
                  spec=np.array(parsed.source), **(sampling or {}))
    if pos is not None:
        common.update(pos=pos[node_index], full_pos=pos)
    info = {"spec": ir.name, "graph": desc, "nodes": n, "edges": int(ei.shape[1]),
            "trajectories": B, "batch": batch, "chunks": math.ceil(B / batch),
            "sampling_keys": sorted(sampling or {}), "dtype": cfg.dtype,
            "options": {k: (list(v) if isinstance(v, tuple) else v)
                        for k, v in asdict(replace(cfg, shard=None)).items()}}
    starts = list(range(0, B, batch))                # chunk c: trajectories starts[c] ...
    shard_dir = None
    if cfg.shard is not None:
        i, count = _check_shard(cfg.shard, len(starts))
        starts = starts[i::count]
        shard_dir = shard_path(out, i, count)
        _open_shard(shard_dir, common, info, (i, count))
    frames = None if shard_dir else np.empty((B, len(times), len(node_index)), np_dtype)
    residual = np.zeros(B)
    first = None
    solver = SolverConfig(cfg.method, cfg.rtol, cfg.atol, cfg.step_size, max_nfe=100000,
                          integrator=cfg.integrator, affine=cfg.affine, compile=cfg.compile)
    fields: Dict[int, object] = {}
    nfe, scheme, done = 0, None, []
    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        t0, compile_s = time.perf_counter(), 0.0
        bar = tqdm(total=sum(min(batch, B - s) for s in starts),
                   desc=f"simulate {ir.name}", unit="traj", disable=not progress)
        for s in starts:
            size = min(batch, B - s)
            chunk_file = shard_dir / f"chunk_{s // batch:06d}.npz" if shard_dir else None
            if chunk_file is not None and chunk_file.is_file():   # resumed: done before
                bar.update(size)
                continue
            c_compile = 0.0
            if size not in fields:
                dims = {**cfg.dims, **({chan: size} if isinstance(chan, str) else {})}
                inputs = {domain.name: torch.tensor(pos)} if box else {}  # float64: exact weights
                c0 = time.perf_counter()
                fields[size] = compile_spec(parsed, ei, n, dims, cfg.params, inputs, cfg.scheme)
                c_compile = time.perf_counter() - c0
                compile_s += c_compile
            vf = fields[size]
            scheme = vf.scheme
            c1 = time.perf_counter()
            y0 = torch.tensor(f0[:, s:s + size], dtype=dtype)
            block = ODEBlock(vf, float(times[-1]), solver)
            with torch.no_grad():
                ys = block(y0, times)                                     # [T, N, size]
            nfe += block.nfe_forward
            res = np.zeros(size)
            if sampling is not None:
                with torch.no_grad():
                    res = vf(times[-1], ys[-1]).abs().amax(0).numpy()
            chunk = ys[:, node_index, :].permute(2, 0, 1).numpy()
            if s == 0:
                first = ys[:, :, 0].numpy().copy()
            if chunk_file is not None:         # written as it goes: a crash loses no chunk
                _save_atomic(chunk_file, frames=chunk, residual=res, start=np.array(s),
                             nfe=np.array(block.nfe_forward), scheme=np.array(scheme or ""),
                             solve_seconds=np.array(time.perf_counter() - c1),
                             compile_seconds=np.array(c_compile),
                             **({"first": first} if s == 0 else {}))
            else:
                frames[s:s + size] = chunk
                residual[s:s + size] = res
            done.append(s // batch)
            bar.update(size)
        bar.close()
        solve_s = time.perf_counter() - t0 - compile_s      # the solves, without compiling
    finally:
        torch.set_default_dtype(old)
    if shard_dir is not None:
        log(f"{ir.name} shard {cfg.shard[0]}/{cfg.shard[1]}: chunk(s) "
            f"{[s // batch for s in starts]} of {info['chunks']} in {shard_dir} ({len(done)} "
            f"solved now, {len(starts) - len(done)} found done), NFE {nfe}, {solve_s:.1f} s of "
            f"solving; join the shards with `pde2gnn merge {out} "
            f"{shard_path(out, 0, cfg.shard[1])} ...`")
        return {**info, "shard_dir": str(shard_dir), "chunks_solved": done, "nfe": nfe,
                "solve_seconds": solve_s}
    timing = {"scheme": scheme, "nfe": nfe, "solves": len(starts), "solve_seconds": solve_s,
              "compile_seconds": compile_s, "wall_seconds": time.perf_counter() - t_start}
    return _write_archive(out, common, frames, residual, first, info, timing, cfg, png, log)
