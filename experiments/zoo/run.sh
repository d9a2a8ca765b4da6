#!/usr/bin/env bash
# The PDE-GNN zoo on the small heterophilic sets (issue 39): every model of the zoo on Texas,
# Wisconsin and Cornell, the ten geom-gcn splits, hyperparameters from the library TOMLs
# (library/<spec>.toml, the reference repositories' best values where they ship them).
# Usage, from the repository root with the environment active (. .venv/bin/activate):  bash experiments/zoo/run.sh [STREAM]
#   STREAM a (default: both, one after the other) or b: two halves to run as two processes.
# Results: experiments/zoo/runs/<spec>_<dataset>.json (git-ignored); then
#   python experiments/zoo/make_summary.py  -> summary.json, summary.md
set -u
cd "$(dirname "$0")/../.."
export PYTHONPATH=$PWD OMP_NUM_THREADS=1 PDE2GNN_DATA=${PDE2GNN_DATA:-/tmp/data}
mkdir -p experiments/zoo/runs
run() {  # spec dataset
  local out=experiments/zoo/runs/$1_$2.json
  nice -n 10 python -m pde2gnn train "$1" --dataset "$2" --splits 10 --threads 1 --quiet \
    --resume --results "$out" > "experiments/zoo/runs/$1_$2.log" 2>&1 \
    && tail -1 "experiments/zoo/runs/$1_$2.log"
}
# in order of priority (the models with published WebKB figures first), as two streams
a() {
  run gread_const texas; run gread cornell; run gread wisconsin
  run adgn texas; run acmp texas; run adgn cornell; run adgn wisconsin
}
b() {
  run graphcon texas; run graphcon_v1 cornell; run graphcon wisconsin
  run g2 texas; run grand_pp texas; run g2 cornell; run g2 wisconsin
  run acmp cornell; run acmp wisconsin; run grand_pp cornell; run grand_pp wisconsin
}
case "${1:-all}" in
  a) a ;; b) b ;;
  film) run gread film ;;
  *) a; b ;;
esac
