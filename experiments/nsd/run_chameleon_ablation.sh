#!/bin/sh
# chameleon, geom-gcn folds 0-1 (issue 39): nsd_diag_lp as shipped, and the same on the graph
# without its 50 raw self-loops (the NSD reference removes them when it loads the data),
# interleaved fold by fold so that a cut-off run still holds pairs.
set -e
spec=experiments/nsd/specs/nsd_diag_lp.pde
out=experiments/nsd/runs/ablation
for fold in 0 1; do
  opts="--dataset chameleon --split geom-gcn --first-split $fold --splits 1 --threads 1 --resume --quiet --log-every 0"
  OMP_NUM_THREADS=1 python -m pde2gnn train $spec $opts --results $out/nsd_diag_lp_chameleon_f$fold.json
  OMP_NUM_THREADS=1 python experiments/nsd/no_self_loops.py train $spec $opts --results $out/nsd_diag_lp_noselfloops_chameleon_f$fold.json
done
