"""The validation sweeps of experiments/nsd/run_planetoid.sh and run_film.sh: ``summarize_sweep.py
DIR`` prints one JSON row per run (data set, the swept values, validation and test accuracy per
split); ``summarize_sweep.py DIR --best DATASET`` prints the options of the best mean
validation accuracy, for the ten-split run."""
import glob
import json
import statistics
import sys
from pathlib import Path

KEYS = ("input_dropout", "weight_decay", "lr", "dropout", "time", "hidden")  # --input-dropout ...
rows = []
for f in sorted(glob.glob(str(Path(sys.argv[1]) / "*.json"))):
    d = json.loads(Path(f).read_text())
    c = d["config"]
    rows.append({"dataset": d["dataset"], **{k: c[k] for k in KEYS},
                 "dims": c.get("dims", {}), "params": c.get("params", {}),
                 "val_acc": d["val_acc"], "test_acc": d["test_acc"],
                 "val_mean": statistics.mean(d["val_acc"]), "command": d["command"]})
if "--best" in sys.argv:
    ds = sys.argv[sys.argv.index("--best") + 1]
    best = max((r for r in rows if r["dataset"] == ds), key=lambda r: r["val_mean"])
    opts = [f"--{k.replace('_', '-')} {best[k]}" for k in KEYS]
    opts += [f"--dim {k}={v}" for k, v in best["dims"].items()]
    opts += [f"--param {k}={v}" for k, v in best["params"].items()]
    print(" ".join(opts))
else:
    print(json.dumps(rows, indent=1))
