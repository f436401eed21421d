"""Starting one sandbox and collecting what comes back, on channels the program cannot forge.

Three pipes besides stdin, stdout and stderr (their numbers are the same inside):
- payload, vibe to boot.py: the job, then (for assert tests) the tests, read by the harness;
- status, boot.py to vibe: a setup failure, or how the program ended;
- verdict, harness to vibe: the test's verdict, written after the test returned.
stdout and stderr are drained to the end, whatever their size, keeping a bounded part, so that a
chatty program never blocks on a full pipe.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from vibecli.lifetime import die_with_parent
from vibecli.verify.sandbox.cgroups import CheckGroup
from vibecli.verify.sandbox.harness import read_message, write_message

STDERR_TAIL = 64 << 10
CHANNEL_CAP = 1 << 20


@dataclass(frozen=True)
class Outcome:
    """What vibe itself saw of one run."""

    exit_code: int | None  # None when the program was killed by a signal, or never reported
    signal: int | None
    stdout: str
    stderr: str
    wall_s: float
    timed_out: bool  # vibe's own wall-clock timer fired
    output_overflow: bool
    out_of_memory: bool  # the cgroup's OOM killer acted
    verdict: dict[str, Any] | None  # the harness's record (assert tests)
    setup_error: str | None  # boot.py could not build the sandbox


class _Sink:
    """Reads a stream to its end, keeping its head (stdout) or its tail (stderr)."""

    def __init__(
        self, stream: IO[bytes] | None, cap: int, *, keep_tail: bool, stop_at_cap: bool, wake: threading.Event
    ) -> None:
        self.data, self.overflow = bytearray(), threading.Event()
        self._cap, self._tail, self._stop, self._wake = cap, keep_tail, stop_at_cap, wake
        self.thread = threading.Thread(target=self._drain, args=(stream,), daemon=True)
        self.thread.start()

    def _drain(self, stream: IO[bytes] | None) -> None:
        while stream is not None and (chunk := stream.read(65536)):
            self.data.extend(chunk)
            if len(self.data) > self._cap:
                self.overflow.set()
                if self._stop:
                    del self.data[self._cap :]
                    self._wake.set()
                    return
                if self._tail:
                    del self.data[: len(self.data) - self._cap]
                else:
                    del self.data[self._cap :]

    def text(self) -> str:
        return self.data.decode(errors="replace")


def _records(fd: int, into: list[dict[str, Any]]) -> None:
    with os.fdopen(fd, "rb", buffering=0) as stream:
        budget = CHANNEL_CAP
        while budget > 0:
            try:
                message = read_message(stream.fileno())
                into.append(json.loads(message))
            except (EOFError, ValueError, OSError):
                return
            budget -= len(message)


def _send(fd: int, messages: list[bytes], data: bytes, pipe: IO[bytes] | None) -> None:
    try:
        for message in messages:
            write_message(fd, message)
    except OSError:
        pass  # the sandbox ended before it read its job: its status says why
    finally:
        os.close(fd)
    if pipe is not None:
        try:
            pipe.write(data)
            pipe.close()
        except OSError:
            pass  # the program exited without reading all its input


def launch(
    command: Callable[[int, int, int], list[str]], messages: list[bytes], stdin: bytes | None, *,
    wall_s: float, output_bytes: int, stop_at_output_cap: bool, group: CheckGroup | None, cwd: str,
    cancel: threading.Event | None = None,
) -> Outcome:  # fmt: skip
    """Run `command(payload_fd, status_fd, verdict_fd)` under vibe's timer and collect its outcome;
    `cancel`, once set, kills the sandbox as the timer would."""
    payload_r, payload_w = os.pipe()
    status_r, status_w = os.pipe()
    verdict_r, verdict_w = os.pipe()
    inner = (payload_r, status_w, verdict_w)

    def prepare() -> None:
        die_with_parent()  # a SIGKILLed vibe takes the sandbox's PID 1, and so all of it, along
        os.umask(0o022)  # the directories bubblewrap makes for its mounts must be traversable
        if group is not None:
            group.join()

    started = time.monotonic()
    try:
        process = subprocess.Popen(
            command(*inner), cwd=cwd, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={"PATH": "/usr/bin:/bin"}, pass_fds=inner,
            start_new_session=True, preexec_fn=prepare,
        )  # fmt: skip
    finally:
        for fd in inner:
            os.close(fd)
    statuses: list[dict[str, Any]] = []
    verdicts: list[dict[str, Any]] = []
    readers = [threading.Thread(target=_records, args=(fd, into), daemon=True)
               for fd, into in ((status_r, statuses), (verdict_r, verdicts))]  # fmt: skip
    for reader in readers:
        reader.start()
    ended = threading.Event()  # the launcher exited, or stdout went over its cap
    out = _Sink(process.stdout, output_bytes, keep_tail=False, stop_at_cap=stop_at_output_cap, wake=ended)
    err = _Sink(process.stderr, STDERR_TAIL, keep_tail=True, stop_at_cap=False, wake=ended)
    threading.Thread(target=_send, args=(payload_w, messages, stdin or b"", process.stdin), daemon=True).start()

    def wake_when_exited() -> None:
        process.wait()
        ended.set()

    threading.Thread(target=wake_when_exited, daemon=True).start()
    deadline = started + wall_s
    while not ended.wait(timeout=max(0.0, min(0.02, deadline - time.monotonic()))):
        if time.monotonic() >= deadline or (cancel is not None and cancel.is_set()):
            break
    timed_out = False
    capped = stop_at_output_cap and out.overflow.is_set()  # the sink ended the run, not the timer
    if process.poll() is None:
        # A tests job's stdout is drained past its cap without ending the run (the verdict comes
        # from the harness), so only a capped program job ends early for its output.
        timed_out = not capped and not (cancel is not None and cancel.is_set())
        _kill(process)
    process.wait()
    wall = time.monotonic() - started
    out_of_memory = group is not None and _oom(group)
    if group is not None:
        group.remove()  # nothing of this check outlives it
    for thread in (*readers, out.thread, err.thread):
        thread.join(timeout=2)
    exited = next((s for s in statuses if s.get("event") == "exited"), None)
    failed = next((s for s in statuses if s.get("event") == "setup_failed"), None)
    return Outcome(
        exit_code=exited.get("code") if exited else None, signal=exited.get("signal") if exited else None,
        stdout=out.text(), stderr=err.text(), wall_s=wall, timed_out=timed_out,
        output_overflow=capped,
        out_of_memory=out_of_memory, verdict=verdicts[0] if verdicts else None,
        setup_error=str(failed.get("message")) if failed else None,
    )  # fmt: skip


def _oom(group: CheckGroup) -> bool:
    try:
        return group.out_of_memory()
    except (OSError, ValueError):
        return False


def _kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the launcher's group: bwrap or unshare dies, its child (the namespace's PID 1) gets
    its parent-death signal, and the kernel kills every process of the namespace."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
