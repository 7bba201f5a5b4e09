#!/usr/bin/env bash
# llama.cpp's side of issue #4's speed comparison, and a greedy-output check against Quorum.
#
# It runs an existing llama.cpp build; it never downloads or builds anything. Build llama.cpp
# (outside the repository) from the PyPI source distribution of llama-cpp-python, which vendors it:
#
#   mkdir -p /tmp/llamacpp && cd /tmp/llamacpp
#   pip download --no-deps --no-binary llama-cpp-python llama-cpp-python && tar xzf llama_cpp_python-*.tar.gz
#   cmake -S llama_cpp_python-*/vendor/llama.cpp -B build -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
#         -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF -DGGML_NATIVE=ON
#   nice -n 15 cmake --build build -j 2 --target llama-simple llama-bench llama-batched-bench llama-tokenize
#
# Usage:
#   ops/bench/llama_cpp.sh BUILD_DIR bench FILE.gguf...
#       Single-stream token generation (llama-bench -t 2 -p 0 -n 128) and batched decoding of 8
#       parallel sequences sharing a 32-token prompt (llama-batched-bench -t 2 -npp 32 -ntg 128
#       -npl 1,8 -pps), printing the machine's load average beside each run.
#   ops/bench/llama_cpp.sh BUILD_DIR check FILE.gguf PROBLEMS.jsonl OUTCOMES.jsonl
#       Greedy continuation (llama-simple) of each problem's prompt ("Question: …\nAnswer:\n", BOS
#       added by llama.cpp) and the answer after "####", compared with `quorum eval --problems
#       PROBLEMS.jsonl --k 0 --outcomes OUTCOMES.jsonl` (its "greedy" field).
#
# Environment: THREADS (default 2), GEN (tokens to generate, default 128), REPS (llama-bench
# repetitions, default 5).
set -euo pipefail

if [[ $# -lt 3 ]]; then
    sed -n '2,/^set -euo/p' "$0" | sed 's/^# \{0,1\}//' | sed '$d'
    exit 2
fi
build=$1
mode=$2
shift 2
bin=$build/bin
threads=${THREADS:-2}
gen=${GEN:-128}
reps=${REPS:-5}
case $mode in
bench) tools="llama-bench llama-batched-bench" ;;
*) tools="llama-simple" ;;
esac
for tool in $tools; do
    if [[ ! -x $bin/$tool ]]; then
        echo "error: $bin/$tool is missing; build it first (see the top of $0)" >&2
        exit 1
    fi
done

case $mode in
bench)
    for model in "$@"; do
        [[ -f $model ]] || { echo "error: $model does not exist" >&2; exit 1; }
        echo "## $model"
        echo "load before: $(cat /proc/loadavg)"
        echo "\$ llama-bench -m $model -t $threads -p 0 -n $gen -r $reps"
        "$bin/llama-bench" -m "$model" -t "$threads" -p 0 -n "$gen" -r "$reps" -o json 2>/dev/null | python3 -c '
import json, sys
for r in json.load(sys.stdin):
    s, mean, sd = r["samples_ts"], r["avg_ts"], r["stddev_ts"]
    runs = " ".join("%.1f" % x for x in s)
    print("tg%d t=%d %s: mean %.1f +- %.1f tokens/s, best %.1f, runs %s"
          % (r["n_gen"], r["n_threads"], r["model_type"], mean, sd, max(s), runs))'
        echo "load: $(cat /proc/loadavg)"
        echo "\$ llama-batched-bench -m $model -t $threads -tb $threads -c 2048 -b 2048 -ub 512 -npp 32 -ntg $gen -npl 1,8 -pps"
        log=$(mktemp)
        if ! "$bin/llama-batched-bench" -m "$model" -t "$threads" -tb "$threads" -c 2048 -b 2048 -ub 512 \
            -npp 32 -ntg "$gen" -npl 1,8 -pps >"$log" 2>&1; then
            echo "llama-batched-bench failed:" >&2
            tail -5 "$log" >&2
        fi
        grep '^|' "$log" || true
        rm -f "$log"
        echo "load after: $(cat /proc/loadavg)"
        echo
    done
    ;;
check)
    if [[ $# -ne 3 ]]; then
        echo "usage: $0 BUILD_DIR check FILE.gguf PROBLEMS.jsonl OUTCOMES.jsonl" >&2
        exit 2
    fi
    model=$1 problems=$2 outcomes=$3
    python3 - "$bin/llama-simple" "$model" "$problems" "$outcomes" <<'PY'
import json, re, subprocess, sys

simple, model, problems, outcomes = sys.argv[1:]
quorum = {}
for line in open(outcomes):
    if line.strip():
        o = json.loads(line)
        quorum[o["id"]] = o["greedy"]
same = total = 0
for line in open(problems):
    if not line.strip():
        continue
    p = json.loads(line)
    prompt = "Question: " + p["question"] + "\nAnswer:\n"
    out = subprocess.run([simple, "-m", model, "-n", "160", prompt], capture_output=True, text=True, check=True)
    text = out.stdout
    start = text.find("\nAnswer:\n")
    completion = text[start + len("\nAnswer:\n"):] if start >= 0 else text
    m = re.search(r"^####\s*(-?\d+)", completion, re.M)
    answer = m.group(1) if m else ""
    ok = answer == quorum.get(p["id"])
    same += ok
    total += 1
    print(f"{p['id']}: llama.cpp {answer!r:8} quorum {quorum.get(p['id'])!r:8} gold {p['answer']!r:6} {'same' if ok else 'DIFFERENT'}")
    if total == 1:
        print("  first completion: " + json.dumps(completion.strip()))
print(f"{same}/{total} greedy answers identical")
sys.exit(0 if same == total else 1)
PY
    ;;
*)
    echo "error: unknown mode $mode (bench or check)" >&2
    exit 2
    ;;
esac
