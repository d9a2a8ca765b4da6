#!/bin/bash
# Neural Sheaf Diffusion: every run of this study, one after the other, one thread each
# (hours on a 2-core CPU), then the summary. Run from the repository root with PDE2GNN_DATA set.
#   run_webkb.sh       nsd_bundle, nsd_identity and nsd_bundle_noew on Texas, Wisconsin, Cornell
#   run_chameleon.sh   nsd_diag_lp and nsd_bundle on chameleon
#   run_planetoid.sh   nsd_bundle on Cora and CiteSeer (values chosen on splits 0-1, then 10 splits)
#   run_film.sh        nsd_bundle on Film (the same; run_film_stage2.sh refines the grid)
#   run_pubmed_squirrel.sh  nsd_bundle on PubMed and squirrel (the full protocol: many hours on CPU)
# The reference code's runs (runs/reference/ref_nsd_*.json): benchmarks/reference/README.md.
set -eu
cd "$(dirname "$0")/../.."
export PYTHONPATH=$PWD
for s in run_webkb run_chameleon run_planetoid run_film run_pubmed_squirrel; do sh experiments/nsd/$s.sh; done
python experiments/summarize.py nsd
