"""Per-split results and per-epoch records of a reference code's run, and its entry in
experiments/zoo/reference.json (the "reference here" column of make_summary.py).

  python experiments/zoo/reference_log.py gread LOG KEY COMMAND   # GREAD run_GNN.py's log
  python experiments/zoo/reference_log.py acmp JSON KEY COMMAND   # trace_acmp_reference.py's

KEY is the results name of the row it stands beside (``<spec>_<dataset>``). The entry holds the
mean and population std of the per-split test accuracies (%; the references' np.std), the
per-split values, and the mean wall time of one epoch (training step and evaluation pass, the
references' own per-epoch timer). :func:`splits` is what compare_traces.py reads.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
EPOCH = re.compile(r"^Epoch: (\d+), Runtime: ([\d.]+), Loss: ([\d.naninf]+), .*?tmp_train: ([\d.]+), "
                   r"tmp_val: ([\d.]+), tmp_test: ([\d.]+)", re.M)
BEST = re.compile(r"^best val accuracy ([\d.]+) with test accuracy ([\d.]+) at epoch (\d+)", re.M)


def splits(kind: str, path: str) -> list:
    """One dict per split: ``test`` / ``val`` (selected, fractions), ``epoch`` (selected, 1-based
    for GREAD's log, its loop's numbering), ``records`` (per epoch: loss, train, val, test,
    s = the epoch's wall time)."""
    if kind == "acmp":
        doc = json.loads(Path(path).read_text())
        return [{"test": r["test"], "val": r["val"], "epoch": None,
                 "s": r["wall_s"] / max(r["epochs"], 1),
                 "records": [{k: e.get(k) for k in ("loss", "train", "val", "test")}
                             for e in r["records"]]} for r in doc["runs"]]
    text = Path(path).read_text()
    parts = re.split(r"^rep \d+$", text, flags=re.M)[1:]
    out = []
    for part in parts:
        best = BEST.search(part)
        if best is None:              # an unfinished split
            continue
        recs = [{"loss": float(m[2]), "train": float(m[3]), "val": float(m[4]),
                 "test": float(m[5]), "s": float(m[1])} for m in EPOCH.findall(part)]
        out.append({"test": float(best[2]), "val": float(best[1]), "epoch": int(best[3]),
                    "s": sum(r["s"] for r in recs) / max(len(recs), 1), "records": recs})
    return out


def main() -> None:
    kind, path, key, command = sys.argv[1:5]
    runs = splits(kind, path)
    acc = [100 * r["test"] for r in runs]
    mean = sum(acc) / len(acc)
    std = (sum((a - mean) ** 2 for a in acc) / len(acc)) ** 0.5
    out = HERE / "reference.json"
    ref = json.loads(out.read_text()) if out.is_file() else {}
    ref[key] = {"mean": round(mean, 2), "std": round(std, 2), "runs": len(acc),
                "test_acc": [round(a, 2) for a in acc],
                "s_per_epoch": round(sum(r["s"] for r in runs) / len(runs), 4),
                "command": command}
    out.write_text(json.dumps(ref, indent=1) + "\n")
    print(key, ref[key])


if __name__ == "__main__":
    main()
