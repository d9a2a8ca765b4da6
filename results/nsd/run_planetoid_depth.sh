#!/bin/sh
# nsd_bundle on Cora and CiteSeer, second validation stage: with the input dropout and weight
# decay chosen by run_planetoid.sh (Cora 0.7 / 5e-4, CiteSeer 0.7 / 5e-3), the stalk dimension d
# and the number of layers (time, Euler steps of 1) are chosen on validation over splits 0-1,
# then all ten splits are run with the best (results/nsd/nsd_bundle_<data set>.json).
# Run from the repository root with PDE2GNN_DATA a writable data copy.
set -e
mkdir -p /tmp/nsd_sweep_depth
for ds in Cora CiteSeer; do
  if [ $ds = Cora ]; then base="--input-dropout 0.7 --weight-decay 0.0005"
  else base="--input-dropout 0.7 --weight-decay 0.005"; fi
  for d in 3 4 5; do for t in 2 4 6; do
    OMP_NUM_THREADS=1 python -m pde2gnn train nsd_bundle --dataset $ds --split geom-gcn \
      --splits 2 --threads 1 --quiet $base --dim d=$d --time $t \
      --results /tmp/nsd_sweep_depth/${ds}_d${d}_t$t.json
  done; done
done
python results/nsd/summarize_sweep.py /tmp/nsd_sweep_depth > results/nsd/sweep_planetoid_depth.json
for ds in Cora CiteSeer; do
  OMP_NUM_THREADS=1 python -m pde2gnn train nsd_bundle --dataset $ds --split geom-gcn --splits 10 \
    --threads 1 --quiet $(python results/nsd/summarize_sweep.py /tmp/nsd_sweep_depth --best $ds) \
    --results results/nsd/nsd_bundle_$ds.json
done
