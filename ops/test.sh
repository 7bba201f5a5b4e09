#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what is missing (ops/setup.sh), builds,
# checks the embedded stack's life cycle twice, then runs every test against the real
# PostgreSQL server and Kafka broker, and stops the stack again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash ops/setup.sh
echo "[test] building (debug, with tests)"
swift build --build-tests 2>&1 | grep -Ev "^\[[0-9]+/[0-9]+\] (Compiling|Emitting|Write|Linking)" || true
swift build --build-tests >/dev/null  # fails the script if the build above failed
Q=.build/debug/quorum

echo "[test] stack life cycle, twice: up, status, migrate, down"
for round in 1 2; do
  $Q stack up >/dev/null
  $Q stack status --json >/dev/null
  $Q migrate --json >/dev/null
  $Q stack down >/dev/null
  echo "[test]   round $round ok"
done

$Q stack up
trap '$Q stack down >/dev/null || true' EXIT
$Q migrate
echo "[test] swift test"
swift test --skip-build 2>&1 | grep -Ev "^(◇|↳)|started\.$"  # a failure stops the script (pipefail)

# The portable kernels (what a CPU without AVX2/FMA/F16C runs): a second build without those
# instruction sets, and the numeric tests on it.
echo "[test] the portable build (QUORUM_PORTABLE=1) and its numeric tests"
QUORUM_PORTABLE=1 swift build --build-tests --scratch-path .build/portable 2>&1 \
  | grep -Ev "^\[[0-9]+/[0-9]+\] (Compiling|Emitting|Write|Linking)" || true
QUORUM_PORTABLE=1 swift test --scratch-path .build/portable \
  --filter "QuorumQuantTests|QuorumServingTests|QuorumModelTests|QuorumBenchTests" 2>&1 \
  | grep -Ev "^(◇|↳)|started\.$"
exit "${PIPESTATUS[0]}"
