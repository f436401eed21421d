"""Checking answers from Python: math equivalence (one pair, or many in a process pool) and code
against tests in the sandbox. The same functions `vibe verify` stands on.

Each math comparison runs in a worker process under a hard time limit: an answer that makes
SymPy spin, or that kills its worker, costs at most `timeout` seconds and comes back
`undecided`, and the next comparison gets a fresh worker. Pools belong to one thread of one
process: a thread (or a forked child) never touches another's pipes, so the functions may be
called from threads, from forked data-loader processes and from reward functions alike.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Iterable
from pathlib import Path

from vibecli.api import _arguments
from vibecli.errors import UsageError
from vibecli.verify.code_check import CodeVerdict, Tests, check_code
from vibecli.verify.math import DEFAULT_TIMEOUT_S, check_many, math_pool
from vibecli.verify.verdict import Verdict
from vibecli.verify.worker import WorkerPool

MathVerdict = Verdict
DEFAULT_WORKERS = min(4, os.cpu_count() or 1)

__all__ = ["CodeVerdict", "MathVerdict", "verify_code", "verify_math", "verify_math_many"]


class _ThreadPools(threading.local):
    """This thread's warm pools by worker count (`verify_math`'s single worker and the last other
    count asked for), tagged with the process that made them."""

    pid: int = -1
    pools: dict[int, WorkerPool]

    def get(self, workers: int) -> WorkerPool:
        if self.pid != os.getpid():  # a forked child: the parent's pipes are not ours to use
            self.pid, self.pools = os.getpid(), {}
        pool = self.pools.get(workers)
        if pool is None:
            for count in [c for c in self.pools if c not in (1, workers)]:
                self.discard(count)  # idle processes are bounded: verify_math's worker and one pool more
            pool = self.pools[workers] = math_pool(workers=workers)
        return pool

    def discard(self, workers: int) -> None:
        pool = self.pools.pop(workers, None)
        if pool is not None:
            pool.close()


_pools = _ThreadPools()  # per thread: a pool's workers die with the thread that started them


def verify_math_many(
    pairs: Iterable[tuple[str, str]], *, workers: int = DEFAULT_WORKERS, timeout: float = DEFAULT_TIMEOUT_S
) -> list[MathVerdict]:
    """Verdicts for (gold, prediction) pairs, in the order given, from `workers` processes.

    Either side may be a bare answer, a `\\boxed{}` answer or a whole response: the answer it
    commits to is compared. Each comparison gets at most `timeout` seconds.
    """
    _arguments.count("workers", workers)
    _arguments.seconds("timeout", timeout)
    jobs = _arguments.pairs(pairs)
    if not jobs:
        return []
    pool = _pools.get(int(workers))
    pool.timeout_s = timeout
    try:
        return list(check_many(pool, jobs))
    except BaseException:  # interrupted mid-way: its workers still hold jobs, so the pool is not reused
        _pools.discard(int(workers))
        raise


def verify_math(gold: str, pred: str, *, timeout: float = DEFAULT_TIMEOUT_S) -> MathVerdict:
    """Is `pred` mathematically equal to `gold`? `equal`, `not_equal` or `undecided`, with the reason."""
    return verify_math_many([(_arguments.text("gold", gold), _arguments.text("pred", pred))], workers=1,
                            timeout=timeout)[0]  # fmt: skip


def verify_code(
    solution: str, tests: Tests, *, timeout: float = 6.0, memory: int = 1024, float_tolerance: float | None = None,
    entry_point: str | None = None, require_isolation: bool = True, budget: float | None = None,
    stop_on_timeout: bool = False,
) -> CodeVerdict:  # fmt: skip
    """Run `solution` (a program, or a model response: its last code block) against `tests` in the sandbox.

    `tests` is Python assert source (a `str`), a list of `{"input": …, "output": …}` stdin/stdout
    cases, APPS's `{"inputs": [...], "outputs": [...]}`, a Hugging Face column's dict of lists, JSON
    or JSONL text of these, a NumPy array of cases, or a `pathlib.Path` to a tests file (.py, .jsonl,
    .json, .yaml). Tests that hold no test (no assert, no check call, no cases) raise `UsageError`.
    `timeout` is per test (wall and CPU seconds); `budget`, when given, caps the whole check in
    seconds: cases not started by then are not run and count as failed; with `stop_on_timeout`, so
    do the cases after one that ran out of time. `memory` is in MB for the whole check.
    """
    _arguments.seconds("timeout", timeout)
    _arguments.count("memory", memory)
    if budget is not None:
        _arguments.seconds("budget", budget)
    _arguments.text("solution", solution)
    if tests is None or isinstance(tests, bool | int | float | bytes):
        raise UsageError(f"tests must be assert source, cases or a Path, not {type(tests).__name__}")
    tolerance_ok = isinstance(float_tolerance, int | float) and not isinstance(float_tolerance, bool)
    if float_tolerance is not None and not (tolerance_ok and 0 <= float_tolerance < math.inf):
        raise UsageError(f"float_tolerance must be a number at least 0, not {float_tolerance!r}")
    if entry_point is not None:
        _arguments.text("entry_point", entry_point)
    if isinstance(tests, Path) and not tests.is_file():
        raise UsageError(f"tests file {tests} does not exist")
    return check_code(solution, tests, timeout_s=timeout, memory_mb=int(memory), float_tolerance=float_tolerance,
                      entry_point=entry_point, require_isolation=bool(require_isolation), budget_s=budget,
                      stop_on_timeout=bool(stop_on_timeout))  # fmt: skip
