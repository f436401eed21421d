"""`check_math`: the math-equivalence verdict for one or many (gold, prediction) pairs, each
under a hard time limit in a worker process."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from vibecli.verify.compare import Verdict
from vibecli.verify.worker import Failed, TimedOut, WorkerPool

CHECK = "vibecli.verify.compare:check_equal"
WARM_MODULES = ("sympy", "latex2sympy2_extended", "vibecli.verify.compare")


DEFAULT_TIMEOUT_S = 5.0  # per comparison, as math-verify's


def math_pool(*, workers: int = 1, timeout_s: float = DEFAULT_TIMEOUT_S) -> WorkerPool:
    """A worker pool with SymPy and the LaTeX parser already imported."""
    return WorkerPool(workers=workers, timeout_s=timeout_s, warm=WARM_MODULES)


def as_verdict(outcome: object, gold: str = "", pred: str = "") -> Verdict:
    """A worker's outcome (a Verdict, a timeout or a failure) as a Verdict."""
    if isinstance(outcome, Verdict):
        return outcome
    if isinstance(outcome, TimedOut):
        return Verdict("undecided", f"timed out after {outcome.seconds:g}s", gold, pred)
    message = outcome.message if isinstance(outcome, Failed) else repr(outcome)
    return Verdict("undecided", f"checker error: {message}", gold, pred)


def check_many(pool: WorkerPool, pairs: Iterable[tuple[str, str]]) -> Iterator[Verdict]:
    """Verdicts for (gold, prediction) pairs, in order. Either may be a full response or worked
    solution: the answer it commits to is taken (in the worker, under the time limit)."""
    jobs = list(pairs)
    for (gold, pred), outcome in zip(jobs, pool.map(CHECK, jobs), strict=True):
        yield as_verdict(outcome, gold, pred)


def check_math(gold: str, pred: str, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> Verdict:
    """One verdict, in a fresh single-worker pool."""
    with math_pool(timeout_s=timeout_s) as pool:
        return next(check_many(pool, [(gold, pred)]))
