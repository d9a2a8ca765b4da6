"""The ``pde2gnn`` command line's options (:func:`build_parser`); the commands themselves are
in :mod:`pde2gnn.cli.commands`. Building the parser imports neither torch nor torch_geometric, so
``check`` and ``explain`` start in about a second."""
from __future__ import annotations

import argparse
from typing import List

from pde2gnn import options
from pde2gnn.errors import Pde2GnnError
from pde2gnn.train.tasks.registry import TASKS


def _config_defaults() -> dict:
    """Built-in defaults of the TrainConfig and SolverConfig fields, by name."""
    from dataclasses import MISSING, fields

    from pde2gnn.integrate.solve import SolverConfig
    from pde2gnn.train.tasks.node_classification import TrainConfig
    return {f.name: f.default for cls in (TrainConfig, SolverConfig) for f in fields(cls)
            if f.default is not MISSING}


class HelpParser(argparse.ArgumentParser):
    """A subcommand's parser whose help gives each training / solver option's default: the
    value of the spec's TOML (``library/SPEC.toml``: ``[default]``, then the ``--dataset``
    table) when a spec is named before ``--help`` (``pde2gnn train grand --help``), else where
    it comes from and the built-in value. Filled in when the help is printed, so commands start
    without importing torch."""

    argv: List[str] = []       # the command line being parsed (set by :func:`main`)

    def error(self, message: str):
        """A usage error (unknown option, bad choice, missing argument): one line on stderr
        and exit status 2, as every other error of the command line (the usage of ``train``
        runs to dozens of lines; ``--help`` prints it)."""
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

    def format_help(self) -> str:
        defaults = _config_defaults()
        toml, where = self._spec_defaults()
        for a in self._actions:
            if a.dest in defaults and a.default is None and a.help != argparse.SUPPRESS and \
                    "default:" not in (a.help or ""):
                said = (f"default: {toml[a.dest]!r} ({where})" if a.dest in toml else
                        f"default: the spec's TOML, else built-in {defaults[a.dest]!r}")
                a.help = (f"{a.help}; " if a.help else "") + said
        return super().format_help()

    def _spec_defaults(self):
        """``(values, 'SPEC.toml [DATASET]')`` of the spec named on the command line before
        ``--help``, or ``({}, '')``."""
        argv = self.argv
        command = self.prog.split()[-1]
        if command not in argv:
            return {}, ""
        rest = argv[argv.index(command) + 1:]
        spec = next((x for x in rest if not x.startswith("-")), None)
        dataset = _option_value(rest, "--dataset")
        if spec is None:
            return {}, ""
        from pde2gnn.train.config import load_defaults
        from pde2gnn.resources import resolve_spec
        try:
            path = resolve_spec(spec)
            values = load_defaults(path, dataset)
        except Pde2GnnError:
            return {}, ""
        return values, f"{path.stem}.toml" + (f" [{dataset}]" if dataset else "")


def _option_value(args, option: str):
    """The value given to ``option`` in ``args`` (``--opt VALUE`` or ``--opt=VALUE``), or None."""
    for k, x in enumerate(args):
        if x == option and k + 1 < len(args):
            return args[k + 1]
        if x.startswith(option + "="):
            return x[len(option) + 1:]
    return None


def _process_options(q) -> None:
    """The options of the process that runs a command (train, simulate, discover)."""
    q.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: by problem "
                   "size, one thread for a small one; see pde2gnn/threads.py)")
    q.add_argument("--allocator", default="system", help="CPU memory allocator: system "
                   "(glibc), jemalloc (the command re-executes itself with libjemalloc "
                   "preloaded, keeping freed memory for the next epoch: large graphs; see "
                   "pde2gnn/allocator.py), or the path of libjemalloc.so")


def build_parser() -> argparse.ArgumentParser:
    p = HelpParser(prog="pde2gnn", description="Symbolic PDE-to-GNN compiler.")
    p.add_argument("--version", action="version", version=f"pde2gnn {_version()}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=HelpParser)

    def spec_args(q):
        q.add_argument("spec", help="library model name (e.g. grand) or path to a .pde file")
        q.add_argument("--dim", action="append", metavar="NAME=SIZE",
                       help="size of a symbolic dimension (repeatable)")
        q.add_argument("--param", action="append", metavar="NAME=VALUE",
                       help="override a param (repeatable)")

    q = sub.add_parser("check", help="parse, check and print the discretised equations")
    spec_args(q)
    q = sub.add_parser("explain", help="print one pipeline stage")
    spec_args(q)
    q.add_argument("--stage", default=None, choices=["ast", "ir", "stencil", "python", "split"],
                   help="the pipeline stage to print (default: stencil)")
    q.add_argument("--after", metavar="PASS", default=None,
                   help="print the program after this lowering pass instead (stencils, ..., "
                   "level_hoist: pde2gnn/compiler/passes; an unknown name lists them)")
    q.add_argument("--no-fuse", dest="no_fuse", action="store_true",
                   help="skip the fusing passes (fuse_linear, fuse_inside): every term by "
                   "gather / scatter, for debugging")
    q = sub.add_parser("train", help="train the spec on its task: node classification "
                       "(continuous specs), forecasting (discrete-time specs), dynamics or nbody",
                       description="Train a spec on its task (pde2gnn/train/tasks/registry.py): "
                       "every (split, seed) run in turn, the results JSON rewritten after each. "
                       "Defaults: built-in < the spec's TOML [default] < the data set's table "
                       "< these options.")
    spec_args(q)
    q.add_argument("--task", choices=list(TASKS), help="default: forecasting for a "
                   "discrete-time spec, node_classification for a continuous one")
    q.add_argument("--data-root", default=None, help="data folder (default: $PDE2GNN_DATA)")
    q.add_argument("--seeds", type=int, default=1)
    q.add_argument("--first-seed", type=int, default=0, help="run seeds FIRST_SEED, ..., "
                   "FIRST_SEED + SEEDS - 1 (to spread the seeds of one experiment over processes)")
    q.add_argument("--first-split", type=int, default=0, help="run splits FIRST_SPLIT, ..., "
                   "FIRST_SPLIT + SPLITS - 1 (to spread the splits of one experiment over "
                   "processes; join the results files with pde2gnn merge)")
    q.add_argument("--resume", action="store_true", help="keep the finished (split, seed) runs "
                   "already in --results (same model, data set and configuration) and run only "
                   "the missing ones")
    q.add_argument("--distributed", action="store_true",
                   help="spread the (split, seed) runs over the processes of torchrun "
                   "(torchrun --standalone --nproc-per-node P -m pde2gnn train ... "
                   "--distributed): one results file per rank, joined into --results; the "
                   "forecasting task trains data-parallel instead (DDP, each global batch split "
                   "over the ranks, rank 0 writes --results)")
    q.add_argument("--device", default="cpu", help="cpu, cuda or cuda:K (checked before any "
                   "work)")
    _process_options(q)
    q.add_argument("--results", help="the results JSON (default: "
                   "$PDE2GNN_RUNS/MODEL-DATASET-TIMESTAMP/results.json, $PDE2GNN_RUNS "
                   "defaulting to ./runs; the log names it); rewritten after every run")
    q.add_argument("--log-every", type=int, default=10, help="print one line every N epochs "
                   "(0: none); the only progress output when stderr is not a terminal")
    q.add_argument("--quiet", action="store_true", help="no progress bar (there is none "
                   "anyway when stderr is not a terminal)")
    g = q.add_argument_group("shared by several tasks")
    g.add_argument("--data", metavar="NAME_OR_PATH", help="forecasting: noaa, a `pde2gnn "
                   "simulate` .npz, or a sensor folder (values.npy + stations.csv); dynamics / "
                   "nbody: a `pde2gnn simulate` .npz")
    g.add_argument("--epochs", type=int)
    g.add_argument("--lr", type=float)
    g.add_argument("--weight-decay", type=float)
    g.add_argument("--hidden", type=int)
    g.add_argument("--method", help="ODE method: dopri5, tsit5, bosh3, rk4, midpoint, euler, "
                   "...; implicit / IMEX for stiff specs: ark3, ark4, ars232, ars443, esdirk3, "
                   "esdirk4, backward_euler, trapezoid; on the whole Jacobian (stiff N, CPU): "
                   "ros34pw2, rodas4, rodas5p, ark3j, ark4j; auto (picks by stiffness); or any "
                   "other torchdiffeq method")
    g.add_argument("--rtol", type=float)
    g.add_argument("--atol", type=float)
    g.add_argument("--max-nfe", type=int)
    g.add_argument("--patience", type=int, help="early stopping: stop after this many epochs "
                   "without a better validation score (default: 10 for forecasting, 0 = off "
                   "for node classification, or the spec's TOML)")
    task_options = {}
    for name, task in TASKS.items():
        g = q.add_argument_group(f"{name} ({task.help})")
        before = len(q._actions)
        task.add_options(g)
        task_options[name] = [a.dest for a in q._actions[before:]]
    q.set_defaults(task_options=task_options)

    q = sub.add_parser("plot", help="training curves (loss, accuracies, NFE per epoch) of a "
                       "results JSON as a PNG")
    q.add_argument("results", help="a results JSON of `pde2gnn train`")
    q.add_argument("--out", help="the PNG (default: RESULTS.curves.png beside it)")

    q = sub.add_parser("merge", help="join results files of one experiment (runs of "
                       "several processes or --first-seed ranges) into one, summary recomputed; "
                       "or the shard folders of `simulate --shard` into one .npz")
    q.add_argument("out", help="the joined results JSON (or .npz for simulate shards)")
    q.add_argument("inputs", nargs="+", help="results JSONs of `pde2gnn train`, or the "
                   "OUT.shardI-of-N folders of `pde2gnn simulate --shard I/N`")

    q = sub.add_parser("simulate", help="generate synthetic trajectories of a spec (.npz + PNG)",
                       description="Integrate a continuous spec (one field or several coupled "
                       "ones) from random or given initial values and save the frames: "
                       "'frames' [B, T, M] for one field, 'frames_FIELD' per field for several "
                       "([B, T, M, C] for C channels per trajectory); defaults are PA-DGN's "
                       "synthetic data (appendix A.1). The .npz layout is documented in "
                       "docs/guide/simulate.md and pde2gnn/simulate/__init__.py.")
    spec_args(q)
    q.add_argument("--graph", default="grid",
                   help="grid, points (random + kNN), delaunay, NDCN's grid8 | random | powerlaw "
                        "| smallworld | community (networkx, seeded), a data set name (Cora), "
                        "or complete (point clouds: --nodes particles per system, with --ic "
                        "charged)")
    q.add_argument("--nodes", type=int, default=400,
                   help="nodes of an NDCN graph family, or particles per system (complete)")
    q.add_argument("--loc-std", type=float, default=1.0,
                   help="--ic charged: standard deviation of the initial positions")
    q.add_argument("--vel-norm", type=float, default=0.5,
                   help="--ic charged: speed of every particle at t = 0")
    q.add_argument("--protocol", choices=["irregular", "regular"],
                   help="NDCN sampling on [0, --horizon]: 1000 times, 120 kept (80 train, 20 "
                        "interpolation, 20 extrapolation), or 100 regular (80 / 0 / 20); "
                        "overrides --frames / --dt and stores the index sets in the .npz")
    q.add_argument("--horizon", type=float, default=5.0, help="T of --protocol")
    q.add_argument("--n", "--size", type=int, default=50, dest="n",
                   help="grid points per axis (--size: the same, the spelling to use under "
                   "torchrun, whose own options --nnodes / --nproc-per-node make --n ambiguous)")
    q.add_argument("--points", type=int, default=2500, help="number of random points")
    q.add_argument("--k", type=int, default=8, help="kNN of the simulation graph (points)")
    q.add_argument("--scheme", choices=["auto", "grid", "lsq", "mesh"],
                   help="override the spec's stencil scheme")
    q.add_argument("--trajectories", type=int, default=1000)
    q.add_argument("--frames", type=int, default=21)
    q.add_argument("--dt", type=float, default=0.01, help="time between frames")
    q.add_argument("--graph-file", metavar="FILE.npz",
                   help="your own graph or mesh instead of --graph: edge_index [2, E] (ints, "
                        "both directions for an undirected graph) and/or cells [F, 3] (mesh "
                        "triangles: their edges are used), pos [N, D] (needed by a spec with a "
                        "domain), optional num_nodes; node i is row i of pos")
    q.add_argument("--ic", default="fourier",
                   help="fourier, bumps, noise, ndcn (blocks at 25 / 20 / 17), charged (EGNN's "
                        "N-body systems, with --graph complete), or a .npy file; for the fields "
                        "not given by --init")
    q.add_argument("--init", action="append", metavar="FIELD=FILE",
                   help="initial values of one field from .npy (or .npz: the array named FIELD, "
                        "or its only array), shape [N, C] (all trajectories) or [B, N, C] (one "
                        "per trajectory), [N] for one channel; C: the field's channels (1 for "
                        "node[d] with d free: trajectories are its channels). Node order: "
                        "--graph grid node (i, j) = i * n + j at (x_i, y_j) (x slowest), "
                        "--graph-file the file's rows, other graphs their construction order "
                        "(the .npz's full_pos). Repeatable; --init FILE.npz: every field "
                        "named in it")
    q.add_argument("--input", action="append", metavar="NAME=FILE",
                   help="values of a declared input from .npy / .npz: [N, c] for node[c], "
                        "[E, c] for edge[c] (rows in the order of the graph's edge_index), "
                        "a .npz with 'values' [T, N, c] and 'times' [T] for node[c] series "
                        "(linear in t, constant outside the times); repeatable")
    q.add_argument("--modes", type=int, default=9, help="Fourier modes N (|k|, |l| <= N)")
    q.add_argument("--sample", type=int, help="nodes to save, with their kNN graph (0: all; "
                   "default: 250 on --graph grid / points / delaunay as PA-DGN, all nodes on "
                   "the other graphs and --graph-file)")
    q.add_argument("--sample-k", type=int, default=4, help="kNN of the sampled nodes' graph")
    q.add_argument("--split", default="0.7,0.15,0.15", help="train,val,test fractions")
    q.add_argument("--method", default="dopri5")
    q.add_argument("--rtol", type=float, default=1e-4)
    q.add_argument("--atol", type=float, default=1e-6)
    q.add_argument("--step-size", type=float)
    q.add_argument("--integrator", default="pde2gnn", choices=["pde2gnn", "torchdiffeq"],
                   help="pde2gnn: the fused Runge-Kutta loop; torchdiffeq: torchdiffeq.odeint")
    q.add_argument("--max-nfe", type=int, default=100000,
                   help="evaluations allowed to one solve (a chunk of --batch trajectories, or "
                        "one frame interval with --steady-tol) before a SolverError (default: "
                        "100000)")
    q.add_argument("--steady-tol", type=float, metavar="TOL",
                   help="stop once every trajectory of a chunk is steady: max |f(t_k) - "
                        "f(t_k-1)| / dt <= TOL * max(1, max |f(t_k)|) over nodes and fields; "
                        "later frames repeat that state, steady_time [B] records when "
                        "(solves frame by frame)")
    q.add_argument("--track-sum", action="store_true",
                   help="record the sum over the nodes of each field at every frame (sum_FIELD "
                        "[B, T]) and print its largest relative drift (a conserved quantity "
                        "of zero-flux diffusion)")
    q.add_argument("--movie", metavar="OUT.gif|OUT.mp4",
                   help="movie of trajectory 0, one panel per field (grid: image, mesh: "
                        "tripcolor, other graphs: scatter at the positions or a spring "
                        "layout); ffmpeg where installed, else Pillow (GIF only)")
    q.add_argument("--fps", type=int, default=10, help="frames per second of --movie")
    q.add_argument("--compile", action="store_true", help="torch.compile the solve (whole "
                   "fixed-step Runge-Kutta steps, or the field of an adaptive method)")
    q.add_argument("--batch", type=int, default=250,
                   help="trajectories per solve (the channels of one state)")
    q.add_argument("--dtype", default="float32", choices=["float64", "float32"])
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--shard", metavar="I/N", help="solve only shard I of N (chunks of --batch "
                   "trajectories I, I+N, ...), each chunk written to OUT.shardI-of-N/ as it "
                   "finishes (a rerun resumes); join with pde2gnn merge OUT.npz SHARD_DIRS...")
    q.add_argument("--partition", type=int, default=0, metavar="K",
                   help="split the graph into K METIS parts, one per process, under torchrun "
                   "--nproc-per-node K (halo exchanges; rank 0 writes the results)")
    q.add_argument("--data-root", default=None, help="data folder (default: $PDE2GNN_DATA)")
    _process_options(q)
    q.add_argument("--out", help="output .npz (default simulations/SPEC.npz)")
    q.add_argument("--png", help="PNG of five frames of trajectory 0, one row per field "
                   "(default: beside --out)")
    q.add_argument("--no-png", action="store_true")
    q.add_argument("--quiet", action="store_true", help="no progress bar")

    q = sub.add_parser("discover", help="find a sparse spec dt(x) = sum_k c_k term_k from "
                       "trajectories (.npz of `pde2gnn simulate`)",
                       description="Sparse regression (STLSQ, threshold cross-validated over "
                       "trajectories) of dx/dt on candidate terms written in the language; "
                       "writes the found .pde and validates it on held-out trajectories. "
                       "Method: pde2gnn/discover/.")
    q.add_argument("data", help="trajectories: frames [B, T, N], times, edge_index (, pos)")
    q.add_argument("--library", help="candidate terms: a spec (name or .pde) whose dt equation "
                   "sums them (default: polynomials to degree 3 and sum_j couplings)")
    q.add_argument("--param", action="append", metavar="NAME=VALUE",
                   help="override a param of the library (repeatable)")
    q.add_argument("--out", help="found spec (default discovered/DATA.pde)")
    q.add_argument("--png", help="validation plot (default: beside --out)")
    q.add_argument("--results", help="JSON summary")
    q.add_argument("--window", type=int, default=7, help="frames of the local polynomial fit "
                   "for dx/dt (odd)")
    q.add_argument("--order", type=int, default=3, help="degree of that fit")
    q.add_argument("--weak-window", type=int, default=0, help="fit the weak (integral) form on "
                   "test functions of this many frames instead of dx/dt (0: off)")
    q.add_argument("--folds", type=int, default=5, help="cross-validation folds (trajectories)")
    q.add_argument("--threshold", type=float, help="fixed STLSQ threshold (no CV)")
    q.add_argument("--cv-tolerance", type=float, default=0.1, help="sparsest model whose CV "
                   "error is within min + one standard error + TOL x min x (1 - min)")
    q.add_argument("--bootstrap", type=int, default=100, help="bootstrap resamples")
    q.add_argument("--max-trajectories", type=int, default=0, help="fit on at most this many")
    q.add_argument("--noise", type=float, default=0.0, help="add Gaussian observation noise of "
                   "this fraction of the data's std first (experiments)")
    q.add_argument("--seed", type=int, default=0)
    _process_options(q)
    options.attach(p)
    return p


def _version() -> str:
    """The installed distribution's version (package metadata, :data:`pde2gnn.__version__`)."""
    from pde2gnn import __version__
    return __version__
