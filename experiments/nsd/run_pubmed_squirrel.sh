#!/bin/sh
# nsd_bundle on PubMed and squirrel, geom-gcn splits, one thread, results written after every
# split (--resume continues a partial run; `--splits N` runs splits 0..N-1).
#   PubMed: the reference has no script; the CiteSeer values (d = 3, k = 16, 4 layers, input
#     dropout 0.7, dropout 0.5, lr 0.02, weight decay 0.005) and the default protocol (up to
#     1500 epochs, patience 200, the least validation loss).
#   squirrel: [squirrel] of library/nsd_bundle.toml (the reference's run_squirrel.sh: d = 3,
#     k = 32, 5 layers, up to 1000 epochs, patience 100, the best validation accuracy).
# PUBMED_SPLITS, SQUIRREL_SPLITS and SQUIRREL_EPOCHS cut the protocol (experiments/nsd/NOTES.md
# says what the committed rows ran); the defaults are the full protocol.
set -e
cd "$(dirname "$0")/../.."
OMP_NUM_THREADS=1 python -m pde2gnn train nsd_bundle --dataset PubMed --split geom-gcn \
  --splits "${PUBMED_SPLITS:-10}" --threads 1 --resume --quiet --input-dropout 0.7 \
  --weight-decay 0.005 --lr 0.02 --dropout 0.5 --time 4.0 --dim d=3 --dim k=16 \
  --param p_drop=0.5 --results experiments/nsd/runs/nsd_bundle_PubMed.json
OMP_NUM_THREADS=1 python -m pde2gnn train nsd_bundle --dataset squirrel --split geom-gcn \
  --splits "${SQUIRREL_SPLITS:-10}" ${SQUIRREL_EPOCHS:+--epochs $SQUIRREL_EPOCHS} --threads 1 \
  --resume --quiet --results experiments/nsd/runs/nsd_bundle_squirrel.json
