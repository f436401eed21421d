"""No orphans: `vibe batch` and `vibe serve` in subprocesses, stopped by signals, leave nothing
running and the port free. Each runs in a session of its own, so every process it started
(the verify workers are forked from it) can be found by its process group afterwards."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from procfs import group
from test_batch_cli import problem_set, results

VIBE = [sys.executable, "-m", "vibecli"]


def listening_ports() -> set[int]:
    """TCP ports some process on this machine listens on (IPv4 and IPv6)."""
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A":  # LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def settle(pgid: int, seconds: float = 10.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while (left := group(pgid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def wait_for(condition: object, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.02)
    assert condition(), "timed out"  # type: ignore[operator]


pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def start_batch(tmp_path: Path, seed: int, *, written: int) -> tuple[subprocess.Popen[bytes], Path]:
    """`vibe batch` on 40 problems in a session of its own, once `written` results are on disk."""
    problem_set(tmp_path / "set.jsonl", 40, seed=seed)
    out = tmp_path / "out.jsonl"
    command = [*VIBE, "batch", str(tmp_path / "set.jsonl"), "-o", str(out), "-t", "0", "-c", "2"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        wait_for(lambda: out.exists() and out.read_text().count("\n") >= written)
    except AssertionError:
        proc.kill()
        raise
    return proc, out


def test_sigkill_of_batch_leaves_no_process_behind(tmp_path: Path) -> None:
    proc, _ = start_batch(tmp_path, 21, written=1)
    try:
        assert len(group(proc.pid)) >= 2, "the verify worker is running beside the batch"
    finally:
        proc.kill()
        proc.wait()
    assert settle(proc.pid) == [], "the verify worker died with its parent"


def test_sigterm_of_batch_keeps_results_says_how_to_resume_and_exits_143(tmp_path: Path) -> None:
    proc, out = start_batch(tmp_path, 22, written=2)
    try:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 143, err
    assert b"--resume" in err and b"Traceback" not in err
    done = results(out)
    assert 2 <= len(done) < 40 and len({r["id"] for r in done}) == len(done)
    assert settle(proc.pid) == []


def _stream(port: int, body: dict[str, object], events: list[object], started: threading.Event) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("POST", "/v1/chat/completions", body=json.dumps(body), headers={"content-type": "application/json"})
    response = conn.getresponse()
    try:
        while line := response.readline():
            if line.startswith(b"data: "):
                events.append(line[6:].strip().decode())
                started.set()
    except (OSError, http.client.HTTPException) as exc:
        events.append(exc)


def test_sigterm_of_serve_ends_streams_stops_workers_and_frees_the_port(endless_model_dir: Path) -> None:
    command = [*VIBE, "serve", "--model", str(endless_model_dir), "--port", "0", "--shutdown-timeout", "2", "-q"]
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert proc.stderr is not None
        banner = proc.stderr.readline()
        match = re.search(r"127\.0\.0\.1:(\d+)/v1", banner)
        assert match, banner
        port = int(match.group(1))
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("POST", "/v1/verify", body=json.dumps({"gold": "1/2", "pred": "0.5"}))
        assert json.loads(conn.getresponse().read())["verdict"] == "equal"
        conn.close()
        assert len(group(proc.pid)) >= 2, "the verify worker is running beside the server"
        # A generation that would run for minutes: the drain's 2 s end it.
        long = {"messages": [{"role": "user", "content": "What is 12345 + 98765?"}], "temperature": 0, "stream": True}
        events: list[object] = []
        started = threading.Event()
        reader = threading.Thread(target=_stream, args=(port, long, events, started), daemon=True)
        reader.start()
        assert started.wait(60)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        reader.join(10)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 143
    finishes = [json.loads(e)["choices"][0]["finish_reason"] for e in events if isinstance(e, str) and e[0] == "{"]
    assert events[-1] == "[DONE]" and finishes[-1] == "abort", events[-3:]
    assert settle(proc.pid) == [], "no worker outlives the server"
    # Nothing listens on the port: a new server can take it. (Binding it here instead would race
    # with other programs' outgoing connections, which draw from the same pool of port numbers.)
    assert port not in listening_ports()


def test_verify_workers_hold_no_socket_of_their_parent() -> None:
    from vibecli.verify.worker import WorkerPool

    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen()
    port = listening.getsockname()[1]
    with WorkerPool(workers=2) as pool:
        pids = set(pool.map("os:getpid", [(), ()]))  # one call each: both workers are up
        assert len(pids) == 2 and os.getpid() not in pids
        listening.close()
        assert port not in listening_ports(), "a copy of the socket in a worker would keep it listening"
