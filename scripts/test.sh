#!/usr/bin/env bash
# Runs every test on a fresh machine: installs what the tests need (gpg, faketime, tar,
# MariaDB, PostgreSQL, Subversion, moto, Garage), then formatting, lints, doc links, unit and
# integration tests (which start their own throwaway S3 servers and databases), the
# golden parity runner, and the legacy recorder's own checker against the release binary;
# builds the Debian package and lists its contents.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-deps.sh
export PATH="$HOME/.cargo/bin:$PATH"
echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy -D warnings"
cargo clippy --all-targets -- -D warnings
echo "== cargo doc -D warnings (every doc link resolves)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --quiet
echo "== cargo build --release"
cargo build --release
echo "== cargo deb: the Debian package and its contents (scripts/package.sh)"
bash scripts/package.sh
echo "== legacy checker (compat-tests/golden.py)"
python3 compat-tests/golden.py check --tool target/release/s3napback \
  --cases compat-tests/cases --golden compat-tests/golden
echo "== cargo test"
log=$(mktemp)
status=0
# --no-fail-fast: a failing suite does not hide the results of the suites after it
cargo test --release --all-targets --no-fail-fast -- --test-threads 2 2>&1 | tee "$log" || status=$?
# only cargo's per-suite summaries count (test output may say "passed" too)
passed=$(grep '^test result: ' "$log" | grep -o '[0-9]* passed' | awk '{s+=$1} END {print s+0}')
failed=$(grep '^test result: ' "$log" | grep -o '[0-9]* failed' | awk '{s+=$1} END {print s+0}')
rm -f "$log"
echo "total: $passed passed, $failed failed"
exit "$status"
