#!/bin/bash
# The experiments of experiments/blend/README.md, one after the other on one CPU thread, with the
# per-data-set hyperparameters of library/beltrami.toml / beltrami_nopos.toml.
# Each JSON is rewritten after every seed, so an interrupted run keeps its finished seeds.
# Usage (repository root): PDE2GNN_DATA=/path/to/data bash experiments/blend/run.sh
set -x
pde2gnn() { PYTHONPATH=$PWD python -W ignore -m pde2gnn "$@"; }
opts="--threads 1 --quiet --log-every 0 --resume"   # --resume: continue a cut-off run
pde2gnn train beltrami --dataset Cora --seeds 20 $opts --results experiments/blend/runs/cora_beltrami.json
pde2gnn train experiments/blend/specs/beltrami_nopos.pde --dataset Cora --seeds 20 $opts --results experiments/blend/runs/cora_nopos.json
pde2gnn train beltrami --dataset CiteSeer --seeds 20 $opts --results experiments/blend/runs/citeseer_beltrami.json
pde2gnn train experiments/blend/specs/beltrami_nopos.pde --dataset CiteSeer --seeds 20 $opts --results experiments/blend/runs/citeseer_beltrami_nopos.json
pde2gnn train beltrami --dataset PubMed --seeds 5 $opts --results experiments/blend/runs/pubmed_beltrami.json
pde2gnn train beltrami_cos --dataset PubMed --seeds 5 $opts --results experiments/blend/runs/pubmed_beltrami_cos.json
pde2gnn train experiments/blend/specs/beltrami_nopos.pde --dataset PubMed --seeds 5 $opts --results experiments/blend/runs/pubmed_nopos.json
# BLEND as the reference's command line runs it, PubMed, cut to 100 epochs (NOTES.md, eighth round)
pde2gnn train experiments/blend/specs/beltrami_rw.pde --dataset PubMed --seeds 5 --epochs 100 $opts --results experiments/blend/runs/pubmed_beltrami_rw_e100.json
python experiments/summarize.py blend
