#!/bin/sh
# nsd_bundle on Film (Actor, geom-gcn splits). The reference ships no run script for Film, so
# the stalk dimension d, the number of layers (time, Euler steps of 1) and the dropout rate
# (after the encoder and inside the layers, as the reference's one `dropout`) are chosen on
# validation over splits 0-1 (the rest: library/nsd_bundle.toml [default]), the best mean
# validation accuracy taken, then all ten splits with it.
# Run from the repository root with PDE2GNN_DATA a writable data copy.
set -e
mkdir -p /tmp/nsd_sweep_film
for d in 3 4; do for t in 2 4; do for p in 0.5 0.7; do
  OMP_NUM_THREADS=1 python -m pde2gnn train nsd_bundle --dataset Film --split geom-gcn --splits 2 \
    --threads 1 --quiet --dim d=$d --time $t --dropout $p --param p_drop=$p \
    --results /tmp/nsd_sweep_film/Film_d${d}_t${t}_p$p.json
done; done; done
python experiments/nsd/summarize_sweep.py /tmp/nsd_sweep_film > experiments/nsd/runs/sweep_film.json
OMP_NUM_THREADS=1 python -m pde2gnn train nsd_bundle --dataset Film --split geom-gcn --splits 10 \
  --threads 1 --quiet $(python experiments/nsd/summarize_sweep.py /tmp/nsd_sweep_film --best Film) \
  --results experiments/nsd/runs/nsd_bundle_Film.json
