"""Spreading work over several servers: backoff for a failing one, failover to the others.

A job that fails in a retryable way (connection refused, timeout, 429, 5xx, a stream cut
short) goes back to the front of the queue and its server rests with exponential backoff
(or for as long as the server's Retry-After asks), so the healthy servers take it over.
A job gives up only after `RetryPolicy.max_attempts` failures across all servers.
"""

from __future__ import annotations

import collections
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

Job = TypeVar("Job")
Result = TypeVar("Result")


@dataclass(frozen=True)
class RetryPolicy:
    """How long a failing server rests (doubling from `base_s` up to `cap_s`) and when a job gives up."""

    base_s: float = 0.5
    cap_s: float = 30.0
    max_attempts: int = 8  # per job, over all servers: about a minute of a cluster being down


class Retryable(Exception):
    """A failure that another attempt, later or on another server, may not meet."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServerState(Generic[Job]):
    """One server's health: consecutive failures and when it may be tried again."""

    def __init__(self, url: str, limit: int | None, policy: RetryPolicy, client: Any = None) -> None:
        self.url, self.limit, self.policy = url, limit, policy
        self.client = client  # whatever talks to the server; the pool never touches it
        self.failures = 0
        self.down_until = 0.0
        self.in_flight = 0
        self._lock = threading.Lock()

    def wait_s(self) -> float:
        """Seconds until this server may be tried again (0 when it may be tried now)."""
        return max(0.0, self.down_until - time.monotonic())

    def failed(self, retry_after: float | None = None) -> None:
        with self._lock:
            self.failures += 1
            rest = self.policy.base_s * 2 ** (self.failures - 1)
            rest = min(self.policy.cap_s, max(rest, retry_after or 0.0))
            self.down_until = max(self.down_until, time.monotonic() + rest)

    def succeeded(self) -> None:
        with self._lock:
            self.failures = 0


def rest(seconds: float, cancel: threading.Event | None) -> bool:
    """Sleep `seconds` unless cancelled first; True when cancelled."""
    if cancel is None:
        time.sleep(seconds)
        return False
    return cancel.wait(seconds)


def pick_server(servers: Sequence[ServerState[Job]]) -> ServerState[Job]:
    """The server to use next: the one available soonest, then the least busy."""
    return min(servers, key=lambda s: (round(s.wait_s(), 3), s.in_flight))


@dataclass
class _Attempted(Generic[Job]):
    job: Job
    attempts: int = 0
    last_error: str = ""


class _Fatal:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def run_spread(
    servers: Sequence[ServerState[Job]],
    jobs: Sequence[Job],
    attempt: Callable[[ServerState[Job], Job], Result],
    give_up: Callable[[Job, str], Result],
    *,
    default_limit: int,
    cancel: threading.Event | None = None,
) -> Iterator[Result]:
    """Run `jobs` on `servers`, each with `limit` (else `default_limit`) at once; yield results as they finish.

    `attempt` returns a result or raises `Retryable`; any other exception stops the run and is
    raised here. `give_up` makes the result of a job that failed too often.
    """
    pending: collections.deque[_Attempted[Job]] = collections.deque(_Attempted(job) for job in jobs)
    lock = threading.Lock()
    results: queue.Queue[Result | _Fatal] = queue.Queue()
    stop = threading.Event()
    remaining = [len(jobs)]
    max_attempts = max(1, servers[0].policy.max_attempts) if servers else 1

    def worker(server: ServerState[Job]) -> None:
        while not stop.is_set():
            resting = server.wait_s()
            if resting > 0 and not (cancel is not None and cancel.is_set()):
                stop.wait(min(resting, 0.25))
                continue
            with lock:
                if remaining[0] == 0:
                    return
                item = pending.popleft() if pending else None
                server.in_flight += item is not None
            if item is None:  # others hold the last jobs; one of them may come back
                stop.wait(0.05)
                continue
            try:
                result = attempt(server, item.job)
            except Retryable as exc:
                server.failed(exc.retry_after)
                item.attempts += 1
                item.last_error = f"{server.url}: {exc}"
                with lock:
                    server.in_flight -= 1
                    if item.attempts < max_attempts:
                        pending.appendleft(item)
                        continue
                    remaining[0] -= 1
                results.put(give_up(item.job, f"gave up after {item.attempts} attempts ({item.last_error})"))
                continue
            except BaseException as exc:  # raised again in the caller's thread
                results.put(_Fatal(exc))
                stop.set()
                return
            server.succeeded()
            with lock:
                server.in_flight -= 1
                remaining[0] -= 1
            results.put(result)

    threads = [
        threading.Thread(target=worker, args=(server,), daemon=True, name=f"vibe-remote-{server.url}")
        for server in servers
        for _ in range(max(1, min(server.limit or default_limit, len(jobs))))
    ]
    for thread in threads:
        thread.start()
    try:
        for _ in range(len(jobs)):
            outcome = results.get()
            if isinstance(outcome, _Fatal):
                raise outcome.error
            yield outcome
    finally:
        stop.set()
