"""DNS-rebinding protection of `vibe mcp --transport http` and `vibe serve`: on every address, a
request whose Host or Origin does not name the server is refused; and the API key's header."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import pytest
from mcp_client import start_server

from vibecli.mcp.transport import bearer_token
from vibecli.serve.hosts import AllowedHosts, host_part

KEY = "key-456"
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
CLIENT = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
HELLO = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": CLIENT}


def _outward_address() -> str | None:
    """This machine's address on its default route, if it has one (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("203.0.113.1", 9))
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if ipaddress.ip_address(address).is_loopback else address


@contextmanager
def _serving(*command: str, tmp_path: Path) -> Iterator[tuple[str, int]]:
    """The server's (address, port), from its start line; it is stopped with Ctrl-C afterwards."""
    log = tmp_path / "stderr.log"
    process, match = start_server([*command, "--port", "0"], log, r"on http://([^\s/]+):(\d+)/")
    try:
        yield match.group(1), int(match.group(2))
    finally:
        process.send_signal(2)
        try:
            process.wait(timeout=30)
        finally:
            process.kill()
        assert "Traceback" not in log.read_text()


def _post(address: str, port: int, *, host: str | None = None, origin: str | None = None,
          key: str | None = None) -> httpx2.Response:  # fmt: skip
    headers = dict(HEADERS)
    if host is not None:
        headers["Host"] = host
    if origin is not None:
        headers["Origin"] = origin
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    return httpx2.post(f"http://{address}:{port}/mcp", json=HELLO, headers=headers, timeout=30)


def test_names_of_an_address() -> None:
    assert host_part("127.0.0.2:8001") == "127.0.0.2" and host_part("[::1]:80") == "::1"
    assert host_part("Example.COM.") == "example.com"
    second = AllowedHosts("127.0.0.2", "127.0.0.2")
    assert second.allows("127.0.0.2") and not second.allows("127.0.0.1") and not second.allows("evil.example")
    assert AllowedHosts("localhost", "127.0.0.1").allows("localhost")
    anywhere = AllowedHosts("0.0.0.0", "0.0.0.0")
    assert anywhere.allows("127.0.0.1") and anywhere.allows("localhost")
    assert not anywhere.allows("203.0.113.7") and not anywhere.allows("evil.example")
    assert anywhere.refusal({b"host": b"127.0.0.1:1", b"origin": b"null"}) is not None
    assert anywhere.refusal({b"origin": b"http://127.0.0.1"}) is not None  # no Host at all


def test_bearer_credentials_follow_rfc_6750() -> None:
    assert bearer_token(b"Bearer k") == bearer_token(b"bearer k") == bearer_token(b"BEARER   k") == b"k"
    assert bearer_token(b"k") is None and bearer_token(b"Bearer") is None and bearer_token(b"Basic k") is None
    assert bearer_token(b"Bearer a b") is None


@pytest.mark.slow
def test_mcp_on_127_0_0_2_refuses_other_hosts_and_origins(tmp_path: Path) -> None:
    args = ("mcp", "--model", "demo", "--transport", "http", "--host", "127.0.0.2")
    with _serving(*args, tmp_path=tmp_path) as (address, port):
        assert _post(address, port).status_code == 200
        assert _post(address, port, origin=f"http://127.0.0.2:{port}").status_code == 200
        host = _post(address, port, host="evil.example")
        assert host.status_code == 421 and "does not name this server" in host.json()["error"]["message"]
        assert _post(address, port, host=f"127.0.0.1:{port}").status_code == 421
        origin = _post(address, port, origin="http://evil.example")
        assert origin.status_code == 403 and "evil.example" in origin.json()["error"]["message"]


@pytest.mark.slow
def test_mcp_on_a_non_loopback_address_refuses_other_hosts_even_with_the_key(tmp_path: Path) -> None:
    outward = _outward_address()
    if outward is None:
        pytest.skip("this machine has no non-loopback address")
    args = ("mcp", "--model", "demo", "--transport", "http", "--host", outward, "--api-key", KEY)
    with _serving(*args, tmp_path=tmp_path) as (address, port):
        assert _post(address, port, key=KEY).status_code == 200
        assert _post(address, port).status_code == 401
        assert _post(address, port, key=KEY, host="evil.example").status_code == 421
        assert _post(address, port, key=KEY, origin="http://evil.example").status_code == 403


@pytest.mark.slow
def test_serve_on_127_0_0_2_refuses_other_hosts_and_origins(tmp_path: Path) -> None:
    with _serving("serve", "--model", "demo", "--host", "127.0.0.2", tmp_path=tmp_path) as (address, port):
        url = f"http://{address}:{port}/health"
        assert httpx2.get(url, timeout=30).status_code == 200
        refused = httpx2.get(url, headers={"Host": "evil.example"}, timeout=30)
        assert refused.status_code == 421 and refused.json()["error"]["code"] == "invalid_host"
        assert httpx2.get(url, headers={"Origin": "http://evil.example"}, timeout=30).status_code == 403
