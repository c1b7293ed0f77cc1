#!/usr/bin/env bash
# Remakes the reference results in leaderboard/results/ (the commands the committed files were made with).
# Torch models train on one thread each (two threads on two cores ran 3x slower): --workers 2 uses both cores.
# Usage: bash scripts/reference_results.sh [baselines|esn|ngrc|sindy|nlinear|dlinear|plrnn|transformer|transformer-global|pretrained|deep|nbeats|nhits|tide|tcn|lstm|darts-transformer|all]
# The learned torch models train for minutes per system on a CPU, so they are scored on SUBSET below
# (and the global transformer is fitted on TRAIN_SYSTEMS, disjoint from it); the rest on every system of the
# archive (106 under protocol 2). The darts deep models (`deep`: nbeats nhits tide tcn lstm darts-transformer)
# are scored on the core subset (data/subsets/core.yaml), and so is the global transformer pretrained on each
# generated corpus of CORPORA (`pretrained`; the corpora are generated into /tmp/<config>.zarr first).
# Each command replaces its file (--overwrite):
# results are re-made, never edited.
set -euo pipefail
unset PYTHONDONTWRITEBYTECODE
cd "$(dirname "$0")/.."
DB=.venv/bin/dysts-bench
ARCHIVE=${ARCHIVE:-/tmp/l.zarr}
OUT=leaderboard/results
CORPORA=${CORPORA:-pretrain-100 pretrain}
SUBSET=Lorenz,Rossler,Chua,Thomas,Halvorsen,Rucklidge,Lorenz84,MooreSpiegel,NewtonLiepnik,SprottJerk,HyperLorenz,RabinovichFabrikant
TRAIN_SYSTEMS=Aizawa,ChenLee,SprottB,SprottD,Chen,LorenzCoupled,HyperRossler,Dadras,Finance,GenesioTesi,SprottF,Arneodo,LuChen,Hadley,ShimizuMorioka,LorenzStenflo

case "${1:-all}" in
  baselines|esn|ngrc|sindy|nlinear|dlinear|plrnn|transformer|transformer-global|pretrained|deep|nbeats|nhits|tide|tcn|lstm|darts-transformer|all) ;;
  *) echo "usage: $0 [baselines|esn|ngrc|sindy|nlinear|dlinear|plrnn|transformer|transformer-global|pretrained|deep|nbeats|nhits|tide|tcn|lstm|darts-transformer|all]" >&2
     exit 2 ;;
esac
[ -e "$ARCHIVE" ] || $DB data generate --config lyapunov --out "$ARCHIVE"   # matches data/manifests/lyapunov.json
case "${1:-all}" in
  baselines|all)
    for f in last-value mean periodic-naive; do $DB evaluate $f --data "$ARCHIVE" --out $OUT/$f-lyapunov.json --overwrite --quiet; done ;;&
  esn|all)
    $DB evaluate esn --data "$ARCHIVE" --out $OUT/esn-lyapunov.json --overwrite --quiet ;;&
  ngrc|all)
    $DB evaluate ngrc --data "$ARCHIVE" --out $OUT/ngrc-lyapunov.json --overwrite --quiet ;;&
  sindy|all)
    $DB evaluate sindy --data "$ARCHIVE" --out $OUT/sindy-lyapunov.json --workers 2 --overwrite --quiet ;;&
  nlinear|all)
    $DB evaluate nlinear --data "$ARCHIVE" --out $OUT/nlinear-lyapunov.json --workers 2 --overwrite --quiet ;;&
  dlinear|all)
    $DB evaluate dlinear --data "$ARCHIVE" --out $OUT/dlinear-lyapunov.json --workers 2 --overwrite --quiet ;;&
  deep|all) DEEP="nbeats nhits tide tcn lstm darts-transformer" ;;&
  nbeats|nhits|tide|tcn|lstm|darts-transformer) DEEP=$1 ;;&
  plrnn|all)
    $DB evaluate plrnn --data "$ARCHIVE" --systems $SUBSET --out $OUT/plrnn-lyapunov-subset.json --overwrite --quiet
    $DB evaluate plrnn --data "$ARCHIVE" --systems @core --out $OUT/plrnn-lyapunov-core.json --workers 2 --overwrite --quiet ;;&
  transformer|all)
    $DB evaluate transformer --data "$ARCHIVE" --systems $SUBSET --out $OUT/transformer-lyapunov-subset.json --overwrite --quiet
    $DB evaluate transformer --data "$ARCHIVE" --systems @core --out $OUT/transformer-lyapunov-core.json --workers 2 --overwrite --quiet ;;&
  transformer-global|all)
    $DB evaluate transformer-global --data "$ARCHIVE" --mode zero-shot --train-systems $TRAIN_SYSTEMS \
      --systems $SUBSET --out $OUT/transformer-global-lyapunov-zero-shot.json --overwrite --quiet ;;&
  pretrained|all)  # one CPU preset fit (about an hour) per corpus, then zero-shot on the core subset
    for corpus in $CORPORA; do
      [ -e "/tmp/$corpus.zarr" ] || $DB data generate --config "$corpus" --out "/tmp/$corpus.zarr" --workers 2 --no-progress
      $DB evaluate transformer-global -p preset=cpu --data "$ARCHIVE" --mode zero-shot --train-data "/tmp/$corpus.zarr" \
        --systems @core --out "$OUT/transformer-global-$corpus-core.json" --overwrite --quiet
    done ;;
  *) ;;
esac
for f in ${DEEP:-}; do  # the darts deep models, on the core subset
  $DB evaluate "$f" --data "$ARCHIVE" --systems @core --out "$OUT/$f-lyapunov-core.json" --workers 2 --overwrite --quiet
done
