#!/bin/bash
# GRAND-l on Cora, 10 seeds of 30 epochs, in two processes (torchrun --distributed, one seed
# per rank at a time) and then in one; same seeds, so the accuracies must agree. Run from the
# repository root with PDE2GNN_DATA set; results in experiments/distributed_cora/runs/.
set -eu
out=experiments/distributed_cora/runs; mkdir -p $out
export PYTHONPATH=$PWD OMP_NUM_THREADS=1
/usr/bin/time -f "%e s two processes" torchrun --standalone --nproc-per-node 2 -m pde2gnn train grand \
  --dataset Cora --seeds 10 --epochs 30 --threads 1 --distributed --quiet --results $out/two.json > $out/two.log 2>&1
/usr/bin/time -f "%e s one process" python -m pde2gnn train grand --dataset Cora --seeds 10 --epochs 30 \
  --threads 1 --quiet --results $out/one.json > $out/one.log 2>&1
python experiments/summarize.py distributed_cora
