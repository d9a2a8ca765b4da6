#!/bin/sh
# nsd_bundle on Film, second validation stage: at the d, layers and dropout chosen by
# run_film.sh (d 3, 2 layers, dropout 0.5), weight decay x input dropout on splits 0-1 (Film
# overfits within 10-15 epochs), then all ten splits with the best mean validation accuracy of
# both stages (experiments/nsd/runs/nsd_bundle_Film.json).
set -e
mkdir -p /tmp/nsd_sweep_film2
for wd in 0.005 0.05; do for i in 0.0 0.5; do
  OMP_NUM_THREADS=1 python -m pde2gnn train nsd_bundle --dataset Film --split geom-gcn --splits 2 \
    --threads 1 --quiet --dim d=3 --time 2 --dropout 0.5 --param p_drop=0.5 \
    --weight-decay $wd --input-dropout $i --results /tmp/nsd_sweep_film2/Film_wd${wd}_i$i.json
done; done
python experiments/nsd/summarize_sweep.py /tmp/nsd_sweep_film2 > experiments/nsd/runs/sweep_film_stage2.json
# the best of this stage (per-layer weights; run_film.sh's ten-split run with weight decay 5e-4
# and no input dropout had validation 35.9 % on splits 0-1)
OMP_NUM_THREADS=1 python -m pde2gnn train nsd_bundle --dataset Film --split geom-gcn --splits 10 \
  --threads 1 --quiet --dim d=3 --time 2 --dropout 0.5 --param p_drop=0.5 \
  $(python experiments/nsd/summarize_sweep.py /tmp/nsd_sweep_film2 --best Film) \
  --results experiments/nsd/runs/nsd_bundle_Film.json
