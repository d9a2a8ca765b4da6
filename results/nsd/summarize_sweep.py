"""The validation sweep of results/nsd/run_planetoid.sh: ``summarize_sweep.py DIR`` prints one
JSON row per run (data set, the swept values, validation and test accuracy per split);
``summarize_sweep.py DIR --best DATASET`` prints the options of the best mean validation
accuracy, for the ten-split run."""
import glob
import json
import statistics
import sys
from pathlib import Path

KEYS = ("input_dropout", "weight_decay", "lr")
rows = []
for f in sorted(glob.glob(str(Path(sys.argv[1]) / "*.json"))):
    d = json.loads(Path(f).read_text())
    rows.append({"dataset": d["dataset"], **{k: d["config"][k] for k in KEYS},
                 "val_acc": d["val_acc"], "test_acc": d["test_acc"],
                 "val_mean": statistics.mean(d["val_acc"]), "command": d["command"]})
if "--best" in sys.argv:
    ds = sys.argv[sys.argv.index("--best") + 1]
    best = max((r for r in rows if r["dataset"] == ds), key=lambda r: r["val_mean"])
    print(" ".join(f"--{k.replace('_', '-')} {best[k]}" for k in KEYS))
else:
    print(json.dumps(rows, indent=1))
