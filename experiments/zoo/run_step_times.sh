#!/usr/bin/env bash
# Time of one training step (forward solve, loss, backward, optimiser step) of each zoo model,
# and for GREAD and ACMP of the whole epoch (the step and the evaluation),
# against its reference code, both in one process, interleaved (benchmarks/zoo_graphcon.py,
# zoo_g2.py, zoo_ode_step.py; each docstring says what is timed), one thread, this process's CPU
# time. ROUNDS runs of each (default 3); each run's figures go to
# experiments/zoo/step_times/<key>_r<k>.json, which make_summary.py renders as report.md's
# step-time table. The references are not part of this repository: clone them first, e.g.
#   git clone https://github.com/tk-rusch/GraphCON /tmp/ref_graphcon
#   git clone https://github.com/tk-rusch/gradientgating /tmp/ref_g2
#   git clone https://github.com/jeongwhanchoi/GREAD /tmp/ref_gread
#   git clone https://github.com/ykiiiiii/ACMP /tmp/ref_acmp
# Usage: bash experiments/zoo/run_step_times.sh [graphcon|g2|gread|acmp ...]
# (REF_GRAPHCON, REF_G2, REF_GREAD, REF_ACMP override those folders.) Their torch_sparse /
# torch_scatter / ogb / ray imports go through benchmarks/reference/stubs_grand.
set -eu
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1 TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1
export PDE2GNN_DATA=${PDE2GNN_DATA:-/tmp/data}
OUT=experiments/zoo/step_times
STUBS=benchmarks/reference/stubs_grand
mkdir -p "$OUT"
declare -A CMD=(
  [graphcon]="python benchmarks/zoo_graphcon.py --ref ${REF_GRAPHCON:-/tmp/ref_graphcon} --clock cpu"
  [g2]="python benchmarks/zoo_g2.py --ref ${REF_G2:-/tmp/ref_g2}/heterophilic_graphs --shim $STUBS --clock cpu"
  [gread]="python benchmarks/zoo_ode_step.py --model gread --ref ${REF_GREAD:-/tmp/ref_gread} --clock cpu"
  [acmp]="python benchmarks/zoo_ode_step.py --model acmp --ref ${REF_ACMP:-/tmp/ref_acmp} --clock cpu"
)
for model in ${@:-graphcon g2 gread acmp}; do
  for k in $(seq 1 "${ROUNDS:-3}"); do
    ${CMD[$model]} 2> /dev/null | python experiments/zoo/step_time_record.py "$model" "$k" \
      "${CMD[$model]}" "$OUT"
  done
done
python experiments/zoo/make_summary.py > /dev/null
