#!/bin/bash
# EGNN on the charged-particle N-body task (5 particles; 3000 / 2000 / 2000 systems), three seeds:
# the discrete EGNN layer with velocities (egnn_vel, 500 epochs) and the continuous Newton flow
# (egnn_newton, 100 epochs). Run from the repository root; the data set is simulated first.
set -eu
out=experiments/egnn/runs; mkdir -p $out
export PYTHONPATH=$PWD OMP_NUM_THREADS=1
[ -f $out/nbody.npz ] || python -m pde2gnn simulate nbody_charged_ref --graph complete --nodes 5 \
  --ic charged --trajectories 7000 --split 0.428571428571,0.285714285714,0.285714285714 --frames 42 \
  --dt 0.1 --method rk4 --step-size 0.001 --batch 1000 --dtype float64 --out $out/nbody.npz
python -m pde2gnn train egnn_vel --task nbody --data $out/nbody.npz --seeds 3 --epochs 500 \
  --eval-every 10 --threads 1 --quiet --results $out/nbody_egnn_500epochs.json
python -m pde2gnn train egnn_newton --task nbody --data $out/nbody.npz --seeds 3 --epochs 100 \
  --eval-every 10 --threads 1 --quiet --results $out/nbody_newton_100epochs.json
python experiments/summarize.py egnn
