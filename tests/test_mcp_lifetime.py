"""How `vibe mcp` stops and cancels: Ctrl-C, SIGTERM and a closed stdin end it in time, idle or
busy; a cancelled `verify_code` kills its sandbox; a quick check never waits behind a slow one;
malformed input gets JSON-RPC errors, never a traceback."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx2
import pytest
from mcp_client import RawServer, sandboxes, start_server
from procfs import running

FOREVER = {"code": "while True: pass", "tests": [{"input": "", "output": ""}] * 20, "timeout_s": 30}
# SymPy cannot solve this system within the substitution checker's 20 s limit.
SLOW_SYSTEM = {"equation": "x^5 + y^4 z + z^3 = 76; x^2 y^3 + z^2 x = 17; x y z^2 + y^5 = 50",
               "solution": "x=1, y=2, z=3"}  # fmt: skip


def _wait(condition: Callable[[], object], what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _running_sandbox(server: RawServer) -> set[int]:
    """Waits for the sandbox of a running check, and returns its processes."""
    _wait(lambda: sandboxes(server.pid), "a sandbox to start")
    time.sleep(0.5)  # the checked program itself starts a moment after its launcher
    return sandboxes(server.pid)


def _gone_within(pids: set[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while running(pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture
def raw(tmp_path: Path) -> Iterator[RawServer]:
    server = RawServer("--model", "demo", "--shutdown-timeout", "10", stderr=tmp_path / "stderr.log")
    yield server
    server.process.kill()
    assert "Traceback" not in server.stderr.read_text()


@pytest.mark.slow
def test_ctrl_c_stops_an_idle_stdio_server_within_2s(raw: RawServer) -> None:
    raw.process.send_signal(signal.SIGINT)
    code, seconds = raw.exit_within(30)
    assert code == 130 and seconds < 2.0, (code, seconds, raw.stderr.read_text())


def _close_stdin(raw: RawServer) -> None:
    assert raw.process.stdin is not None
    raw.process.stdin.close()


def _sigterm_then_ctrl_c(raw: RawServer) -> None:
    raw.process.send_signal(signal.SIGTERM)  # the call could run 10 s more (--shutdown-timeout)
    _wait(lambda: "SIGTERM: finishing 1 call(s)" in raw.stderr.read_text(), "the drain to start")
    raw.process.send_signal(signal.SIGINT)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("stop", "code"),
    [
        (lambda raw: raw.process.send_signal(signal.SIGINT), 130),
        (_close_stdin, 0),
        (_sigterm_then_ctrl_c, 130),  # a second signal ends the drain at once
    ],
    ids=["ctrl-c", "stdin closed", "ctrl-c while draining"],
)
def test_a_busy_stdio_server_and_its_sandbox_stop_within_2s(
    raw: RawServer, stop: Callable[[RawServer], None], code: int
) -> None:
    raw.call(2, "verify_code", FOREVER)
    sandbox = _running_sandbox(raw)
    stop(raw)
    exited, seconds = raw.exit_within(30)
    assert exited == code and seconds < 2.0, (exited, seconds, raw.stderr.read_text())
    assert _gone_within(sandbox, 2.0), f"sandbox processes left: {running(sandbox)}"


@pytest.mark.slow
def test_sigterm_lets_a_call_finish_refuses_new_ones_and_exits_143(raw: RawServer) -> None:
    two_seconds = {"code": "import time\ntime.sleep(2)\nprint(1)", "tests": [{"input": "", "output": "1"}]}
    raw.call(2, "verify_code", two_seconds)
    _running_sandbox(raw)
    raw.process.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    raw.call(3, "verify_math", {"pred": "1", "gold": "1"})
    refused = raw.reply(3)
    assert refused["error"]["message"] == "the server is shutting down", refused
    finished = raw.reply(2)
    assert finished["result"]["structuredContent"]["verdict"] == "passed", finished
    code, _ = raw.exit_within(10)
    assert code == 143, raw.stderr.read_text()


@pytest.mark.slow
def test_sigterm_cancels_what_outlives_the_shutdown_timeout(tmp_path: Path) -> None:
    raw = RawServer("--model", "demo", "--shutdown-timeout", "1", stderr=tmp_path / "stderr.log")
    raw.call(2, "verify_code", FOREVER)
    sandbox = _running_sandbox(raw)
    raw.process.send_signal(signal.SIGTERM)
    code, seconds = raw.exit_within(30)
    assert code == 143 and seconds < 1 + 2.0, (code, seconds, raw.stderr.read_text())
    assert _gone_within(sandbox, 2.0), f"sandbox processes left: {running(sandbox)}"


@pytest.mark.slow
def test_sigterm_does_not_wait_for_a_cancelled_call(raw: RawServer) -> None:
    raw.call(2, "verify_code", FOREVER)
    _running_sandbox(raw)
    raw.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 2}})
    time.sleep(0.5)
    raw.process.send_signal(signal.SIGTERM)
    code, seconds = raw.exit_within(30)
    assert code == 143 and seconds < 2.0, (code, seconds, raw.stderr.read_text())


@pytest.mark.slow
def test_a_cancelled_verify_code_kills_its_sandbox_and_starts_no_more_tests(raw: RawServer) -> None:
    raw.call(2, "verify_code", FOREVER)
    sandbox = _running_sandbox(raw)
    raw.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 2}})
    assert _gone_within(sandbox, 2.0), f"sandbox processes left: {running(sandbox)}"
    time.sleep(1.0)  # the next of the 20 tests would have started by now
    assert not sandboxes(raw.pid), "a cancelled check started another test"
    raw.call(3, "verify_math", {"pred": "0.5", "gold": "1/2"})
    assert raw.reply(3)["result"]["structuredContent"]["verdict"] == "equal"


@pytest.mark.slow
def test_a_quick_check_answers_within_1s_behind_a_slow_one(raw: RawServer) -> None:
    raw.call(2, "verify_math", {"pred": "1", "gold": "1"})  # SymPy imported, the workers forked
    raw.call(3, "check_equation", {"equation": "x = 1", "solution": "x = 1"})
    raw.reply(2), raw.reply(3)
    raw.call(4, "check_equation", SLOW_SYSTEM)
    time.sleep(1.0)
    started = time.monotonic()
    raw.call(5, "verify_math", {"pred": "0.5", "gold": "1/2"})
    quick = raw.reply(5)
    seconds = time.monotonic() - started
    assert quick["result"]["structuredContent"]["verdict"] == "equal" and seconds < 1.0, (seconds, quick)
    slow = raw.reply(4, timeout_s=60)  # the slow one was really running meanwhile: it times out at 20 s
    assert "timed out after 20s" in slow["result"]["structuredContent"]["reason"], slow


@pytest.mark.slow
def test_a_cancelled_slow_check_frees_its_lane_at_once(tmp_path: Path) -> None:
    raw = RawServer("--model", "demo", "--check-workers", "1", stderr=tmp_path / "stderr.log")
    raw.call(2, "check_equation", {"equation": "x = 1", "solution": "x = 1"})
    raw.reply(2)
    raw.call(3, "check_equation", SLOW_SYSTEM)
    time.sleep(1.0)
    raw.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 3}})
    started = time.monotonic()
    raw.call(4, "check_equation", {"equation": "x^2 = 4", "solution": "x = 2, x = -2"})
    quick = raw.reply(4)
    seconds = time.monotonic() - started
    assert quick["result"]["structuredContent"]["verdict"] == "correct" and seconds < 1.0, (seconds, quick)
    assert raw.process.stdin is not None
    raw.process.stdin.close()
    assert raw.exit_within(30)[0] == 0


@pytest.mark.slow
def test_malformed_input_gets_json_rpc_errors_and_one_log_line(raw: RawServer) -> None:
    raw.send("{not json")
    assert raw.reply(None)["error"]["code"] == -32700
    raw.send("[1, 2]")
    assert raw.reply(None)["error"]["code"] == -32600
    raw.request(2, "prompts/get", {"name": "no-such-prompt"})
    unknown = raw.reply(2)["error"]
    assert unknown["code"] == -32602 and "unknown prompt 'no-such-prompt' (available: code," in unknown["message"]
    raw.request(3, "prompts/get", {"name": "math", "arguments": {}})
    missing = raw.reply(3)["error"]
    assert (missing["code"], missing["message"]) == (-32602, "prompt 'math' needs the argument 'problem'")
    raw.request(4, "resources/read", {"uri": "vibe://nothing"})
    assert raw.reply(4)["error"]["code"] == -32602
    raw.call(5, "verify_code", {"code": "print(1)", "tests": 5})
    text = raw.reply(5)["result"]["content"][0]["text"]
    assert "a list of {input, output} cases or an assert script" in text and "valid list" not in text
    log = raw.stderr.read_text()
    assert log.count("not JSON: answered -32700") == 1 and "Traceback" not in log, log
    assert len(log.strip().splitlines()) == 2, log  # the start line and the parse error's


def _http_server_running_a_check(
    tmp_path: Path, *extra: str
) -> tuple[httpx2.URL, dict[str, str], subprocess.Popen[bytes], set[int]]:
    """`vibe mcp --transport http` with one session whose `verify_code` never ends by itself (its
    response stream open); returns the URL, the session's headers, the server and the sandbox."""
    args = ["mcp", "--model", "demo", "--transport", "http", "--port", "0", *extra]
    process, started = start_server(args, tmp_path / "http.log", r"on (http://\S+/mcp)")
    url = httpx2.URL(started.group(1))
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    hello = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": hello}
    reply = httpx2.post(url, json=init, headers=headers, timeout=30)
    session = {**headers, "mcp-session-id": reply.headers["mcp-session-id"]}
    httpx2.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=session, timeout=30)
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "verify_code", "arguments": FOREVER}}

    def hold() -> None:
        try:
            with httpx2.stream("POST", url, json=call, headers=session, timeout=60) as stream:
                for _ in stream.iter_bytes():
                    pass
        except httpx2.HTTPError:
            pass

    threading.Thread(target=hold, daemon=True).start()
    _wait(lambda: sandboxes(process.pid), "a sandbox to start")
    time.sleep(0.5)
    return url, session, process, sandboxes(process.pid)


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_http_shutdown_takes_no_longer_than_the_shutdown_timeout(tmp_path: Path, signum: int, code: int) -> None:
    _, _, process, sandbox = _http_server_running_a_check(tmp_path, "--shutdown-timeout", "3")
    process.send_signal(signum)
    started = time.monotonic()
    try:
        exit_code = process.wait(timeout=30)
    finally:
        process.kill()
    seconds = time.monotonic() - started
    assert exit_code == code and seconds <= 3.0, (exit_code, seconds, (tmp_path / "http.log").read_text())
    assert _gone_within(sandbox, 2.0), f"sandbox processes left: {running(sandbox)}"


@pytest.mark.slow
def test_an_http_session_that_ends_kills_its_running_sandbox(tmp_path: Path) -> None:
    """A client that ends its session abandons its calls. (A dropped connection alone does not: the
    protocol says a disconnection is not a cancellation.)"""
    url, session, process, sandbox = _http_server_running_a_check(tmp_path)
    try:
        assert httpx2.request("DELETE", url, headers=session, timeout=30).status_code == 200
        assert _gone_within(sandbox, 2.0), f"sandbox processes left: {running(sandbox)}"
        time.sleep(1.0)  # the next of the 20 tests would have started by now
        assert not sandboxes(process.pid), "an abandoned check started another test"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        finally:
            process.kill()
