"""Generation behind the MCP tools: solves and samples share the scheduler's batches, a client's
cancellation stops its generations, progress is throttled and always rises."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp_client import Progress, mcp_session

from vibecli.config import Config
from vibecli.errors import UsageError
from vibecli.mcp.engine import ScheduledBackend
from vibecli.mcp.solving import ProgressThrottle, SamplesProgress, plan_solve, sample_and_vote
from vibecli.prompting.templates import load_templates
from vibecli.reasoning.samples import SamplesResult, SampleUpdate, sample_requests
from vibecli.reasoning.solve import AnswerDelta, SolveResult, ThinkingDelta, solve_stream
from vibecli.serve.scheduler import QueueFull, Scheduler


def _wait(condition: Callable[[], bool], what: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.slow
def test_cancelling_a_solve_stops_its_generation(endless_model_dir: Path, tmp_path: Path) -> None:
    """The random tiny model never stops on its own and has room for 65,536 tokens: only the client's
    cancellation ends its solve."""
    args = ["--model", str(endless_model_dir), "--max-tokens", "60000", "--loop-guard", "off", "-t", "0", "-c", "1",
            "--max-queue", "4"]  # fmt: skip
    with mcp_session(*args, stderr=tmp_path / "stderr.log") as session:
        progress: list[Progress] = []
        call = session.start("solve", {"problem": "Compute 2 + 2."}, progress)
        # (Untagged output reports no progress for its first 1024 characters; the resource shows the row.)
        _wait(lambda: session.resource("vibe://model").get("running") == 1, "the generation to start")
        time.sleep(1)
        call.cancel()
        _wait(lambda: session.resource("vibe://model")["running"] == 0, "the generation to stop", timeout_s=30)
        _wait(lambda: "cancelled" in session.log(), "the cancelled solve's log line", timeout_s=30)
        line = next(line for line in session.log().splitlines() if "cancelled" in line)
        generated = sum(int(n) for n in re.findall(r"(\d+) (?:thinking|answer) tokens", line))
        assert 0 < generated < 60000, line
        # With one row the engine would be stuck behind a generation still running.
        after = session.call("solve", {"problem": "Compute 3 + 3.", "max_tokens": 8})
        assert not after.is_error and after.structured_content is not None
        assert after.structured_content["finish_reason"] in ("length", "budget")  # stopped at its own cap
        assert session.resource("vibe://model")["queued"] == 0

        # Samples: with one row, one runs and two wait; cancelling the call stops the one, drops the two.
        too_many = session.call("solve", {"problem": "Compute 2 + 2.", "samples": 5})
        assert too_many.is_error and "samples 5 is above this server's queue limit of 4" in str(too_many.content)
        call = session.start("solve", {"problem": "Compute 2 + 2.", "samples": 3}, [])
        _wait(lambda: _load(session) == (1, 2), "one sample to run and two to wait")
        time.sleep(1)
        call.cancel()
        _wait(lambda: _load(session) == (0, 0), "every sample to stop", timeout_s=30)
        _wait(lambda: "3 samples · cancelled" in session.log(), "the cancelled samples' log line", timeout_s=30)
        line = next(line for line in session.log().splitlines() if "3 samples · cancelled" in line)
        assert 0 < int(re.findall(r"(\d+) tokens", line)[0]) < 3 * 60000, line
        after = session.call("solve", {"problem": "Compute 3 + 3.", "max_tokens": 8, "samples": 2})
        assert not after.is_error and after.structured_content is not None
        assert [s["tokens"] for s in after.structured_content["samples"]] == [8, 8]


def _load(session: Any) -> tuple[int, int]:
    info = session.resource("vibe://model")
    return info["running"], info["queued"]


class _Recording:
    """The demo backend, noting how many requests the scheduler admitted and how many ran side by side."""

    def __init__(self, backend: Any) -> None:
        self.backend, self.added, self.peak = backend, 0, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.backend, name)

    def open_batch(self, max_rows: int) -> Any:
        return _RecordingSession(self, self.backend.open_batch(max_rows))


class _RecordingSession:
    def __init__(self, recording: _Recording, session: Any) -> None:
        self.recording, self.session = recording, session

    def __getattr__(self, name: str) -> Any:
        return getattr(self.session, name)

    def add(self, request: Any, cancel: Any = None) -> int:
        self.recording.added += 1
        return int(self.session.add(request, cancel))

    def step(self) -> Any:
        self.recording.peak = max(self.recording.peak, self.session.active)
        return self.session.step()


def _run_when_queued(scheduler: Scheduler, calls: list[Callable[[], None]], *, queued: int) -> None:
    """Run `calls` in threads; start `scheduler` once their `queued` requests all wait, so they meet in one wave."""
    threads = [threading.Thread(target=call) for call in calls]
    for thread in threads:
        thread.start()
    _wait(lambda: scheduler.queued == queued, f"{queued} requests to queue", timeout_s=30)
    scheduler.start()
    try:
        for thread in threads:
            thread.join(60)
    finally:
        scheduler.close()


@pytest.mark.slow
def test_concurrent_solves_run_in_one_batch(demo_backend: Any) -> None:
    recording = _Recording(demo_backend)
    scheduler = Scheduler(recording, concurrency=4, max_queue=8)
    shared = ScheduledBackend(recording, scheduler)  # type: ignore[arg-type]
    config = Config(temperature=0.0)
    plans = [plan_solve(config, load_templates(), f"What is {a} + {b}?") for a, b in ((48, 37), (12, 30))]
    results: list[SolveResult] = []

    def solve(index: int) -> None:
        plan = plans[index]
        *_, result = solve_stream(shared, plan.template, plan.problem, request=plan.request, controls=plan.controls)
        assert isinstance(result, SolveResult)
        results.append(result)

    _run_when_queued(scheduler, [lambda: solve(0), lambda: solve(1)], queued=2)
    assert recording.added == 2 and recording.peak == 2  # both ran side by side
    assert sorted(r.final_answer or "" for r in results) == ["42", "85"]


@pytest.mark.slow
def test_samples_and_another_calls_solve_run_in_one_batch(demo_backend: Any) -> None:
    """K samples are K jobs of the shared scheduler: they batch with each other and with other calls."""
    recording = _Recording(demo_backend)
    scheduler = Scheduler(recording, concurrency=4, max_queue=8)
    shared = ScheduledBackend(recording, scheduler)  # type: ignore[arg-type]
    config = Config(temperature=0.0)
    voting, single = (plan_solve(config, load_templates(), f"What is {a} + {b}?") for a, b in ((48, 37), (12, 30)))
    outcomes: dict[str, Any] = {}
    progress: list[Progress] = []

    async def report(step: Any) -> None:
        progress.append((step.progress, step.total, step.message))

    def vote() -> None:
        call = sample_and_vote(shared, voting, 3, same=lambda a, b: a == b, report=report, on_finish=lambda _: None)
        outcomes["vote"], _ = anyio.run(lambda: call)

    def solve() -> None:
        *_, outcomes["solve"] = solve_stream(shared, single.template, single.problem, request=single.request,
                                             controls=single.controls)  # fmt: skip

    _run_when_queued(scheduler, [vote, solve], queued=4)  # three samples and a solve
    assert recording.added == 4 and recording.peak == 4
    voted = outcomes["vote"]
    assert isinstance(voted, SamplesResult) and voted.final_answer == "85" and voted.vote.size == 3
    assert [s.seed for s in voted.samples] == [0, 1, 2] and outcomes["solve"].final_answer == "42"
    assert progress and progress[-1][0] == sum(s.tokens for s in voted.samples)


def test_samples_beyond_the_queue_are_refused_and_leave_it(demo_backend: Any) -> None:
    recording = _Recording(demo_backend)
    scheduler = Scheduler(recording, concurrency=1, max_queue=2)
    call = ScheduledBackend(recording, scheduler).for_call()  # type: ignore[arg-type]
    plan = plan_solve(Config(temperature=0.0), load_templates(), "What is 48 + 37?")
    with pytest.raises(QueueFull):
        next(call.stream_batch(sample_requests(plan.request, 3, None), cancels=[None] * 3))
    assert scheduler.queued == 2
    scheduler.start()  # the two that got in were cancelled: they leave without generating
    try:
        _wait(lambda: scheduler.queued == 0, "the queue to drain", timeout_s=30)
    finally:
        scheduler.close()
    assert recording.added == 0


def test_a_consumer_that_stops_early_frees_its_row(demo_backend: Any) -> None:
    scheduler = Scheduler(demo_backend, concurrency=1, max_queue=8)
    shared = ScheduledBackend(demo_backend, scheduler)
    plan = plan_solve(Config(temperature=0.0), load_templates(), "What is 48 + 37?")
    scheduler.start()
    try:
        stream = shared.stream(plan.request)
        next(stream)
        stream.close()  # the caller went away after the first token
        _wait(lambda: scheduler.running == 0, "the row to be freed", timeout_s=30)
        *_, finished = shared.stream(plan.request)
        assert finished.reason == "stop"  # type: ignore[union-attr]
    finally:
        scheduler.close()


def test_a_cancelled_call_leaves_the_queue_without_generating(demo_backend: Any) -> None:
    recording = _Recording(demo_backend)
    scheduler = Scheduler(recording, concurrency=1, max_queue=8)
    call = ScheduledBackend(recording, scheduler).for_call()  # type: ignore[arg-type]
    plan = plan_solve(Config(temperature=0.0), load_templates(), "What is 48 + 37?")
    items: list[Any] = []
    consumer = threading.Thread(target=lambda: items.extend(call.stream(plan.request)))
    consumer.start()
    _wait(lambda: scheduler.queued == 1, "the request to queue", timeout_s=30)
    call.cancel()  # the client gave up while its request waited
    scheduler.start()
    try:
        consumer.join(30)
    finally:
        scheduler.close()
    assert [item.reason for item in items] == ["cancelled"] and recording.added == 0


def _plan(budget: int | None = None, max_tokens: int = 1000) -> Any:
    return plan_solve(Config(think_budget=budget, max_tokens=max_tokens), load_templates(), "What is 1 + 1?")


def test_progress_is_throttled_rising_and_against_the_budget() -> None:
    throttle = ProgressThrottle(_plan(budget=500), interval_s=1.0)
    first = throttle.update(ThinkingDelta("a", 3), now=10.0)
    assert first is not None and (first.progress, first.total) == (3, 500) and "thinking: 3 of 500" in first.message
    assert throttle.update(ThinkingDelta("b", 9), now=10.5) is None  # within the interval
    later = throttle.update(ThinkingDelta("c", 20), now=11.2)
    assert later is not None and later.progress == 20
    answering = throttle.update(AnswerDelta("x", 25), now=11.3)
    assert answering is not None and answering.total == 1000 and "answering after 20" in answering.message
    assert throttle.update(AnswerDelta("y", 40), now=20.0) is None  # one report for the answer
    same = ProgressThrottle(_plan())
    assert same.update(ThinkingDelta("a", 4), now=1.0) is not None
    assert same.update(AnswerDelta("b", 4), now=1.1) is None  # progress must rise: nothing new to say


def test_samples_progress_sums_the_samples_and_always_rises() -> None:
    throttle = SamplesProgress(_plan(max_tokens=1000), 3, interval_s=1.0)
    first = throttle.update(SampleUpdate(0, 5, "thinking"), now=10.0)
    assert first is not None and (first.progress, first.total) == (5, 3000)
    assert first.message == "3 samples, 5 tokens: 3 thinking, 0 answering, 0 done"
    assert throttle.update(SampleUpdate(1, 7, "thinking"), now=10.2) is None  # within the interval
    answering = throttle.update(SampleUpdate(1, 9, "answering"), now=10.3)  # a new phase: reported at once
    assert answering is not None and answering.progress == 14 and "2 thinking, 1 answering" in answering.message
    later = throttle.update(SampleUpdate(2, 4, "thinking"), now=11.5)
    assert later is not None and later.progress == 18
    done = throttle.update(SampleUpdate(1, 12, "done", "85", "stop"), now=11.6)
    assert done is not None and done.progress == 21 and done.message.endswith("1 done")
    assert throttle.update(SampleUpdate(0, 5, "thinking"), now=20.0) is None  # nothing new: no report


def test_a_call_overrides_the_servers_settings_within_its_limits() -> None:
    config = Config(mode="auto", max_tokens=2000, temperature=0.0)
    plan = plan_solve(config, load_templates(), " What is 2 + 2? ", mode="code", think_budget=50, max_tokens=100)
    assert plan.template.name == "code" and plan.controls.budget == 50 and plan.request.max_new_tokens == 100
    assert plan.problem == "What is 2 + 2?" and plan.request.sampling.temperature == 0.0
    default = plan_solve(config, load_templates(), "What is 2 + 2?")
    assert default.template.name == "math" and default.request.max_new_tokens == 2000
    with pytest.raises(UsageError, match="above this server's limit of 2000"):
        plan_solve(config, load_templates(), "1 + 1?", max_tokens=2001)
    with pytest.raises(UsageError, match="unknown mode"):
        plan_solve(config, load_templates(), "1 + 1?", mode="nope")
