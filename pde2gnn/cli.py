"""Command line: ``pde2gnn check | explain | train | simulate | discover``.

``train`` trains a node classifier with a continuous spec (``--dataset``), or, for a
discrete-time spec (``compiler.is_discrete``), a graph-signal forecaster (``--data``,
:mod:`pde2gnn.tasks.forecasting`).

Every user error (:class:`~pde2gnn.errors.Pde2GnnError`) is printed as one message, without a
traceback, and the exit status is 2.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import List, Optional

from . import distributed, results
from .errors import OptionError, Pde2GnnError
from .tasks.registry import TASKS, select
from .tasks.task import SHARED, kv


def cmd_check(args) -> int:
    import dataclasses

    from .compiler import model_kind, stages
    st = stages(args.spec, params=kv(args.param, float))
    checked = st.checked
    given = kv(args.dim, int)
    unbound = [k for k, v in checked.dims.items() if v is None and k not in given]
    dims = {**{k: 4 for k in unbound}, **given}
    print(f"{checked.spec.filename}: model '{checked.name}' is well formed")
    print(f"  {model_kind(checked)}")
    print("  fields: " + ", ".join(f"{n} : {t.describe()}" for n, t in checked.fields.items()
                                    if n not in checked.states))
    if checked.states:
        print("  states: " + ", ".join(f"{n} : {checked.fields[n].describe()}"
                                        for n in checked.states))
    if checked.learns:
        print("  learnable: " + ", ".join(checked.learns))
    if checked.nets:
        print("  networks: " + ", ".join(
            f"{n} : {v.kind}({', '.join(f'{k}={c}' for k, c in v.sizes.items())})"
            for n, v in checked.nets.items()))
    if checked.energies:
        import sympy as sp
        from .symbolic.ir import derived_flows
        print("derived from energies (symmetric graph):")
        for k, v in derived_flows(checked).items():
            print(f"  {k} = {sp.sstr(v)}")
    print("discretised equations" + (f" (unbound dimensions shown as {', '.join(f'{k}=4' for k in unbound)})" if unbound else "") + ":")
    print(dataclasses.replace(st, dims=dims).stencil)
    return 0


def cmd_explain(args) -> int:
    from .compiler import explain
    print(explain(args.spec, args.stage, kv(args.dim, int) or None, kv(args.param, float)))
    return 0


def _log_every(every: int, prefix: str):
    """A per-epoch log callback that prints every ``every``-th line (0: none) above the
    progress bar."""
    count = [0]

    def log(line: str) -> None:
        count[0] += 1
        if every and (count[0] - 1) % every == 0:
            from tqdm.auto import tqdm
            tqdm.write(f"  {prefix} {line}")
    return log


def _refuse_foreign_options(args, task, parser_tasks) -> None:
    """Options of another task, or shared ones this task does not read, are an error (they
    would be silently ignored).

    Raises:
        OptionError: naming the option and the task.
    """
    foreign = [d for name, dests in parser_tasks.items() if name != task.name for d in dests]
    foreign += [d for d in SHARED if d not in task.shared]
    given = [d for d in dict.fromkeys(foreign) if getattr(args, d, None) not in (None, False)]
    if not given:
        return
    opt = "--" + given[0].replace("_", "-")
    what = (f"'{Path(args.spec).stem}' runs the {task.name} task ({task.help})")
    if given[0] == "data" and task.name == "node_classification":
        raise OptionError(f"--data is for discrete-time forecasting specs or --task dynamics; "
                          f"{what}: use --dataset")
    raise OptionError(f"{opt} is not an option of the {task.name} task; {what}")


def cmd_train(args) -> int:
    """``pde2gnn train SPEC``: the runs (splits x seeds) of the spec's task
    (:mod:`pde2gnn.tasks.registry`), the results file rewritten after every run."""
    from .resources import resolve_spec

    spec_path = resolve_spec(args.spec) if not Path(args.spec).is_file() else Path(args.spec)
    results.check_writable(args.results)
    if args.seeds < 1 or args.first_seed < 0:
        raise OptionError(f"--seeds must be at least 1 and --first-seed at least 0, got "
                          f"{args.seeds} and {args.first_seed}")
    task = select(spec_path, args.task)(spec_path, args)
    _refuse_foreign_options(args, task, args.task_options)
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    rank, size, device = 0, 1, args.device
    if args.distributed:
        rank, size, device = distributed.start(args.device)
    quiet_rank = task.data_parallel and rank != 0   # DDP: rank 0 reports and writes
    if quiet_rank:
        args.quiet, args.log_every = True, 0
        sys.stdout = open(os.devnull, "w")
    data, config = task.setup()
    n_splits = task.num_splits(data)
    splits = args.splits or 1
    if splits > n_splits:
        raise OptionError(f"{task.dataset(data)} has {n_splits} split(s), --splits {splits} "
                          "asked")
    for line in task.describe(data, config):
        print(line)
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    todo = [(s, k) for s in range(splits) for k in seeds]
    print(f"{len(todo)} run(s): {splits} split(s) x {args.seeds} seed(s)")
    final, path = args.results, (None if quiet_rank else args.results)
    if args.distributed and not task.data_parallel:   # this rank's share, into its own file
        todo = todo[rank::size]
        path = distributed.rank_path(final, rank) if final else None
        print(f"rank {rank} of {size}: runs {todo} on {device}")
    runs = []
    if args.resume:
        runs = results.resumed_runs(path, task.name, spec_path.stem, task.dataset(data),
                                    config.to_dict(), type(config)().to_dict())
    done = {(r["split_index"], r["seed"]) for r in runs}
    for split_index, seed in todo:
        if (split_index, seed) in done:
            continue
        r = task.run(data, config, split_index, seed, device,
                     _log_every(args.log_every, f"seed {seed}"))
        r["split_index"], r["seed"] = split_index, seed
        runs.append(r)
        if path:
            results.write_atomic(path, json.dumps(results.document(task, data, config, runs,
                                                                   device), indent=1))
            print(f"results ({len(runs)} run(s)) written to {path}")
        print(f"split {split_index} seed {seed}: {task.run_line(r)}")
    if args.distributed:
        distributed.barrier_and_stop()
        if rank != 0:
            return 0
        if not task.data_parallel:
            if not final:
                print("rank 0: pass --results to get the runs of every rank joined")
                return 0
            merged = results.merge([distributed.rank_path(final, k) for k in range(size)])
            results.write_atomic(final, json.dumps(merged, indent=1))
            print(f"results of {size} ranks ({len(merged['runs'])} run(s)) joined in {final}")
            runs = merged["runs"]
    for line in task.report(data, task.summarize(runs), runs):
        print(line)
    return 0


def cmd_plot(args) -> int:
    from .curves import plot_training_curves
    print(f"training curves written to {plot_training_curves(args.results, args.out)}")
    return 0


def cmd_merge(args) -> int:
    if any(Path(p).is_dir() for p in args.inputs):   # `simulate --shard` folders
        from .simulate import merge_shards
        if not str(args.out).endswith(".npz"):
            raise OptionError(f"merge of simulate shards writes an .npz, got '{args.out}'")
        merge_shards(args.out, args.inputs, png=str(Path(args.out).with_suffix(".png")))
        return 0
    merged = results.merge(args.inputs)
    results.check_writable(args.out, "merge")
    results.write_atomic(args.out, json.dumps(merged, indent=1))
    means = [k[:-5] for k in merged if k.endswith("_mean") and f"{k[:-5]}_std" in merged]
    print(f"{len(merged['runs'])} run(s) from {len(args.inputs)} file(s) joined in {args.out}: "
          + ", ".join(f"{k} {merged[k + '_mean']:.4g} ± {merged[k + '_std']:.4g}" for k in means))
    return 0


def cmd_simulate(args) -> int:
    import torch

    from .simulate import SimulationConfig, parse_shard, simulate

    if args.threads:
        torch.set_num_threads(args.threads)
    split = tuple(float(v) for v in args.split.split(","))
    if len(split) != 3:
        raise OptionError(f"--split needs three fractions, got '{args.split}'")
    cfg = SimulationConfig(
        graph=args.graph, n=args.n, points=args.points, k=args.k,
        trajectories=args.trajectories, frames=args.frames, dt=args.dt, ic=args.ic,
        modes=args.modes, sample=args.sample, sample_k=args.sample_k, split=split,
        method=args.method, rtol=args.rtol, atol=args.atol, step_size=args.step_size,
        integrator=args.integrator, batch=args.batch, seed=args.seed, dtype=args.dtype,
        scheme=args.scheme, data_root=args.data_root, dims=kv(args.dim, int),
        params=kv(args.param, float), nodes=args.nodes, protocol=args.protocol,
        horizon=args.horizon, loc_std=args.loc_std, vel_norm=args.vel_norm,
        shard=parse_shard(args.shard) if args.shard else None)
    name = Path(args.spec).stem
    out = args.out or f"simulations/{name}.npz"
    png = None if args.no_png else (args.png or str(Path(out).with_suffix(".png")))
    simulate(args.spec, out, cfg, png, progress=not args.quiet)
    return 0


def cmd_discover(args) -> int:
    import torch

    from .discover import DiscoveryConfig, run

    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = DiscoveryConfig(window=args.window, order=args.order, weak_window=args.weak_window,
                          folds=args.folds, bootstrap=args.bootstrap, threshold=args.threshold,
                          tolerance=args.cv_tolerance, max_trajectories=args.max_trajectories,
                          params=kv(args.param, float), seed=args.seed)
    run(args.data, args.library, args.out, cfg, args.noise, args.png, args.results)
    return 0


def _config_defaults() -> dict:
    """Built-in defaults of the TrainConfig and SolverConfig fields, by name."""
    from dataclasses import MISSING, fields

    from .solve import SolverConfig
    from .tasks.node_classification import TrainConfig
    return {f.name: f.default for cls in (TrainConfig, SolverConfig) for f in fields(cls)
            if f.default is not MISSING}


class _HelpParser(argparse.ArgumentParser):
    """A subcommand's parser whose help gives each training / solver option's default: the
    value of the spec's TOML (``library/SPEC.toml``: ``[default]``, then the ``--dataset``
    table) when a spec is named before ``--help`` (``pde2gnn train grand --help``), else where
    it comes from and the built-in value. Filled in when the help is printed, so commands start
    without importing torch."""

    argv: List[str] = []       # the command line being parsed (set by :func:`main`)

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
        dataset = next((rest[k + 1] for k, x in enumerate(rest[:-1]) if x == "--dataset"), None)
        if spec is None:
            return {}, ""
        from .config import load_defaults
        from .resources import resolve_spec
        try:
            path = resolve_spec(spec)
            values = load_defaults(path, dataset)
        except Pde2GnnError:
            return {}, ""
        return values, f"{path.stem}.toml" + (f" [{dataset}]" if dataset else "")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pde2gnn", description="Symbolic PDE-to-GNN compiler.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_HelpParser)

    def spec_args(q):
        q.add_argument("spec", help="library model name (e.g. grand) or path to a .pde file")
        q.add_argument("--dim", action="append", metavar="NAME=SIZE",
                       help="size of a symbolic dimension (repeatable)")
        q.add_argument("--param", action="append", metavar="NAME=VALUE",
                       help="override a param (repeatable)")

    q = sub.add_parser("check", help="parse, check and print the discretised equations")
    spec_args(q)
    q.set_defaults(func=cmd_check)
    q = sub.add_parser("explain", help="print one pipeline stage")
    spec_args(q)
    q.add_argument("--stage", default="stencil", choices=["ast", "ir", "stencil", "python"])
    q.set_defaults(func=cmd_explain)
    q = sub.add_parser("train", help="train the spec on its task: node classification "
                       "(continuous specs), forecasting (discrete-time specs), dynamics or nbody",
                       description="Train a spec on its task (pde2gnn/tasks/registry.py): "
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
    q.add_argument("--resume", action="store_true", help="keep the finished (split, seed) runs "
                   "already in --results (same model, data set and configuration) and run only "
                   "the missing ones")
    q.add_argument("--distributed", action="store_true",
                   help="spread the (split, seed) runs over the processes of torchrun "
                   "(torchrun --standalone --nproc-per-node P -m pde2gnn train ... "
                   "--distributed): one results file per rank, joined into --results; the "
                   "forecasting task trains data-parallel instead (DDP, each global batch split "
                   "over the ranks, rank 0 writes --results)")
    q.add_argument("--device", default="cpu")
    q.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    q.add_argument("--results", help="write the results as JSON to this path")
    q.add_argument("--log-every", type=int, default=10, help="print every N-th epoch (0: none)")
    q.add_argument("--quiet", action="store_true", help="no progress bar")
    g = q.add_argument_group("shared by several tasks")
    g.add_argument("--data", metavar="NAME_OR_PATH", help="forecasting: noaa, a `pde2gnn "
                   "simulate` .npz, or a sensor folder (values.npy + stations.csv); dynamics / "
                   "nbody: a `pde2gnn simulate` .npz")
    g.add_argument("--epochs", type=int)
    g.add_argument("--lr", type=float)
    g.add_argument("--weight-decay", type=float)
    g.add_argument("--hidden", type=int)
    g.add_argument("--method", help="ODE method: dopri5, tsit5, bosh3, rk4, midpoint, euler, "
                   "... (or any other torchdiffeq method)")
    g.add_argument("--rtol", type=float)
    g.add_argument("--atol", type=float)
    g.add_argument("--max-nfe", type=int)
    task_options = {}
    for name, task in TASKS.items():
        g = q.add_argument_group(f"{name} ({task.help})")
        before = len(q._actions)
        task.add_options(g)
        task_options[name] = [a.dest for a in q._actions[before:]]
    q.set_defaults(func=cmd_train, task_options=task_options)

    q = sub.add_parser("plot", help="training curves (loss, accuracies, NFE per epoch) of a "
                       "results JSON as a PNG")
    q.add_argument("results", help="a results JSON of `pde2gnn train`")
    q.add_argument("--out", help="the PNG (default: RESULTS.curves.png beside it)")
    q.set_defaults(func=cmd_plot)

    q = sub.add_parser("merge", help="join results files of one experiment (runs of "
                       "several processes or --first-seed ranges) into one, summary recomputed; "
                       "or the shard folders of `simulate --shard` into one .npz")
    q.add_argument("out", help="the joined results JSON (or .npz for simulate shards)")
    q.add_argument("inputs", nargs="+", help="results JSONs of `pde2gnn train`, or the "
                   "OUT.shardI-of-N folders of `pde2gnn simulate --shard I/N`")
    q.set_defaults(func=cmd_merge)

    q = sub.add_parser("simulate", help="generate synthetic trajectories of a spec (.npz + PNG)",
                       description="Integrate a spec from random initial conditions and save "
                       "the frames; defaults are PA-DGN's synthetic data (appendix A.1). The "
                       ".npz layout is documented in pde2gnn/simulate/__init__.py.")
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
    q.add_argument("--n", type=int, default=50, help="grid points per axis")
    q.add_argument("--points", type=int, default=2500, help="number of random points")
    q.add_argument("--k", type=int, default=8, help="kNN of the simulation graph (points)")
    q.add_argument("--scheme", choices=["auto", "grid", "lsq", "mesh"],
                   help="override the spec's stencil scheme")
    q.add_argument("--trajectories", type=int, default=1000)
    q.add_argument("--frames", type=int, default=21)
    q.add_argument("--dt", type=float, default=0.01, help="time between frames")
    q.add_argument("--ic", default="fourier",
                   help="fourier, bumps, noise, ndcn (blocks at 25 / 20 / 17), charged (EGNN's "
                        "N-body systems, with --graph complete), or a .npy file")
    q.add_argument("--modes", type=int, default=9, help="Fourier modes N (|k|, |l| <= N)")
    q.add_argument("--sample", type=int, default=250, help="nodes to save (0: all)")
    q.add_argument("--sample-k", type=int, default=4, help="kNN of the sampled nodes' graph")
    q.add_argument("--split", default="0.7,0.15,0.15", help="train,val,test fractions")
    q.add_argument("--method", default="dopri5")
    q.add_argument("--rtol", type=float, default=1e-4)
    q.add_argument("--atol", type=float, default=1e-6)
    q.add_argument("--step-size", type=float)
    q.add_argument("--integrator", default="pde2gnn", choices=["pde2gnn", "torchdiffeq"],
                   help="pde2gnn: the fused Runge-Kutta loop; torchdiffeq: torchdiffeq.odeint")
    q.add_argument("--batch", type=int, default=250,
                   help="trajectories per solve (the channels of one state)")
    q.add_argument("--dtype", default="float32", choices=["float64", "float32"])
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--shard", metavar="I/N", help="solve only shard I of N (chunks of --batch "
                   "trajectories I, I+N, ...), each chunk written to OUT.shardI-of-N/ as it "
                   "finishes (a rerun resumes); join with pde2gnn merge OUT.npz SHARD_DIRS...")
    q.add_argument("--data-root", default=None, help="data folder (default: $PDE2GNN_DATA)")
    q.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    q.add_argument("--out", help="output .npz (default simulations/SPEC.npz)")
    q.add_argument("--png", help="PNG of a few frames (default: beside --out)")
    q.add_argument("--no-png", action="store_true")
    q.add_argument("--quiet", action="store_true", help="no progress bar")
    q.set_defaults(func=cmd_simulate)

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
    q.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    q.set_defaults(func=cmd_discover)
    return p


def main(argv: Optional[List[str]] = None) -> int:
    _HelpParser.argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except Pde2GnnError as e:
        print(str(e), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
