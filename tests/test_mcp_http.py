"""`vibe mcp --transport http`: the same tools over streamable HTTP, behind an API key; and the
command's usage errors."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_client import start_server
from procfs import process_tree, running
from typer.testing import CliRunner

from vibecli.cli.app import app

KEY = "test-key-123"
runner = CliRunner()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """`vibe mcp --model demo` over HTTP with an API key (on loopback, where a key is optional)."""
    log = tmp_path_factory.mktemp("mcp-http") / "stderr.log"
    args = ["mcp", "--model", "demo", "--transport", "http", "--port", "0", "--api-key", KEY, "-t", "0"]
    process, match = start_server(args, log, r"on (http://127\.0\.0\.1:\d+/mcp)")
    yield match.group(1), log
    tree = process_tree(process.pid)
    process.send_signal(signal.SIGINT)
    try:
        assert process.wait(timeout=30) == 130, log.read_text()  # Ctrl-C: the documented 130
    finally:
        process.kill()
    deadline = time.monotonic() + 20
    while running(tree) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not running(tree), f"processes left behind by vibe mcp: {sorted(running(tree))}"


async def _session(url: str, key: str | None, work: Any) -> Any:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=120) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        return await work(client)


@pytest.mark.slow
def test_tools_answer_over_streamable_http(served: tuple[str, Path]) -> None:
    url, log = served

    async def work(client: Client) -> tuple[Any, ...]:
        tools = await client.list_tools()
        progress: list[float] = []

        async def record(value: float, total: float | None, message: str | None) -> None:
            progress.append(value)

        solved = await client.call_tool("solve", {"problem": "What is 48 + 37?"}, progress_callback=record)
        checked = await client.call_tool("verify_math", {"pred": "0.5", "gold": "1/2"})
        bad = await client.call_tool("verify_math", {"pred": "0.5"})
        return tools, solved, checked, bad, progress

    tools, solved, checked, bad, progress = anyio.run(_session, url, KEY, work)
    assert {t.name for t in tools.tools} == {"solve", "verify_math", "check_equation", "check_ode", "verify_code"}
    assert solved.structured_content["final_answer"] == "85" and progress
    assert checked.structured_content["verdict"] == "equal"
    assert bad.is_error and "missing required argument 'gold'" in bad.content[0].text
    assert "solve · math · stop" in log.read_text()


@pytest.mark.slow
def test_http_refuses_a_missing_or_wrong_key(served: tuple[str, Path]) -> None:
    url, _ = served
    for key in (None, "wrong"):
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
        reply = httpx2.post(url, json=body, headers={**headers, "Accept": "application/json, text/event-stream"})
        assert reply.status_code == 401 and "API key" in json.loads(reply.text)["error"]["message"]
        with pytest.raises(BaseException) as refused:  # the SDK client raises it inside exception groups
            anyio.run(_session, url, key, lambda client: client.list_tools())
        assert "missing or wrong API key" in repr(refused.value)


@pytest.mark.slow
def test_the_key_is_a_bearer_token_and_a_refusal_names_realm_and_error(served: tuple[str, Path]) -> None:
    url, _ = served
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    accept = {"Accept": "application/json, text/event-stream"}
    for header in (f"bearer {KEY}", f"BEARER  {KEY}"):  # the scheme is case-insensitive (RFC 6750)
        assert httpx2.post(url, json=body, headers={**accept, "Authorization": header}).status_code != 401
    for header in (KEY, f"Basic {KEY}", f"Bearer{KEY}"):
        refused = httpx2.post(url, json=body, headers={**accept, "Authorization": header})
        assert refused.status_code == 401, header
        challenge = refused.headers["www-authenticate"]
        assert challenge.startswith("Bearer ") and 'realm="vibe mcp"' in challenge
        assert 'error="invalid_token"' in challenge


@pytest.mark.slow
def test_client_errors_over_http_are_json_rpc_errors_without_a_traceback(served: tuple[str, Path]) -> None:
    url, log = served
    headers = {"Accept": "application/json, text/event-stream", "Authorization": f"Bearer {KEY}",
               "Content-Type": "application/json"}  # fmt: skip
    assert httpx2.post(url, content=b"{not json", headers=headers).json()["error"]["code"] == -32700

    async def work(client: Client) -> None:
        with pytest.raises(Exception, match="unknown prompt 'nope'"):
            await client.get_prompt("nope", {})
        with pytest.raises(Exception, match="needs the argument 'problem'"):
            await client.get_prompt("math", {})

    anyio.run(_session, url, KEY, work)
    assert "Traceback" not in log.read_text()


def test_a_non_loopback_host_needs_an_api_key() -> None:
    result = runner.invoke(app, ["mcp", "--model", "demo", "--transport", "http", "--host", "0.0.0.0"])
    assert result.exit_code == 2 and "--api-key" in result.stderr


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--port", "9000"], 2, "--host and --port apply to --transport http"),
        (["--transport", "ftp"], 2, "--transport must be stdio or http"),
        (["--mode", "algebra"], 2, "unknown mode 'algebra'"),
        (["--model", "no-such-model"], 3, "neither a directory nor a known name"),
    ],
)
def test_bad_flags_are_one_line_and_a_documented_exit_code(args: list[str], code: int, message: str) -> None:
    result = runner.invoke(app, ["mcp", *args])
    assert result.exit_code == code, result.stderr
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""


def test_a_taken_port_fails_before_the_model_loads() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = runner.invoke(app, ["mcp", "--model", "demo", "--transport", "http", "--port", port])
    assert result.exit_code == 3 and "cannot listen on 127.0.0.1" in result.stderr


def test_help_imports_no_heavy_library() -> None:
    probe = (
        "import sys; from vibecli.cli.app import app\n"
        "try: app(args=['mcp', '--help'], prog_name='vibe')\nexcept SystemExit: pass\n"
        "print([m for m in ('torch', 'transformers', 'sympy', 'mcp', 'pydantic', 'starlette', 'uvicorn') "
        "if m in sys.modules], file=sys.stderr)"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert "--transport" in proc.stdout
    assert proc.stderr.strip().splitlines()[-1] == "[]"
