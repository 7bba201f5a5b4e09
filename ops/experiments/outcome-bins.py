#!/usr/bin/env python3
"""Greedy vs majority-of-k from `quorum eval --outcomes`, with the paired standard error of the
margin and a table by how many of the k samples were right.

    outcome-bins.py OUTCOMES.jsonl [PROBLEMS.jsonl]

With PROBLEMS.jsonl (`quorum task generate` with the model's knobs, joined by id) the margin is
also split by the largest number in the problem's solution (below 100 or not).
"""
import collections, json, math, re, sys


def summary(rows):
    """(count, greedy %, majority %, per-sample %, margin, paired s.e. of the margin)."""
    n = len(rows)
    if n == 0:
        return 0, 0, 0, 0, 0, 0
    greedy = [r.get("greedy") == r["gold"] for r in rows]
    major = [r.get("majority") == r["gold"] for r in rows]
    diffs = [int(m) - int(g) for g, m in zip(greedy, major)]
    mean = sum(diffs) / n
    var = sum((d - mean) ** 2 for d in diffs) / max(1, n - 1)
    samples = sum(s == r["gold"] for r in rows for s in r["samples"])
    k = max(1, len(rows[0]["samples"]))
    return n, 100 * sum(greedy) / n, 100 * sum(major) / n, 100 * samples / (n * k), 100 * mean, 100 * math.sqrt(var / n)


def line(name, rows):
    n, g, m, s, d, se = summary(rows)
    return f"{name:<22} {n:>5}  greedy {g:5.1f}  maj {m:5.1f}  per-sample {s:5.1f}  margin {d:+5.1f} (s.e. {se:.1f})"


def main():
    rows = [json.loads(l) for l in open(sys.argv[1])]
    print(line("all", rows))
    bins = collections.defaultdict(list)
    for r in rows:
        bins[sum(s == r["gold"] for s in r["samples"])].append(r)
    k = len(rows[0]["samples"]) if rows else 0
    print(f"\ncorrect of {k}  problems  greedy  majority")
    for c in sorted(bins):
        b = bins[c]
        print(f"{c:>12}  {len(b):>8}  {100 * sum(r.get('greedy') == r['gold'] for r in b) / len(b):5.0f} %"
              f"  {100 * sum(r.get('majority') == r['gold'] for r in b) / len(b):6.0f} %")
    if len(sys.argv) > 2:
        problems = {}
        for l in open(sys.argv[2]):
            p = json.loads(l)
            problems[p["id"]] = p
        small, large = [], []
        for r in rows:
            p = problems.get(r["id"])
            if p is None:
                continue
            largest = max(int(x) for x in re.findall(r"\d+", p["solution"]))
            (small if largest < 100 else large).append(r)
        print()
        print(line("numbers < 100", small))
        print(line("some number >= 100", large))


if __name__ == "__main__":
    main()
