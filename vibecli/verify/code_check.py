"""`check_code`: a solution against tests in the sandbox, as one verdict. `vibe verify code` and
`vibecli.verify_code` both stand on it; the sandbox's own record decides each test."""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vibecli.verify.code import (
    IOCase,
    TestResult,
    _calls_check,
    _defines_check,
    infer_entry_point,
    run_assert_tests,
    run_io_tests,
    solution_source,
)
from vibecli.verify.code_tests import read_tests
from vibecli.verify.sandbox import Isolation, Limits, isolation

# A path to a tests file (.py asserts, .jsonl/.json/.yaml cases), Python assert source or JSON(L) text
# of cases, stdin/stdout cases, or a mapping of them (APPS's inputs/outputs; see code_tests.py).
Tests = Path | str | Sequence[IOCase | Mapping[str, Any]] | Mapping[str, Any]


@dataclass(frozen=True)
class CodeVerdict:
    """Every test's result and the isolation the code ran under; `to_json` is `vibe verify code --json`."""

    tests: tuple[TestResult, ...]
    isolation: Isolation

    @property
    def passed(self) -> int:
        return sum(result.verdict == "passed" for result in self.tests)

    @property
    def total(self) -> int:
        return len(self.tests)

    @property
    def ok(self) -> bool:
        """Every test passed (and there was at least one)."""
        return self.total > 0 and self.passed == self.total

    def to_json(self) -> dict[str, Any]:
        how = self.isolation
        return {
            "passed": self.passed, "total": self.total,
            "tests": [{"index": r.index, "verdict": r.verdict, "seconds": round(r.seconds, 3), "detail": r.detail}
                      for r in self.tests],
            "isolation": {"method": how.method, "network": how.network, "filesystem": how.filesystem,
                          "memory": how.memory, "notes": list(how.notes)},
        }  # fmt: skip


def io_cases(cases: Sequence[IOCase | Mapping[str, Any]]) -> list[IOCase]:
    """stdin/stdout cases given in memory (`{"input": …, "output": …}` mappings or `IOCase`s)."""
    read = read_tests(list(cases))
    assert isinstance(read, list)  # a list is always read as cases
    return read


def check_code(
    solution: str, tests: Tests | object, *, timeout_s: float = 6.0, memory_mb: int = 1024,
    float_tolerance: float | None = None, entry_point: str | None = None, require_isolation: bool = True,
    budget_s: float | None = None, stop_on_timeout: bool = False,
) -> CodeVerdict:  # fmt: skip
    """Run `solution` (a program, or a model response: its last code block after `</think>`) against
    `tests` (any format `read_tests` understands). `timeout_s` caps each test; `budget_s`, when
    given, caps the whole check: once it is spent the tests not yet run are not run and count as
    failed (`time_limit`); with `stop_on_timeout`, so do the cases after one that ran out of time
    (an endless loop then costs one timeout, not one per case). Raises `UsageError` for tests that
    cannot be read or hold no test, `SandboxUnavailable` where no isolation can be made and
    `require_isolation` holds, `OSError` when the sandbox itself fails. A solution that gives
    `check(candidate)` no function fails."""
    read = read_tests(tests)
    source = solution_source(solution)
    per_test = min(timeout_s, budget_s) if budget_s is not None else timeout_s
    limits = Limits(wall_s=per_test, cpu_s=per_test, memory_mb=memory_mb, require_isolation=require_isolation)
    if isinstance(read, str):
        if entry_point is None and _needs_function(source, read):
            failed = TestResult(1, "runtime_error", 0.0, "the solution has no function to pass to check(candidate)")
            return CodeVerdict((failed,), isolation())
        results = run_assert_tests(source, read, limits=limits, entry_point=entry_point)
    else:
        results = _run_cases(source, read, limits, float_tolerance, budget_s, stop_on_timeout)
    return CodeVerdict(tuple(results), isolation())


def _needs_function(source: str, tests: str) -> bool:
    """The tests define `check(candidate)` without calling it, and the solution defines no function."""
    return _defines_check(tests) and not _calls_check(tests) and infer_entry_point(source, tests) is None


def _run_cases(
    source: str, cases: list[IOCase], limits: Limits, float_tolerance: float | None, budget_s: float | None,
    stop_on_timeout: bool,
) -> list[TestResult]:  # fmt: skip
    """Case by case, each under `limits` cut to what is left of `budget_s`."""
    if budget_s is None and not stop_on_timeout:
        return run_io_tests(source, cases, limits=limits, float_tolerance=float_tolerance)
    deadline = time.monotonic() + (budget_s if budget_s is not None else math.inf)
    results: list[TestResult] = []
    for index, case in enumerate(cases, start=1):
        left = deadline - time.monotonic()
        if left <= 0:
            results.append(TestResult(index, "time_limit", 0.0, f"not run: the {budget_s:g}s budget was spent"))
            continue
        if stop_on_timeout and results and results[-1].verdict == "time_limit":
            results.append(TestResult(index, "time_limit", 0.0, "not run: an earlier case ran out of time"))
            continue
        cut = dataclasses.replace(limits, wall_s=min(limits.wall_s, left), cpu_s=min(limits.cpu_s, left))
        (result,) = run_io_tests(source, [case], limits=cut, float_tolerance=float_tolerance)
        results.append(dataclasses.replace(result, index=index))
    return results
