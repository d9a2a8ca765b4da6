#!/bin/sh
# nsd_bundle on Cora and CiteSeer, second validation stage, with per-layer weights: at the input
# dropout and weight decay chosen by run_planetoid.sh (Cora 0.7 / 5e-4, CiteSeer 0.7 / 5e-3), the
# number of layers (time, Euler steps of 1) is chosen on validation over splits 0-1 (d = 3; a
# wider d x layers grid was cut for time), then all ten splits are run with the best
# (experiments/nsd/runs/nsd_bundle_<data set>.json).
# Run from the repository root with PDE2GNN_DATA a writable data copy.
set -e
mkdir -p /tmp/nsd_sweep_depth
sweep() {  # data set, base options, layers...
  ds=$1; base=$2; shift 2
  for t in "$@"; do
    [ -f /tmp/nsd_sweep_depth/${ds}_d3_t$t.json ] && continue    # done in an earlier call
    OMP_NUM_THREADS=1 python -m pde2gnn train nsd_bundle --dataset $ds --split geom-gcn \
      --splits 2 --threads 1 --quiet $base --dim d=3 --time $t \
      --results /tmp/nsd_sweep_depth/${ds}_d3_t$t.json
  done
}
final() {  # data set
  OMP_NUM_THREADS=1 python -m pde2gnn train nsd_bundle --dataset $1 --split geom-gcn --splits 10 \
    --threads 1 --quiet $(python experiments/nsd/summarize_sweep.py /tmp/nsd_sweep_depth --best $1) \
    --results experiments/nsd/runs/nsd_bundle_$1.json
}
case ${1:-all} in
  Cora|all) sweep Cora "--input-dropout 0.7 --weight-decay 0.0005" 2 4 6; final Cora ;;
esac
case ${1:-all} in
  CiteSeer|all) sweep CiteSeer "--input-dropout 0.7 --weight-decay 0.005" 2 4; final CiteSeer ;;
esac
python experiments/nsd/summarize_sweep.py /tmp/nsd_sweep_depth > experiments/nsd/runs/sweep_planetoid_depth.json
