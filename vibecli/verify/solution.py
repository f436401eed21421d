"""Verifying a solved problem right away: `vibe solve --expected GOLD` or `--tests FILE`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vibecli.verify.math import check_math


@dataclass(frozen=True)
class SolutionCheck:
    """The verdict on a solve, for the terminal and for `--json` (`verification`)."""

    kind: str  # "math" or "code"
    verdict: str  # equal / not_equal / undecided, or passed / failed
    detail: str
    record: dict[str, Any]


def check_against_expected(final_answer: str | None, expected: str) -> SolutionCheck:
    if final_answer is None:
        return SolutionCheck("math", "undecided", "no final answer to check", {"verdict": "undecided"})
    verdict = check_math(expected, final_answer)
    record = {"expected": expected, "verdict": verdict.verdict, "equal": verdict.equal, "reason": verdict.reason}
    return SolutionCheck("math", verdict.verdict, verdict.reason, record)


def check_against_tests(code: str | None, tests: Path, *, timeout_s: float = 6.0) -> SolutionCheck:
    from vibecli.verify.code import load_io_cases, run_assert_tests, run_io_tests
    from vibecli.verify.sandbox import Limits

    if code is None:
        return SolutionCheck("code", "failed", "no code block in the answer", {"passed": 0, "total": 0})
    limits = Limits(wall_s=timeout_s, cpu_s=timeout_s)
    if tests.suffix == ".py":
        results = run_assert_tests(code, tests.read_text(encoding="utf-8"), limits=limits)
    else:
        results = run_io_tests(code, load_io_cases(tests), limits=limits)
    passed = sum(r.verdict == "passed" for r in results)
    record = {
        "passed": passed,
        "total": len(results),
        "tests": [{"index": r.index, "verdict": r.verdict, "detail": r.detail} for r in results],
    }
    verdict = "passed" if passed == len(results) else "failed"
    return SolutionCheck("code", verdict, f"{passed}/{len(results)} tests passed", record)
