#!/usr/bin/env bash
# Quorum's main job on the embedded stack: installs what is missing, builds quorum (release), and runs
# the demo pipeline (pipelines/arith-demo.yaml): the embedded PostgreSQL + Kafka broker, the committed
# seed model M0 (a NeuZip checkpoint), two worker processes sampling 8 answers per problem in W8A8, the
# sink, two SCPO rounds on fresh unlabeled problems (M0 → M1 → M2), and each model's greedy accuracy on
# 1 000 held-out problems with the gain over M0 and its standard error. Run it again and it continues
# from where PostgreSQL says it stopped (a finished pipeline just prints its summary).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash ops/setup.sh
echo "[demo] building quorum (release)"
swift build -c release --product quorum 2>&1 | grep -Ev "^\[[0-9]+/[0-9]+\] (Compiling|Emitting|Write|Linking)" || true
Q=.build/release/quorum
[ -x "$Q" ] || { echo "[demo] the build failed; run: swift build -c release --product quorum" >&2; exit 1; }

$Q run pipelines/arith-demo.yaml
$Q status --pipeline arith-demo
$Q rounds --pipeline arith-demo
echo "[demo] done. Inspect with: psql postgres://quorum@127.0.0.1:${QUORUM_POSTGRES_PORT:-54329}/quorum -c 'SELECT * FROM round_summary'"
echo "[demo] The stack is still up: '$Q stack down' stops it."
