"""Verifying a solved problem right away: `vibe solve --expected GOLD` or `--tests FILE`."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from vibecli.verify.math import check_math

if TYPE_CHECKING:
    from vibecli.reasoning.results import SolveResult


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


def check_against_tests(code: str | None, tests: object, *, timeout_s: float = 6.0) -> SolutionCheck:
    """`tests`: a tests file, or any tests `vibecli.verify_code` reads (see verify/code_tests.py)."""
    from vibecli.verify.code_check import check_code

    if code is None:
        return SolutionCheck("code", "failed", "no code block in the answer", {"passed": 0, "total": 0})
    results = check_code(code, tests, timeout_s=timeout_s).tests
    passed = sum(r.verdict == "passed" for r in results)
    record = {
        "passed": passed,
        "total": len(results),
        "tests": [{"index": r.index, "verdict": r.verdict, "detail": r.detail} for r in results],
    }
    verdict = "passed" if passed == len(results) else "failed"
    return SolutionCheck("code", verdict, f"{passed}/{len(results)} tests passed", record)


def with_check(result: SolveResult, expected: str | None, tests: object | None) -> SolveResult:
    """`result` with the verdict of `expected` or `tests` attached (a cancelled result is left
    unchecked), as `vibe solve --expected/--tests` and the Python API's `solve` give it."""
    if result.finish_reason == "cancelled":
        return result
    if expected is not None:
        return replace(result, check=check_against_expected(result.final_answer, expected))
    if tests is not None:
        return replace(result, check=check_against_tests(result.final_answer, tests))
    return result
