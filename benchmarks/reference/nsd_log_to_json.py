"""A log of the NSD reference (twitter-research/neural-sheaf-diffusion ``python -m exp.run``)
as JSON in the layout of our results files: per-fold test / validation accuracy and best epoch,
and the wall time over all folds (its tqdm bar) divided by the epochs run (training step plus
its per-epoch evaluation, like our ``epoch_time_total_s``).

    python benchmarks/reference/nsd_log_to_json.py LOG OUT.json --dataset texas --command "..."
"""
import argparse
import json
import re
import statistics
from pathlib import Path

ap = argparse.ArgumentParser()
ap.add_argument("log")
ap.add_argument("out")
ap.add_argument("--dataset", required=True)
ap.add_argument("--command", default="")
ap.add_argument("--selection", default="test accuracy at the epoch of least validation loss "
                "(stop_strategy=loss), early stopping with patience 200, at most 1500 epochs",
                help="the run's protocol in words (its script's stop_strategy, patience, epochs)")
a = ap.parse_args()
text = Path(a.log).read_text(errors="replace").replace("\r", "\n")
folds = re.findall(r"Fold (\d+) \| Epochs: (\d+) \| Best epoch: (\d+)\nTest acc: ([0-9.]+)\n"
                   r"Best val acc: ([0-9.]+)", text)
if not folds:
    raise SystemExit(f"{a.log}: no 'Fold k | Epochs ... Test acc ... Best val acc' lines")
elapsed = re.findall(r"\| *\d+/\d+ \[(?:(\d+):)?(\d+):(\d+)<", text)   # tqdm over folds
wall = None
if elapsed:
    h, m, sec = elapsed[-1]
    wall = 3600 * int(h or 0) + 60 * int(m) + int(sec)
test = [float(f[3]) for f in folds]
val = [float(f[4]) for f in folds]
out = {"model": "reference NSD", "dataset": a.dataset, "splits": [int(f[0]) for f in folds],
       "test_acc": test, "val_acc": val, "best_epoch": [int(f[2]) for f in folds],
       "epochs_run": [int(f[1]) for f in folds],
       "wall_s": wall,
       "epoch_time_total_s": wall / sum(int(f[1]) for f in folds) if wall else None,
       "test_acc_mean": statistics.mean(test), "test_acc_std": statistics.pstdev(test),
       "selection": a.selection,
       "command": a.command}
Path(a.out).write_text(json.dumps(out, indent=1))
print(f"{a.dataset}: {100 * out['test_acc_mean']:.2f} ± {100 * out['test_acc_std']:.2f} over "
      f"{len(test)} folds")
