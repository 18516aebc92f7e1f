#!/usr/bin/env bash
# By hand, not in CI: the README's two commands on a fresh clone, as a newcomer runs them.
#
#   scripts/fresh-clone-check.sh [REPO] [COMMIT]     (default: this checkout, its HEAD)
#   STEPS=demo scripts/fresh-clone-check.sh          (only the demo; STEPS=test only the tests)
#
# Clones the commit into a temporary directory (no node_modules, no .stack), then runs
# `npm run demo -- --once` (must exit 0 with an alert fired and resolved) and `npm test` there, each
# timed, their output in logs next to the clone. DRIFTWATCH_STACK_DIR is unset: the clone has its own
# .stack/, so on a machine where the stack already runs, the clone's `stack up` finds it healthy and
# uses it as it is ("external"); on a machine without one, it installs it (a few minutes).
set -euo pipefail

SRC=${1:-$(cd "$(dirname "$0")/.." && pwd)}
COMMIT=${2:-$(git -C "$SRC" rev-parse HEAD)}
WORK=$(mktemp -d -t driftwatch-fresh-XXXXXX)
CLONE=$WORK/driftwatch
unset DRIFTWATCH_STACK_DIR

git clone --quiet --no-checkout "$SRC" "$CLONE"
git -C "$CLONE" checkout --quiet "$COMMIT"
echo "fresh clone of $COMMIT in $CLONE (node_modules: $([[ -e $CLONE/node_modules ]] && echo present || echo absent))"

timed() { # timed NAME LOG COMMAND... : runs it in the clone, prints its duration and exit code
  local name=$1 log=$2
  shift 2
  local began=$SECONDS code=0
  (cd "$CLONE" && "$@") >"$log" 2>&1 || code=$?
  printf '%-28s exit %d in %4ds   (log: %s)\n' "$name" "$code" $((SECONDS - began)) "$log"
  return "$code"
}

status=0
if [[ " ${STEPS:-demo test} " == *" demo "* ]]; then
  # Two demos on one stack share their topic, group and key prefix: run this one alone.
  timed 'npm run demo -- --once' "$WORK/demo.log" npm run demo -- --once || status=1
  grep -E '^\[setup\]|FIRING|RESOLVED|demo complete' "$WORK/demo.log" | cut -c1-160 || true
  grep -q 'demo complete: [0-9]\+ incident(s) fired and resolved' "$WORK/demo.log" || { echo 'the demo did not report an alert fired and resolved'; status=1; }
fi
if [[ " ${STEPS:-demo test} " == *" test "* ]]; then
  timed 'npm test' "$WORK/test.log" npm test || status=1
  grep -E '^\[setup\]|Test Files|Tests ' "$WORK/test.log" || true
fi
exit "$status"
