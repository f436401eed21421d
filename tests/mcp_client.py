"""`vibe mcp` in a subprocess, driven by the MCP SDK's own client from synchronous tests.

The client runs in an anyio blocking portal (its own event loop thread). When a session ends,
the server and every process it started must be gone: that is checked here, for every test.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from anyio.from_thread import BlockingPortal, start_blocking_portal
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp_types import CallToolResult, TextResourceContents
from procfs import descendants, process_tree, running

Progress = tuple[float, float | None, str | None]
NOBODY = 65534  # as root, the sandbox runs the checked program as nobody


def server_env() -> dict[str, str]:
    """What the test run isolates (XDG dirs, offline hub), on top of the SDK's safe defaults."""
    return {k: v for k, v in os.environ.items() if k.startswith(("XDG_", "HF_")) or k == "PYTHONPATH"}


class Session:
    """One connected client; every call blocks the test until the server answers."""

    def __init__(self, portal: BlockingPortal, client: Client, stderr: Path, stray: list[Exception]) -> None:
        self.portal, self.client, self.stderr, self.stray = portal, client, stderr, stray

    def call(self, name: str, arguments: dict[str, Any], progress: list[Progress] | None = None) -> CallToolResult:
        return self.portal.call(self._call, name, arguments, progress)

    def start(self, name: str, arguments: dict[str, Any], progress: list[Progress]) -> Future[CallToolResult]:
        """Start a call without waiting; cancelling the future makes the client cancel the request."""
        return self.portal.start_task_soon(self._call, name, arguments, progress)

    async def _call(self, name: str, arguments: dict[str, Any], progress: list[Progress] | None) -> CallToolResult:
        async def record(value: float, total: float | None, message: str | None) -> None:
            if progress is not None:
                progress.append((value, total, message))

        return await self.client.call_tool(name, arguments, progress_callback=record)

    def resource(self, uri: str) -> dict[str, Any]:
        result = self.portal.call(self.client.read_resource, uri)
        content = result.contents[0]
        assert isinstance(content, TextResourceContents) and content.mime_type == "application/json"
        return dict(json.loads(content.text))

    def log(self) -> str:
        return self.stderr.read_text()

    @property
    def pid(self) -> int:
        match = re.search(r"pid (\d+)", self.log())
        assert match, self.log()
        return int(match.group(1))


@contextmanager
def mcp_session(*args: str, stderr: Path) -> Iterator[Session]:
    """`vibe mcp ARGS` over stdio; on exit, asserts the server and its children are gone."""
    params = StdioServerParameters(command=sys.executable, args=["-m", "vibecli", "mcp", *args], env=server_env())
    stray: list[Exception] = []

    async def on_message(message: object) -> None:
        if isinstance(message, Exception):  # a stdout line that is not a protocol message
            stray.append(message)

    with stderr.open("w") as errlog, start_blocking_portal() as portal:
        client = Client(stdio_client(params, errlog=errlog), message_handler=on_message)
        with portal.wrap_async_context_manager(client) as connected:
            session = Session(portal, connected, stderr, stray)
            yield session
            tree = process_tree(session.pid)
        deadline = time.monotonic() + 20
        while running(tree) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not running(tree), f"processes left behind by vibe mcp: {sorted(running(tree))}"


def ctrl_c_as_on_a_terminal() -> None:
    # A test run started in the background (`.ci/run &`) ignores SIGINT, and children inherit that;
    # uvicorn restores the inherited handler before re-raising the Ctrl-C it caught, so the exit would be 0.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def sandboxes(server: int) -> set[int]:
    """Live sandbox processes below `server`: the launcher (bubblewrap, unshare), the sandbox's
    boot script, and whatever runs as nobody (as root the checked program does)."""
    found = set()
    for pid in running(descendants(server)):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            owner = Path(f"/proc/{pid}").stat().st_uid
        except OSError:
            continue
        if owner == NOBODY or any(part.endswith((b"boot.py", b"bwrap", b"unshare")) for part in command):
            found.add(pid)
    return found


class RawServer:
    """`vibe mcp ARGS` over stdio, driven line by line with raw JSON-RPC: malformed input, signals,
    a stdin that closes mid-call."""

    def __init__(self, *args: str, stderr: Path) -> None:
        self.stderr = stderr
        with stderr.open("w") as errlog:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "vibecli", "mcp", *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=errlog, env={**os.environ, **server_env()}, preexec_fn=ctrl_c_as_on_a_terminal,
            )  # fmt: skip
        self.messages: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        self._seen: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.request(0, "initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                       "clientInfo": {"name": "raw", "version": "1"}})  # fmt: skip
        assert "result" in self.reply(0, timeout_s=60), self.stderr.read_text()
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.messages.put(json.loads(line))

    def send(self, message: dict[str, Any] | str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write((message if isinstance(message, str) else json.dumps(message)).encode() + b"\n")
        self.process.stdin.flush()

    def request(self, request_id: int, method: str, params: dict[str, Any]) -> None:
        self.send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})

    def call(self, request_id: int, tool: str, arguments: dict[str, Any]) -> None:
        self.request(request_id, "tools/call", {"name": tool, "arguments": arguments})

    def reply(self, request_id: int | None, timeout_s: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            for message in self._seen:
                if "method" not in message and message.get("id") == request_id:
                    self._seen.remove(message)
                    return message
            self._seen.append(self.messages.get(timeout=max(0.01, deadline - time.monotonic())))

    def exit_within(self, timeout_s: float) -> tuple[int, float]:
        """The exit code, and the seconds it took from now (the process is killed past `timeout_s`)."""
        started = time.monotonic()
        try:
            code = self.process.wait(timeout=timeout_s)
        finally:
            self.process.kill()
        return code, time.monotonic() - started

    @property
    def pid(self) -> int:
        return self.process.pid


def start_server(args: list[str], log: Path, announced: str) -> tuple[subprocess.Popen[bytes], re.Match[str]]:
    """`vibe ARGS` in the background, stderr to `log`, once a line there matches `announced`
    (its start line, with the address)."""
    with log.open("w") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "vibecli", *args], stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=stderr,
                                   preexec_fn=ctrl_c_as_on_a_terminal)  # fmt: skip
    deadline = time.monotonic() + 120
    while not (match := re.search(announced, log.read_text())):
        assert process.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)
    return process, match
