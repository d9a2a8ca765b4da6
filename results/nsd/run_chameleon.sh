#!/bin/sh
# nsd_bundle on chameleon (the reference's run_chameleon.sh values, library/nsd_bundle.toml),
# ten geom-gcn splits, results written after every split (--resume continues a partial run).
set -e
OMP_NUM_THREADS=1 python -m pde2gnn train nsd_bundle --dataset chameleon --split geom-gcn \
  --splits 10 --threads 1 --resume --quiet --results results/nsd/nsd_bundle_chameleon.json
