"""Time of one training step (forward solve, cross-entropy, backward, optimiser step) of a
GRAND-family zoo model against its reference code, in the same process, in interleaved blocks
(median over blocks):

- ``gread``: experiments/zoo/specs/gread_sc_h4.pde (GREAD-BS with the reference's four
  attention heads; gread_sc.toml [Wisconsin]: rk4, step 0.25 to T = 1.746, hidden 256) against
  jeongwhanchoi/GREAD's runner with ``--use_best_params`` (gread_params.py's Wisconsin entry,
  the same values);
- ``acmp``: experiments/zoo/specs/acmp_grand.pde (acmp_grand.toml: rk4, step 0.1 to T = 12.8,
  hidden 16) against ykiiiiii/ACMP's runner with its argument defaults (the same values; its
  data.py keeps split 0 of Texas).

The reference's model, optimiser and data are the ones its own ``main(opt)`` builds: its
command line is parsed by its own ``__main__`` block, and ``main`` runs until its first call
of ``train``, which hands its arguments over; the reference's step is then its own
``train(model, optimizer, data, pos_encoding)``, its evaluation its own ``test(model, data,
pos_encoding, opt)``. Nothing of the reference is copied here. Its torch_sparse /
torch_scatter calls (no build for torch 2.13) go through benchmarks/reference/stubs_grand (the
same gather / scale / scatter-add operations as torch_sparse's own Python; wandb through
stubs_nsd). Ours is the model and optimiser `pde2gnn train SPEC --dataset DS` builds, on split
0.

Timed: the training step, and the whole epoch as each runner's loop runs it (training step,
then evaluation). The reference's evaluation is its early-stopping test integrator
(``GNNEarly``: the solve to T with the accuracies after every step, the best validation kept);
ours is the evaluation `pde2gnn train --select-time 1` runs for the same purpose: one solve
without gradients, the logits at 32 times up to T, the accuracies at each and the best by
validation.

Prints the medians of both and the ratios reference / pde2gnn.

    git clone https://github.com/jeongwhanchoi/GREAD /tmp/ref_gread
    git clone https://github.com/ykiiiiii/ACMP /tmp/ref_acmp
    OMP_NUM_THREADS=1 python benchmarks/zoo_ode_step.py --model gread --ref /tmp/ref_gread \\
        [--clock cpu]
    OMP_NUM_THREADS=1 python benchmarks/zoo_ode_step.py --model acmp --ref /tmp/ref_acmp
"""
from __future__ import annotations

import ast
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import interleaved, parser, step_fn  # noqa: E402

from pde2gnn.data.datasets import load_dataset  # noqa: E402
from pde2gnn.models.continuous_gnn import ContinuousGNN  # noqa: E402
from pde2gnn.models.features import as_model_input  # noqa: E402
from pde2gnn.train.config import load_defaults, make_config  # noqa: E402
from pde2gnn.train.tasks.node_classification import evaluate, make_optimizer  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MODELS = {  # model: (our spec, data set, the reference's command line)
    "gread": (ROOT / "experiments/zoo/specs/gread_sc_h4.pde", "wisconsin",
              ["--dataset", "wisconsin", "--use_best_params", "--num_splits", "1"]),
    "acmp": (ROOT / "experiments/zoo/specs/acmp_grand.pde", "texas", ["--dataset", "texas"]),
}


class _Handed(Exception):
    """Raised to stop the reference's code where it hands over what it built."""


def reference_step(ref: Path, argv: list[str], dataset: str, data_root: Path):
    """``(step, epoch, model)``: the reference's own training step, and its training step
    followed by its own evaluation (``test``), with the model, optimiser and data its ``main``
    builds from command line ``argv`` (run from its src folder, its data files copied where it
    reads them)."""
    src = ref / "src"
    raw = ref / "data" / dataset / dataset / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    (src / "splits").mkdir(exist_ok=True)
    for f in (data_root / "WebKB" / dataset / "raw").iterdir():   # where either runner reads
        shutil.copy(f, raw)
        if f.suffix == ".npz":
            shutil.copy(f, src / "splits")
    stubs = ROOT / "benchmarks/reference"     # wandb's offline stand-in is the NSD one
    sys.path[:0] = [str(stubs / "stubs_grand"), str(stubs / "stubs_nsd"), str(src)]
    os.chdir(src)
    import run_GNN  # its __main__ block is not run on import

    def hand_over(*args, **kwargs):
        raise _Handed(args)

    tree = ast.parse((src / "run_GNN.py").read_text())
    block = [n for n in tree.body if isinstance(n, ast.If)][-1].body   # if __name__ == ...
    ns = dict(vars(run_GNN), main=hand_over)
    sys.argv = ["run_GNN.py"] + argv
    try:
        exec(compile(ast.Module(body=block, type_ignores=[]), "run_GNN.py", "exec"), ns)
    except _Handed as h:
        opt = h.args[0][0]
    own_train, run_GNN.train = run_GNN.train, hand_over
    try:
        run_GNN.main(opt)
    except _Handed as h:
        model, optimizer, data, pos = h.args[0]
    run_GNN.train = own_train
    step = lambda: own_train(model, optimizer, data, pos)      # noqa: E731

    def epoch():
        step()
        run_GNN.test(model, data, pos, opt)
    return step, epoch, model


def our_epoch(model, step, xs, y, masks, time_end: float, points: int = 32):
    """Our training step, then the evaluation `pde2gnn train --select-time 1` runs (its loop's
    own :func:`evaluate`): one solve without gradients, the logits at ``points`` times up to
    ``time_end``, the accuracies and validation loss at each, the best by validation."""
    times = torch.linspace(0, time_end, points + 1)[1:]

    def epoch():
        step()
        return evaluate(model, xs, y, masks, times)[0]
    return epoch


def main() -> None:
    ap = parser(5)
    ap.add_argument("--model", choices=sorted(MODELS), required=True)
    ap.add_argument("--ref", required=True, help="a clone of the model's reference repository")
    ap.add_argument("--blocks", type=int, default=6)
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                    help="wall time, or this process's CPU time (time.process_time; one thread)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")   # its pickled data sets
    spec, dataset, argv = MODELS[args.model]
    data_root = Path(args.data_root or os.environ.get("PDE2GNN_DATA", "/tmp/data")).resolve()

    cfg = make_config(load_defaults(spec, dataset))         # the spec's TOML, as `pde2gnn train`
    data = load_dataset(dataset, str(data_root), directed=cfg.directed)
    masks = [m[:, 0] for m in (data.train_mask, data.val_mask, data.test_mask)]
    torch.manual_seed(0)
    ours = ContinuousGNN(spec, data, int(data.y.max()) + 1, cfg)
    xs, y = as_model_input(data.x), data.y
    step = step_fn(ours, lambda: ours(xs), y, masks[0], make_optimizer(ours, cfg))
    torch.manual_seed(0)
    ref_step, ref_epoch, ref_model = reference_step(Path(args.ref).resolve(), argv, dataset,
                                                    data_root)
    fns = {"pde2gnn_epoch": our_epoch(ours, step, xs, y, masks, cfg.time), "pde2gnn": step,
           "reference_epoch": ref_epoch, "reference": ref_step}   # steps last: their NFE read
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    times = interleaved(fns, args.blocks, args.repeats, "cpu", clock)
    med = {k: statistics.median(v) for k, v in times.items()}
    count = lambda m: sum(p.numel() for p in m.parameters() if p.requires_grad)  # noqa: E731
    print(json.dumps({
        "model": args.model, "dataset": dataset, "blocks": args.blocks,
        "repeats": args.repeats, "clock": args.clock,
        "parameters": {"pde2gnn": count(ours), "reference": count(ref_model)},
        "nfe_forward": {"pde2gnn": ours.ode.nfe_forward,
                        "reference": ref_model.fm.val},     # its train() records getNFE()
        "s_per_step_median": {k: round(med[k], 5) for k in ("pde2gnn", "reference")},
        "s_per_epoch_median": {k: round(med[k + "_epoch"], 5) for k in ("pde2gnn", "reference")},
        "ratio_reference_over_pde2gnn": round(med["reference"] / med["pde2gnn"], 3),
        "epoch_ratio_reference_over_pde2gnn": round(med["reference_epoch"]
                                                    / med["pde2gnn_epoch"], 3)},
        indent=1))


if __name__ == "__main__":
    main()
