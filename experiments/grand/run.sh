#!/bin/bash
# GRAND-l on Cora, public split, five seeds, the library's hyperparameters (library/grand.toml):
# the README's main job. Run from the repository root with PDE2GNN_DATA set.
set -eu
mkdir -p experiments/grand/runs
PYTHONPATH=$PWD OMP_NUM_THREADS=1 python -m pde2gnn train grand --dataset Cora --seeds 5 --quiet \
  --log-every 0 --results experiments/grand/runs/cora.json > experiments/grand/runs/cora.log 2>&1
python experiments/summarize.py grand
