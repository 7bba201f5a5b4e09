#!/usr/bin/env bash
# The fault matrix: runs one small pipeline undisturbed, then once per fault with that fault injected in
# the middle of a round, on an embedded stack of its own (a scratch QUORUM_HOME, its own ports). After
# each fault the pipeline must finish by itself (or after `quorum run` is started again, for the faults
# that kill it) with exactly the pairs, checkpoints and evaluations of the undisturbed run: the pipeline
# is deterministic, so "nothing lost, nothing duplicated" is checked byte for byte.
#
#   ops/chaos.sh [--repeat N] [--faults worker,sink,...] [--out FILE.md]
#
# Faults: worker sink run manager broker postgres poison checkpoint (default: all). Needs a built
# quorum (QUORUM_BIN, default .build/debug/quorum) and ops/setup.sh's broker and Python packages;
# CHAOS_KEEP=1 keeps the scratch folder (logs, database files) for a look afterwards.
# Prints a table (fault, what was checked, result per repetition) and writes it to --out if given.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
Q="${QUORUM_BIN:-$ROOT/.build/debug/quorum}"
REPEAT=1
FAULTS="worker sink run manager broker postgres poison checkpoint"
OUT=""
while [ $# -gt 0 ]; do
    case "$1" in
        --repeat) REPEAT="$2"; shift 2 ;;
        --faults) FAULTS="${2//,/ }"; shift 2 ;;
        --out) OUT="$2"; shift 2 ;;
        *) echo "usage: ops/chaos.sh [--repeat N] [--faults a,b,...] [--out FILE.md]" >&2; exit 2 ;;
    esac
done
[ -x "$Q" ] || { echo "[chaos] no quorum binary at $Q: run swift build (or set QUORUM_BIN)" >&2; exit 2; }
PYTHON="$ROOT/.quorum/venv/bin/python"
[ -x "$PYTHON" ] || { echo "[chaos] no $PYTHON: run ops/setup.sh first" >&2; exit 2; }

# A stack of its own, so a running demo or experiment is never touched.
export QUORUM_HOME; QUORUM_HOME="$(mktemp -d /tmp/quorum-chaos.XXXXXX)"
chmod 755 "$QUORUM_HOME"; mkdir -p "$QUORUM_HOME/bin"
ln -s "$ROOT/.quorum/bin/tansu" "$QUORUM_HOME/bin/tansu"
export QUORUM_POSTGRES_PORT="${CHAOS_POSTGRES_PORT:-54369}" QUORUM_KAFKA_PORT="${CHAOS_KAFKA_PORT:-19099}"
PG="postgres://quorum@127.0.0.1:$QUORUM_POSTGRES_PORT/quorum"
BROKERS="127.0.0.1:$QUORUM_KAFKA_PORT"
WORK="$QUORUM_HOME/work"
mkdir -p "$WORK"
cleanup() {
    pkill -9 -f -- "--pipeline chaos-" 2>/dev/null || true
    pkill -9 -f -- "$WORK/chaos-" 2>/dev/null || true
    "$Q" stack down >/dev/null 2>&1 || true
    if [ -n "${CHAOS_KEEP:-}" ]; then echo "[chaos] kept $QUORUM_HOME" >&2; else rm -rf "$QUORUM_HOME"; fi
}
trap cleanup EXIT
log() { echo "[chaos $(date +%H:%M:%S)] $*" >&2; }
sql() { psql "$PG" -Atqc "$1"; }

"$Q" stack up >/dev/null
"$Q" migrate >/dev/null

# The pipeline: a 1-layer model that disagrees with itself often enough to form pairs; two rounds.
spec() {
    cat <<EOF
name: $1
model: { path: $ROOT/Tests/QuorumIntegrationTests/Fixtures/tiny-arith }
problems: [ { synthetic: { seed: 3, count: 32, min_steps: 1, max_steps: 1, max_number: 10 } } ]
sampling: { k: 4, temperature: 1.0, max_new_tokens: 40 }
tau: [0.5]
rounds: 2
trainer: { epochs: 1, lr: 1.0e-3, batch: 8, dev_count: 0 }
evaluation: { split: test, count: 24, k: 2 }
workers: 2
partitions: 2
EOF
}

# What must not change: each round's pairs (prompt, answers, weight), its vote records, the checkpoints'
# digests and the evaluations. Prints one digest line per item.
fingerprint() {
    local name="$1"
    sql "SELECT round, problem_id, prompt, chosen, rejected, chosen_votes, rejected_votes, round(weight::numeric, 9)
         FROM pairs WHERE pipeline = '$name' ORDER BY 1, 2" | sha256sum | sed 's/ .*/ pairs/'
    sql "SELECT round, problem_id, k, answers::text, unparsable, outcome FROM vote_records
         WHERE pipeline = '$name' ORDER BY 1, 2" | sha256sum | sed 's/ .*/ votes/'
    weights "$name" | sha256sum | sed 's/ .*/ weights/'
    sql "SELECT round, split, problems, greedy_accuracy, majority_accuracy, pair_precision, md5(outcomes)
         FROM evaluations WHERE pipeline = '$name' ORDER BY 1, 2" | sha256sum | sed 's/ .*/ evaluations/'
}

# Each checkpoint's weights (the artifact's own digest also covers the training record's timings).
weights() {
    local round file="$WORK/weights.nzck"
    for round in $(sql "SELECT round FROM checkpoints WHERE pipeline = '$1' ORDER BY 1"); do
        sql "SELECT string_agg(encode(c.data, 'hex'), '' ORDER BY c.index) FROM checkpoints k
             JOIN artifact_chunks c ON c.sha256 = k.artifact WHERE k.pipeline = '$1' AND k.round = $round" \
            | "$PYTHON" -c 'import sys; sys.stdout.buffer.write(bytes.fromhex(sys.stdin.read().strip()))' > "$file"
        "$Q" ckpt decompress --in "$file" --out "$WORK/weights.safetensors" >/dev/null 2>&1 || echo "M$round unreadable"
        echo "M$round $(sha256sum < "$WORK/weights.safetensors")"
        rm -f "$file" "$WORK/weights.safetensors"
    done
}

# Counts that say the run is whole: rounds done, one vote record per problem, pairs.
summary() {
    sql "SELECT (SELECT count(*) FROM rounds WHERE pipeline = '$1' AND state = 'done') || ' rounds done, '
             || (SELECT count(*) FROM vote_records WHERE pipeline = '$1') || ' vote records, '
             || (SELECT count(*) FROM pairs WHERE pipeline = '$1') || ' pairs, '
             || (SELECT count(*) FROM evaluations WHERE pipeline = '$1') || ' evaluations'"
}

RUN_PID=""
start_run() {  # name, log file
    spec "$1" > "$WORK/$1.yaml"
    "$Q" run "$WORK/$1.yaml" --work-directory "$WORK/$1" >> "$2" 2>&1 &
    RUN_PID=$!
}
wait_for() {  # seconds, condition (a shell snippet)
    local deadline=$((SECONDS + $1))
    while [ $SECONDS -lt $deadline ]; do
        if eval "$2" >/dev/null 2>&1; then return 0; fi
        sleep 0.5
    done
    return 1
}
votes_in() { sql "SELECT count(*) FROM vote_records WHERE pipeline = '$1' AND round = $2" 2>/dev/null || echo 0; }
mid_round() {  # name, round: some votes stored, not all
    local n; n=$(votes_in "$1" "$2")
    [ "$n" -ge 2 ] && [ "$n" -lt 32 ]
}
finish() {  # waits (at most 5 minutes) for the run to end by itself; returns its status
    local status=0
    if ! wait_for 300 "! kill -0 $RUN_PID"; then
        echo "[chaos] the run did not finish within 5 minutes: stopped it" >&2
        kill -9 "$RUN_PID"; pkill -9 -f -- "--pipeline chaos-" || true
    fi
    wait "$RUN_PID" || status=$?
    RUN_PID=""
    return $status
}

# Produces raw messages with the broker's own client library (bad input nobody's code made); prints
# how many the broker accepted (it may refuse the oversized one).
inject() {  # topic
    "$PYTHON" - "$BROKERS" "$1" <<'EOF'
import sys
from confluent_kafka import Producer
brokers, topic = sys.argv[1], sys.argv[2]
p = Producer({"bootstrap.servers": brokers, "message.max.bytes": 4_000_000})
bad = [
    b"{not json",                                            # malformed
    b'{"pipeline": 7, "round": "one"}',                      # wrong schema
    b'{"schema": 1, "k": 3000000000, "round": 1}',           # out of range
    b"\x00\xff" * 600_000,                                   # oversized binary (1.2 MB)
    b"",                                                     # empty
]
delivered = []
for value in bad:
    try:
        p.produce(topic, key=b"chaos", value=value, on_delivery=lambda err, msg: delivered.append(err is None))
    except Exception as error:
        print(f"not sent: {error}", file=sys.stderr)
p.flush(30)
print(sum(delivered))
EOF
}

inflict() {  # fault, name, log; says what it did on stdout
    local fault="$1" name="$2" out="$3" pid
    case "$fault" in
        worker)
            wait_for 300 "mid_round $name 1" || return 1
            pid=$(pgrep -f "worker --name worker-0 .*--pipeline $name" | head -1)
            kill -9 "$pid"; echo "killed worker-0 (pid $pid) in round 1" ;;
        sink)
            wait_for 300 "mid_round $name 1" || return 1
            pid=$(pgrep -f "sink --pipeline $name" | head -1)
            kill -9 "$pid"; echo "killed the sink (pid $pid) in round 1" ;;
        run)
            wait_for 300 "mid_round $name 2" || return 1
            kill -9 "$RUN_PID"; wait "$RUN_PID" 2>/dev/null || true
            wait_for 30 "! pgrep -f 'pipeline $name'" || return 1
            start_run "$name" "$out"; echo "killed quorum run in round 2, started it again" ;;
        broker)
            wait_for 300 "mid_round $name 1" || return 1
            pid=$(cat "$QUORUM_HOME/stack/kafka.pid")
            kill -9 "$pid"; sleep 2; "$Q" stack up >/dev/null
            echo "killed the broker (pid $pid) in round 1 and started it again (its topics are gone)" ;;
        postgres)
            wait_for 300 "mid_round $name 1" || return 1
            pid=$(head -1 "$QUORUM_HOME/stack/postgres/postmaster.pid")
            kill -9 "$pid"; sleep 2; "$Q" stack up >/dev/null
            echo "killed PostgreSQL (pid $pid) in round 1 and started it again" ;;
        poison)
            wait_for 300 "mid_round $name 1" || return 1
            local tasks votes
            tasks=$(inject "quorum.$name.tasks"); votes=$(inject "quorum.$name.votes")
            echo $((tasks + votes)) > "$WORK/$name.expected-dead"
            echo "injected malformed, wrong-schema, out-of-range, oversized and empty messages: $tasks reached the tasks topic, $votes the votes topic" ;;
        checkpoint)
            wait_for 300 "mid_round $name 2" || return 1
            sql "UPDATE artifact_chunks SET data = overlay(data placing '\\xdeadbeef'::bytea from 100)
                 WHERE sha256 = (SELECT artifact FROM checkpoints WHERE pipeline = '$name' AND round = 1) AND index = 0"
            for pid in $(pgrep -f "worker --name .*--pipeline $name"); do kill -9 "$pid"; done
            echo "corrupted M1's stored checkpoint in round 2 and killed the workers (they load it again)" ;;
        *) echo "unknown fault $fault"; return 1 ;;
    esac
}

# The manager fault runs the processes apart, as on several machines: manager, 2 workers, a sink. The
# manager is killed once round 1's tasks are out, and started again while the workers sample.
run_split() {  # name, log
    local name="$1" out="$2" manager members=()
    spec "$name" > "$WORK/$name.yaml"
    "$Q" manager "$WORK/$name.yaml" --work-directory "$WORK/$name" >> "$out" 2>&1 & manager=$!
    wait_for 300 "sql \"SELECT 1 FROM rounds WHERE pipeline = '$name' AND number = 1 AND state = 'sampling'\" | grep -q 1" \
        || return 1
    kill -9 "$manager"; wait "$manager" 2>/dev/null || true
    for i in 0 1; do "$Q" worker --pipeline "$name" --name "worker-$i" >> "$out" 2>&1 & members+=($!); done
    "$Q" sink --pipeline "$name" >> "$out" 2>&1 & members+=($!)
    echo "killed the manager in round 1, started workers and the sink, then the manager again"
    local status=0
    "$Q" manager "$WORK/$name.yaml" --work-directory "$WORK/$name" >> "$out" 2>&1 || status=$?
    kill "${members[@]}" 2>/dev/null || true; wait "${members[@]}" 2>/dev/null || true
    return $status
}

log "stack on ports $QUORUM_POSTGRES_PORT/$QUORUM_KAFKA_PORT in $QUORUM_HOME; quorum: $Q"
started=$SECONDS
start_run chaos-reference "$WORK/reference.log"
finish || { log "the undisturbed run failed:"; tail -20 "$WORK/reference.log" >&2; exit 1; }
reference=$(fingerprint chaos-reference)
echo "$reference" | sed "s/^/[chaos] reference /" >&2
log "undisturbed run: $(summary chaos-reference) in $((SECONDS - started)) s"

declare -A checked=(
    [worker]="round finishes; a restarted worker takes over"
    [sink]="round finishes; the restarted sink stores each record once"
    [run]="quorum run started again continues round 2"
    [manager]="the restarted manager continues round 1"
    [broker]="every process rides out the restart; topics are created again"
    [postgres]="every process rides out the restart"
    [poison]="bad messages go to dead_letters; nothing else changes"
    [checkpoint]="the corrupt checkpoint is noticed and replaced"
)
table="| fault | injected | checked | $(for r in $(seq 1 "$REPEAT"); do printf 'run %s | ' "$r"; done)"$'\n'
table+="|---|---|---|$(for r in $(seq 1 "$REPEAT"); do printf -- '---|'; done)"$'\n'
failures=0
for fault in $FAULTS; do
    row=""; what=""
    for r in $(seq 1 "$REPEAT"); do
        name="chaos-$fault-$r"; out="$WORK/$name.log"; started=$SECONDS
        log "$name: starting"
        if [ "$fault" = manager ]; then
            run_split "$name" "$out" > "$WORK/$name.what" && status=0 || status=$?
            what=$(cat "$WORK/$name.what")
        else
            start_run "$name" "$out"
            inflict "$fault" "$name" "$out" > "$WORK/$name.what" && injected=0 || injected=$?
            what=$(cat "$WORK/$name.what")
            if [ $injected -ne 0 ]; then
                kill -9 "$RUN_PID" 2>/dev/null || true
                status=1; what="could not inject: $what"
            else
                finish && status=0 || status=$?
            fi
        fi
        seconds=$((SECONDS - started))
        if [ $status -ne 0 ]; then
            result="FAIL (exit $status, ${seconds} s)"
        elif differing=$(diff <(echo "$reference") <(fingerprint "$name") | sed -n 's/^> [0-9a-f]* //p' | xargs); [ -n "$differing" ]; then
            result="FAIL ($differing differ; $(summary "$name"))"
        else
            dead=$(sql "SELECT count(*) FROM dead_letters WHERE topic LIKE 'quorum.$name.%'")
            expected=$(cat "$WORK/$name.expected-dead" 2>/dev/null || echo 0)
            if [ "$dead" -ne "$expected" ]; then
                result="FAIL ($dead dead letters, expected $expected)"
            else
                result="pass (${seconds} s, $dead dead letters)"
            fi
        fi
        case "$result" in FAIL*) failures=$((failures + 1)); log "$name: $result; log: $out"; tail -15 "$out" >&2 ;; esac
        log "$name: $what → $result"
        row+="$result | "
    done
    table+="| $fault | $what | ${checked[$fault]} | $row"$'\n'
done
echo
echo "$table"
[ -n "$OUT" ] && printf '%s' "$table" > "$OUT"
[ $failures -eq 0 ] || { log "$failures failed; logs were in $WORK (deleted on exit; CHAOS_KEEP=1 keeps them)"; exit 1; }
