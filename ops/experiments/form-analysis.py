#!/usr/bin/env python3
"""How a seed model writes its computations, and how often each written form is right.

    form-analysis.py GREEDY.jsonl SAMPLES.jsonl [OUTCOMES.jsonl]

GREEDY.jsonl / SAMPLES.jsonl are `quorum task sample --gold` rows (greedy: `--k 1 --temperature 0`).
Every computation chain `a op b = … = v` of every response is classed by its written form (direct,
split, column, through-ten, repeated sum, quotient split) and checked (all its parts equal). Prints,
for greedy and for the samples, each form's share of the chains and its share of false chains, and
for the problems where only the majority (or only greedy) is right, where greedy's / the samples'
first false chain is. With OUTCOMES.jsonl (`quorum eval --outcomes`) the problem classes come from it.
"""
import collections, json, re, sys

CHAIN = re.compile(r"\d+(?: [-+*/] \d+)+(?: = \d+(?: [-+*/] \d+)*)+")


def value(expr):
    try:
        return eval(expr.replace("/", "//"))
    except Exception:
        return None


def form(parts):
    if len(parts) == 2:
        return "direct"
    first = parts[0].split(" ")
    op, mid = first[1], parts[1].split(" ")
    ops = mid[1::2]
    if "/" in ops:
        return "quotient"
    if op == "*":
        return "split" if "*" in ops else "repeated"
    if op == "+" and len(ops) == 3:
        return "column"
    if ops == [op, op]:
        return "split"
    if len(ops) == 2 and ops[0] == op and ops[1] != op:
        return "through-ten"
    return "other"


def chains(response):
    out = []
    for line in response.split("\n"):
        if line.startswith("####"):
            continue
        for m in CHAIN.finditer(line):
            parts = m.group(0).split(" = ")
            vals = [value(p) for p in parts]
            out.append((form(parts), all(v == vals[0] for v in vals), m.group(0)))
    return out


def load(path):
    by = collections.OrderedDict()
    for line in open(path):
        r = json.loads(line)
        by.setdefault(r["problem_id"], []).append(r)
    return by


def table(name, rows):
    forms, false = collections.Counter(), collections.Counter()
    for r in rows:
        for f, ok, _ in chains(r["response"]):
            forms[f] += 1
            false[f] += not ok
    total = sum(forms.values())
    print(f"{name}: {total} chains, {sum(false.values()) / max(1, total):.3f} false")
    for f, n in forms.most_common():
        print(f"  {f:12s} {n / total:6.3f} of chains, false {false[f] / n:.3f} ({false[f]}/{n})")


def main():
    greedy, samples = load(sys.argv[1]), load(sys.argv[2])
    table("greedy", [r for rs in greedy.values() for r in rs])
    table("samples", [r for rs in samples.values() for r in rs])
    if len(sys.argv) > 3:
        outs = {json.loads(l)["id"]: json.loads(l) for l in open(sys.argv[3])}
        for label, pick in (("majority-only", lambda o: o.get("greedy") != o["gold"] and o.get("majority") == o["gold"]),
                            ("greedy-only", lambda o: o.get("greedy") == o["gold"] and o.get("majority") != o["gold"])):
            ids = [i for i, o in outs.items() if pick(o)]
            gfirst, sfirst = collections.Counter(), collections.Counter()
            for i in ids:
                for r in greedy.get(i, []):
                    bad = [f for f, ok, _ in chains(r["response"]) if not ok]
                    gfirst[bad[0] if bad else ("none" if r["answer"] != r["gold"] else "right")] += 1
                for r in samples.get(i, []):
                    if r["answer"] != r["gold"]:
                        bad = [f for f, ok, _ in chains(r["response"]) if not ok]
                        sfirst[bad[0] if bad else "none"] += 1
            print(f"{label} problems {len(ids)}: greedy's first false chain {dict(gfirst)}; "
                  f"wrong samples' first false chain {dict(sfirst)}")


main()
