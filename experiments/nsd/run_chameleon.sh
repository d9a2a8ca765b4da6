#!/bin/sh
# chameleon, ten geom-gcn splits, results written after every split (--resume continues a
# partial run): nsd_diag_lp is the model of the reference's run_chameleon.sh (DiagSheaf with
# add_lp, d = 4 learned + 1 fixed), nsd_bundle the O(d) model with the same values
# (library/nsd_bundle.toml [chameleon], sheaf_decay included; the runs before it are
# experiments/nsd/runs/*_nodecay_chameleon.json).
set -e
for spec in nsd_diag_lp nsd_bundle; do
  path=$spec; [ -f experiments/nsd/specs/$spec.pde ] && path=experiments/nsd/specs/$spec.pde
  OMP_NUM_THREADS=1 python -m pde2gnn train $path --dataset chameleon --split geom-gcn \
    --splits 10 --threads 1 --resume --quiet --results experiments/nsd/runs/${spec}_chameleon.json
done
