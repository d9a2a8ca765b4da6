#!/bin/bash
# The experiments of results/blend/README.md, one after the other on one CPU thread, with the
# per-data-set hyperparameters of library/beltrami.toml / beltrami_nopos.toml.
# Each JSON is rewritten after every seed, so an interrupted run keeps its finished seeds.
# Usage (repository root): PDE2GNN_DATA=/path/to/data bash results/blend/run_all.sh
set -x
pde2gnn() { PYTHONPATH=$PWD python -W ignore -m pde2gnn "$@"; }
opts="--threads 1 --quiet --log-every 0 --resume"   # --resume: continue a cut-off run
pde2gnn train beltrami --dataset Cora --seeds 20 $opts --results results/blend/cora_beltrami.json
pde2gnn train beltrami_nopos --dataset Cora --seeds 20 $opts --results results/blend/cora_nopos.json
pde2gnn train beltrami --dataset CiteSeer --seeds 20 $opts --results results/blend/citeseer_beltrami.json
pde2gnn train beltrami_nopos --dataset CiteSeer --seeds 20 $opts --results results/blend/citeseer_beltrami_nopos.json
pde2gnn train beltrami --dataset PubMed --seeds 5 $opts --results results/blend/pubmed_beltrami.json
pde2gnn train beltrami_cos --dataset PubMed --seeds 5 $opts --results results/blend/pubmed_beltrami_cos.json
pde2gnn train beltrami_nopos --dataset PubMed --seeds 5 $opts --results results/blend/pubmed_nopos.json
