"""Throughput of `vibecli.verify_math_many` against math-verify, same worker count, in one run;
and the per-call cost of `vibecli.verify_math` in process.

    python bench/verify_throughput.py [--pairs 10000] [--workers 2] [--calls 300]

The pairs: the 515 labelled cases of bench/cases/ plus a seeded sample of their metamorphic
variants (respellings keep the label, mutations are never equal; bench/metamorphic.py), so
no pair repeats and each has a truth label. Both graders see the same (gold, prediction)
strings, math-verify called as bench/verify_math.py calls it.
- vibe: `verify_math_many(pairs, workers=N, timeout=5)`; the pool starts inside the timing.
- math-verify: a `multiprocessing` pool of N processes (fork) mapping it over the pairs in
  chunks of 16; pool start inside the timing. Its own timeouts apply (5 s parse, 5 s verify).
Then per call, one pair at a time in order, over `--calls` pairs: `check_equal` in this process
(no time limit), `verify_math` (the warm worker pool: time-limited), math-verify in this process.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import statistics
import time
from collections.abc import Callable

from metamorphic import load_cases, variants
from verify_math import math_verify_equal

import vibecli
from vibecli.verify.compare import check_equal


def labelled_pairs(total: int, seed: int = 0) -> list[tuple[str, str, bool]]:
    cases = load_cases()
    pairs = [(str(c["gold"]), str(c["pred"]), bool(c["equal"])) for c in cases]
    seen = {(g, p) for g, p, _ in pairs}
    pool = [v for v in variants(cases) if (v.gold, v.pred) not in seen]
    random.Random(seed).shuffle(pool)
    for v in pool:
        if len(pairs) >= total or (v.gold, v.pred) in seen:
            continue
        seen.add((v.gold, v.pred))
        pairs.append((v.gold, v.pred, bool(cases[v.case]["equal"]) if v.kind == "spelling" else False))
    return pairs[:total]


def _math_verify(pair: tuple[str, str]) -> bool:
    return math_verify_equal(*pair)


def _score(calls: list[bool | None], truth: list[bool]) -> str:
    agree = sum(c is t for c, t in zip(calls, truth, strict=True))
    false_pos = sum(c is True and not t for c, t in zip(calls, truth, strict=True))
    undecided = sum(c is None for c in calls)
    return f"{agree / len(truth):6.1%} {false_pos:6d} {undecided:9d}"


def _per_call(label: str, check: Callable[[str, str], object], pairs: list[tuple[str, str, bool]]) -> float:
    times = []
    for gold, pred, _ in pairs:
        start = time.perf_counter()
        check(gold, pred)
        times.append(time.perf_counter() - start)
    print(f"{label:44} {statistics.median(times) * 1e3:9.2f} {statistics.mean(times) * 1e3:9.2f}")
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    labelled = labelled_pairs(args.pairs)
    pairs = [(g, p) for g, p, _ in labelled]
    truth = [t for _, _, t in labelled]
    check_equal("1", "1")  # both graders' libraries imported before any timing
    math_verify_equal("1", "1")
    vibecli.verify_math("1", "1")  # its one-worker pool forks now, before this process has seen any pair
    load_before = os.getloadavg()

    start = time.perf_counter()
    verdicts = vibecli.verify_math_many(pairs, workers=args.workers, timeout=5.0)
    vibe_s = time.perf_counter() - start
    vibe_calls = [v.equal for v in verdicts]

    start = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(args.workers) as mp_pool:
        mv_calls: list[bool | None] = list(mp_pool.imap(_math_verify, pairs, chunksize=16))
    mv_s = time.perf_counter() - start
    load_after = os.getloadavg()

    print(f"{len(pairs):,} labelled pairs ({sum(truth):,} equal), {args.workers} worker processes each")
    print(f"{'grader':36} {'seconds':>8} {'pairs/s':>8} {'agree':>6} {'false+':>6} {'undecided':>9}")
    print(f"{'vibecli.verify_math_many':36} {vibe_s:8.1f} {len(pairs) / vibe_s:8.0f} {_score(vibe_calls, truth)}")
    print(f"{'math-verify (multiprocessing.Pool)':36} {mv_s:8.1f} {len(pairs) / mv_s:8.0f} {_score(mv_calls, truth)}")
    print(f"throughput ratio vibe / math-verify: {mv_s / vibe_s:.2f}x")
    print(f"load average (1 min) before {load_before[0]:.2f}, after {load_after[0]:.2f} · {os.cpu_count()} CPUs")

    sample = labelled[: args.calls]
    print(f"\nper call, {len(sample)} pairs one at a time{'':6} {'median ms':>9} {'mean ms':>9}")
    # Each pair is new to each process here: verify_math's worker was forked before any was checked.
    pooled = _per_call("vibecli.verify_math (warm worker, limit)", vibecli.verify_math, sample)
    direct = _per_call("check_equal in process (no time limit)", check_equal, sample)
    _per_call("math-verify in process", math_verify_equal, sample)
    print(f"overhead of verify_math's worker round trip: {(pooled - direct) * 1e3:.2f} ms per call (median)")
    print(f"load average (1 min) at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
