#!/bin/bash
# PA-DGN and its baselines: the synthetic convection-diffusion task and the NOAA weather task
# (see the two scripts for what was cut to fit a 2-core CPU), then the summary.
# Run from the repository root with PDE2GNN_DATA set.
set -eu
cd "$(dirname "$0")/../.."
bash experiments/padgn/run_synthetic.sh
bash experiments/padgn/run_noaa.sh
python experiments/summarize.py padgn
