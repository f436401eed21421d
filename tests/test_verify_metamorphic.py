"""Metamorphic tests of the math checker over every truth case (bench/metamorphic.py generates
the variants): a respelled answer keeps the verdict, a changed value is never `equal`.

The full run is `python bench/verify_math.py --metamorphic`; here a random sample, bounded in
time, runs in-process.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

import pytest

from vibecli.verify.compare import check_equal

sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))
from metamorphic import Variant, load_cases, mutations, spellings, variants

TIME_BUDGET_S = 40.0  # the sample stops here, well inside a minute
SAMPLE = 1500
SEED = 21  # fixed, so that a failure reproduces; the bench runs every variant


def test_generator_produces_thousands_of_both_kinds() -> None:
    generated = list(variants(load_cases()))
    kinds = {kind: sum(v.kind == kind for v in generated) for kind in ("spelling", "mutation")}
    assert len(generated) >= 10_000, kinds
    assert kinds["mutation"] >= 1_000, kinds


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\\frac{1}{2}", "\\frac { 1 } { 2 }"),
        ("1234567", "1,\\!234,\\!567"),
        ("\\frac{1}{2}", "\\boxed{\\dfrac{1}{2}}"),
        ("(\\frac{1}{2},3)", "The answer is $\\left(\\frac{1}{2},3\\right)$."),
    ],
)
def test_spellings_include(text: str, expected: str) -> None:
    assert expected in {changed for _, changed in spellings(text)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", "\\begin{pmatrix} 1 & 3 \\\\ 2 & 4 \\end{pmatrix}"),
        ("(1, 2, 3)", "( 2,1, 3)"),
        ("[1, 3)", "(1, 3)"),
        ("3+4i", "3+4(-i)"),
        ("x < 2", "x > 2"),
        ("12,345", "12"),
        ("42", '__import__("os").getcwd() and 42'),
    ],
)
def test_mutations_include(text: str, expected: str) -> None:
    assert expected in {changed for _, changed in mutations(text)}


def test_a_sample_of_variants_keeps_verdicts_and_never_calls_a_change_equal() -> None:
    cases = load_cases()
    generated = list(variants(cases))
    sample = random.Random(SEED).sample(generated, SAMPLE)
    originals: dict[int, str] = {}
    false_positives: list[tuple[Variant, str]] = []
    flips: list[tuple[Variant, str, str]] = []
    started = time.monotonic()
    checked = 0
    for variant in sample:
        if time.monotonic() - started > TIME_BUDGET_S:
            break
        verdict = check_equal(variant.gold, variant.pred)
        checked += 1
        if variant.kind == "mutation":
            if verdict.verdict == "equal":
                false_positives.append((variant, verdict.reason))
            continue
        if variant.case not in originals:
            case = cases[variant.case]
            originals[variant.case] = check_equal(str(case["gold"]), str(case["pred"])).verdict
        if verdict.verdict != originals[variant.case]:
            flips.append((variant, originals[variant.case], f"{verdict.verdict}: {verdict.reason}"))
    assert checked >= 200, f"only {checked} variants in {TIME_BUDGET_S:.0f} s"
    assert not false_positives, false_positives[:5]
    assert not flips, flips[:5]
