"""Command line: ``pde2gnn check | explain | train``.

Every user error (:class:`~pde2gnn.errors.Pde2GnnError`) is printed as one message, without a
traceback, and the exit status is 2.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import List, Optional

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
    from .compiler import front, to_stencil
    checked = front(args.spec)
    dims = {k: 4 for k, v in checked.dims.items() if v is None}
    dims.update(_kv(args.dim, int))
    print(f"{checked.spec.filename}: model '{checked.name}' is well formed")
    print(f"  fields: " + ", ".join(f"{n} : {t.describe()}" for n, t in checked.fields.items()))
    if checked.learns:
        print(f"  learnable: " + ", ".join(checked.learns))
    unbound = [k for k, v in checked.dims.items() if v is None and k not in _kv(args.dim, int)]
    print("discretised equations" + (f" (unbound dimensions shown as {', '.join(f'{k}=4' for k in unbound)})" if unbound else "") + ":")
    print(to_stencil(checked.spec, dims, _kv(args.param, float)))
    return 0


def cmd_explain(args) -> int:
    from .compiler import explain
    print(explain(args.spec, args.stage, _kv(args.dim, int) or None, _kv(args.param, float)))
    return 0


def cmd_train(args) -> int:
    import numpy as np
    import torch
    from tqdm.auto import tqdm

    from .config import load_defaults, make_config
    from .data import largest_connected_component, load_dataset, random_split
    from .resources import resolve_spec
    from .tasks.node_classification import summarize, train

    spec_path = resolve_spec(args.spec) if not Path(args.spec).is_file() else Path(args.spec)
    values = load_defaults(spec_path, args.dataset)
    overrides = {"time": args.time, "method": args.method, "rtol": args.rtol, "atol": args.atol,
                 "step_size": args.step_size, "adjoint": args.adjoint or None,
                 "max_nfe": args.max_nfe, "epochs": args.epochs, "lr": args.lr,
                 "weight_decay": args.weight_decay, "hidden": args.hidden,
                 "dropout": args.dropout, "input_dropout": args.input_dropout,
                 "optimizer": args.optimizer, "posenc": args.posenc,
                 "posenc_dim": args.posenc_dim, "knn_k": args.knn_k,
                 "rewire_from": args.rewire_from, "rewire_every": args.rewire_every}
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
    print(f"{spec_path.stem} on {args.dataset} ({args.split} split): {data.num_nodes} nodes, "
          f"{data.num_edges} edges, {int(data.train_mask.sum())}/{int(data.val_mask.sum())}/"
          f"{int(data.test_mask.sum())} train/val/test; {args.seeds} seed(s)")
    print("config: " + json.dumps({k: v for k, v in config.to_dict().items()}))
    runs = []
    for seed in range(args.seeds):
        every = args.log_every

        def log(line, _n=[0]):
            _n[0] += 1
            if every and (_n[0] - 1) % every == 0:
                tqdm.write(f"  seed {seed} {line}")
        run_data = random_split(data, seed) if random else data
        r = train(spec_path, run_data, config, seed=seed, device=args.device,
                  progress=not args.quiet, log=log)
        runs.append(r)
        if args.results:
            _write_results(args, spec_path, config, runs)
        print(f"seed {seed}: test acc {100 * r['test_acc']:.2f}% at epoch {r['best_epoch']} "
              f"(val {100 * r['val_acc']:.2f}%), {r['epoch_time_s']:.3f} s/epoch, "
              f"NFE fwd {r['nfe_forward']:.1f} bwd {r['nfe_backward']:.1f}")
    s = summarize(runs)
    print(f"test accuracy: {100 * s['test_acc_mean']:.2f} ± {100 * s['test_acc_std']:.2f} % "
          f"over {len(runs)} seed(s); {s['epoch_time_s']:.3f} s/epoch; NFE forward "
          f"{s['nfe_forward']:.1f}, backward {s['nfe_backward']:.1f} per epoch")
    return 0


def _write_results(args, spec_path, config, runs) -> None:
    """The results JSON of the seeds run so far (rewritten after every seed)."""
    import torch

    from .tasks.node_classification import summarize
    out = {"model": spec_path.stem, "spec": str(spec_path), "dataset": args.dataset,
           "split": args.split, "seeds": list(range(len(runs))), **summarize(runs),
           "config": config.to_dict(), "device": args.device, "torch": torch.__version__,
           "command": "pde2gnn " + " ".join(sys.argv[1:]), "runs": runs}
    Path(args.results).parent.mkdir(parents=True, exist_ok=True)
    Path(args.results).write_text(json.dumps(out, indent=1))
    print(f"results ({len(runs)} seed(s)) written to {args.results}")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pde2gnn", description="Symbolic PDE-to-GNN compiler.")
    sub = p.add_subparsers(dest="command", required=True)

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
    q.add_argument("--split", default="public",
                   help="public / full (Planetoid), or random: largest connected component, 20 "
                        "labels per class, 1500 development nodes, a new split per seed")
    q.add_argument("--data-root", default=None, help="data folder (default: $PDE2GNN_DATA)")
    q.add_argument("--seeds", type=int, default=1)
    q.add_argument("--epochs", type=int)
    q.add_argument("--lr", type=float)
    q.add_argument("--weight-decay", type=float)
    q.add_argument("--hidden", type=int)
    q.add_argument("--dropout", type=float)
    q.add_argument("--input-dropout", type=float)
    q.add_argument("--optimizer", choices=["adam", "adamax", "adamw"])
    q.add_argument("--time", type=float, help="integration time T")
    q.add_argument("--method", help="torchdiffeq method (dopri5, rk4, euler, ...)")
    q.add_argument("--rtol", type=float)
    q.add_argument("--atol", type=float)
    q.add_argument("--step-size", type=float)
    q.add_argument("--adjoint", action="store_true")
    q.add_argument("--max-nfe", type=int)
    q.add_argument("--posenc", choices=["ppr", "lap", "rw", "deepwalk", "none"],
                   help="positional encoding for the spec's positional field u (BLEND)")
    q.add_argument("--posenc-dim", type=int, help="columns of the encoding (ppr: 0 = N-wide rows)")
    q.add_argument("--knn-k", type=int, help="k of a graph knn(...) clause")
    q.add_argument("--rewire-from", choices=["pos", "u0"],
                   help="knn in the raw encoding or in the encoded u(0)")
    q.add_argument("--rewire-every", type=int, help="rebuild the knn graph every K epochs")
    q.add_argument("--device", default="cpu")
    q.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    q.add_argument("--results", help="write the results as JSON to this path")
    q.add_argument("--log-every", type=int, default=10, help="print every N-th epoch (0: none)")
    q.add_argument("--quiet", action="store_true", help="no progress bar")
    q.set_defaults(func=cmd_train)
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
