"""Command line: ``pde2gnn check | explain | train | plot | merge | simulate | discover`` (the
options are built by :mod:`pde2gnn.cli.parser`).

``train`` trains a node classifier with a continuous spec (``--dataset``), or, for a
discrete-time spec (``compiler.is_discrete``), a graph-signal forecaster (``--data``,
:mod:`pde2gnn.train.tasks.forecasting`).

Every user error (:class:`~pde2gnn.errors.Pde2GnnError`) is printed as one message, without a
traceback, and the exit status is 2.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import List, Optional

from pde2gnn.train import distributed, results
from pde2gnn import allocator, options, threads
from pde2gnn.errors import OptionError, Pde2GnnError
from pde2gnn.train.tasks.registry import select
from pde2gnn.train.tasks.task import SHARED, kv
from pde2gnn.cli.parser import HelpParser, build_parser


def cmd_check(args) -> int:
    import dataclasses

    from pde2gnn.compiler.pipeline import model_kind, stages
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
        from pde2gnn.compiler.symbolic.lowering import derived_flows
        print("derived from energies (symmetric graph):")
        for k, v in derived_flows(checked).items():
            print(f"  {k} = {sp.sstr(v)}")
    print("discretised equations" + (f" (unbound dimensions shown as {', '.join(f'{k}=4' for k in unbound)})" if unbound else "") + ":")
    print(dataclasses.replace(st, dims=dims).stencil)
    return 0


def cmd_explain(args) -> int:
    from pde2gnn.compiler.pipeline import explain
    from pde2gnn.errors import OptionError
    if args.stage is not None and args.after is not None:
        raise OptionError("explain: give --stage or --after, not both")
    print(explain(args.spec, args.stage or "stencil", kv(args.dim, int) or None,
                  kv(args.param, float), after=args.after, fuse=not args.no_fuse))
    return 0


def _log_every(every: int, prefix: str):
    """A per-epoch log callback that prints every ``every``-th line (0: none): the first
    epoch's, then one every ``every`` epochs, above the progress bar when there is one
    (:func:`pde2gnn.progress.bar`), else as the only progress output."""
    count = [0]

    def log(line: str) -> None:
        count[0] += 1
        if every and (count[0] - 1) % every == 0:
            from tqdm.auto import tqdm
            tqdm.write(f"  {prefix} {line}")
            sys.stdout.flush()
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
    (:mod:`pde2gnn.train.tasks.registry`), the results file rewritten after every run."""
    from pde2gnn.resources import resolve_spec

    spec_path = resolve_spec(args.spec) if not Path(args.spec).is_file() else Path(args.spec)
    results.check_writable(args.results)
    if args.resume and args.results is None:   # a new run folder holds nothing to resume
        raise OptionError("--resume needs --results PATH (the file whose finished runs to keep)")
    options.check_device(args.device)
    task = select(spec_path, args.task)(spec_path, args)
    _refuse_foreign_options(args, task, args.task_options)
    threads.request(args.threads)
    rank, size, device = 0, 1, args.device
    partition = getattr(args, "partition", None)
    if partition and args.distributed:
        raise OptionError("--partition splits one graph over torchrun's processes, "
                          "--distributed spreads whole runs over them: give one of the two")
    if args.distributed:
        rank, size, device = distributed.start(args.device)
    if partition:      # every rank trains its part of the graph; rank 0 reports and writes
        from pde2gnn.graph.partitioned import start
        rank = start(partition, args.device)
        if str(args.device).startswith("cuda"):
            device = f"cuda:{distributed.world()[2]}"
    quiet_rank = (task.data_parallel or bool(partition)) and rank != 0   # rank 0 writes
    if quiet_rank:
        args.quiet, args.log_every = True, 0
        sys.stdout = open(os.devnull, "w")
    data, config = task.setup()
    n_splits = task.num_splits(data)
    splits, first = args.splits or 1, args.first_split
    if first < 0 or splits < 1 or first + splits > n_splits:
        raise OptionError(f"{task.dataset(data)} has {n_splits} split(s), --first-split {first} "
                          f"--splits {splits} asked (splits {first} to {first + splits - 1})")
    for line in task.describe(data, config):
        print(line)
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    todo = [(s, k) for s in range(first, first + splits) for k in seeds]
    print(f"{len(todo)} run(s): {splits} split(s) x {args.seeds} seed(s)")
    final = args.results
    if final is None and not args.distributed and not quiet_rank:
        final = results.run_folder(spec_path.stem, task.dataset(data)) / "results.json"
        final = str(final)
    path = None if quiet_rank else final
    if path:
        print(f"results: {path} (rewritten after every run)")
    if args.distributed and not task.data_parallel:   # this rank's share, into its own file
        todo = todo[rank::size]
        path = distributed.rank_path(final, rank) if final else None
        print(f"rank {rank} of {size}: runs {todo} on {device}")
    runs = []
    if args.resume:
        # --partition: every rank reads the file rank 0 writes, so all run the same todo list
        runs = results.resumed_runs(final if partition else path, task.name,
                                    spec_path.stem, task.dataset(data), config.to_dict())
    done = {(r["split_index"], r["seed"]) for r in runs}
    for split_index, seed in todo:
        if (split_index, seed) in done:
            continue
        every = args.log_every if task.logs_every_epoch else min(args.log_every, 1)
        r = task.run(data, config, split_index, seed, device, _log_every(every, f"seed {seed}"))
        r["split_index"], r["seed"] = split_index, seed
        runs.append(r)
        if path:
            results.write_atomic(path, json.dumps(results.document(task, data, config, runs,
                                                                   device), indent=1))
            print(f"results ({len(runs)} run(s)) written to {path}")
        print(f"split {split_index} seed {seed}: {task.run_line(r)}")
    if partition:
        distributed.barrier_and_stop()
        if rank != 0:
            return 0
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
    from pde2gnn.train.curves import plot_training_curves
    print(f"training curves written to {plot_training_curves(args.results, args.out)}")
    return 0


def cmd_merge(args) -> int:
    if any(Path(p).is_dir() for p in args.inputs):   # `simulate --shard` folders
        from pde2gnn.simulate import merge_shards
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
    split = options.fractions(args.split, "--split")
    from pde2gnn.simulate import SimulationConfig, parse_shard, simulate

    threads.request(args.threads)
    cfg = SimulationConfig(
        graph=args.graph, n=args.n, points=args.points, k=args.k,
        trajectories=args.trajectories, frames=args.frames, dt=args.dt, ic=args.ic,
        modes=args.modes, sample=args.sample, sample_k=args.sample_k, split=split,
        method=args.method, rtol=args.rtol, atol=args.atol, step_size=options.unset(args.step_size),
        integrator=args.integrator, compile=args.compile, batch=args.batch, seed=args.seed,
        dtype=args.dtype,
        scheme=args.scheme, data_root=args.data_root, dims=kv(args.dim, int),
        params=kv(args.param, float), nodes=args.nodes, protocol=args.protocol,
        horizon=args.horizon, loc_std=args.loc_std, vel_norm=args.vel_norm,
        shard=parse_shard(args.shard) if args.shard else None, graph_file=args.graph_file,
        init=_init_files(args.init), inputs=kv(args.input, str), max_nfe=args.max_nfe,
        steady_tol=args.steady_tol, track_sum=args.track_sum, movie=args.movie, fps=args.fps,
        partition=args.partition)
    name = Path(args.spec).stem
    out = args.out or f"simulations/{name}.npz"
    png = None if args.no_png else (args.png or str(Path(out).with_suffix(".png")))
    simulate(args.spec, out, cfg, png, progress=not args.quiet)
    return 0


def _init_files(items) -> dict:
    """``--init FIELD=FILE`` items -> ``{field: file}``; a bare ``FILE.npz`` is key ``*``."""
    out = {}
    for it in items or []:
        k, eq, v = it.partition("=")
        if not eq:
            out["*"] = it
        elif not k.strip() or not v:
            raise OptionError(f"--init takes FIELD=FILE or FILE.npz, got '{it}'")
        else:
            out[k.strip()] = v
    return out


def cmd_discover(args) -> int:
    from pde2gnn.discover import DiscoveryConfig, run

    threads.request(args.threads)
    cfg = DiscoveryConfig(window=args.window, order=args.order, weak_window=args.weak_window,
                          folds=args.folds, bootstrap=args.bootstrap, threshold=args.threshold,
                          tolerance=args.cv_tolerance, max_trajectories=args.max_trajectories,
                          params=kv(args.param, float), seed=args.seed)
    run(args.data, args.library, args.out, cfg, args.noise, args.png, args.results)
    return 0

#: subcommand -> its function (the options are in :mod:`pde2gnn.cli.parser`)
COMMANDS = {"check": cmd_check, "explain": cmd_explain, "train": cmd_train, "plot": cmd_plot,
            "merge": cmd_merge, "simulate": cmd_simulate, "discover": cmd_discover}


def main(argv: Optional[List[str]] = None) -> int:
    HelpParser.argv = list(sys.argv[1:] if argv is None else argv)
    try:   # the options' rules (pde2gnn.options) raise OptionError while parsing
        args = build_parser().parse_args(argv)
        allocator.request(getattr(args, "allocator", "system"), argv)   # may re-execute
        return COMMANDS[args.command](args)
    except Pde2GnnError as e:
        print(str(e), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:     # stdout closed early (`pde2gnn explain ... | head`)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
