"""Point-cloud systems (``--graph complete --ic charged``): EGNN's charged N-body initial
states, the complete graph and :func:`simulate_particles`."""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Dict, Tuple

import numpy as np
import torch

from pde2gnn import provenance
from pde2gnn.errors import OptionError
from pde2gnn.compiler.lang.kinds import Kind
from pde2gnn.graph.construction import complete_graph  # noqa: F401  (re-exported)
from pde2gnn.simulate.config import SimulationConfig


def charged_initial_conditions(ir, cfg: SimulationConfig, count: int,
                               rng: np.random.Generator) -> Tuple[np.ndarray, Dict[str, np.ndarray]]:
    """EGNN's N-body initial states (Satorras et al. 2021 sec. 5.1; Kipf et al. 2018's
    ChargedParticlesSim): for each of ``count`` systems of ``cfg.nodes`` particles, positions
    i.i.d. N(0, loc_std^2) per coordinate, velocities of norm exactly ``vel_norm`` in uniformly
    random directions, charges +-1 with probability 1/2 each.

    The spec's first field gets the positions p; its second (if any) the velocities v, or the
    point p + v when it is a ``coords`` field (the velocity carried as a point, as in
    ``library/nbody_charged.pde``); every ``node[1]`` input gets the charges. ``ir``: the
    bound IR of the spec (its ``constants`` give the fields and inputs). Returns (state
    ``[count, nodes, C]`` float64 in field order, inputs ``{name: [count, nodes, 1]}``).

    Raises:
        OptionError: more than two fields, fields of different widths, or an input that is
            not ``node[1]``.
    """
    consts = ir.constants
    n, names = cfg.nodes, list(consts.fields)
    shapes = [consts.fields[f].shape for f in names]
    if not 1 <= len(names) <= 2 or any(sh != shapes[0] for sh in shapes):
        raise OptionError(f"--ic charged needs a spec with one or two fields of the same "
                          f"width (positions, then velocities), got {', '.join(names)} of "
                          f"'{ir.name}' (see library/nbody_charged.pde)")
    dim = shapes[0][0]
    p = rng.standard_normal((count, n, dim)) * cfg.loc_std
    v = rng.standard_normal((count, n, dim))
    v *= cfg.vel_norm / np.linalg.norm(v, axis=-1, keepdims=True)
    values = {names[0]: p}
    if len(names) == 2:     # a coords field carries the velocity as the point p + v
        values[names[1]] = p + v if names[1] in consts.point_fields else v
    state = np.concatenate([values[f] for f in names], -1)
    inputs = {}
    for name, typ in consts.inputs.items():
        if typ.kind != Kind.NODE or typ.shape != (1,):
            raise OptionError(f"--ic charged fills node[1] inputs with charges; input '{name}' "
                              f"is {typ.kind}{list(typ.shape)}")
        inputs[name] = rng.choice([-1.0, 1.0], size=(count, n, 1))
    return state, inputs


def simulate_particles(parsed, ir, out: str, cfg: SimulationConfig, progress: bool = True,
                       log: Callable[[str], None] = print) -> dict:
    """Point-cloud systems (``--graph complete --ic charged``): ``cfg.trajectories`` independent
    systems of ``cfg.nodes`` particles on the complete graph, solved ``cfg.batch`` at a time as
    disjoint copies of it (one state ``[batch * nodes, C]``), frames at ``k * dt``.

    Output (.npz): ``frames`` [B, T, nodes, C] (the spec's fields side by side, in declaration
    order; ``meta['fields']`` gives each one's channel range), ``times`` [T], ``input_<name>``
    [B, nodes, c] for each input, ``edge_index`` [2, nodes (nodes - 1)] (one system),
    ``train`` / ``val`` / ``test`` trajectory indices, ``spec``, ``meta``. ``ir``: the IR of
    the spec before binding (:attr:`pde2gnn.compiler.Stages.lowered`).

    Raises:
        OptionError: options that do not fit (see :func:`charged_initial_conditions`);
        SolverError: a solve that diverges or exceeds its evaluation budget.
    """
    from pde2gnn.progress import bar as progress_bar

    from pde2gnn.compiler.pipeline import compile as compile_spec
    from pde2gnn.integrate.solve import ODEBlock, SolverConfig

    if cfg.graph != "complete" or cfg.ic != "charged":
        raise OptionError("point clouds are simulated with --graph complete --ic charged "
                          f"together, got --graph {cfg.graph} --ic {cfg.ic}")
    if ir.discrete:
        raise OptionError(f"'{ir.name}' is a discrete-time model; simulate integrates ODEs")
    if cfg.nodes < 2 or cfg.frames < 2 or cfg.dt <= 0 or cfg.trajectories < 1:
        raise OptionError("need --nodes >= 2, --frames >= 2, --dt > 0, --trajectories >= 1")
    dtype = {"float64": torch.float64, "float32": torch.float32}.get(cfg.dtype)
    if dtype is None:
        raise OptionError(f"dtype must be float64 or float32, got {cfg.dtype}")
    t_start = time.perf_counter()
    rng = np.random.default_rng(cfg.seed)
    B, n = cfg.trajectories, cfg.nodes
    ir = ir.bind(cfg.dims, cfg.params)
    y0, inputs = charged_initial_conditions(ir, cfg, B, rng)
    C = y0.shape[-1]
    times = torch.arange(cfg.frames, dtype=torch.float64) * cfg.dt
    frames = np.empty((B, cfg.frames, n, C), np.float64 if cfg.dtype == "float64" else np.float32)
    solver = SolverConfig(cfg.method, cfg.rtol, cfg.atol, cfg.step_size, max_nfe=cfg.max_nfe,
                          integrator=cfg.integrator, affine=cfg.affine)
    batch = max(1, min(cfg.batch, B))
    nfe, compile_s, fields = 0, 0.0, {}
    bar = progress_bar(None, progress, total=B, desc=f"simulate {ir.name}", unit="traj")
    t0 = time.perf_counter()
    for s in range(0, B, batch):
        size = min(batch, B - s)
        c0 = time.perf_counter()
        if size not in fields:
            fields[size] = compile_spec(parsed, complete_graph(n, size), n * size, cfg.dims,
                                        cfg.params, {k: torch.tensor(v[s:s + size].reshape(
                                            n * size, -1), dtype=dtype) for k, v in inputs.items()})
            fields[size] = fields[size].to(dtype)
        vf = fields[size]
        vf.set_inputs({k: torch.tensor(v[s:s + size].reshape(n * size, -1), dtype=dtype)
                       for k, v in inputs.items()})
        compile_s += time.perf_counter() - c0
        block = ODEBlock(vf, float(times[-1]), solver)
        with torch.no_grad():
            ys = block(torch.tensor(y0[s:s + size].reshape(n * size, C), dtype=dtype),
                       times.to(dtype))                                    # [T, size n, C]
        nfe += block.nfe_forward
        frames[s:s + size] = ys.reshape(cfg.frames, size, n, C).permute(1, 0, 2, 3).numpy()
        bar.update(size)
    bar.close()
    solve_s = time.perf_counter() - t0 - compile_s
    perm = rng.permutation(B)
    n_tr, n_va = int(round(cfg.split[0] * B)), int(round(cfg.split[1] * B))
    layout, start = {}, 0
    for f, t in ir.constants.fields.items():
        c = t.channels
        layout[f], start = [start, start + c], start + c
    ei = complete_graph(n)
    meta = {"spec": ir.name, "graph": f"complete graph on {n} nodes per system",
            "nodes": n, "edges": int(ei.shape[1]), "fields": layout, "nfe": nfe,
            "solves": math.ceil(B / batch), "solve_seconds": solve_s,
            "compile_seconds": compile_s, "wall_seconds": time.perf_counter() - t_start,
            "torch": torch.__version__, **provenance(parsed.source),
            "dims": {"frames": ["trajectory", "time", "node", "channel"], "times": ["time"],
                     "edge_index": ["endpoint", "edge"]},
            "options": {k: (list(v) if isinstance(v, tuple) else v)
                        for k, v in asdict(cfg).items()}}
    arrays = dict(frames=frames, times=times.numpy(), edge_index=ei.numpy(),
                  train=perm[:n_tr], val=perm[n_tr:n_tr + n_va], test=perm[n_tr + n_va:],
                  spec=np.array(parsed.source), meta=np.array(json.dumps(meta)),
                  **{f"input_{k}": v.astype(frames.dtype) for k, v in inputs.items()})
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **arrays)
    meta["out"] = str(out)
    log(f"{ir.name}: {B} systems of {n} particles x {cfg.frames} frames in {solve_s:.1f} s "
        f"of solving ({compile_s:.1f} s compiling), NFE {nfe} over {meta['solves']} solve(s); "
        f"wrote {out}")
    return meta
