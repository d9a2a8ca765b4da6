#!/usr/bin/env bash
# The GraphCON reference code (tk-rusch/GraphCON, src/heterophilic_graphs: its best parameters,
# ten geom-gcn splits) on Texas, for the accuracy and the time per epoch beside ours.
# The reference is not part of this repository: clone it first, e.g.
#   git clone https://github.com/tk-rusch/GraphCON /tmp/ref/GraphCON
# Usage: REF=/tmp/ref/GraphCON bash experiments/zoo/run_reference.sh
# It copies the WebKB files where the reference reads them ($REF/data/texas/texas/raw), runs
# `python run_GNN.py --dataset texas` under nice with one thread, and writes the mean / std of
# its final line and its wall time per epoch (training + evaluation pass: the epochs counted
# from its per-epoch log lines) into experiments/zoo/reference.json (key graphcon_texas).
# G^2 (tk-rusch/gradientgating heterophilic_graphs, its run_GNN.py defaults), one process per
# split with per-epoch traces (experiments/zoo/trace_g2_reference.py):
#   G2REF=/tmp/ref_g2 bash experiments/zoo/run_reference.sh g2 DATASET [PROBE...]
# ($G2REF/heterophilic_graphs: the reference's folder; PROBE: --undirected, --gate-in, or
# --set NAME=VALUE for one of its runner's arguments, with TAG=name naming the run) writes
# experiments/zoo/runs/traces/trace_g2_ref_<dataset>[_<probe>]_s<split>.json for splits 0-9 (SPLITS="0 1"
# for fewer, EPOCHS=N to stop before the reference's 200). torch_scatter has no build for torch
# 2.13: benchmarks/reference/stubs_grand's stand-in (its one call, scatter with reduce mean, on
# torch_geometric.utils.scatter) goes on PYTHONPATH; nothing of the reference is edited. The
# mean / std over the splits and the time per epoch go into reference.json (g2_<dataset>[_probe]).
# GREAD's reference (torch_sparse) is not run.
set -eu
cd "$(dirname "$0")/../.."
if [ "${1:-}" = g2 ]; then
  : "${G2REF:?set G2REF to a folder holding the heterophilic_graphs folder of tk-rusch/gradientgating}"
  name=$2; shift 2
  DATA=${PDE2GNN_DATA:-/tmp/data}
  case $name in
    chameleon|squirrel) raw="$G2REF/data/$name/$name/geom_gcn/raw"
                        src="$DATA/WikipediaNetwork/$name/geom_gcn/raw" ;;
    *) raw="$G2REF/data/$name/$name/raw"; src="$DATA/WebKB/$name/raw" ;;
  esac
  mkdir -p "$raw" experiments/zoo/runs/traces
  cp -n "$src"/* "$raw/"
  tag=""
  for a in "$@"; do tag="${tag}_${a#--}"; done
  [ -z "${TAG:-}" ] || tag=_$TAG
  for s in ${SPLITS:-0 1 2 3 4 5 6 7 8 9}; do
    out=experiments/zoo/runs/traces/trace_g2_ref_${name}${tag}_s$s.json
    [ -f "$out" ] && continue
    PYTHONPATH=$PWD:$PWD/benchmarks/reference/stubs_grand OMP_NUM_THREADS=1 nice -n 10 python \
      experiments/zoo/trace_g2_reference.py "$G2REF/heterophilic_graphs" "$out" \
      --dataset "$name" --split "$s" --seed "$s" ${EPOCHS:+--epochs $EPOCHS} "$@" \
      > /dev/null
  done
  # mean / std (population, as the reference prints) of the selected epochs' test accuracies
  # and the wall time per epoch, into experiments/zoo/reference.json (key g2_<dataset>[_probe])
  python - "$name" "$tag" "$*" <<'PY'
import glob, json, os, sys
from pathlib import Path
name, tag, probes = sys.argv[1:4]
env = "".join(f'{k}="{os.environ[k]}" ' for k in ("SPLITS", "EPOCHS", "TAG")
              if os.environ.get(k))
runs = [json.loads(Path(f).read_text()) for f in
        sorted(glob.glob(f"experiments/zoo/runs/traces/trace_g2_ref_{name}{tag}_s*.json"))]
acc = [100 * r["best_test"] for r in runs]
mean = sum(acc) / len(acc)
std = (sum((a - mean) ** 2 for a in acc) / len(acc)) ** 0.5
out = Path("experiments/zoo/reference.json")
ref = json.loads(out.read_text()) if out.is_file() else {}
ref[f"g2_{name}{tag}"] = {
    "mean": round(mean, 2), "std": round(std, 2), "runs": len(acc),
    "splits": [r["options"]["split"] for r in runs],
    "epochs": sum(len(r["records"]) for r in runs),
    "s_per_epoch": round(sum(r["wall_s"] for r in runs) / sum(len(r["records"]) for r in runs), 4),
    "command": (env + f"G2REF=/tmp/ref_g2 bash experiments/zoo/run_reference.sh g2 {name} "
               + probes).strip()}
out.write_text(json.dumps(ref, indent=1) + "\n")
print(ref[f"g2_{name}{tag}"])
PY
  exit 0
fi
: "${REF:?set REF to a clone of tk-rusch/GraphCON}"
DATA=${PDE2GNN_DATA:-/tmp/data}
mkdir -p "$REF/data/texas/texas/raw"
cp -n "$DATA"/WebKB/texas/raw/* "$REF/data/texas/texas/raw/"
log=experiments/zoo/runs/reference_graphcon_texas.log
mkdir -p experiments/zoo/runs
start=$(date +%s.%N)
(cd "$REF/src/heterophilic_graphs" && OMP_NUM_THREADS=1 nice -n 10 python run_GNN.py \
  --dataset texas --device cpu) > "$log" 2>&1
end=$(date +%s.%N)
python - "$log" "$start" "$end" <<'PY'
import json, re, sys
from pathlib import Path
log, start, end = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
text = Path(log).read_text()
epochs = len(re.findall(r"^Split: \d+, Epoch:", text, re.M))
m = re.search(r"Mean test accuracy:\s+([\d.]+)\s+std:\s+([\d.]+)", text)
out = Path("experiments/zoo/reference.json")
ref = json.loads(out.read_text()) if out.is_file() else {}
ref["graphcon_texas"] = {"mean": round(float(m.group(1)), 2), "std": round(float(m.group(2)), 2),
                         "epochs": epochs, "wall_s": round(end - start, 1),
                         "s_per_epoch": round((end - start) / epochs, 4),
                         "command": "python run_GNN.py --dataset texas --device cpu "
                                    "(tk-rusch/GraphCON src/heterophilic_graphs)"}
out.write_text(json.dumps(ref, indent=1) + "\n")
print(ref["graphcon_texas"])
PY
