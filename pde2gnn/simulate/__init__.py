"""Layer: trajectory generation. May import the compiler, integrate, graph, data and the shared
vocabulary; never models, train or cli.

Synthetic dynamics: integrate a continuous spec (one field or several coupled ones) from
random or given initial values and save the frames. User guide: ``docs/guide/simulate.md``.

Trajectories are solved in chunks of ``batch``: when every field is ``node[d]`` with the same
free dimension d (``library/convection_diffusion.pde``, ``library/gray_scott.pde``) the
trajectories are the channels of one state ``[N, F batch]`` (one sparse product per evaluation
for all of them); when the channels are fixed (``node``, ``node[2]``, or ``--dim d=...``) the
state is ``[batch, N, W]`` (:mod:`~pde2gnn.simulate.fields`).

Output (``.npz``, readable with plain numpy: ``np.load(path)``):

==================  ==============  =============================================================
key                 shape           meaning
==================  ==============  =============================================================
``frames``          [B, T, M]       one field: its values at the (sampled) nodes, float32
                                    (float64 with dtype float64); [B, T, M, C] for C channels
``frames_<f>``      [B, T, M(, C)]  several fields: one array per field f instead
``times``           [T]             frame times (time unit of the spec)
``node_index``      [M]             indices of the saved nodes in the full graph
``pos``             [M, D]          their coordinates (absent without a domain)
``edge_index``      [2, E]          graph of the saved nodes (sampled: symmetric kNN; else the
                                    simulation graph), torch_geometric convention
``full_pos``        [N, D]          coordinates of every simulated node (absent without domain)
``full_edge_index`` [2, E_full]     the simulation graph
``cells``           [F, 3]          mesh triangles (``--graph-file`` with ``cells`` only)
``sum_<f>``         [B, T(, C)]     sum of f over all N nodes per frame (``track_sum`` only)
``steady_time``     [B]             time of the steady-state stop, NaN if none (``steady_tol``)
``train``/``val``/``test``  [B_*]   trajectory indices of the split
``spec``            ()              the spec text
``meta``            ()              JSON: options, scheme, NFE, wall time, versions, ``fields``
                                    (``{f: {key, channels}}``)
==================  ==============  =============================================================

With ``protocol`` (``irregular`` or ``regular``; NDCN, Zang & Wang KDD 2020, sec. 4.1) the frames
are the protocol's time grid on [0, T] and the file also holds (all indices into ``times``):

====================  ========  ===========================================================
``observed_index``    [K]       the sampled frames, sorted (irregular: 120 of 1000, t = 0 among
                                them; regular: all 100)
``train_index``       [80]      the first 100 sampled frames less the interpolation ones
``interp_index``      [20]      interpolation frames (irregular: 20 random of the first 100,
                                never t = 0; regular: none, shape [0])
``extrap_index``      [20]      extrapolation frames: the last 20 sampled
``long_times``        [L]       times in (T, 4T] for long-horizon checks (2T and 4T among them)
``long_frames``       [B, L, N] the true state there
``fixed_point``       [B, N]    the state at ``fixed_point_time`` (x*: the long-time limit)
``fixed_point_residual`` [B]    max_i |f(x*)_i|, how close x* is to a fixed point of the flow
====================  ========  ===========================================================

Modules: :mod:`~pde2gnn.simulate.config` (options, constants, the NDCN protocol),
:mod:`~pde2gnn.simulate.initial` (graph and random initial states),
:mod:`~pde2gnn.simulate.fields` (state layout, ``--init``, ``--input``),
:mod:`~pde2gnn.simulate.graphfile` (``--graph-file``), :mod:`~pde2gnn.simulate.run`
(:func:`simulate`), :mod:`~pde2gnn.simulate.archive` (the ``.npz`` writer),
:mod:`~pde2gnn.simulate.plots` (PNG panels and movies),
:mod:`~pde2gnn.simulate.shards` (``--shard i/n`` and ``pde2gnn merge``),
:mod:`~pde2gnn.simulate.particles` (point clouds, ``--graph complete --ic charged``).
"""
from __future__ import annotations

from pde2gnn.simulate.fields import Layout, layout
from pde2gnn.simulate.graphfile import GraphFile, load_graph_file
from pde2gnn.simulate.plots import View, make_view, plot_fields, write_movie
from pde2gnn.simulate.config import (GRAPHS, ICS, PROTOCOLS, TIMING_KEYS, SimulationConfig,
                                     ndcn_sampling)
from pde2gnn.simulate.initial import build_graph, initial_conditions
from pde2gnn.simulate.particles import (charged_initial_conditions, complete_graph,
                                        simulate_particles)
from pde2gnn.simulate.run import simulate
from pde2gnn.simulate.shards import merge_shards, parse_shard, shard_path

__all__ = ["GRAPHS", "ICS", "PROTOCOLS", "TIMING_KEYS", "GraphFile", "Layout",
           "SimulationConfig", "View", "build_graph", "charged_initial_conditions",
           "complete_graph", "initial_conditions", "layout", "load_graph_file", "make_view",
           "merge_shards", "ndcn_sampling", "parse_shard", "plot_fields", "shard_path",
           "simulate", "simulate_particles", "write_movie"]
