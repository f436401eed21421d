"""Math checking inside daemonic processes (multiprocessing.Pool workers, daemonic Process, torch
DataLoader workers), fork and spawn: verdicts come back, a hostile answer still costs only its
timeout, and the workers are not left behind."""

from __future__ import annotations

import multiprocessing
import time
from typing import Any

import pytest

import vibecli

PAIRS = [("\\frac12", "0.5", "equal"), ("3", "4", "not_equal"), ("x^2", "x*x", "equal"), ("2", "2.0", "equal")]


def slow_check(gold: str, pred: str) -> object:
    """A stand-in checker (run in the math workers) that stalls far past any timeout."""
    time.sleep(120)
    raise AssertionError("not reached")


def verdicts(_: object = None) -> list[str]:
    return [vibecli.verify_math(gold, pred, timeout=20).verdict for gold, pred, _ in PAIRS]


def hostile_verdict(_: object = None) -> tuple[str, float]:
    import vibecli.verify.math as math

    math.CHECK = f"{__name__}:slow_check"
    started = time.monotonic()
    verdict = vibecli.verify_math("1", "1", timeout=1.0)
    return verdict.verdict, time.monotonic() - started


def _into_queue(queue: Any) -> None:
    try:
        queue.put((verdicts(), vibecli.verify_math_many([(g, p) for g, p, _ in PAIRS], workers=2)[1].verdict))
    except BaseException as exc:  # the failure, to the test
        queue.put(f"{type(exc).__name__}: {exc}")


class Checks:
    """A map-style dataset whose items are math verdicts (DataLoader takes any such object)."""

    def __len__(self) -> int:
        return 2

    def __getitem__(self, index: int) -> list[str]:
        return verdicts()


WANT = [want for _, _, want in PAIRS]


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_math_checks_in_multiprocessing_pool_workers(method: str) -> None:
    with multiprocessing.get_context(method).Pool(2) as pool:
        assert pool.map(verdicts, range(2)) == [WANT, WANT]
        verdict, seconds = pool.apply(hostile_verdict)
    assert verdict == "undecided"
    assert seconds < 60  # killed at its 1 s timeout, far below the 120 s it asked for


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_math_checks_in_a_daemonic_process(method: str) -> None:
    context = multiprocessing.get_context(method)
    queue = context.Queue()
    process = context.Process(target=_into_queue, args=(queue,), daemon=True)
    process.start()
    result = queue.get(timeout=120)
    process.join(timeout=60)
    assert result == (WANT, "not_equal")
    assert process.exitcode == 0


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_math_checks_in_torch_dataloader_workers(method: str) -> None:
    pytest.importorskip("torch")
    from torch.utils.data import DataLoader

    loader = DataLoader(Checks(), batch_size=None, num_workers=2, multiprocessing_context=method)
    assert list(loader) == [WANT, WANT]


def _report_workers_then_wait(queue: Any) -> None:
    from vibecli.api import checking

    vibecli.verify_math_many([("1", "1")], workers=2)
    queue.put([w.pid for pool in checking._pools.pools.values() for w in pool._workers])
    time.sleep(600)


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_workers_die_with_a_daemonic_parent_that_is_killed(method: str) -> None:
    from procfs import running

    context = multiprocessing.get_context(method)
    queue = context.Queue()
    process = context.Process(target=_report_workers_then_wait, args=(queue,), daemon=True)
    process.start()
    pids = queue.get(timeout=120)
    assert len(pids) == 2 and running(pids) == set(pids)
    process.kill()
    process.join(timeout=30)
    deadline = time.monotonic() + 30
    while running(pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert running(pids) == set()
