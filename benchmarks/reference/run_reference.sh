#!/usr/bin/env bash
# Run the GRAND / BLEND reference code (graph-neural-pde) with its best parameters and write
# experiments/reference/runs/ref_*.json. Usage (from the repository root):
#   bash benchmarks/reference/run_reference.sh REF_DIR VENV_PY RUNS DATASET PROTOCOL MODEL
#   REF_DIR: checkout of graph-neural-pde (prepared as in benchmarks/reference/README.md)
#   VENV_PY: its environment's python;  RUNS: number of runs
#   DATASET: Cora | Citeseer | Pubmed (the reference's names)
#   PROTOCOL: public (Planetoid masks: --planetoid_split --not_lcc) or
#             lcc (--planetoid_split alone: largest connected component, fixed seed-12345 split)
#             or random (neither: the largest connected component re-split at random in every
#             run, 20 labels per class, 1500 development nodes; the paper's Table 3 protocol)
#   MODEL: grand (block attention, laplacian) or blend (--beltrami)
#   further arguments go to run_GNN.py as they are (e.g. --pos_enc_type GDC for Citeseer BLEND,
#   whose best parameters name DeepWalk encodings that are a download, not computed)
set -euo pipefail
REF=$(realpath "$1"); PY=$2; RUNS=$3; DS=$4; PROTO=$5; MODEL=$6; shift 6
OUTDIR=$(pwd)/experiments/reference/runs; LOGDIR=$OUTDIR/logs; mkdir -p "$LOGDIR"
ARGS=(--dataset "$DS" --no_early)
[ "$PROTO" != random ] && ARGS+=(--planetoid_split)
[ "$PROTO" = public ] && ARGS+=(--not_lcc)
[ "$MODEL" = blend ] && ARGS+=(--beltrami)
ARGS+=("$@")
export OMP_NUM_THREADS=1 PYTHONPATH=$(dirname "$REF")/stubs
logs=()
for r in $(seq 0 $((RUNS - 1))); do
  log=$LOGDIR/ref_${MODEL}_${DS}_${PROTO}_$r.log
  # the positional-encoding cache is keyed by data set only: clear it between protocols
  rm -f "$REF/data/pos_encodings/${DS}_GDC.pkl"
  (cd "$REF/src" && "$PY" run_GNN.py "${ARGS[@]}") > "$log" 2>&1
  grep "best val accuracy" "$log"
  logs+=("$log")
done
"$PY" "$(dirname "$0")/ref_log_to_json.py" "$OUTDIR/ref_${MODEL}_${DS,,}_${PROTO}.json" \
  --model "$MODEL" --dataset "$DS" --split "$PROTO" \
  --command "cd src && python run_GNN.py ${ARGS[*]}" "${logs[@]}"
