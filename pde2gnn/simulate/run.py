"""One simulation (:func:`simulate`): compile the spec on the graph, solve the trajectories in
chunks of ``batch`` and write the ``.npz`` (or, with ``--shard``, this shard's chunks)."""
from __future__ import annotations

import math
import time
from dataclasses import asdict, replace
from typing import Callable, Dict, Optional

import numpy as np
import torch

from pde2gnn.graph import construction as graphs
from pde2gnn.errors import DataError, OptionError, SolverError
from pde2gnn.simulate.archive import _write_archive
from pde2gnn.simulate.config import SimulationConfig, ndcn_sampling
from pde2gnn.simulate.fields import Layout, given_initial, input_values, layout
from pde2gnn.simulate.graphfile import load_graph_file
from pde2gnn.simulate.initial import build_graph, initial_conditions
from pde2gnn.simulate.particles import simulate_particles
from pde2gnn.simulate.shards import _check_shard, _open_shard, _save_atomic, shard_path

#: what a diverging simulation is told to try (the non-finite-state error of the solve)
ADVICE = ("try a smaller --step-size (fixed-step methods) or tighter --rtol / --atol "
          "(adaptive ones), check the --param values, or, for stiff dynamics, an implicit "
          "method; --frames / --dt with more frames show where it blows up")


def simulate(spec, out: Optional[str] = None, cfg: Optional[SimulationConfig] = None,
             png: Optional[str] = None, progress: bool = True,
             log: Callable[[str], None] = print) -> dict:
    """Simulate ``cfg.trajectories`` trajectories of a continuous spec (one field or several
    coupled ones) and write them to ``out`` (.npz; None: write nothing, return the arrays).

    Returns a summary dict (nodes, edges, scheme, NFE, wall time, output paths) with, besides,
    ``fields``: ``{field: frames [B, T, M] (one channel) or [B, T, M, C]}`` at the saved nodes,
    ``times`` ``[T]``, and ``sums`` ``{field: [B, T] or [B, T, C]}`` with ``track_sum``.

    Raises:
        OptionError: options that do not fit the spec.
        DataError: unreadable or misshapen data (initial values, inputs, graph file).
        SolverError: a solve that diverges or exceeds ``cfg.max_nfe`` evaluations.
    """
    from pde2gnn.progress import bar as progress_bar

    from pde2gnn.compiler.pipeline import compile as compile_spec
    from pde2gnn.compiler.pipeline import load, stages

    cfg = cfg or SimulationConfig()
    t_start = time.perf_counter()
    if cfg.partition:      # torchrun: every rank solves its part, rank 0 writes the results
        if cfg.steady_tol is not None or cfg.shard is not None or cfg.compile or \
                cfg.graph == "complete" or cfg.ic == "charged":
            raise OptionError("--partition takes no --steady-tol, --shard, --compile or point "
                              "cloud (--graph complete --ic charged)")
        from pde2gnn.graph.partitioned import start
        if start(cfg.partition) != 0:
            out, png, progress, log = None, None, False, (lambda *_: None)
    parsed = load(spec)
    ir = stages(parsed).lowered          # dimensions and params still symbols
    if cfg.graph == "complete" or cfg.ic == "charged":
        extra = [o for o, v in (("--graph-file", cfg.graph_file), ("--init", cfg.init),
                                ("--input", cfg.inputs), ("--movie", cfg.movie),
                                ("--steady-tol", cfg.steady_tol), ("--track-sum", cfg.track_sum))
                 if v]
        if extra:
            raise OptionError(f"point clouds (--graph complete --ic charged) do not take "
                              f"{', '.join(extra)}")
        return simulate_particles(parsed, ir, out, cfg, progress, log)
    lay = layout(ir, cfg.dims)
    sampling = ndcn_sampling(cfg.protocol, cfg.seed) if cfg.protocol else None
    if sampling is not None:
        if cfg.horizon <= 0:
            raise OptionError(f"the protocol's horizon T must be positive, got {cfg.horizon}")
        if len(lay.names) != 1 or cfg.steady_tol is not None:
            raise OptionError("--protocol takes a spec with one field and no --steady-tol")
        frames = int(sampling.pop("frames"))
        cfg = replace(cfg, frames=frames, dt=cfg.horizon / (frames - 1), sample=0)
    _check(cfg)
    dtype = {"float64": torch.float64, "float32": torch.float32}[cfg.dtype]
    rng = np.random.default_rng(cfg.seed)
    B = cfg.trajectories
    batch = max(1, min(cfg.batch, B))
    bound = ir.bind(lay.dims(cfg.dims, batch), cfg.params)
    domain = bound.constants.domain
    box = domain.box if domain else None
    cells = None
    if cfg.graph_file:
        gf = load_graph_file(cfg.graph_file)
        pos, ei, cells, n, desc = gf.pos, gf.edge_index, gf.cells, gf.num_nodes, gf.description
        if box is not None and pos is None:
            raise DataError(f"{cfg.graph_file}: '{ir.name}' declares domain '{domain.name}', "
                            f"so the graph file needs the coordinates 'pos' [N, {box.dim}]")
    else:
        pos, ei, desc = build_graph(cfg, box, rng)
        n = int(pos.shape[0]) if pos is not None else cfg.nodes \
            if cfg.graph in graphs.NDCN_GRAPHS else int(ei.max()) + 1
    inputs = input_values(bound, cfg.inputs, n, int(ei.shape[1]))
    if domain is not None:
        inputs[domain.name] = torch.tensor(pos)          # float64: exact geometric weights
    times = torch.arange(cfg.frames, dtype=dtype) * cfg.dt
    if sampling is not None:   # long-horizon checks: the truth on (T, 4T] and at the fixed point
        T = float(times[-1])
        long_times = T * (1 + torch.arange(1, 61, dtype=dtype) / 20)             # [60], to 4T
        fp_time = cfg.fixed_point_time or 20 * T
        times = torch.cat([times, long_times, torch.tensor([fp_time], dtype=dtype)])
    f0 = given_initial(lay, cfg.init, n, B)
    for f in lay.names:               # the others from the random family (or --ic FILE.npy)
        if f not in f0:
            C = lay.channels[f]
            f0[f] = initial_conditions(cfg, pos, box, n, B * C, rng).reshape(
                n, B, C).transpose(1, 0, 2)
    sample = cfg.sample if cfg.sample is not None else \
        250 if cfg.graph in ("grid", "points", "delaunay") and not cfg.graph_file else 0
    if sample:
        if pos is None:
            raise OptionError("--sample needs node coordinates (kNN); use --sample 0")
        node_index, sub_ei = graphs.subgraph_knn(pos, sample, cfg.sample_k, rng)
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
    if cells is not None:
        common["cells"] = cells
    info = {"spec": ir.name, "graph": desc, "nodes": n, "edges": int(ei.shape[1]),
            "trajectories": B, "batch": batch, "chunks": math.ceil(B / batch),
            "fields": {f: lay.channels[f] for f in lay.names},
            "layout": "channels" if lay.traj_dim else "batched",
            "sampling_keys": sorted(sampling or {}), "dtype": cfg.dtype,
            "options": {k: (list(v) if isinstance(v, tuple) else v)
                        for k, v in asdict(replace(cfg, shard=None)).items()}}
    starts = list(range(0, B, batch))                # chunk c: trajectories starts[c] ...
    shard_dir = None
    if cfg.shard is not None:
        if not out:
            raise OptionError("--shard writes its chunks beside the output file: give one")
        i, count = _check_shard(cfg.shard, len(starts))
        starts = starts[i::count]
        shard_dir = shard_path(out, i, count)
        _open_shard(shard_dir, common, info, (i, count))
    T_all, M = len(times), len(node_index)
    frames = None if shard_dir else {f: np.empty((B, T_all, M, lay.channels[f]), np_dtype)
                                     for f in lay.names}
    extra = {"residual": np.zeros(B), "steady_time": np.full(B, np.nan),
             **{f"sum_{f}": np.zeros((B, T_all, lay.channels[f])) for f in lay.names}}
    first = None
    from pde2gnn.integrate.solve import SolverConfig
    solver = SolverConfig(cfg.method, cfg.rtol, cfg.atol, cfg.step_size, max_nfe=cfg.max_nfe,
                          integrator=cfg.integrator, affine=cfg.affine,
                          compile=cfg.compile)
    fields: Dict[int, object] = {}
    nfe, scheme, done = 0, None, []
    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        t0, compile_s, jit_s = time.perf_counter(), 0.0, 0.0
        bar = progress_bar(None, progress, total=sum(min(batch, B - s) for s in starts),
                           desc=f"simulate {ir.name}", unit="traj")
        for s in starts:
            size = min(batch, B - s)
            chunk_file = shard_dir / f"chunk_{s // batch:06d}.npz" if shard_dir else None
            if chunk_file is not None and chunk_file.is_file():   # resumed: done before
                bar.update(size)
                continue
            c_compile = 0.0
            if size not in fields:
                c0 = time.perf_counter()
                fields[size] = compile_spec(parsed, ei, n, lay.dims(cfg.dims, size), cfg.params,
                                            inputs, cfg.scheme, cells=cells)
                c_compile = time.perf_counter() - c0
                compile_s += c_compile
            vf = fields[size]
            scheme = vf.scheme
            c1 = time.perf_counter()
            init = {f: np.array(v[s:s + size]) for f, v in f0.items()}     # [size, n, C]
            for f, sets in vf.dirichlet_values(0.0).items():   # y(0) = g(0) on Dirichlet nodes
                for m, g in sets:
                    init[f][:, m.cpu().numpy()] = g[m].cpu().numpy()
            y0 = torch.tensor(lay.pack(init, vf.field_slices), dtype=dtype)
            ys, c_nfe, stop, c_jit = _solve(vf, y0, times, solver, cfg, lay, s, size)
            nfe += c_nfe
            jit_s += c_jit
            ch = {"residual": np.zeros(size), "steady_time": np.full(size, np.nan if stop is None
                                                                       else stop)}
            if sampling is not None:
                with torch.no_grad():
                    ch["residual"] = lay.per_trajectory(vf(times[-1], ys[-1])).double().numpy()
            chunk = lay.unpack(ys, vf.field_slices, node_index)       # {f: [size, T, M, C]}
            full = chunk if len(node_index) == n else \
                lay.unpack(ys, vf.field_slices, np.arange(n)) if cfg.track_sum or s == 0 else None
            if cfg.track_sum:
                for f, v in full.items():
                    ch[f"sum_{f}"] = v.astype(np.float64).sum(2)       # [size, T, C]
            if s == 0:
                first = {f: v[0, :, :, 0].copy() for f, v in full.items()}
            if chunk_file is not None:         # written as it goes: a crash loses no chunk
                _save_atomic(chunk_file, **{f"frames__{f}": v for f, v in chunk.items()}, **ch,
                             start=np.array(s), nfe=np.array(c_nfe), scheme=np.array(scheme or ""),
                             solve_seconds=np.array(time.perf_counter() - c1 - c_jit),
                             compile_seconds=np.array(c_compile),
                             torch_compile_seconds=np.array(c_jit),
                             **({f"first__{f}": v for f, v in first.items()} if s == 0 else {}))
            else:
                for f, v in chunk.items():
                    frames[f][s:s + size] = v
                for k, v in ch.items():
                    extra[k][s:s + size] = v
            done.append(s // batch)
            bar.update(size)
        bar.close()
        solve_s = time.perf_counter() - t0 - compile_s - jit_s  # the solves, not compiling
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
              "compile_seconds": compile_s, "torch_compile_seconds": jit_s,
              "wall_seconds": time.perf_counter() - t_start}
    return _write_archive(out, common, frames, extra, first, info, timing, cfg, png, log)


def _check(cfg: SimulationConfig) -> None:
    """Range checks of the options :func:`simulate` reads itself.

    Raises:
        OptionError: naming the option.
    """
    if cfg.frames < 2 or not cfg.dt > 0 or not math.isfinite(cfg.dt) or cfg.trajectories < 1:
        raise OptionError("need --frames >= 2, a finite --dt > 0 and --trajectories >= 1")
    if cfg.dtype not in ("float64", "float32"):
        raise OptionError(f"dtype must be float64 or float32, got {cfg.dtype}")
    if not (isinstance(cfg.max_nfe, int) and cfg.max_nfe >= 1):
        raise OptionError(f"--max-nfe must be an integer of at least 1, got {cfg.max_nfe}")
    if cfg.steady_tol is not None and not (math.isfinite(cfg.steady_tol) and cfg.steady_tol > 0):
        raise OptionError(f"--steady-tol must be a finite number above 0, got {cfg.steady_tol}")
    if not (isinstance(cfg.fps, int) and cfg.fps >= 1):
        raise OptionError(f"--fps must be an integer of at least 1, got {cfg.fps}")
    if cfg.movie is not None:
        from pde2gnn.simulate.plots import movie_writer
        movie_writer(cfg.movie)                  # the suffix and the writer, before solving


def _solve(vf, y0: torch.Tensor, times: torch.Tensor, solver, cfg: SimulationConfig,
           lay: Layout, start: int, size: int):
    """Solve one chunk: ``(ys [T, *y0.shape], NFE, stop time or None, seconds spent in
    torch.compile's first calls)`` (``--compile``: :attr:`ODEBlock.compile_seconds`). With
    ``cfg.steady_tol`` frame interval by frame interval, stopping once every trajectory of the
    chunk is steady (later frames repeat the last state).

    Raises:
        SolverError: max_nfe exceeded (with the chunk and ``--max-nfe`` named), or a
            non-finite state (:data:`ADVICE`).
    """
    from pde2gnn.integrate.solve import ODEBlock

    if cfg.partition:
        from pde2gnn.graph.partitioned import solve_whole
        ys, nfe = solve_whole(vf, y0, times, solver)
        return (y0.expand(len(times), *y0.shape) if ys is None else ys), nfe, None, 0.0
    block = ODEBlock(vf, float(times[-1]), solver)
    block.advice = ADVICE
    try:
        with torch.no_grad():
            if cfg.steady_tol is None:
                return block(y0, times), block.nfe_forward, None, block.compile_seconds
            if vf._uses_init:
                raise OptionError(f"--steady-tol solves frame by frame, and '{vf.program.ir.name}'"
                                  " reads init(...) of the state at t = 0; run without it")
            out, y, nfe = [y0], y0, 0
            for k in range(1, len(times)):
                y1 = block(y, times[k - 1:k + 1])[-1]
                nfe += block.nfe_forward
                rate = lay.per_trajectory(y1 - y) / float(times[k] - times[k - 1])
                scale = lay.per_trajectory(y1).clamp(min=1.0)
                out.append(y1)
                y = y1
                if bool((rate <= cfg.steady_tol * scale).all()):
                    out += [y1] * (len(times) - 1 - k)
                    return torch.stack(out), nfe, float(times[k]), block.compile_seconds
            return torch.stack(out), nfe, None, block.compile_seconds
    except SolverError as e:
        if "max_nfe" not in str(e):
            raise
        raise SolverError(f"{e} (simulate: trajectories {start} .. {start + size - 1} of the "
                          f"run; the cap is --max-nfe {cfg.max_nfe} per solve: raise it for a "
                          "long but healthy run, or use an implicit method if the problem is "
                          "stiff)") from None
