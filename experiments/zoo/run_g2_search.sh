#!/usr/bin/env bash
# G^2-GraphSAGE (library/g2.pde) with hyperparameters chosen on validation. The reference ships
# values for one task only: "the hyperparameters provided in the heterophilic graphs file are
# the (rounded) hyperparameters only for the wisconsin task using G^2-GraphSAGE ... run a small
# random search including lr, nhid, weight_decay, dropout, G2_exp and nlayers"
# (tk-rusch/gradientgating issue #1, the author's answer). So: 24 configurations drawn with a
# fixed seed from the grid below (layers = Euler steps of size 1, --time), each on geom-gcn
# splits 0-4, 200 epochs (g2.toml's); CONFIGS and SPLITS cut that (the first CONFIGS draws,
# splits 0..SPLITS-1; NOTES.md says what each data set ran); SHARD=i/n runs only the draws
# k with k % n == i, so n processes share one search. The best mean validation accuracy
# is taken (experiments/nsd/summarize_sweep.py --best), then the ten splits with it. Results in
# experiments/zoo/runs/ (the ten-split row: g2_<dataset>_tuned.json); every configuration's
# validation and test accuracy per split in experiments/zoo/g2_search_<dataset>.json.
# `ten DATASET FROM` runs DATASET's ten splits with the configuration FROM's search chose (a
# transfer, where DATASET's own search is out of budget). SPEC=PATH runs the ten splits with
# a variant spec instead of g2 (experiments/zoo/specs/g2_gate_conv.pde), results named after it.
# GRID=wide searches past the base grid's edges, where chameleon's choice sat (lr, weight decay,
# input dropout and layers at the ends of their ranges): its draw 0 is that choice, so the
# comparison is on the same splits; its files carry the suffix _wide. (Its lr 0.03 was 0.05
# until three draws with it diverged or fell far behind: NOTES.md, twelfth round.)
# GRID=local varies one value at a time around the wide search's choice (its draw 0), for
# SPEC=experiments/zoo/specs/g2_gate_conv.pde, whose values were g2's (thirteenth round).
# SPEC applies to the search as well as to the ten splits.
# Usage: bash experiments/zoo/run_g2_search.sh DATASET [search|ten [FROM]]
set -eu
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1 PDE2GNN_DATA=${PDE2GNN_DATA:-/tmp/data}
DS=${1:?dataset}
SUFFIX=${GRID:+_$GRID}
OUT=experiments/zoo/runs/search_g2_$DS$SUFFIX
mkdir -p "$OUT"
search() {
  SHARD=${SHARD:-0/1}
  export GRID=${GRID:-base} CONFIGS=${CONFIGS:-24}
  python - <<'PY' | while read -r k lr hid wd drop din p layers; do
import os, random
# lr, hidden, weight decay, dropout, input dropout, p, layers
grid = {"base": ([0.001, 0.003, 0.005, 0.01], [64, 128, 256], [0.0005, 0.001, 0.005, 0.01],
                 [0.0, 0.1, 0.3, 0.5], [0.3, 0.5, 0.7], [1.0, 1.5, 2.0, 2.5, 3.0, 4.0],
                 [2, 4, 6, 8]),
        "wide": ([0.01, 0.02, 0.03], [128, 256], [0.0, 0.0001, 0.0005], [0.1, 0.3, 0.5],
                 [0.6, 0.7, 0.8], [1.5, 2.5, 4.0], [8, 12, 16])}.get(os.environ["GRID"])
if os.environ["GRID"] == "local":  # the wide search's choice, then its one-value neighbours
    centre = [0.01, 128, 0.0001, 0.3, 0.8, 1.5, 12]
    others = [[0.015, 0.02], [64, 256], [0.0, 0.0005], [0.1, 0.5], [0.7, 0.9], [1.0, 2.5],
              [8, 16]]
    draws = [centre] + [centre[:i] + [v] + centre[i + 1:]
                        for i, vs in enumerate(others) for v in vs]
elif grid is None:
    raise SystemExit(f"GRID={os.environ['GRID']}: base, wide or local")
else:
    r = random.Random(0 if os.environ["GRID"] == "base" else 1)
    draws = [[r.choice(g) for g in grid] for _ in range(int(os.environ["CONFIGS"]))]
if os.environ["GRID"] == "wide":
    draws[0] = [0.01, 128, 0.0005, 0.3, 0.7, 2.5, 8]  # the base search's choice
for k, d in enumerate(draws):
    print(k, *d)
PY
    f=$OUT/c$k.json
    [ $((k % ${SHARD#*/})) = "${SHARD%/*}" ] || continue
    [ -f "$f" ] || python -m pde2gnn train "${SPEC:-g2}" --dataset "$DS" --splits "${SPLITS:-5}" \
      --threads 1 --quiet --lr "$lr" --hidden "$hid" --weight-decay "$wd" --dropout "$drop" \
      --input-dropout "$din" --param p="$p" --time "$layers" --log-every 0 --results "$f" \
      > /dev/null
  done
}
ten() {  # [FROM]: the data set whose search chooses (default: DS); SPEC: a variant of g2
  local from=${1:-$DS} tag=tuned$SUFFIX spec=${SPEC:-g2}
  local dir=experiments/zoo/runs/search_g2_$from$SUFFIX
  [ "$from" = "$DS" ] || tag=from_$from$SUFFIX
  python experiments/nsd/summarize_sweep.py "$dir" > "experiments/zoo/g2_search_$from$SUFFIX.json"
  python -m pde2gnn train "$spec" --dataset "$DS" --splits 10 --threads 1 --quiet --log-every 0 \
    --resume $(python experiments/nsd/summarize_sweep.py "$dir" --best "$from") \
    --results "experiments/zoo/runs/$(basename "$spec" .pde)_${DS}_$tag.json"
}
case "${2:-all}" in
  search) search ;;
  ten) ten "${3:-}" ;;
  *) search; ten ;;
esac
