"""Options of ``pde2gnn simulate`` (:class:`SimulationConfig`), its constants and NDCN's
sampling protocol (:func:`ndcn_sampling`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

import numpy as np

from pde2gnn.graph import construction as graphs
from pde2gnn.errors import OptionError
from pde2gnn.options import check_fields, check_params

GRAPHS = ("grid", "points", "delaunay", "complete") + graphs.NDCN_GRAPHS
ICS = ("fourier", "bumps", "noise", "ndcn", "charged")
#: NDCN's sampling protocols: frames on [0, T], frames kept, train / interpolation / extrapolation
PROTOCOLS = {"irregular": (1000, 120, 80, 20, 20), "regular": (100, 100, 80, 0, 20)}


@dataclass
class SimulationConfig:
    """Options of :func:`simulate` (defaults: PA-DGN's synthetic data, appendix A.1).

    Attributes:
        graph: ``grid`` (regular, ``n`` per axis), ``points`` (``points`` uniform random points,
            symmetric ``k``-NN), ``delaunay`` (random points, Delaunay edges), one of NDCN's
            families ``grid8``, ``random``, ``powerlaw``, ``smallworld``, ``community``
            (``nodes`` nodes, seeded, :func:`pde2gnn.graph.construction.ndcn_graph`), or a data set name
            (``Cora``: its graph, no coordinates).
        trajectories: B; frames: T; dt: time between frames (frame k at k * dt).
        ic: ``fourier`` (random Fourier series with ``modes`` = N, PDE-Net / PA-DGN), ``bumps``
            (1-3 Gaussian bumps), ``noise`` (white noise), ``ndcn`` (NDCN's three blocks of the
            sqrt(N) x sqrt(N) layout of the node indices at 25, 20 and 17, zero elsewhere), or a
            ``.npy`` path ([N] or [N, B]).
        protocol: ``irregular`` / ``regular`` NDCN sampling on [0, ``horizon``] (overrides
            ``frames`` and ``dt``; see :mod:`pde2gnn.simulate`), or None.
        horizon: T of the protocol; fixed_point_time: where x* is taken (default 20 T).
        sample, sample_k: save only ``sample`` random nodes and their symmetric kNN graph
            (0: all nodes and the simulation graph; None: 250 on the built-in grid, points
            and delaunay graphs as PA-DGN, all nodes on the others).
        split: train / val / test fractions of the trajectories.
        method, rtol, atol, step_size, integrator, affine, compile: solver options
            (:class:`pde2gnn.integrate.solve.SolverConfig`).
        batch: trajectories per solve; dtype: ``float64`` or ``float32``.
        scheme: stencil scheme override (grid, lsq, mesh, auto); dims/params: spec overrides.
        loc_std, vel_norm: ``--graph complete --ic charged`` only (point clouds, see
            :func:`simulate_particles`): positions ~ N(0, loc_std^2), speeds exactly vel_norm.
        graph_file: a user's graph or mesh (``.npz``: ``edge_index`` [2, E] and / or ``cells``
            [F, 3], ``pos`` [N, D]; :func:`~pde2gnn.simulate.graphfile.load_graph_file`),
            used instead of ``graph``.
        init: ``{field: path}`` initial values of fields from ``.npy`` / ``.npz`` (``[N, C]`` or
            ``[B, N, C]``, node order of the graph; key ``*``: an ``.npz`` with one array per
            field); the other fields get ``ic``.
        inputs: ``{input: path}`` values of the spec's declared inputs (``[N, c]``, ``[E, c]``).
        max_nfe: evaluations allowed to one solve (a chunk of ``batch`` trajectories, or one
            frame interval with ``steady_tol``) before a SolverError.
        steady_tol: stop a chunk once every trajectory is steady: max_i |f(t_k) - f(t_{k-1})|
            / dt <= steady_tol * max(1, max_i |f(t_k)|) over all fields; later frames repeat
            the last state (None: off).
        track_sum: record the sum over the nodes of each field (channel) at every frame.
        partition: K > 0: under ``torchrun --nproc-per-node K``, each process solves one METIS
            part of the graph with halo exchanges (:mod:`pde2gnn.graph.partitioned`); rank 0
            writes the results (0: one process).
        movie: ``.gif`` / ``.mp4`` path of a movie of trajectory 0 (None: none); fps: its
            frames per second.
    """

    graph: str = "grid"
    n: int = 50
    points: int = 2500
    k: int = 8
    trajectories: int = 1000
    frames: int = 21
    dt: float = 0.01
    ic: str = "fourier"
    modes: int = 9
    sample: Optional[int] = None
    sample_k: int = 4
    split: Tuple[float, float, float] = (0.7, 0.15, 0.15)
    method: str = "dopri5"
    rtol: float = 1e-4
    atol: float = 1e-6
    step_size: Optional[float] = None
    integrator: str = "pde2gnn"
    affine: bool = True
    compile: bool = False
    batch: int = 250
    seed: int = 0
    dtype: str = "float32"
    scheme: Optional[str] = None
    data_root: Optional[str] = None
    dims: Dict[str, int] = field(default_factory=dict)
    params: Dict[str, float] = field(default_factory=dict)
    nodes: int = 400
    protocol: Optional[str] = None
    horizon: float = 5.0
    fixed_point_time: Optional[float] = None
    loc_std: float = 1.0
    vel_norm: float = 0.5
    shard: Optional[Tuple[int, int]] = None
    partition: int = 0
    graph_file: Optional[str] = None
    init: Dict[str, str] = field(default_factory=dict)
    inputs: Dict[str, str] = field(default_factory=dict)
    max_nfe: int = 100000
    steady_tol: Optional[float] = None
    track_sum: bool = False
    movie: Optional[str] = None
    fps: int = 10

    def __post_init__(self):
        """Raises OptionError: a numeric field out of its range (:data:`pde2gnn.options.RULES`)
        or a non-finite param."""
        check_fields(self)
        check_params(self.params)


def ndcn_sampling(protocol: str, seed: int) -> Dict[str, np.ndarray]:
    """NDCN's observation protocol (Zang & Wang, KDD 2020, sec. 4.1) as frame indices.

    ``irregular``: of 1000 equally spaced times on [0, T], 120 are kept at random (t = 0 always,
    as the initial state) and sorted; of the first 100 kept, 20 random ones (never t = 0) are
    for interpolation and the other 80 for training; the last 20 kept are for extrapolation.
    ``regular``: 100 equally spaced times, the first 80 for training, the last 20 for
    extrapolation. Returns ``frames`` (the grid size) and the int64 arrays ``observed_index``,
    ``train_index``, ``interp_index``, ``extrap_index`` (sorted, disjoint; the same for the same
    seed).

    Raises:
        OptionError: an unknown protocol.
    """
    if protocol not in PROTOCOLS:
        raise OptionError(f"unknown sampling protocol '{protocol}' (choose "
                          f"{', '.join(PROTOCOLS)})")
    frames, kept, n_train, n_interp, n_extrap = PROTOCOLS[protocol]
    rng = np.random.default_rng([seed, 18])
    obs = np.arange(frames) if kept == frames else np.sort(np.concatenate(
        [[0], rng.choice(np.arange(1, frames), kept - 1, replace=False)]))
    first = n_train + n_interp
    interp = np.sort(rng.choice(np.arange(1, first), n_interp, replace=False))
    train = np.setdiff1d(np.arange(first), interp)
    return {"frames": np.array(frames), "observed_index": obs.astype(np.int64),
            "train_index": obs[train].astype(np.int64),
            "interp_index": obs[interp].astype(np.int64),
            "extrap_index": obs[first:first + n_extrap].astype(np.int64)}


#: meta keys that differ between runs of the same simulation (wall clock), not its content
TIMING_KEYS = ("solve_seconds", "compile_seconds", "torch_compile_seconds", "wall_seconds",
               "merged_from", "shards")
