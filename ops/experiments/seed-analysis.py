#!/usr/bin/env python3
"""Where a seed model's samples go wrong: the correct-of-k histogram and error classes.

    seed-analysis.py SAMPLES.jsonl [OUTCOMES.jsonl [PROBLEMS.jsonl]]

SAMPLES.jsonl is `quorum task sample --gold` output (k rows per problem); OUTCOMES.jsonl (optional)
is `quorum eval --outcomes` output for the same problems, which adds greedy and majority accuracy;
PROBLEMS.jsonl (optional, `quorum task generate` with the same knobs) splits them by reasoning steps.
Error classes of a wrong sample: `false =` (an equality in it is arithmetically false), `foreign
number` (a true chain whose first line uses a number neither in the question nor computed before),
`other` (every equality true, numbers from the question: a wrong operation or operand).
"""
import collections, json, math, re, sys

EXPR = re.compile(r"(\d+(?:\s*[-+*/]\s*\d+)+)((?:\s*=\s*\d+(?:\s*[-+*/]\s*\d+)*)+)")


def check_line(line):
    """(all equalities true, numbers used as first operands) for one solution line."""
    ok, used = True, []
    for m in EXPR.finditer(line):
        parts = [m.group(1)] + [p.strip() for p in m.group(2).split("=") if p.strip()]
        vals = []
        for p in parts:
            try:
                vals.append(eval(p.replace("/", "//")))
            except Exception:
                vals.append(None)
        if any(v != vals[0] for v in vals):
            ok = False
        used += [int(x) for x in re.findall(r"\d+", m.group(1))]
    return ok, used


def classify(question, response):
    qnums = set(int(x) for x in re.findall(r"\d+", question))
    known = set(qnums)
    lines = [l for l in response.split("\n") if l and not l.startswith("####")]
    for i, line in enumerate(lines):
        ok, used = check_line(line)
        if not ok:
            return "false ="
        if any(u not in known for u in used):
            return "foreign number"
        for m in re.finditer(r"=\s*(\d+)", line):
            known.add(int(m.group(1)))
    return "other"


def main():
    rows = [json.loads(l) for l in open(sys.argv[1])]
    by = collections.OrderedDict()
    for r in rows:
        by.setdefault(r["problem_id"], []).append(r)
    hist = collections.Counter()
    classes = collections.Counter()
    first_split = []
    distinct_wrong = []
    sample_correct = 0
    maj_correct = 0
    for pid, rs in by.items():
        gold = rs[0]["gold"]
        answers = [r["answer"] for r in rs]
        c = sum(a == gold for a in answers)
        hist[c] += 1
        sample_correct += c
        votes = collections.Counter(a for a in answers if a is not None)
        if votes:
            top = votes.most_common()
            if top[0][0] == gold and (len(top) == 1 or top[1][1] < top[0][1]):
                maj_correct += 1
        wrong = [a for a in answers if a != gold]
        if wrong:
            distinct_wrong.append(len(set(wrong)) / len(wrong))
        firsts = collections.Counter(r["response"].split("\n")[0] for r in rs)
        first_split.append(firsts.most_common(1)[0][1] / len(rs))
        question = rs[0]["prompt"]
        for r in rs:
            if r["answer"] != gold:
                classes[classify(question, r["response"])] += 1
    n = len(by)
    k = len(rows) // n
    print(f"problems {n}, k {k}, per-sample accuracy {sample_correct / (n * k):.3f}, "
          f"strict majority (samples file) {maj_correct / n:.3f}")
    print("correct-of-k histogram:", " ".join(f"{i}:{hist[i]}" for i in range(k + 1)))
    mid = sum(hist[i] for i in range(1, k)) / n
    print(f"problems with 1..{k-1} correct: {mid:.3f}")
    tot = sum(classes.values())
    print("wrong-sample classes:", ", ".join(f"{c} {v} ({v / tot:.0%})" for c, v in classes.most_common()))
    print(f"mean share of the most common first line: {sum(first_split) / n:.3f}; "
          f"distinct wrong answers per wrong sample: {sum(distinct_wrong) / max(1, len(distinct_wrong)):.3f}")
    if len(sys.argv) > 2:
        outs = [json.loads(l) for l in open(sys.argv[2])]
        g = sum(o.get("greedy") == o["gold"] for o in outs) / len(outs)
        m = sum(o.get("majority") == o["gold"] for o in outs) / len(outs)
        se = math.sqrt(max(1e-9, sum(((o.get("majority") == o["gold"]) - (o.get("greedy") == o["gold"]) - (m - g)) ** 2
                                      for o in outs) / (len(outs) - 1)) / len(outs))
        print(f"eval: greedy {g:.3f}, majority {m:.3f}, margin {m - g:+.3f} (paired s.e. {se:.3f}), n {len(outs)}")
        # Greedy wrong but majority right, and vice versa.
        gw = sum(o.get("greedy") != o["gold"] and o.get("majority") == o["gold"] for o in outs)
        mw = sum(o.get("greedy") == o["gold"] and o.get("majority") != o["gold"] for o in outs)
        print(f"majority-only right {gw}, greedy-only right {mw}")
        if len(sys.argv) > 3:
            steps = {}
            for line in open(sys.argv[3]):
                p = json.loads(line)
                steps[p["id"]] = p["solution"].count("\n")
            per = collections.defaultdict(lambda: [0, 0, 0, 0.0])
            for o in outs:
                t = per[steps.get(o["id"], "?")]
                t[0] += 1
                t[1] += o.get("greedy") == o["gold"]
                t[2] += o.get("majority") == o["gold"]
                t[3] += sum(a == o["gold"] for a in o["samples"]) / len(o["samples"])
            for s_, (n_, g_, m_, p_) in sorted(per.items(), key=lambda kv: str(kv[0])):
                print(f"  {s_} steps: {n_} problems, greedy {g_ / n_:.3f}, majority {m_ / n_:.3f}, "
                      f"per-sample {p_ / n_:.3f}")


main()
