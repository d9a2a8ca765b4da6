#!/bin/bash
# GRAFF-DD on the nine geom-gcn data sets, ten splits each, one CPU thread.
# Usage (from the repository root): PDE2GNN_DATA=/path/to/data bash results/graff/run_all.sh
set -u
SPLITS=${SPLITS:-10}
for ds in texas wisconsin cornell chameleon film Cora CiteSeer squirrel PubMed; do
  PYTHONPATH=$PWD python -m pde2gnn train graff_dd --dataset $ds --split geom-gcn --splits $SPLITS \
    --threads 1 --quiet --log-every 0 --results results/graff/$ds.json \
    > results/graff/$ds.log 2>&1
done
