#!/usr/bin/env bash
# Issue #4's speed comparison, side by side: `quorum bench sample` and llama.cpp on GGUFs of the same
# weights, alternating ROUNDS times so both see the same machine load; prints one line per run and
# the medians at the end.
#
#   ops/bench/side_by_side.sh QUORUM_BIN LLAMA_BUILD_DIR MODEL_DIR GGUF_DIR [ROUNDS]
#
# Pairs: w8a8 <-> Q8_0, w4a16 <-> Q4_0, b1.58 and a4.8 <-> TQ2_0 (GGUF_DIR/bench-20m-{q8_0,q4_0,tq2_0}.gguf,
# made by `quorum export gguf`). Quorum: decode tokens/s single-stream and k = 8 samples of one
# 32-token prompt, 128 new tokens (the best of `--repeats 3`). llama.cpp: `llama-bench -t 2 -p 0 -n 128
# -r 3` (tg128 mean) and `llama-batched-bench -t 2 -npp 32 -ntg 128 -npl 8` (S_TG, 8 sequences sharing
# the prompt). Environment: FORMATS (default w8a8,w4a16,b1.58,a4.8), THREADS (default 2, both sides).
set -euo pipefail
if [[ $# -lt 4 ]]; then
    sed -n '2,/^set -euo/p' "$0" | sed 's/^# \{0,1\}//' | sed '$d'
    exit 2
fi
quorum=$1 llama=$2/bin model=$3 gguf=$4 rounds=${5:-3}
formats=${FORMATS:-w8a8,w4a16,b1.58,a4.8}
threads=${THREADS:-2}
out=$(mktemp -d)
for round in $(seq "$rounds"); do
    echo "round $round, $threads threads, load $(cut -d' ' -f1-3 /proc/loadavg)"
    "$quorum" bench sample --model "$model" --formats "$formats" --k 8 --prompt-tokens 32 --new-tokens 128 \
        --threads "$threads" --repeats 3 --json >"$out/quorum-$round.json"
    python3 - "$out/quorum-$round.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for r in d["results"]:
    print("  quorum %-6s single %7.1f  k8 %7.1f  (load %s)" % (r["format"], r["single_stream"]["decode_tokens_per_second"],
          r["k_samples"]["decode_tokens_per_second"], d["load_average_before"].split()[0]))
PY
    for q in q8_0 q4_0 tq2_0; do
        file=$gguf/bench-20m-$q.gguf
        single=$("$llama/llama-bench" -m "$file" -t "$threads" -p 0 -n 128 -r 3 -o json 2>/dev/null |
            python3 -c 'import json,sys; print("%.1f" % json.load(sys.stdin)[0]["avg_ts"])')
        batched=$("$llama/llama-batched-bench" -m "$file" -t "$threads" -tb "$threads" -c 2048 -b 2048 -ub 512 -npp 32 -ntg 128 \
            -npl 8 -pps 2>&1 | awk -F'|' '$4+0 == 8 {gsub(/ /, "", $9); print $9}' || true)
        [[ -n $batched ]] || batched=nan
        echo "  llama  $q single $single  8 seq $batched  (load $(cut -d' ' -f1 /proc/loadavg))"
        echo "$q $single $batched" >>"$out/llama.txt"
    done
done
python3 - "$out" "$rounds" <<'PY'
import json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
q = {}
for i in range(1, rounds + 1):
    for r in json.load(open("%s/quorum-%d.json" % (out, i)))["results"]:
        q.setdefault(r["format"], []).append((r["single_stream"]["decode_tokens_per_second"], r["k_samples"]["decode_tokens_per_second"]))
l = {}
for line in open(out + "/llama.txt"):
    name, s, b = line.split()
    l.setdefault(name, []).append((float(s), float(b)))
med = lambda xs: statistics.median(xs)
pairs = {"w8a8": "q8_0", "w4a16": "q4_0", "b1.58": "tq2_0", "a4.8": "tq2_0"}
print("\nmedians over %d rounds (decode tokens/s)" % rounds)
print("| format | quorum 1 seq | llama.cpp 1 seq | ratio (>= 1) | quorum k = 8 | llama.cpp 8 seq | ratio (>= 1.5) |")
print("|---|---|---|---|---|---|---|")
for f, runs in q.items():
    g = pairs.get(f)
    qs, qb = med([r[0] for r in runs]), med([r[1] for r in runs])
    if g in l:
        ls, lb = med([r[0] for r in l[g]]), med([r[1] for r in l[g]])
        print("| %s <-> %s | %.0f | %.0f | %.2f | %.0f | %.0f | %.2f |" % (f, g.upper(), qs, ls, qs / ls, qb, lb, qb / lb))
    else:
        print("| %s | %.0f | | | %.0f | | |" % (f, qs, qb))
PY
echo "raw results: $out"
