#!/bin/bash
# GRAFF-DD on the nine geom-gcn data sets, one CPU thread, results/graff/<data set>.json.
# Usage (from the repository root): PDE2GNN_DATA=/path/to/data bash results/graff/run_all.sh
# Splits per data set: all ten for the small ones; the larger ones were cut to fit the time
# budget of the session that produced results/graff/README.md (SPLITS=10 runs ten everywhere).
set -u
declare -A N=([texas]=10 [wisconsin]=10 [cornell]=10 [chameleon]=3 [film]=2 [Cora]=2
              [CiteSeer]=2 [squirrel]=1 [PubMed]=1)
for ds in ${DATASETS:-texas wisconsin cornell chameleon film Cora CiteSeer squirrel PubMed}; do
  PYTHONPATH=$PWD python -m pde2gnn train graff_dd --dataset $ds --split geom-gcn \
    --splits ${SPLITS:-${N[$ds]}} --threads 1 --quiet --log-every 0 \
    --results results/graff/$ds.json > results/graff/$ds.log 2>&1
done
