"""The verify tools' verdicts, computed off the event loop with vibe's own checkers.

Math and substitution checks run in warm worker pools (SymPy imported once, each check under a
hard time limit). The pools live on one long-lived thread: a pool serves one caller at a time,
and its worker processes belong to a thread that lasts as long as the server. Code runs in a
fresh sandbox for every call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Literal, TypeVar

import anyio

from vibecli.errors import EngineError
from vibecli.mcp.schemas import CaseOutcome, CodeVerdict, MathVerdict, StdioCase, SubstitutionVerdict

if TYPE_CHECKING:
    from vibecli.verify.compare import Verdict
    from vibecli.verify.worker import WorkerPool

T = TypeVar("T")
SUBSTITUTION = "vibecli.verify.substitution"
# Named as `vibe verify equation` names them.
SHOWN: dict[str, Literal["correct", "incorrect", "undecided"]] = {
    "equal": "correct", "not_equal": "incorrect", "undecided": "undecided"
}  # fmt: skip


def math_verdict(verdict: Verdict) -> MathVerdict:
    return MathVerdict(verdict=verdict.verdict, equal=verdict.equal, reason=verdict.reason, gold=verdict.gold,
                       pred=verdict.pred)  # fmt: skip


class Checkers:
    """Math equivalence, equations and ODEs by substitution, and code against tests."""

    def __init__(self, *, math_timeout_s: float = 10.0, substitution_timeout_s: float = 20.0) -> None:
        self.math_timeout_s, self.substitution_timeout_s = math_timeout_s, substitution_timeout_s
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vibe-mcp-checks")
        self._pools: dict[str, WorkerPool] = {}

    async def math(self, gold: str, pred: str) -> MathVerdict:
        return math_verdict(await self._on_thread(self._math, gold, pred))

    def same(self, a: str, b: str) -> bool:
        """Whether two answers are mathematically equal; blocks (for the vote, on a worker thread)."""
        return self._thread.submit(self._math, a, b).result().verdict == "equal"

    async def equation(self, equation: str, solution: str, domain: str) -> SubstitutionVerdict:
        return await self._on_thread(self._substitution, "check_equation", equation, solution, domain)

    async def ode(self, ode: str, solution: str, initial_conditions: str | None) -> SubstitutionVerdict:
        return await self._on_thread(self._substitution, "check_ode", ode, solution, initial_conditions)

    async def code(
        self, code: str, tests: list[StdioCase] | str, *, entry_point: str | None, timeout_s: float,
        float_tolerance: float | None,
    ) -> CodeVerdict:  # fmt: skip
        def run() -> CodeVerdict:
            return _run_code(code, tests, entry_point=entry_point, timeout_s=timeout_s, float_tolerance=float_tolerance)

        return await anyio.to_thread.run_sync(run)

    def close(self) -> None:
        """Stop the worker processes and the checking thread (waiting for a check in progress)."""

        def close_pools() -> None:
            for pool in self._pools.values():
                pool.close()
            self._pools.clear()

        self._thread.submit(close_pools)
        self._thread.shutdown(wait=True, cancel_futures=False)

    async def _on_thread(self, work: Callable[..., T], *args: object) -> T:
        return await asyncio.wrap_future(self._thread.submit(work, *args))

    def _pool(self, name: str, make: Callable[[], WorkerPool]) -> WorkerPool:
        if name not in self._pools:
            self._pools[name] = make()
        return self._pools[name]

    def _math(self, gold: str, pred: str) -> Verdict:
        from vibecli.verify.math import check_many, math_pool

        pool = self._pool("math", lambda: math_pool(timeout_s=self.math_timeout_s))
        return next(check_many(pool, [(gold, pred)]))

    def _substitution(self, check: str, *args: str | None) -> SubstitutionVerdict:
        from vibecli.verify.math import as_verdict
        from vibecli.verify.worker import WorkerPool

        pool = self._pool(
            "substitution", lambda: WorkerPool(timeout_s=self.substitution_timeout_s, warm=("sympy", SUBSTITUTION))
        )
        verdict = as_verdict(pool.call(f"{SUBSTITUTION}:{check}", *args))
        return SubstitutionVerdict(verdict=SHOWN[verdict.verdict], correct=verdict.equal, reason=verdict.reason)


def _run_code(
    code: str, tests: list[StdioCase] | str, *, entry_point: str | None, timeout_s: float,
    float_tolerance: float | None,
) -> CodeVerdict:  # fmt: skip
    from vibecli.verify.code import IOCase, run_assert_tests, run_io_tests, solution_source
    from vibecli.verify.sandbox import Limits, isolation

    source, limits = solution_source(code), Limits(wall_s=timeout_s, cpu_s=timeout_s)
    try:
        if isinstance(tests, str):
            results = run_assert_tests(source, tests, limits=limits, entry_point=entry_point)
        else:
            cases = [IOCase(case.input, case.output) for case in tests]
            results = run_io_tests(source, cases, limits=limits, float_tolerance=float_tolerance)
    except OSError as exc:
        raise EngineError(f"could not run the sandbox: {exc}") from None
    passed = sum(r.verdict == "passed" for r in results)
    outcomes = [CaseOutcome(index=r.index, verdict=r.verdict, seconds=round(r.seconds, 3), detail=r.detail)
                for r in results]  # fmt: skip
    return CodeVerdict(verdict="passed" if passed == len(results) else "failed", passed=passed, total=len(results),
                       tests=outcomes, sandbox=isolation().method)  # fmt: skip
