"""The verify tools' verdicts, computed off the event loop with vibe's own checkers.

Math and substitution checks run in warm worker processes (SymPy imported once, each check under
a hard time limit), in two sets of lanes: a quick `verify_math` never waits behind a slow
`check_equation`, and `workers` checks of each kind run at once. A `WorkerPool` serves one
caller at a time and its processes die with the thread that made them, so each lane is a
long-lived thread that owns a one-process pool. Code runs in a fresh sandbox for every call,
and a cancelled call kills its sandbox.
"""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

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
CLOSE_WAIT_S = 1.0  # a lane still in a check is left to die with the process


def math_verdict(verdict: Verdict) -> MathVerdict:
    return MathVerdict(verdict=verdict.verdict, equal=verdict.equal, reason=verdict.reason, gold=verdict.gold,
                       pred=verdict.pred)  # fmt: skip


def plural_reason(reason: str) -> str:
    """`1 independent constants` and `all 2 real solution(s)` as English: the checker's wording
    counts only in the plural."""
    reason = re.sub(r"\b1 ((?:\w+ )?(?:constant|solution))s\b", r"1 \1", reason)
    return re.sub(r"\b(\d+) ((?:\w+ )?solution)\(s\)", lambda m: f"{m[1]} {m[2]}{'' if m[1] == '1' else 's'}", reason)


@dataclass(eq=False)
class _Job:
    work: Callable[[WorkerPool], Any]
    future: Future[Any] = field(default_factory=Future)
    done: bool = False  # these two under the lanes' lock
    retire: bool = False


class _Lanes:
    """`count` daemon threads taking checks from one queue; each thread builds its own pool with
    `make` on first use and keeps it (its worker processes die with the thread or the process).

    A check cancelled while it runs keeps its lane until its time limit: that lane retires after
    it, and a fresh lane takes its place at once, so cancelled checks never hold up others.
    """

    def __init__(self, name: str, count: int, make: Callable[[], WorkerPool]) -> None:
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._name, self._make, self._lock = name, make, threading.Lock()
        self._pools: list[WorkerPool] = []
        self._threads: list[threading.Thread] = []
        for _ in range(count):
            self._add_lane()

    def submit(self, work: Callable[[WorkerPool], T]) -> Future[T]:
        job = _Job(work)
        self._jobs.put(job)
        return job.future

    async def run(self, work: Callable[[WorkerPool], T]) -> T:
        """`work(pool)` on a lane; cancelling the call drops a waiting check or retires a running one's lane."""
        import asyncio

        job = _Job(work)
        self._jobs.put(job)
        try:
            return await asyncio.wrap_future(job.future)
        except anyio.get_cancelled_exc_class():
            with self._lock:
                if job.future.running() and not job.done:
                    job.retire = True
                    self._add_lane()
            raise

    def _add_lane(self) -> None:
        thread = threading.Thread(target=self._serve, name=f"vibe-mcp-{self._name}-{len(self._threads)}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _serve(self) -> None:
        pool: WorkerPool | None = None
        while (job := self._jobs.get()) is not None:
            if not job.future.set_running_or_notify_cancel():
                continue  # cancelled while it waited
            try:
                if pool is None:
                    pool = self._make()
                    with self._lock:
                        self._pools.append(pool)
                job.future.set_result(job.work(pool))
            except BaseException as exc:  # the caller's to handle
                job.future.set_exception(exc)
            with self._lock:
                job.done = True
                if job.retire:
                    break
        if pool is not None:
            pool.close()

    def close(self) -> None:
        """Stop every lane: idle ones close their pools; the processes of a busy one are killed."""
        with self._lock:
            threads = list(self._threads)
        for _ in threads:
            self._jobs.put(None)
        for thread in threads:
            thread.join(timeout=CLOSE_WAIT_S / len(threads))
        with self._lock:
            for pool in self._pools:
                pool.close()  # closing twice is harmless: a closed pool has no workers left


class Checkers:
    """Math equivalence, equations and ODEs by substitution, and code against tests."""

    def __init__(self, *, workers: int = 2, math_timeout_s: float = 10.0, substitution_timeout_s: float = 20.0) -> None:
        self.math_timeout_s, self.substitution_timeout_s = math_timeout_s, substitution_timeout_s
        self._math = _Lanes("math", workers, lambda: _math_pool(math_timeout_s))
        self._substitution = _Lanes("substitution", workers, lambda: _substitution_pool(substitution_timeout_s))

    async def math(self, gold: str, pred: str) -> MathVerdict:
        return math_verdict(await self._math.run(lambda pool: _check_math(pool, gold, pred)))

    def same(self, a: str, b: str) -> bool:
        """Whether two answers are mathematically equal; blocks (for the vote, on a worker thread)."""
        return self._math.submit(lambda pool: _check_math(pool, a, b)).result().verdict == "equal"

    async def equation(self, equation: str, solution: str, domain: str) -> SubstitutionVerdict:
        return await self._substitute("check_equation", equation, solution, domain)

    async def ode(self, ode: str, solution: str, initial_conditions: str | None) -> SubstitutionVerdict:
        return await self._substitute("check_ode", ode, solution, initial_conditions)

    async def code(
        self, code: str, tests: list[StdioCase] | str, *, entry_point: str | None, timeout_s: float,
        float_tolerance: float | None,
    ) -> CodeVerdict:  # fmt: skip
        cancel = threading.Event()

        def run() -> CodeVerdict:
            return _run_code(code, tests, entry_point=entry_point, timeout_s=timeout_s,
                             float_tolerance=float_tolerance, cancel=cancel)  # fmt: skip

        try:
            return await anyio.to_thread.run_sync(run, abandon_on_cancel=True)
        except anyio.get_cancelled_exc_class():
            # The client cancelled or left: the running sandbox is killed and no other test starts.
            cancel.set()
            raise

    def close(self) -> None:
        """Stop the worker processes, without waiting for a check in progress."""
        self._math.close()
        self._substitution.close()

    async def _substitute(self, check: str, *args: str | None) -> SubstitutionVerdict:
        def work(pool: WorkerPool) -> SubstitutionVerdict:
            from vibecli.verify.math import as_verdict

            verdict = as_verdict(pool.call(f"{SUBSTITUTION}:{check}", *args))
            return SubstitutionVerdict(verdict=SHOWN[verdict.verdict], correct=verdict.equal,
                                       reason=plural_reason(verdict.reason))  # fmt: skip

        return await self._substitution.run(work)


def _math_pool(timeout_s: float) -> WorkerPool:
    from vibecli.verify.math import math_pool

    return math_pool(timeout_s=timeout_s)


def _substitution_pool(timeout_s: float) -> WorkerPool:
    from vibecli.verify.worker import WorkerPool

    return WorkerPool(timeout_s=timeout_s, warm=("sympy", SUBSTITUTION))


def _check_math(pool: WorkerPool, gold: str, pred: str) -> Verdict:
    from vibecli.verify.math import check_many

    return next(check_many(pool, [(gold, pred)]))


def _run_code(
    code: str, tests: list[StdioCase] | str, *, entry_point: str | None, timeout_s: float,
    float_tolerance: float | None, cancel: threading.Event | None = None,
) -> CodeVerdict:  # fmt: skip
    from vibecli.verify.code import IOCase, run_assert_tests, run_io_tests, solution_source
    from vibecli.verify.sandbox import Limits, isolation

    source, limits = solution_source(code), Limits(wall_s=timeout_s, cpu_s=timeout_s)
    try:
        if isinstance(tests, str):
            results = run_assert_tests(source, tests, limits=limits, entry_point=entry_point, cancel=cancel)
        else:
            cases = [IOCase(case.input, case.output) for case in tests]
            results = run_io_tests(source, cases, limits=limits, float_tolerance=float_tolerance, cancel=cancel)
    except OSError as exc:
        raise EngineError(f"could not run the sandbox: {exc}") from None
    passed = sum(r.verdict == "passed" for r in results)
    outcomes = [CaseOutcome(index=r.index, verdict=r.verdict, seconds=round(r.seconds, 3), detail=r.detail)
                for r in results]  # fmt: skip
    return CodeVerdict(verdict="passed" if passed == len(results) else "failed", passed=passed, total=len(results),
                       tests=outcomes, sandbox=isolation().method)  # fmt: skip
