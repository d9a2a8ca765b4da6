#!/bin/bash
# NOAA forecasting table re-run on the great-circle 4-NN graph (issue 22). Same command as
# experiments/padgn/run_noaa.sh (3 seeds there), one seed per process, one thread:
#   MODELS="rgn_standardop rgn padgn_rgn" SEEDS_LIST="0 1 2" bash experiments/noaa_gc/run.sh
# var, mlp_forecast and gru_forecast do not read the graph (per-node models): their numbers
# do not change and are not re-run. Results: experiments/noaa_gc/runs/<model>_seed<k>.json + .log.
set -u
mkdir -p experiments/noaa_gc/runs
for s in ${SEEDS_LIST:-0}; do
for m in ${MODELS:-rgn_standardop rgn padgn_rgn}; do
  PYTHONPATH=$PWD OMP_NUM_THREADS=1 python -m pde2gnn train $m --data noaa --n-in 12 --n-out 12 \
    --seeds 1 --first-seed $s --epochs 30 --patience 8 --lr 1e-3 --batch-size 16 \
    --max-windows 512 --threads 1 --quiet --log-every 5 \
    --results experiments/noaa_gc/runs/${m}_seed$s.json > experiments/noaa_gc/runs/${m}_seed$s.log 2>&1
  tail -3 experiments/noaa_gc/runs/${m}_seed$s.log
done
done
