"""vibe's math checker against math-verify, side by side, on cases labelled by mathematical truth.

    python bench/verify_math.py [--workers 2] [--show-misses]
    python bench/verify_math.py --metamorphic [--workers 2] [--sample N]

Two case files (bench/cases/README.md): math-verify's own 149 default-configuration test
cases, and vibe's truth cases. Both graders see the same (gold, prediction) strings. For each:
agreement with the truth label, false positives (a wrong answer called right: the worst
failure), false negatives, undecided (vibe only), and time. math-verify runs in-process the
way its tests call it (LaTeX and expression extraction, 6-digit rounding, strict). vibe runs
in-process (`check_equal`) and through `--cases`' path: a worker pool with hard time limits,
pool start included. Timing ratios are vibe / math-verify on the same machine in one run.
Last, the time limit: `vibe verify math` on a hostile answer, as a new process, wall time.

`--metamorphic` runs instead every variant bench/metamorphic.py generates from the truth cases
(respellings that must keep vibe's verdict, changes of value that must never be `equal`)
through the worker pool, and reports the count, the time, false positives and verdict flips.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify
from metamorphic import Variant, load_cases, variants

from vibecli.verify.compare import check_equal
from vibecli.verify.math import check_many, math_pool
from vibecli.verify.parse import parse_answer

CASES = Path(__file__).parent / "cases"
SUITES = {
    "math-verify's tests (149)": CASES / "math_verify_suite.jsonl",
    "vibe's truth cases": CASES / "math_truth.jsonl",
    "other graders' tests (NeMo-Skills, Qwen2.5-Math, AReaL)": CASES / "peer_graders.jsonl",
}


def math_verify_equal(gold: str, pred: str) -> bool:
    """math-verify as its own tests call it (tests/test_all.py::compare_strings, defaults). A bare
    answer is given in `\\boxed{}`, which its LaTeX extraction needs; its own cases carry `$…$`, and a
    sentence ("The answer is 4") is left to its own extraction."""
    targets = [LatexExtractionConfig(boxed_match_priority=0), ExprExtractionConfig()]
    gold, pred = (text if _has_delimiters(text) else f"\\boxed{{{text}}}" for text in (gold, pred))
    try:
        return bool(verify(parse(gold, targets), parse(pred, targets), float_rounding=6, strict=True))
    except Exception:  # counted as "not equal", as math-verify itself does by default
        return False


def _has_delimiters(text: str) -> bool:
    """Math delimiters, or a sentence ("The answer is 4"), which math-verify extracts from itself."""
    prose = re.search(r"(?<![\\A-Za-z])[A-Za-z]{3,}\s+[A-Za-z]{2,}", text)
    return "$" in text or "\\boxed" in text or "\\(" in text or prose is not None


@dataclass
class Run:
    name: str
    outcomes: list[bool | None]
    seconds: list[float]
    total_s: float


def in_process(name: str, grade: Callable[[str, str], bool | None], cases: list[dict[str, object]]) -> Run:
    parse_answer.cache_clear()  # every vibe run starts cold (forked workers would inherit the cache)
    outcomes, seconds = [], []
    started = time.perf_counter()
    for case in cases:
        begin = time.perf_counter()
        outcomes.append(grade(str(case["gold"]), str(case["pred"])))
        seconds.append(time.perf_counter() - begin)
    return Run(name, outcomes, seconds, time.perf_counter() - started)


def through_pool(cases: list[dict[str, object]], workers: int) -> Run:
    parse_answer.cache_clear()
    started = time.perf_counter()
    with math_pool(workers=workers) as pool:
        verdicts = list(check_many(pool, [(str(c["gold"]), str(c["pred"])) for c in cases]))
    total = time.perf_counter() - started
    return Run(
        f"vibe --cases ({workers} workers)", [v.equal for v in verdicts], [total / len(cases)] * len(cases), total
    )


def report(runs: list[Run], labels: list[bool], reference: float) -> None:
    print(
        "| grader | agreement | false positives | false negatives | undecided | total | median | max | vs math-verify |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for run in runs:
        agree = sum(o is t for o, t in zip(run.outcomes, labels, strict=True))
        fp = sum(o is True and not t for o, t in zip(run.outcomes, labels, strict=True))
        fn = sum(o is False and t for o, t in zip(run.outcomes, labels, strict=True))
        undecided = sum(o is None for o in run.outcomes)
        print(
            f"| {run.name} | {agree}/{len(labels)} ({agree / len(labels):.1%}) | {fp} | {fn} | {undecided} "
            f"| {run.total_s:.2f} s | {statistics.median(run.seconds) * 1000:.1f} ms "
            f"| {max(run.seconds) * 1000:.0f} ms | {run.total_s / reference:.2f}x |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2, help="worker processes for the --cases path")
    parser.add_argument("--show-misses", action="store_true", help="list every case a grader gets wrong")
    parser.add_argument("--metamorphic", action="store_true", help="run the metamorphic variants instead")
    parser.add_argument("--sample", type=int, default=0, help="with --metamorphic: a random sample of N variants")
    args = parser.parse_args()
    if args.metamorphic:
        metamorphic(args.workers, args.sample)
        return
    check_equal("1", "1"), math_verify_equal("1", "1")  # imports and first-call costs, outside the clock
    for title, path in SUITES.items():
        cases = [json.loads(line) for line in path.open(encoding="utf-8")]
        labels = [bool(c["equal"]) for c in cases]
        print(f"\n### {title}: {len(cases)} cases, {sum(labels)} equal, {len(labels) - sum(labels)} not\n")
        reference = in_process("math-verify 0.9.0 (in-process)", math_verify_equal, cases)
        runs = [
            reference,
            in_process("vibe (in-process)", lambda g, p: check_equal(g, p).equal, cases),
            through_pool(cases, args.workers),
        ]
        report(runs, labels, reference.total_s)
        if "math_verify" in cases[0]:
            own = sum(o is bool(c["math_verify"]) for o, c in zip(reference.outcomes, cases, strict=True))
            print(f"\nmath-verify against its own tests' expectations: {own}/{len(cases)}")
        if args.show_misses:
            for run in runs[:2]:
                for case, outcome, label in zip(cases, run.outcomes, labels, strict=True):
                    if outcome is not label:
                        print(f"  {run.name}: {outcome} (truth {label}): {case['gold']!r:.60} | {case['pred']!r:.60}")
    time_limit()


def metamorphic(workers: int, sample: int) -> None:
    """Every variant through the worker pool: false positives and verdict flips, with the time."""
    cases = load_cases()
    generated = list(variants(cases))
    if sample:
        generated = random.Random(0).sample(generated, min(sample, len(generated)))
    started = time.perf_counter()
    with math_pool(workers=workers) as pool:
        originals = [v.verdict for v in check_many(pool, [(str(c["gold"]), str(c["pred"])) for c in cases])]
        verdicts = list(check_many(pool, [(v.gold, v.pred) for v in generated]))
    seconds = time.perf_counter() - started
    spellings = [(v, r) for v, r in zip(generated, verdicts, strict=True) if v.kind == "spelling"]
    changes = [(v, r) for v, r in zip(generated, verdicts, strict=True) if v.kind == "mutation"]
    flips = [(v, r) for v, r in spellings if r.verdict != originals[v.case]]
    false_positives = [(v, r) for v, r in changes if r.verdict == "equal"]
    print(f"\n### Metamorphic variants of {len(cases)} truth cases\n")
    print("| variants | respellings | changes of value | false positives | verdict flips | time | workers |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {len(generated)} | {len(spellings)} | {len(changes)} | {len(false_positives)} | {len(flips)} "
        f"| {seconds:.1f} s | {workers} |"
    )
    for variant, verdict in false_positives + flips:
        _show(variant, verdict, originals[variant.case])


def _show(variant: Variant, verdict: object, original: str) -> None:
    print(f"  {variant.kind} {variant.name} (case {variant.case}, was {original}): {verdict}")
    print(f"      gold={variant.gold!r:.100}  pred={variant.pred!r:.100}")


def time_limit() -> None:
    """A hostile answer must come back `undecided` within 8 s of wall time, process start included."""
    vibe = shutil.which("vibe") or "vibe"
    print("\n### The time limit (`vibe verify math` as a new process, default 5 s per comparison)\n")
    print("| answer | verdict | wall time |\n|---|---|---|")
    for pred, gold in (("1", "1"), ("(10^{9})!", "(10^{9})! + 1")):
        started = time.perf_counter()
        done = subprocess.run([vibe, "verify", "math", pred, "--expected", gold], capture_output=True, text=True)
        print(f"| `{pred}` against `{gold}` | {done.stdout.strip()} | {time.perf_counter() - started:.2f} s |")


if __name__ == "__main__":
    main()
