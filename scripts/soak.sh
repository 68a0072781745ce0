#!/usr/bin/env bash
# The long soak run (issues 22 and 25): the soak test of tests/it/soak.rs with more seeds
# and nights. Every night's restore is checked against the states the tree had; at the end
# it prints the nights, the faults by kind (and how many hit a request), the restores
# checked and the mismatches (each with its seed and night, to replay with
# S3NAPBACK_SOAK_SEED=N S3NAPBACK_SOAK_NIGHTS=M).
#
#   scripts/soak.sh [SEEDS [NIGHTS [FIRST]]]     # default: 20 seeds x 30 nights from seed 1
#
# S3NAPBACK_SOAK_SERVER=garage runs it on Garage instead of moto.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export S3NAPBACK_SOAK_SEEDS="${1:-20}"
export S3NAPBACK_SOAK_NIGHTS="${2:-30}"
export S3NAPBACK_SOAK_FIRST="${3:-1}"
export S3NAPBACK_SOAK_VERBOSE=1
unset S3NAPBACK_SOAK_SEED
log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "== soak: $S3NAPBACK_SOAK_SEEDS seeds from $S3NAPBACK_SOAK_FIRST, $S3NAPBACK_SOAK_NIGHTS nights each"
status=0
cargo test --release --test it soak -- --nocapture --test-threads 1 2>&1 | tee "$log" || status=$?
echo "== soak summary"
grep '^soak: seed [0-9]*: nights=' "$log" || true
total=$(grep '^soak total: ' "$log" || true)
if [ -z "$total" ]; then
  echo "no summary: the test did not run to its end (exit $status)"
  exit 1
fi
# nights, faults by kind, restores checked, mismatches
echo "$total" | sed 's/^soak total: //' | tr ' ' '\n' | grep -E '^(seeds|nights|runs|nights_ok|restores_checked|failed_restores_accepted|moves_into_moved|mismatches)='
echo "faults by kind (runs, hit: in how many of them the fault hit a request):"
echo "$total" | sed -e 's/.*faults: //' -e 's/ mismatches=.*//' | tr ' ' '\n' | sed 's/^/  /'
if [ "$status" -ne 0 ]; then
  echo "mismatches (seed, night, diagnosis):"
  grep '^soak mismatch: ' "$log" | sed 's/^soak mismatch: /  /' || true
fi
exit "$status"
