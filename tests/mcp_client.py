"""`vibe mcp` in a subprocess, driven by the MCP SDK's own client from synchronous tests.

The client runs in an anyio blocking portal (its own event loop thread). When a session ends,
the server and every process it started must be gone: that is checked here, for every test.
"""

from __future__ import annotations

import json
import os
import re
import sys
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
from procfs import process_tree, running

Progress = tuple[float, float | None, str | None]


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
