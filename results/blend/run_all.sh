#!/bin/bash
# The experiments of results/blend/README.md, one after the other on one CPU thread.
# Each JSON is rewritten after every seed, so an interrupted run keeps its finished seeds.
set -x
D=/work/shared/data
pde2gnn() { PYTHONPATH=$PWD python -W ignore -m pde2gnn "$@"; }
pde2gnn train beltrami --dataset Cora --seeds 5 --data-root $D --threads 1 --quiet --log-every 0 --results results/blend/cora.json
pde2gnn train beltrami_nopos --dataset Cora --seeds 3 --data-root $D --threads 1 --quiet --log-every 0 --results results/blend/cora_nopos.json
pde2gnn train beltrami --dataset CiteSeer --seeds 3 --data-root $D --threads 1 --quiet --log-every 0 --results results/blend/citeseer.json
pde2gnn train beltrami --dataset PubMed --seeds 1 --data-root $D --threads 1 --quiet --log-every 0 --results results/blend/pubmed.json
