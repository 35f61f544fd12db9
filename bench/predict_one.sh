#!/usr/bin/env bash
# The in-process cost of one 1-row prediction as `lore api` makes it (JSON record in, answer
# out), with criterion: a throwaway project of 2,000 sample rows with SubscribersDeclared
# fitted, then lore-core's `predict` bench on that fitting.
# Usage: bench/predict_one.sh
set -euo pipefail
checkout="$(cd "$(dirname "$0")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lore/target}"
source "$checkout/bench/project.sh"
sample_fitted 2000
fitting="$work/bench/models/SubscribersDeclared/$(ls models/SubscribersDeclared | tail -n 1)"
cd "$checkout"
LORE_BENCH_FITTING="$fitting" cargo bench --workspace --bench predict
