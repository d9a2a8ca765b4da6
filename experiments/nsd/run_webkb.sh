#!/bin/sh
# O(d)-NSD (nsd_bundle) and the identity-sheaf ablation (nsd_identity) on the WebKB data sets,
# ten geom-gcn splits each, one thread, one job at a time (shared 2-core machine).
# Run from the repository root with PDE2GNN_DATA pointing at a writable copy of the data.
set -e
for ds in Texas Wisconsin Cornell; do
  for spec in nsd_bundle nsd_identity; do
    path=$spec; [ -f experiments/nsd/specs/$spec.pde ] && path=experiments/nsd/specs/$spec.pde
    OMP_NUM_THREADS=1 python -m pde2gnn train $path --dataset $ds --split geom-gcn --splits 10 \
      --threads 1 --results experiments/nsd/runs/${spec}_${ds}.json
  done
done
# the edge-weight ablation (nsd_bundle without weights=true)
for ds in Texas Wisconsin Cornell; do
  OMP_NUM_THREADS=1 python -m pde2gnn train experiments/nsd/specs/nsd_bundle_noew.pde --dataset $ds \
    --split geom-gcn --splits 10 --threads 1 --results experiments/nsd/runs/nsd_bundle_noew_${ds}.json
done
