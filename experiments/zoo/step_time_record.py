"""One step-time benchmark's output (stdin: benchmarks/zoo_graphcon.py, zoo_g2.py or
zoo_ode_step.py; the references print their own lines before it, the JSON is the last object)
-> one record per compared pair (the training step's times and ratio; the whole epoch's where
the benchmark times it) in experiments/zoo/step_times/<key>_r<k>.json, which
make_summary.py renders. Run by run_step_times.sh:

    python experiments/zoo/step_time_record.py MODEL ROUND "COMMAND" OUT_DIR < output
"""
import datetime
import json
import sys
from pathlib import Path

NAMES = {"graphcon": "GraphCON-GCN", "g2": "G^2-GraphSAGE", "gread": "GREAD-BS", "acmp": "ACMP"}
#: per benchmark, the compared pairs: (graph, our variant, the reference's on the same graph)
PAIRS = {"g2": [("directed", "pde2gnn_directed", "reference"),
                ("undirected", "pde2gnn", "reference_undirected")]}


def main() -> None:
    model, k, command, out = sys.argv[1:]
    text = sys.stdin.read()
    last = text.rfind("\n{\n")
    start = 0 if text.startswith("{\n") else last + 1 if last >= 0 else -1
    if start < 0:
        raise SystemExit(f"{model}: the benchmark printed no JSON (run its command alone)")
    res = json.loads(text[start:])
    med = res["s_per_step_median"]
    for graph, ours, ref in PAIRS.get(model, [("", "pde2gnn", "reference")]):
        rec = {"model": NAMES[model], "dataset": res["dataset"], "graph": graph,
               "clock": res["clock"], "pde2gnn_s": med[ours], "reference_s": med[ref],
               "ratio": round(med[ref] / med[ours], 3), "command": command,
               "date": datetime.date.today().isoformat()}
        epoch = res.get("s_per_epoch_median")      # zoo_ode_step.py: the whole epoch too
        if epoch:
            rec.update(pde2gnn_epoch_s=epoch[ours], reference_epoch_s=epoch[ref],
                       epoch_ratio=round(epoch[ref] / epoch[ours], 3))
        key = f"{model}_{res['dataset']}" + (f"_{graph}" if graph else "")
        Path(out, f"{key}_r{k}.json").write_text(json.dumps(rec, indent=1) + "\n")
        print(key, rec["ratio"], rec.get("epoch_ratio", ""))


if __name__ == "__main__":
    main()
