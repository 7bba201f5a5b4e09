#!/usr/bin/env bash
# One SCPO round run by hand on the seed model (issue #6), with the IRPO-gold and unweighted-SCPO
# baselines on the same problems.
#
#   ops/experiments/scpo-round.sh [M0_DIR] [WORK_DIR]
#
# 1. M0 on N_TEST test problems: greedy and majority-of-8 (T 0.7, top-p 0.9).
# 2. k = 8 samples from M0 on N_TRAIN train-split problems drawn with DATA_SEED (default 2: not the
#    problems M0 was trained on, which used data seed 1). The gold answers are written to a side file
#    for the analysis only; the rows `quorum vote` reads are unlabeled.
# 3. `quorum vote --tau 0.5` builds the weighted self-consistency pairs (and, with --mode unweighted,
#    the w = 1 pairs; with the gold answers and --mode semi, IRPO's gold pairs).
# 4. `quorum train scpo` trains M1 (defaults beta 0.5, alpha 1; best epoch on the dev split).
# 5. M1 on the same test problems.
#
# Environment: QUORUM (binary, default .build/release/quorum), N_TRAIN (300), N_TEST (300),
# DATA_SEED (2), MAX_NEW_TOKENS (256), LR (1e-4, as pipelines/arithmetic.yaml: the CLI default 1e-5 is
# the paper's scale for 8B models and barely moves a 4 M one), EPOCHS (train scpo's default 10 when unset),
# BASELINES (1: also irpo-gold and scpo-unweighted; 0: SCPO only).
# Prints a summary; every JSON output stays in WORK_DIR. A stage whose output is already in WORK_DIR is
# skipped, so BASELINES=1 after a BASELINES=0 run only adds the baselines (remove WORK_DIR to start over).
set -euo pipefail

QUORUM=${QUORUM:-.build/release/quorum}
M0=${1:-/work/helpers/models/seed-m0}
W=${2:-/tmp/scpo-round}
N_TRAIN=${N_TRAIN:-300}
N_TEST=${N_TEST:-300}
DATA_SEED=${DATA_SEED:-2}
TOKENS=${MAX_NEW_TOKENS:-256}
BASELINES=${BASELINES:-1}
TRAIN_FLAGS=(--max-new-tokens "$TOKENS" --force)
[[ -n "${EPOCHS:-}" ]] && TRAIN_FLAGS+=(--epochs "$EPOCHS")
TRAIN_FLAGS+=(--lr "${LR:-1e-4}")

mkdir -p "$W"
load() { cut -d' ' -f1-3 /proc/loadavg; }
log() { echo "[$(date -u +%H:%M:%S) load $(load)] $*" >&2; }
evaluate() { # model name
    [[ -s "$W/$2.eval.json" ]] && return
    log "eval $2 on $N_TEST test problems"
    "$QUORUM" eval --model "$1" --split test --count "$N_TEST" --k 8 --max-new-tokens "$TOKENS" \
        --outcomes "$W/$2.outcomes.jsonl" --json >"$W/$2.eval.json"
}

evaluate "$M0" m0

if [[ ! -s "$W/samples.jsonl" ]]; then
log "sampling k = 8 on $N_TRAIN train problems (data seed $DATA_SEED)"
"$QUORUM" task sample --model "$M0" --split train --count "$N_TRAIN" --data-seed "$DATA_SEED" --k 8 \
    --max-new-tokens "$TOKENS" --gold --out "$W/samples-labeled.jsonl" --json >"$W/sample.json"
# The unlabeled rows SCPO votes on: the same rows without "gold".
python3 - "$W" <<'PY'
import json, sys
w = sys.argv[1]
with open(f"{w}/samples-labeled.jsonl") as src, open(f"{w}/samples.jsonl", "w") as dst, \
        open(f"{w}/gold.json", "w") as gold_out:
    gold = {}
    for line in src:
        row = json.loads(line)
        gold[row["problem_id"]] = row.pop("gold")
        dst.write(json.dumps(row) + "\n")
    json.dump(gold, gold_out)
PY
fi

log "voting"
"$QUORUM" vote --samples "$W/samples.jsonl" --tau 0.5 --out "$W/pairs-scpo.jsonl" --json >"$W/vote-scpo.json"

train() { # mode pairs out
    [[ -s "$3/model.safetensors" ]] && return
    log "train scpo --mode $1"
    local start=$SECONDS
    "$QUORUM" train scpo --model "$M0" --pairs "$2" --out "$3" --mode "$1" "${TRAIN_FLAGS[@]}" --quiet --json \
        >"$3.record.json"
    echo $((SECONDS - start)) >"$3.seconds"
}
train scpo "$W/pairs-scpo.jsonl" "$W/m1-scpo"
evaluate "$W/m1-scpo" m1-scpo

if [[ "$BASELINES" == 1 ]]; then
    "$QUORUM" vote --samples "$W/samples.jsonl" --tau 0.5 --mode unweighted --out "$W/pairs-unweighted.jsonl" \
        --json >"$W/vote-unweighted.json"
    train scpo-unweighted "$W/pairs-unweighted.jsonl" "$W/m1-unweighted"
    evaluate "$W/m1-unweighted" m1-unweighted
    "$QUORUM" vote --samples "$W/samples-labeled.jsonl" --mode semi --out "$W/pairs-gold.jsonl" \
        --json >"$W/vote-gold.json"
    train irpo-gold "$W/pairs-gold.jsonl" "$W/m1-irpo-gold"
    evaluate "$W/m1-irpo-gold" m1-irpo-gold
fi

python3 - "$W" "$BASELINES" <<'PY'
import json, os, sys
w, baselines = sys.argv[1], sys.argv[2] == "1"
gold = json.load(open(f"{w}/gold.json"))
sample = json.load(open(f"{w}/sample.json"))
print(f"samples: {sample['problems']} train problems x {sample['k']}, sample accuracy "
      f"{100 * sample['sample_accuracy']:.1f} %, {sample['seconds']:.0f} s")
def pairs(name):
    rows = [json.loads(l) for l in open(f"{w}/pairs-{name}.jsonl") if l.strip()]
    if not rows:
        return f"{name}: 0 pairs"
    right = sum(r["chosen_answer"] == gold[r["problem_id"]] for r in rows)
    mean_w = sum(r["weight"] for r in rows) / len(rows)
    return (f"{name}: {len(rows)} pairs kept of {len(gold)} problems, mean weight {mean_w:.3f}, "
            f"chosen answer correct {100 * right / len(rows):.1f} %")
def result(name):
    r = json.load(open(f"{w}/{name}.eval.json"))
    res = r["result"]
    return (f"{name}: greedy {100 * res['greedy_accuracy']:.1f} %, maj@8 {100 * res['majority_accuracy']:.1f} % "
            f"on {res['count']} test problems (load {r.get('load_average_start')}-{r.get('load_average_end')})")
def seconds(name):
    path = f"{w}/{name}.seconds"
    return f"train {open(path).read().strip()} s" if os.path.exists(path) else ""
print(pairs("scpo"))
print(result("m0"))
print(result("m1-scpo"), seconds("m1-scpo"))
if baselines:
    print(pairs("unweighted")); print(result("m1-unweighted"), seconds("m1-unweighted"))
    print(pairs("gold")); print(result("m1-irpo-gold"), seconds("m1-irpo-gold"))
PY
