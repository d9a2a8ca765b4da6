#!/bin/bash
# pde2gnn's side of the comparison with the GRAND / BLEND reference code, five seeds per row
# (the reference code's runs: benchmarks/reference/run_reference.sh, see its README), then the
# summary. Commands as in summary.json; README.md explains every choice. From the repository root.
set -eu
cd "$(dirname "$0")/../.."
out=experiments/reference/runs; mkdir -p $out
t() { PYTHONPATH=$PWD OMP_NUM_THREADS=1 python -m pde2gnn train "$@" --threads 1 --quiet --resume; }
t grand_ref --dataset Cora --seeds 5 --results $out/ours_grand_ref_cora.json
t grand_ref_exp --dataset CiteSeer --seeds 5 --results $out/ours_grand_ref_exp_citeseer.json
for a in qk x0 x0qk max all; do
  t experiments/reference/specs/grand_ref_exp_$a.pde --dataset CiteSeer --seeds 5 \
    --results $out/ours_grand_ref_exp_${a}_citeseer.json
done
python - <<'PY'
# the BLEND rows: the exact commands (the reference's hyperparameters) stored in summary.json
import json, shlex, subprocess, sys
for r in json.load(open("experiments/reference/summary.json"))["rows"]:
    if r["model"].startswith("beltrami") and r["command"]:
        args = shlex.split(r["command"])[2:] + ["--resume"]
        subprocess.run([sys.executable, "-m", "pde2gnn", "train"] + args, check=True)
PY
python experiments/summarize.py reference grand
