#!/bin/bash
# Library `gread` (attention diffusion + blurring-sharpening reaction, both in L: GMRES, no
# probed matrix) on Cora at a large time span, dopri5 against ark3 on the same seed (issue 35,
# the stiff GREAD run whose GMRES stalled last round). The two variants run side by side, one
# thread each, so that their s / epoch are measured under the same load. `--step-size none`
# drops library/gread.toml's rk4 step, so that both methods are adaptive.
# Run from the repository root with PDE2GNN_DATA set:
#   OMP_NUM_THREADS=1 nice -n 10 bash experiments/imex_cora/run_gread.sh
# TIME / EPOCHS / SEED override the defaults (T = 600, 10 epochs, seed 0); seeds 0-2 were run:
#   for s in 0 1 2; do SEED=$s bash experiments/imex_cora/run_gread.sh; done
set -u
D=experiments/imex_cora
mkdir -p $D/runs
export PYTHONPATH=$PWD OMP_NUM_THREADS=1
T=${TIME:-600}
for m in dopri5 ark3; do
  python -m pde2gnn train gread --dataset Cora --split public --method $m --step-size none \
    --time $T --hidden 16 --epochs ${EPOCHS:-10} --rtol 1e-3 --atol 1e-4 \
    --first-seed ${SEED:-0} --seeds 1 --threads 1 --quiet --log-every 1 \
    --results $D/runs/gread_T${T}_${m}_seed${SEED:-0}.json \
    > $D/runs/gread_T${T}_${m}_seed${SEED:-0}.log 2>&1 &
done
wait
# join the seeds run so far: runs/gread_T<T>_<method>.json
for m in dopri5 ark3; do
  python -m pde2gnn merge $D/runs/gread_T${T}_$m.json $D/runs/gread_T${T}_${m}_seed*.json
done
