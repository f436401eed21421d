"""`check_code`: a solution against tests in the sandbox, as one verdict. `vibe verify code` and
`vibecli.verify_code` both stand on it; the sandbox's own record decides each test."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vibecli.errors import UsageError
from vibecli.verify.code import IOCase, TestResult, load_io_cases, run_assert_tests, run_io_tests, solution_source
from vibecli.verify.sandbox import Isolation, Limits, isolation

# A path to a tests file (.py asserts, .jsonl/.yaml cases), Python assert source, or stdin/stdout cases.
Tests = Path | str | Sequence[IOCase | Mapping[str, Any]]


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
    out = []
    for number, case in enumerate(cases, start=1):
        if isinstance(case, IOCase):
            out.append(case)
        elif isinstance(case, Mapping) and {"input", "output"} <= set(case):
            out.append(IOCase(str(case["input"]), str(case["output"])))
        else:
            raise UsageError(f"test {number} needs 'input' and 'output'")
    if not out:
        raise UsageError("no tests given")
    return out


def check_code(
    solution: str, tests: Tests, *, timeout_s: float = 6.0, memory_mb: int = 1024,
    float_tolerance: float | None = None, entry_point: str | None = None, require_isolation: bool = True,
) -> CodeVerdict:  # fmt: skip
    """Run `solution` (a program, or a model response: its last code block after `</think>`) against
    `tests`. Raises `UsageError` for tests that cannot be read, `SandboxUnavailable` where no isolation
    can be made and `require_isolation` holds, `OSError` when the sandbox itself fails."""
    source = solution_source(solution)
    limits = Limits(wall_s=timeout_s, cpu_s=timeout_s, memory_mb=memory_mb, require_isolation=require_isolation)
    if isinstance(tests, Path):
        if tests.suffix == ".py":
            try:
                asserts = tests.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise UsageError(f"cannot read tests file {tests}: {exc}") from None
            results = run_assert_tests(source, asserts, limits=limits, entry_point=entry_point)
        else:
            results = run_io_tests(source, load_io_cases(tests), limits=limits, float_tolerance=float_tolerance)
    elif isinstance(tests, str):
        results = run_assert_tests(source, tests, limits=limits, entry_point=entry_point)
    else:
        results = run_io_tests(source, io_cases(tests), limits=limits, float_tolerance=float_tolerance)
    return CodeVerdict(tuple(results), isolation())
