#!/usr/bin/env bash
# The GREAD and ACMP reference codes on the same geom-gcn splits as experiments/zoo/run.sh
# (issue 39, third round), for the "reference here" column. Not part of this repository: fetch
# them first, e.g. git clone https://github.com/jeongwhanchoi/GREAD /tmp/ref_gread and
# git clone https://github.com/ykiiiiii/ACMP /tmp/ref_acmp. Both import torch_scatter /
# torch_sparse (no build for torch 2.13 here) and optional packages this environment lacks
# (ogb, wandb, sklearn, pykeops, ray, six); SHIM is a folder of small stand-ins: torch_sparse.spmm
# as an index_add over the edges, torch_scatter.scatter on torch_geometric.utils.scatter, the
# others empty modules whose functions raise if called (only the GDC / kNN / ogbn-arxiv /
# wandb paths would call them). TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1: the references' processed
# data sets are pickled Data objects, which torch >= 2.6 refuses by default.
# (default: benchmarks/reference/stubs_grand, with stubs_nsd's wandb).
# Usage: GREAD=/tmp/ref_gread ACMP=/tmp/ref_acmp \
#   bash experiments/zoo/run_reference_gread_acmp.sh [gread|acmp [DATASET]|acmp_undirected]
# gread: GREAD's own runner with its best parameters (gread_params.py) on the ten splits
#   (`run_GNN.py --dataset wisconsin --use_best_params --num_splits 10`; its splits are the
#   geom-gcn .npz files, copied to src/splits; it sets no seed); the per-split test accuracies
#   and wall time per epoch are read from its log into reference.json (gread_sc_h4_wisconsin).
# acmp [DATASET]: experiments/zoo/trace_acmp_reference.py (ACMP's main() once per split, seeded,
#   with per-epoch records), the ten splits of DATASET (texas by default; wisconsin, cornell), into
#   reference.json (acmp_grand_<dataset>).
set -eu
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1 TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1
DATA=${PDE2GNN_DATA:-/tmp/data}
SHIM=${SHIM:-$PWD/benchmarks/reference/stubs_grand:$PWD/benchmarks/reference/stubs_nsd}
mkdir -p experiments/zoo/runs
gread() {
  : "${GREAD:?set GREAD to a clone of jeongwhanchoi/GREAD}"
  mkdir -p "$GREAD/src/splits" "$GREAD/data/wisconsin/wisconsin/raw"
  cp -n "$DATA"/WebKB/wisconsin/raw/out1_* "$GREAD/data/wisconsin/wisconsin/raw/"
  cp -n "$DATA"/WebKB/wisconsin/raw/*.npz "$GREAD/src/splits/"
  local log=$PWD/experiments/zoo/runs/reference_gread_wisconsin.log
  (cd "$GREAD/src" && PYTHONPATH=$SHIM nice -n 10 python run_GNN.py --dataset wisconsin \
    --use_best_params --num_splits 10) > "$log" 2>&1
  python experiments/zoo/reference_log.py gread "$log" gread_sc_h4_wisconsin \
    "python run_GNN.py --dataset wisconsin --use_best_params --num_splits 10 (jeongwhanchoi/GREAD src)"
}
acmp() {  # [dataset], texas by default
  : "${ACMP:?set ACMP to a clone of ykiiiiii/ACMP}"
  local ds=${1:-texas}
  mkdir -p "$ACMP/data/$ds/$ds/raw"
  cp -n "$DATA"/WebKB/$ds/raw/* "$ACMP/data/$ds/$ds/raw/"
  PYTHONPATH=$PWD:$SHIM nice -n 10 python experiments/zoo/trace_acmp_reference.py "$ACMP" \
    experiments/zoo/runs/reference_acmp_$ds.json --dataset $ds --splits 10 \
    > experiments/zoo/runs/reference_acmp_$ds.log 2>&1
  python experiments/zoo/reference_log.py acmp experiments/zoo/runs/reference_acmp_$ds.json \
    acmp_grand_$ds "experiments/zoo/trace_acmp_reference.py \$ACMP OUT --dataset $ds --splits 10 (ykiiiiii/ACMP run_GNN.py defaults, splits 0-9)"
}
acmp_undirected() {  # the probe: the reference with the graph made undirected, split 0
  PYTHONPATH=$PWD:$SHIM nice -n 10 python experiments/zoo/trace_acmp_reference.py "$ACMP" \
    experiments/zoo/runs/reference_acmp_texas_undirected.json --dataset texas --splits 1 \
    --undirected-graph > experiments/zoo/runs/reference_acmp_texas_undirected.log 2>&1
}
case "${1:-all}" in
  gread) gread ;; acmp) acmp "${2:-texas}" ;; acmp_undirected) acmp_undirected ;; *) gread; acmp ;;
esac
