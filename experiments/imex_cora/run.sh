#!/bin/bash
# Training through an IMEX solve on Cora (issue 35): the GREAD-style reaction-diffusion of
# specs/gread_fisher_lap.pde (unnormalised Laplacian, kappa = 8: stiff) trained through dopri5
# (explicit) and ark3 (IMEX; direct backpropagation and the discrete adjoint), Planetoid public
# split, seeds 0-2, the variants interleaved seed by seed so that their s/epoch are measured
# under the same load; then the gradient and cost check of one solve (grad_check.py, ark4 too).
# Run from the repository root with PDE2GNN_DATA set:
#   OMP_NUM_THREADS=1 nice -n 10 bash experiments/imex_cora/run.sh
# SEEDS / EPOCHS override the defaults (3 seeds; the spec's TOML: 10 epochs).
set -u
D=experiments/imex_cora
mkdir -p $D/runs
export PYTHONPATH=$PWD OMP_NUM_THREADS=1
declare -A FLAGS=([dopri5]="--method dopri5" [ark3]="--method ark3"
                  [ark3_adjoint]="--method ark3 --adjoint")
for seed in $(seq 0 $(( ${SEEDS:-3} - 1 ))); do
  for v in dopri5 ark3 ark3_adjoint; do
    python -m pde2gnn train $D/specs/gread_fisher_lap.pde --dataset Cora --split public \
      ${FLAGS[$v]} --first-seed $seed --seeds 1 ${EPOCHS:+--epochs $EPOCHS} --threads 1 \
      --quiet --log-every 1 --results $D/runs/${v}_seed$seed.json > $D/runs/${v}_seed$seed.log 2>&1
  done
done
python $D/grad_check.py --out $D/runs/grad_check.json > $D/runs/grad_check.log 2>&1
for v in dopri5 ark3 ark3_adjoint; do
  python -m pde2gnn merge $D/runs/$v.json $D/runs/${v}_seed*.json
done
python $D/make_summary.py
