#!/usr/bin/env bash
# The slow fuzz profile: 3 strategies x PDE2GNN_FUZZ_EXAMPLES cases, one thread.
cd "$(dirname "$0")/../.."
export PDE2GNN_FUZZ=slow PDE2GNN_FUZZ_EXAMPLES=${PDE2GNN_FUZZ_EXAMPLES:-3500} OMP_NUM_THREADS=1
start=$(date +%s)
python -m pytest tests/compiler/test_fuzz.py -k fuzz -p no:cacheprovider -q --hypothesis-show-statistics
echo "rc=$? seconds=$(( $(date +%s) - start )) examples_per_strategy=$PDE2GNN_FUZZ_EXAMPLES seed=${PDE2GNN_FUZZ_SEED:-2026}"
