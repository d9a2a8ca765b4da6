"""Turn logs of the GRAND / BLEND reference code (graph-neural-pde, src/run_GNN.py) into one
results JSON in pde2gnn's layout (experiments/grand/runs/*.json): per-run test/val accuracy, best epoch,
seconds per epoch and NFE, plus a summary.

Usage: python ref_log_to_json.py OUT.json --model NAME --dataset NAME --split NAME \
           --command "..." LOG [LOG ...]      (one log per run)

The reference prints one line per epoch ("Epoch: 001, Runtime 0.31, Loss ..., forward nfe N,
backward nfe M, ...", where the runtime covers training and evaluation and the forward counter is
cumulative over training and evaluation solves) and a final "best val accuracy ... with test
accuracy ... at epoch ..." line.
"""
import argparse
import json
import re
import sys

import numpy as np

EPOCH = re.compile(r"Epoch: (\d+), Runtime ([\d.]+), Loss [\d.e+-]+, forward nfe (\d+), "
                   r"backward nfe (\d+)")
BEST_TIME = re.compile(r"Epoch: \d+, .*Best time: ([\d.]+)")
BEST = re.compile(r"best val accuracy ([\d.]+) with test accuracy ([\d.]+) at epoch (\d+) "
                  r"and best time ([\d.]+)")


def parse(path):
    """One run: ``dict`` with the keys of a pde2gnn run (``test_acc``, ``val_acc``,
    ``best_epoch``, ``epoch_time_total_s``, ``nfe_forward`` per forward solve, ...)."""
    text = open(path, encoding="utf-8").read()
    epochs = [tuple(float(v) for v in m.groups()) for m in EPOCH.finditer(text)]
    best = BEST.search(text)
    if not epochs or best is None:
        raise SystemExit(f"{path}: no epoch lines or no final 'best val accuracy' line")
    n = len(epochs)
    fwd_total, bwd_total = epochs[-1][2], epochs[-1][3]
    # the cumulative counter holds n training solves and n - 1 evaluation solves at the last line
    return {"test_acc": float(best.group(2)), "val_acc": float(best.group(1)),
            "best_epoch": int(best.group(3)), "best_time": float(best.group(4)),
            "epochs": n,
            "epoch_time_total_s": float(np.mean([e[1] for e in epochs])),
            "epoch_time_total_median_s": float(np.median([e[1] for e in epochs])),
            "nfe_forward": fwd_total / (2 * n - 1), "nfe_backward": bwd_total / n,
            "early_stop": len(set(BEST_TIME.findall(text))) > 1,
            "log": path}


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("logs", nargs="+")
    p.add_argument("--model", required=True)
    p.add_argument("--dataset", required=True)
    p.add_argument("--split", required=True)
    p.add_argument("--command", required=True)
    a = p.parse_args(argv)
    runs = [parse(f) for f in a.logs]
    acc = np.array([r["test_acc"] for r in runs])
    out = {"model": a.model, "code": "graph-neural-pde (reference)", "dataset": a.dataset,
           "split": a.split, "seeds": list(range(len(runs))),
           "seeds_note": "the reference sets no random seed: runs are independent draws",
           "test_acc_mean": float(acc.mean()), "test_acc_std": float(acc.std()),
           "test_acc": acc.tolist(), "val_acc": [r["val_acc"] for r in runs],
           "best_epoch": [r["best_epoch"] for r in runs],
           "epoch_time_total_s": float(np.mean([r["epoch_time_total_s"] for r in runs])),
           "nfe_forward": float(np.mean([r["nfe_forward"] for r in runs])),
           "nfe_backward": float(np.mean([r["nfe_backward"] for r in runs])),
           "selection": "test accuracy at the first epoch of best validation accuracy; " + (
               "integration time chosen on validation by the early-stopping integrator "
               "(best_params.py's no_early = False wins over --no_early)"
               if any(r["early_stop"] for r in runs) else
               "integration time fixed at T (run_GNN.py --no_early)"),
           "command": a.command, "runs": runs}
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1)
    print(f"{a.out}: {100 * acc.mean():.2f} ± {100 * acc.std():.2f} over {len(runs)} run(s)")


if __name__ == "__main__":
    sys.exit(main())
