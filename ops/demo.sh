#!/usr/bin/env bash
# Quorum's main job on the embedded stack. For now (foundation stage): installs what is missing,
# builds quorum in release mode, starts PostgreSQL and the Kafka broker on loopback, applies the
# migrations, generates a batch of arithmetic problems, and pushes messages through the broker
# and rows into PostgreSQL as a smoke check. The stack keeps running; `quorum stack down` stops it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash ops/setup.sh
echo "[demo] building quorum (release)"
swift build -c release --product quorum 2>&1 | grep -Ev "^\[[0-9]+/[0-9]+\] (Compiling|Emitting|Write|Linking)" || true
Q=.build/release/quorum
[ -x "$Q" ] || { echo "[demo] the build failed; run: swift build -c release --product quorum" >&2; exit 1; }

$Q stack up
$Q migrate
mkdir -p .quorum/demo
$Q task generate --split train --count 200 --seed 1 --out .quorum/demo/train.jsonl
echo "[demo] first problem:"; head -n 1 .quorum/demo/train.jsonl
echo "[demo] Kafka round trip (5 000 messages of 1 KiB through a 4-partition topic):"
$Q bench kafka --messages 5000 --json
echo "[demo] PostgreSQL inserts (5 000 rows per method):"
$Q bench postgres --rows 5000 --json
$Q stack status
echo "[demo] done. The stack is still up: '$Q stack down' stops it."
