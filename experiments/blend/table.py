"""Print the markdown table of experiments/blend/runs/*.json (python experiments/blend/table.py)."""
import json
from pathlib import Path

PAPER = {"Cora": 84.2, "CiteSeer": 74.4, "PubMed": 80.7}
print("| model | data, split | test acc % (mean ± std) | val % | seeds | paper | s / epoch | "
      "NFE fwd | peak MB |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for f in sorted(Path(__file__).parent.glob("*.json")):
    r = json.loads(f.read_text())
    paper = "" if r["model"].endswith("nopos") else PAPER.get(r["dataset"], "")
    print(f"| {r['model']} | {r['dataset']}, {r['split']} | {100 * r['test_acc_mean']:.1f} ± "
          f"{100 * r['test_acc_std']:.1f} | {100 * sum(r['val_acc']) / len(r['val_acc']):.1f} | "
          f"{len(r['test_acc'])} | {paper} | {r['epoch_time_s']:.2f} | {r['nfe_forward']:.0f} | "
          f"{r.get('peak_memory_mb', 0):.0f} |")
