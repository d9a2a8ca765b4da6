"""A reference code's per-epoch records beside pde2gnn's on the same splits: the median over
splits of the training loss and the train / validation accuracy at a few epochs, then per split
the selected epoch and its test accuracy. Reads the reference through reference_log.splits
(GREAD's run_GNN.py log, or trace_acmp_reference.py's JSON) and pde2gnn's `--results` JSON
(its per-epoch ``history``).

Usage: python experiments/zoo/compare_traces.py {gread|acmp} REF OURS.json [--out OUT.json]
(epoch k of the table is the k-th training epoch of each code, counted from 1).
"""
from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference_log import splits  # noqa: E402

EPOCHS = (1, 2, 3, 5, 10, 20, 50, 100, 150, 199)


def ours(path: str) -> list:
    """pde2gnn's runs as reference_log.splits' dicts (``epoch`` 1-based)."""
    runs = json.loads(Path(path).read_text())["runs"]
    return [{"test": r["test_acc"], "val": r.get("val_acc"), "epoch": r["best_epoch"] + 1,
             "records": [{"loss": h["loss"], "train": h["train_acc"], "val": h["val_acc"],
                          "test": h.get("test_acc")} for h in r["history"]]} for r in runs]


def medians(runs: list) -> dict:
    out = {}
    for k in EPOCHS:
        recs = [r["records"][k - 1] for r in runs if len(r["records"]) >= k]
        if recs:
            out[k] = {q: round(statistics.median(e[q] for e in recs), 4)
                      for q in ("loss", "train", "val")}
    return out


def main() -> None:
    kind, ref_path, ours_path = sys.argv[1:4]
    ref, mine = splits(kind, ref_path), ours(ours_path)
    n = min(len(ref), len(mine))
    ref, mine = ref[:n], mine[:n]
    doc = {"splits": n, "reference": medians(ref), "ours": medians(mine),
           "per_split": [{"split": k, "ref_test": ref[k]["test"], "ref_epoch": ref[k]["epoch"],
                          "ours_test": mine[k]["test"], "ours_epoch": mine[k]["epoch"]}
                         for k in range(n)]}
    print(f"median over {n} splits  (reference | pde2gnn)")
    print("epoch   loss            train           val")
    for k in EPOCHS:
        a, b = doc["reference"].get(k), doc["ours"].get(k)
        if a and b:
            print(f"{k:5d}  {a['loss']:.3f} | {b['loss']:.3f}   {a['train']:.3f} | "
                  f"{b['train']:.3f}   {a['val']:.3f} | {b['val']:.3f}")
    for s in doc["per_split"]:
        print(f"split {s['split']}: reference test {100 * s['ref_test']:.2f} (epoch "
              f"{s['ref_epoch']}), pde2gnn {100 * s['ours_test']:.2f} (epoch {s['ours_epoch']})")
    if "--out" in sys.argv:
        Path(sys.argv[sys.argv.index("--out") + 1]).write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
