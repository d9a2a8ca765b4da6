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

from . import distributed, provenance
from .errors import OptionError, Pde2GnnError


def _kv(items: Optional[List[str]], cast) -> dict:
    out = {}
    for it in items or []:
        if "=" not in it:
            raise OptionError(f"expected NAME=VALUE, got '{it}'")
        k, v = it.split("=", 1)
        try:
            out[k.strip()] = cast(v)
        except ValueError:
            raise OptionError(f"bad value in '{it}'") from None
    return out


def cmd_check(args) -> int:
    from .compiler import front, model_kind, to_stencil
    checked = front(args.spec)
    given = _kv(args.dim, int)
    unbound = [k for k, v in checked.dims.items() if v is None and k not in given]
    dims = {**{k: 4 for k in unbound}, **given}
    print(f"{checked.spec.filename}: model '{checked.name}' is well formed")
    print(f"  {model_kind(checked)}")
    print(f"  fields: " + ", ".join(f"{n} : {t.describe()}" for n, t in checked.fields.items()
                                    if n not in checked.states))
    if checked.states:
        print(f"  states: " + ", ".join(f"{n} : {checked.fields[n].describe()}"
                                        for n in checked.states))
    if checked.learns:
        print(f"  learnable: " + ", ".join(checked.learns))
    if checked.nets:
        print(f"  networks: " + ", ".join(
            f"{n} : {v.kind}({', '.join(f'{k}={c}' for k, c in v.sizes.items())})"
            for n, v in checked.nets.items()))
    if checked.energies:
        import sympy as sp
        from .symbolic.ir import derived_flows
        print("derived from energies (symmetric graph):")
        for k, v in derived_flows(checked).items():
            print(f"  {k} = {sp.sstr(v)}")
    print("discretised equations" + (f" (unbound dimensions shown as {', '.join(f'{k}=4' for k in unbound)})" if unbound else "") + ":")
    print(to_stencil(checked.spec, dims, _kv(args.param, float)))
    return 0


def cmd_explain(args) -> int:
    from .compiler import explain
    print(explain(args.spec, args.stage, _kv(args.dim, int) or None, _kv(args.param, float)))
    return 0


def cmd_train(args) -> int:
    import torch
    from tqdm.auto import tqdm

    from .config import load_defaults, make_config
    from .data import largest_connected_component, load_dataset, random_split
    from .resources import resolve_spec
    from .tasks.node_classification import summarize, train

    spec_path = resolve_spec(args.spec) if not Path(args.spec).is_file() else Path(args.spec)
    _check_writable(args.results)
    if args.seeds < 1 or args.first_seed < 0:
        raise OptionError(f"--seeds must be at least 1 and --first-seed at least 0, got "
                          f"{args.seeds} and {args.first_seed}")
    if args.task == "dynamics":
        return cmd_dynamics(args, spec_path)
    if _is_forecasting(spec_path):
        return cmd_forecast(args, spec_path)
    if args.data is not None:
        raise OptionError(f"--data is for discrete-time forecasting specs; '{spec_path.stem}' is "
                          "a continuous model (node classification): use --dataset")
    values = load_defaults(spec_path, args.dataset)
    overrides = {"time": args.time, "method": args.method, "rtol": args.rtol, "atol": args.atol,
                 "step_size": args.step_size, "integrator": args.integrator,
                 "adjoint": args.adjoint or None,
                 "max_nfe": args.max_nfe, "epochs": args.epochs, "lr": args.lr,
                 "weight_decay": args.weight_decay, "hidden": args.hidden,
                 "dropout": args.dropout, "input_dropout": args.input_dropout,
                 "optimizer": args.optimizer, "posenc": args.posenc,
                 "posenc_dim": args.posenc_dim, "ppr_alpha": args.ppr_alpha,
                 "ppr_topk": args.ppr_topk, "knn_k": args.knn_k,
                 "rewire_from": args.rewire_from, "rewire_every": args.rewire_every,
                 "self_loops": args.self_loops, "fc_out": args.fc_out,
                 "encoder": args.encoder, "select_time": args.select_time,
                 "select_points": args.select_points}
    values.update({k: v for k, v in overrides.items() if v is not None})
    values["dims"] = {**values.get("dims", {}), **_kv(args.dim, int)}
    values["params"] = {**values.get("params", {}), **_kv(args.param, float)}
    if args.posenc == "none":
        values["posenc"] = None
    config = make_config(values)
    torch.set_num_threads(args.threads) if args.threads else None
    random = args.split == "random"
    data = load_dataset(args.dataset, args.data_root, "public" if random else args.split)
    if random:  # BLEND / GRAND protocol: largest connected component, 20 labels per class
        data = largest_connected_component(data)
        data = random_split(data, 0)
    n_splits = data.train_mask.shape[1] if data.train_mask.dim() == 2 else 1
    if args.splits > n_splits:
        raise OptionError(f"{args.dataset} has {n_splits} split(s), --splits {args.splits} asked")
    split = args.split or ("geom-gcn" if n_splits > 1 else "public")
    sizes = "/".join(str(int((m[:, 0] if m.dim() == 2 else m).sum()))
                     for m in (data.train_mask, data.val_mask, data.test_mask))
    print(f"{spec_path.stem} on {args.dataset} ({split} split): {data.num_nodes} nodes, "
          f"{data.num_edges} edges, {sizes} train/val/test; {args.splits} split(s) x "
          f"{args.seeds} seed(s)")
    print("config: " + json.dumps({k: v for k, v in config.to_dict().items()}))
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    todo = [(s, k) for s in range(args.splits) for k in seeds]
    final_results, device = args.results, args.device
    if args.distributed:        # this process runs its share, into its own results file
        rank, size, device = distributed.start(args.device)
        todo = todo[rank::size]
        if args.results:
            args.results = distributed.rank_path(final_results, rank)
        print(f"rank {rank} of {size}: runs {todo} on {device}")
    runs = _resumed_runs(args, config) if args.resume else []
    done = {(r["split_index"], r["seed"]) for r in runs}
    for split_index, seed in todo:
        if (split_index, seed) in done:
            continue
        every = args.log_every

        def log(line, _n=[0]):
            _n[0] += 1
            if every and (_n[0] - 1) % every == 0:
                tqdm.write(f"  seed {seed} {line}")
        run_data = random_split(data, seed) if random else data
        r = train(spec_path, run_data, config, seed=seed, split_index=split_index,
                  device=device, progress=not args.quiet, log=log,
                  return_model=bool(args.plot_energy))
        r["split_index"], r["seed"] = split_index, seed
        if args.plot_energy:
            from .diagnostics import energy_report
            rep = energy_report(r.pop("model"), run_data, args.plot_energy)
            r["energy"] = rep
            print(rep["summary"])
        r.pop("model", None)
        runs.append(r)
        if args.results:
            _write_results(args, spec_path, config, runs, split)
        at_time = f" t = {r['best_time']:.2f}" if config.select_time else ""
        print(f"split {split_index} seed {seed}: test acc {100 * r['test_acc']:.2f}% at epoch "
              f"{r['best_epoch']}{at_time} (val {100 * r['val_acc']:.2f}%), "
              f"{r['epoch_time_s']:.3f} s/epoch, NFE fwd {r['nfe_forward']:.1f} bwd "
              f"{r['nfe_backward']:.1f}")
    if args.distributed:
        distributed.barrier_and_stop()
        if rank != 0:
            return 0
        if not final_results:
            print("rank 0: pass --results to get the runs of every rank joined")
            return 0
        merged = distributed.merge_results([distributed.rank_path(final_results, k)
                                            for k in range(size)])
        _write_atomic(final_results, json.dumps(merged, indent=1))
        print(f"results of {size} ranks ({len(merged['runs'])} run(s)) joined in "
              f"{final_results}")
        runs = merged["runs"]
    s = summarize(runs)
    print(f"test accuracy: {100 * s['test_acc_mean']:.2f} ± {100 * s['test_acc_std']:.2f} % "
          f"(validation {100 * sum(s['val_acc']) / len(runs):.2f} %) over {len(runs)} run(s); "
          f"{s['epoch_time_s']:.3f} s/epoch; NFE forward {s['nfe_forward']:.1f}, backward "
          f"{s['nfe_backward']:.1f} per epoch")
    return 0


def _is_forecasting(spec) -> bool:
    """True when the spec is a discrete-time model (``compiler.is_discrete``), trained by
    :mod:`pde2gnn.tasks.forecasting`; False while the compiler has no discrete-time models."""
    from . import compiler
    is_discrete = getattr(compiler, "is_discrete", None)
    return bool(is_discrete(spec)) if is_discrete is not None else False


def cmd_forecast(args, spec_path) -> int:
    """``pde2gnn train SPEC --data noaa|FILE.npz|FOLDER`` for a discrete-time spec: graph-signal
    forecasting (PA-DGN protocol), mean ± std over seeds, results JSON after every seed."""
    import dataclasses

    import torch
    from tqdm.auto import tqdm

    from . import compiler
    from .forecast_data import load_forecast_data
    from .tasks.forecasting import (ForecastConfig, horizon_lines, persistence_mae, summarize,
                                    train)

    if args.data is None:
        raise OptionError(f"'{spec_path.stem}' is a discrete-time forecasting model: give the "
                          "series with --data (noaa, a `pde2gnn simulate` .npz, or a sensor "
                          "folder)")
    if args.threads:
        torch.set_num_threads(args.threads)
    rank, device = 0, args.device
    if args.distributed:   # data-parallel (DDP): every rank trains every seed on its windows
        rank, size, device = distributed.start(args.device)
        if rank != 0:
            args.results, args.quiet, args.log_every = None, True, 0
            sys.stdout = open(os.devnull, "w")
    data = load_forecast_data(args.data, args.data_root)
    given = {"n_in": args.n_in or data.window[0], "n_out": args.n_out or data.window[1],
             "epochs": args.epochs, "lr": args.lr, "weight_decay": args.weight_decay,
             "batch_size": args.batch_size, "patience": args.patience, "loss": args.loss,
             "ss_k": args.ss_k, "grad_clip": args.grad_clip, "stride": args.stride,
             "max_windows_per_epoch": args.max_windows, "threads": args.threads,
             "device": device}
    config = ForecastConfig(**{k: v for k, v in given.items() if v is not None})
    config.scheduled_sampling = not args.no_scheduled_sampling
    config.validate()
    dims, params = _kv(args.dim, int) or None, _kv(args.param, float) or None
    declared = compiler.front(spec_path).inputs   # compile rejects inputs a spec does not declare
    inputs = {"pos": data.pos} if data.pos is not None and "pos" in declared else None

    edge_index = data.edge_index
    if compiler.front(spec_path).domain_option("scheme") == "mesh":
        if data.pos is None:
            raise OptionError(f"'{spec_path.stem}' uses mesh stencils: the data needs node "
                              "coordinates")
        from .graphs import delaunay_graph   # mesh operators live on the Delaunay triangulation
        edge_index = delaunay_graph(data.pos.numpy())
        print(f"{spec_path.stem}: Delaunay graph of the {data.num_nodes} points "
              f"({edge_index.shape[1]} directed edges) instead of the data's graph")

    def model_fn(d):
        return compiler.compile_stepper(spec_path, edge_index, d.num_nodes, dims, params,
                                        inputs)

    print(data.describe())
    print(f"{spec_path.stem}: {config.n_in} frames in, {config.n_out} out; {args.seeds} "
          f"seed(s); config: " + json.dumps(config.to_dict()))
    base = persistence_mae(data, config)
    u = f" {data.units}" if data.units else ""
    print(f"persistence (f(t+1) = f(t)) test MAE: " + ", ".join(
        f"{h}-step {base['mae_per_horizon'][h - 1]:.4f}" for h in
        sorted({h for h in (1, 6, 12) if h <= config.n_out} | {config.n_out})) + u)
    runs = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        every = args.log_every

        def log(line, _n=[0]):
            _n[0] += 1
            if every and (_n[0] - 1) % every == 0:
                tqdm.write(f"  seed {seed} {line}")
        r = train(model_fn, data, dataclasses.replace(config, seed=seed),
                  progress=not args.quiet, log=log)
        runs.append(r)
        if args.results:
            _write_forecast_results(args, spec_path, data, config, runs, base)
        print(f"seed {seed}: test MAE {r['mae_mean']:.4f}{u} (mean over {config.n_out} horizons) "
              f"at epoch {r['best_epoch']} of {r['epochs_run']} (val {r['val_mae']:.4f}), "
              f"{r['time_per_epoch_s']:.2f} s/epoch, {r['num_parameters']} parameters")
    s = summarize(runs)
    print(f"{spec_path.stem} on {data.name}, test MAE over {len(runs)} seed(s):")
    for line in horizon_lines(s, data.units):
        print("  " + line)
    print(f"  mean over horizons: {s['mae_mean']:.4f} ± {s['mae_mean_std']:.4f}{u} "
          f"(persistence {base['mae']:.4f})")
    if args.distributed:
        distributed.barrier_and_stop()
    return 0


def cmd_dynamics(args, spec_path) -> int:
    """``pde2gnn train SPEC --data SIM.npz --task dynamics``: fit a continuous spec to one
    observed trajectory (NDCN protocol, :mod:`pde2gnn.tasks.dynamics`), mean ± std over seeds."""
    import dataclasses

    import torch
    from tqdm.auto import tqdm

    from . import compiler
    from .config import load_defaults
    from .tasks.dynamics import DynamicsConfig, DynamicsModel, load_dynamics, summarize, train
    from .solve import SolverConfig

    if args.data is None:
        raise OptionError("--task dynamics needs --data SIM.npz (pde2gnn simulate ... --protocol "
                          "irregular)")
    if args.threads:
        torch.set_num_threads(args.threads)
    data = load_dynamics(args.data)
    values = load_defaults(spec_path, data.name)
    given = {"hidden": args.hidden, "epochs": args.epochs, "lr": args.lr,
             "weight_decay": args.weight_decay, "method": args.method, "rtol": args.rtol,
             "atol": args.atol, "max_nfe": args.max_nfe}
    values.update({k: v for k, v in given.items() if v is not None})
    values.pop("dims", None), values.pop("params", None)
    if args.log_every:
        values["eval_every"] = args.log_every
    base = DynamicsConfig.from_dict(values)
    checked = compiler.front(spec_path)
    if checked.discrete or len(checked.fields) != 1:
        raise OptionError(f"--task dynamics fits a continuous spec with one field; "
                          f"'{checked.name}' is not one")
    chan = next(iter(checked.fields.values())).channels
    symbolic = isinstance(chan, str)
    encoder = symbolic if base.encoder is None else base.encoder
    decoder = encoder if base.decoder is None else base.decoder
    solver = SolverConfig(base.method, base.rtol, base.atol, max_nfe=base.max_nfe)
    ei = torch.as_tensor(data.edge_index, dtype=torch.long)
    dims = {**({chan: base.hidden} if symbolic else {}), **_kv(args.dim, int)}

    def model_fn():
        field = compiler.compile(spec_path, ei, data.num_nodes, dims, _kv(args.param, float))
        return DynamicsModel(field, encoder, decoder, solver)

    print(f"{spec_path.stem} on {data.name} ({Path(args.data).name}: {data.num_nodes} nodes, "
          f"{ei.shape[1]} edges; {len(data.train)} train / {len(data.interp)} interpolation / "
          f"{len(data.extrap)} extrapolation times on [0, {data.horizon:g}]); encoder {encoder}, "
          f"decoder {decoder}; config: " + json.dumps(base.to_dict()))
    runs = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        plot = args.plot if args.plot and seed == args.first_seed else None
        r = train(model_fn, data, dataclasses.replace(base, seed=seed), progress=not args.quiet,
                  log=lambda line: tqdm.write(f"  seed {seed} {line}"), plot=plot)
        runs.append(r)
        lg = r["long"]
        longs = ("blow-up" if lg["blow_up"] else
                 f"2T {lg['l1_2T']:.4f}, 4T {lg['l1_4T']:.4f}, fixed point {lg['fixed_point_l1']:.4f}")
        print(f"seed {seed}: normalised L1 interpolation {r['interp']:.4f}, extrapolation "
              f"{r['extrap']:.4f} (train {r['train']:.4f}); long horizon: {longs}; "
              f"{r['epoch_time_s']:.3f} s/epoch, NFE {r['nfe_forward']:.0f}")
        if args.results:
            out = {"model": spec_path.stem, "spec": str(spec_path), "data": str(args.data),
                   "dynamics": data.name, **summarize(runs), "encoder": encoder,
                   "decoder": decoder, "config": base.to_dict(), "torch": torch.__version__,
                   "command": "pde2gnn " + " ".join(sys.argv[1:]), "runs": runs}
            Path(args.results).parent.mkdir(parents=True, exist_ok=True)
            Path(args.results).write_text(json.dumps(out, indent=1))
    s = summarize(runs)
    print(f"{spec_path.stem} on {data.name}, normalised L1 over {len(runs)} seed(s): "
          f"interpolation {s['interp']:.4f} ± {s['interp_std']:.4f}, extrapolation "
          f"{s['extrap']:.4f} ± {s['extrap_std']:.4f}")
    return 0


def _write_forecast_results(args, spec_path, data, config, runs, persistence) -> None:
    """The forecasting results JSON of the seeds so far (rewritten after every seed)."""
    import torch

    from .tasks.forecasting import summarize
    out = {"model": spec_path.stem, "spec": str(spec_path), "dataset": data.name,
           "data_source": data.source, "units": data.units, "n_in": config.n_in,
           "n_out": config.n_out, **summarize(runs),
           "persistence": {"mae_per_horizon": persistence["mae_per_horizon"],
                           "mae_mean": persistence["mae"]},
           "config": config.to_dict(), "torch": torch.__version__,
           **provenance(Path(spec_path).read_text(encoding="utf-8")),
           "command": "pde2gnn " + " ".join(sys.argv[1:]), "runs": runs}
    _write_atomic(args.results, json.dumps(out, indent=1))
    print(f"results ({len(runs)} seed(s)) written to {args.results}")


def _resumed_runs(args, config) -> list:
    """The finished runs stored in ``args.results`` by an earlier, cut-off or shorter run of the
    same command (``--resume``); [] when the file does not exist yet.

    Raises:
        OptionError: the file is not a node-classification results JSON, or it was written with
            another model, data set or configuration (its runs would not be comparable).
    """
    path = Path(args.results) if args.results else None
    if path is None:
        raise OptionError("--resume needs --results PATH (the file whose finished runs to keep)")
    if not path.is_file():
        return []
    try:
        old = json.loads(path.read_text())
        runs, old_config = old["runs"], old["config"]
    except (ValueError, KeyError, TypeError) as e:
        raise OptionError(f"--resume: {path} is not a results JSON of `pde2gnn train` ({e})")
    from .tasks.node_classification import TrainConfig
    # a key the file lacks was added to TrainConfig later: the file ran with its default
    new_config = json.loads(json.dumps(config.to_dict()))
    defaults = json.loads(json.dumps(TrainConfig().to_dict()))
    if isinstance(old_config, dict):
        old_config = {**{k: defaults[k] for k in new_config.keys() - old_config.keys()
                         if k in defaults}, **old_config}
    if old.get("dataset") != args.dataset or old_config != new_config:
        raise OptionError(f"--resume: {path} was written for {old.get('model')} on "
                          f"{old.get('dataset')} with another configuration; use another "
                          "--results file or rerun without --resume")
    print(f"resuming: {len(runs)} finished run(s) kept from {path}")
    return runs


def _check_writable(path: Optional[str]) -> None:
    """Before any training: ``--results PATH`` can be created or replaced.

    Raises:
        OptionError: PATH is a folder, lies under a file, or its folder is not writable.
    """
    if not path:
        return
    p = Path(path).expanduser().absolute()
    if p.is_dir():
        raise OptionError(f"--results {path} is a folder; give a file path, e.g. {p / 'run.json'}")
    parent = p.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise OptionError(f"--results {path} cannot be created: {parent} is a file")
    if not os.access(parent, os.W_OK | os.X_OK) or (p.exists() and not os.access(p, os.W_OK)):
        raise OptionError(f"--results {path} is not writable (no write permission in {parent})")


def _write_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename: a crash or a full disk
    never leaves a half-written results file (the previous one stays until the rename)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, p)


def _write_results(args, spec_path, config, runs, split) -> None:
    """The results JSON of the runs so far (rewritten after every run, so a cut-off run keeps
    what finished)."""
    import torch

    from .tasks.node_classification import summarize
    out = {"model": spec_path.stem, "spec": str(spec_path), "dataset": args.dataset,
           "split": split, "splits": sorted({r["split_index"] for r in runs}),
           "seeds": sorted({r["seed"] for r in runs}), **summarize(runs),
           "config": config.to_dict(), "device": args.device, "torch": torch.__version__,
           **provenance(Path(spec_path).read_text(encoding="utf-8")),
           "command": "pde2gnn " + " ".join(sys.argv[1:]), "runs": runs}
    _write_atomic(args.results, json.dumps(out, indent=1))
    print(f"results ({len(runs)} run(s)) written to {args.results}")


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
    merged = distributed.merge_results(args.inputs)
    _check_writable(args.out)
    _write_atomic(args.out, json.dumps(merged, indent=1))
    print(f"{len(merged['runs'])} run(s) from {len(args.inputs)} file(s) joined in {args.out}: "
          f"test accuracy {100 * merged['test_acc_mean']:.2f} ± "
          f"{100 * merged['test_acc_std']:.2f} %")
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
        scheme=args.scheme, data_root=args.data_root, dims=_kv(args.dim, int),
        params=_kv(args.param, float), nodes=args.nodes, protocol=args.protocol,
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
                          params=_kv(args.param, float), seed=args.seed)
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
    """A subcommand's parser whose help says where each training / solver option's default
    comes from: the spec's TOML (``library/SPEC.toml``: ``[default]``, then the data set's
    table), else the built-in value. Filled in when the help is printed, so commands start
    without importing torch."""

    def format_help(self) -> str:
        defaults = _config_defaults()
        for a in self._actions:
            if a.dest in defaults and a.default is None and a.help != argparse.SUPPRESS and \
                    "built-in" not in (a.help or ""):
                a.help = (f"{a.help}; " if a.help else "") + \
                    f"default: the spec's TOML, else built-in {defaults[a.dest]!r}"
        return super().format_help()


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
    q = sub.add_parser("train", help="train a node classifier with the spec as its ODE block")
    spec_args(q)
    q.add_argument("--dataset", default="Cora")
    q.add_argument("--split", default=None, help="public (Planetoid default), full, geom-gcn, "
                   "or random: largest connected component, 20 labels per class, 1500 "
                   "development nodes, a new split per seed; the heterophilic data sets always "
                   "use geom-gcn")
    q.add_argument("--splits", type=int, default=1, help="train on the first N of the data "
                   "set's splits (geom-gcn has 10) and report mean ± std over them")
    q.add_argument("--plot-energy", metavar="PATH", help="after training, write the Dirichlet "
                   "energy of x(t)/|x(t)| along the solve to PATH (PNG) and classify the "
                   "dynamics as low / high frequency dominated (LFD / HFD)")
    q.add_argument("--data-root", default=None, help="data folder (default: $PDE2GNN_DATA)")
    q.add_argument("--seeds", type=int, default=1)
    q.add_argument("--distributed", action="store_true",
                   help="spread the (split, seed) runs over the processes of torchrun "
                   "(torchrun --standalone --nproc-per-node P -m pde2gnn train ... "
                   "--distributed): one results file per rank, joined into --results; a "
                   "forecasting spec (--data) trains data-parallel instead (DDP, each global "
                   "batch split over the ranks, rank 0 writes --results)")
    q.add_argument("--first-seed", type=int, default=0, help="run seeds FIRST_SEED, ..., "
                   "FIRST_SEED + SEEDS - 1 (to spread the seeds of one experiment over processes)")
    q.add_argument("--resume", action="store_true", help="keep the finished (split, seed) runs "
                   "already in --results (same model, data set and configuration) and run only "
                   "the missing ones")
    q.add_argument("--epochs", type=int)
    q.add_argument("--lr", type=float)
    q.add_argument("--weight-decay", type=float)
    q.add_argument("--hidden", type=int)
    q.add_argument("--dropout", type=float)
    q.add_argument("--input-dropout", type=float)
    q.add_argument("--optimizer", choices=["adam", "adamax", "adamw"])
    q.add_argument("--time", type=float, help="integration time T")
    q.add_argument("--method", help="ODE method: dopri5, tsit5, bosh3, rk4, midpoint, euler, "
                   "... (or any other torchdiffeq method)")
    q.add_argument("--rtol", type=float)
    q.add_argument("--atol", type=float)
    q.add_argument("--step-size", type=float)
    q.add_argument("--integrator", choices=["pde2gnn", "torchdiffeq"],
                   help="pde2gnn (default): the fused Runge-Kutta loop; torchdiffeq: "
                   "torchdiffeq.odeint (the reference)")
    q.add_argument("--adjoint", action="store_true")
    q.add_argument("--max-nfe", type=int)
    q.add_argument("--self-loops", action=argparse.BooleanOptionalAction, default=None,
                   help="add a self-loop to every node of the diffusion graph")
    q.add_argument("--fc-out", action=argparse.BooleanOptionalAction, default=None,
                   help="linear + ReLU between the ODE block and the decoder (GRAFF)")
    q.add_argument("--encoder", action=argparse.BooleanOptionalAction, default=None,
                   help="linear encoder before the ODE block (--no-encoder: the ODE runs on "
                   "the raw features, d = number of features)")
    q.add_argument("--posenc", choices=["ppr", "lap", "rw", "deepwalk", "none"],
                   help="positional encoding for the spec's positional field u (BLEND)")
    q.add_argument("--posenc-dim", type=int, help="columns of the encoding (ppr: 0 = N-wide rows)")
    q.add_argument("--ppr-alpha", type=float, help="ppr: restart probability (default 0.05)")
    q.add_argument("--ppr-topk", type=int,
                   help="ppr: entries kept per row (default 64; 0: dense, column-normalised, as "
                        "the BLEND reference code)")
    q.add_argument("--knn-k", type=int, help="k of a graph knn(...) clause")
    q.add_argument("--rewire-from", choices=["pos", "u0"],
                   help="knn in the raw encoding or in the encoded u(0)")
    q.add_argument("--rewire-every", type=int, help="rebuild the knn graph every K epochs")
    q.add_argument("--select-time", type=float, metavar="XT",
                   help="choose the integration time on validation: evaluate on times up to "
                        "XT * T (the GRAND / BLEND reference's early-stopping integrator, "
                        "earlystopxT = 3); 0: evaluate at T")
    q.add_argument("--select-points", type=int, metavar="K",
                   help="--select-time: evenly spaced evaluation times (default 32)")
    q.add_argument("--device", default="cpu")
    q.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    q.add_argument("--results", help="write the results as JSON to this path")
    q.add_argument("--log-every", type=int, default=10, help="print every N-th epoch (0: none)")
    q.add_argument("--quiet", action="store_true", help="no progress bar")
    q.add_argument("--task", choices=["dynamics"],
                   help="dynamics: fit a continuous spec to the trajectory of a `pde2gnn simulate "
                        "--protocol` file given with --data (NDCN; interpolation / extrapolation)")
    q.add_argument("--plot", help="--task dynamics: PNG of truth vs prediction at a few nodes")
    f = q.add_argument_group("forecasting (discrete-time specs, e.g. PA-DGN)")
    f.add_argument("--data", metavar="NAME_OR_PATH", help="series to forecast: noaa, a "
                   "`pde2gnn simulate` .npz, or a sensor folder (values.npy + stations.csv)")
    f.add_argument("--n-in", type=int, help="observed frames per window (noaa 12, synthetic 5)")
    f.add_argument("--n-out", type=int, help="predicted frames (noaa 12, synthetic 15)")
    f.add_argument("--batch-size", type=int, help="windows per step (default 16)")
    f.add_argument("--patience", type=int, help="early stopping on validation MAE (default 10; "
                   "0: off)")
    f.add_argument("--loss", choices=["mse", "mae"], help="training loss (default mse, as PA-DGN)")
    f.add_argument("--no-scheduled-sampling", action="store_true",
                   help="always feed the model's own predictions during training")
    f.add_argument("--ss-k", type=float, help="inverse-sigmoid decay constant k of scheduled "
                   "sampling, in optimiser steps (default 100: p = 1/2 after 460 steps)")
    f.add_argument("--grad-clip", type=float, help="clip the gradient norm (default: off)")
    f.add_argument("--stride", type=int, help="frames between window starts (default 1)")
    f.add_argument("--max-windows", type=int, help="train on at most this many random windows "
                   "per epoch")
    q.set_defaults(func=cmd_train)

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
                       ".npz layout is documented in pde2gnn/simulate.py.")
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
                       "Method: pde2gnn/discover.py.")
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
