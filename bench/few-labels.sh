#!/bin/bash
# Few labels and all labels, from scratch and from a language model (docs/experiments.md#pretraining):
# LSTM classifiers on the first N labeled training reviews of the seeded shuffle (--limit N: 90% to train,
# 10% to validate) for N = 250, 1,000, 5,000, and on all of them, seeds 42, 1 and 2, each scored on the 25,000
# test reviews. The few-label recipe (--epochs 15 --lr 3e-3, from the language model also --gradual-unfreezing:
# the arm `init-gu`) was chosen by validation accuracy at 1,000 labels; all labels use rnn train's defaults (the
# all-label recipe, `--maxlen 600 --epochs 4`, through TRAIN_ARGS below). The arm `init-gu-self` adds
# self-training (`--unlabeled`: the training texts the run leaves unlabeled; ARMS=init-gu-self, few labels only).
# One line per run on stdout: labels seed arm val_acc test_acc epoch. ARMS and SIZES choose the runs (defaults:
# every arm, every size); TRAIN_ARGS adds flags to every rnn train (its runs' names then end in TAG); TEST=0
# leaves the test reviews unread (a `-` for test_acc: choosing by validation); SEEDS replaces 42 1 2.
#
#   bench/few-labels.sh path/to/aclImdb_v1.tar.gz models/lm [WORKDIR] > few-labels.log
#   ARMS="init-gu" SIZES="1000" bench/few-labels.sh path/to/aclImdb_v1.tar.gz models/lm
#   ARMS=init SIZES=all TRAIN_ARGS="--maxlen 600 --epochs 4" TAG=-len600e4 bench/few-labels.sh path/to/aclImdb_v1.tar.gz models/lm
#   node bench/few-labels-plot.mjs few-labels.log > curve.svg
set -euo pipefail
D=$1
LM=$(realpath "$2")
W=${3:-$(mktemp -d)}
mkdir -p "$W"
R=$(dirname "$0")/../bin/rnn
export RNN_MODELS_DIR=$W/models RNN_DATA_DIR=$W/data
run() { # labels seed arm [train args...]
  local n=$1 s=$2 arm=$3; shift 3
  local name=$n-$arm$TAG-s$s
  local init=(); [ "$arm" != scratch ] && init=(--init "$LM")
  [ "$arm" = init-gu ] || [ "$arm" = init-gu-self ] && init+=(--gradual-unfreezing)
  [ "$arm" = init-gu-self ] && init+=(--unlabeled "$D") # self-training on the training texts --limit leaves out
  local limit=(); [ "$n" != all ] && limit=(--limit "$n")
  "$R" train --cell lstm --data "$D" --seed "$s" "${limit[@]}" "${init[@]}" --out "$W/models/$name" "$@" $TRAIN_ARGS > "$W/$name.out" 2> "$W/$name.err"
  if [ "$TEST" = 0 ]; then echo '{"accuracy":"-"}' > "$W/$name.eval.json"
  else "$R" eval --model "$W/models/$name" --data "$D" --json > "$W/$name.eval.json" 2> "$W/$name.eval.err"; fi
  echo "$n $s $arm$TAG $(node -e "const m=require('$W/models/$name/metadata.json'); const e=require('$W/$name.eval.json'); console.log(m.history[m.weights.epoch-1].val_acc, e.accuracy, m.weights.epoch)")"
}
ARMS=${ARMS:-scratch init init-gu}
SIZES=${SIZES:-250 1000 5000 all}
TRAIN_ARGS=${TRAIN_ARGS:-}
TAG=${TAG:-}
TEST=${TEST:-1}
SEEDS=${SEEDS:-42 1 2}
for n in $SIZES; do
  for s in $SEEDS; do
    for arm in $ARMS; do
      if [ "$n" = all ]; then
        [ "$arm" = init-gu ] || [ "$arm" = init-gu-self ] || run all $s $arm # all labels: the defaults (gradual unfreezing lost on validation there; no text is left unlabeled)
      else
        run $n $s $arm --epochs 15 --lr 3e-3
      fi
    done
  done
done
