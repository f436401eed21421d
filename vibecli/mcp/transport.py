"""Serving the MCP server: over stdio (the client starts `vibe mcp` itself) or streamable HTTP.

On stdio, stdout is the protocol's: `stdio` points file descriptor 1 at stderr while it serves,
and `vibe mcp --preload` loads the model before that under `stdout_to_stderr`, so no library's
stray print can reach the client as a broken message.
"""

from __future__ import annotations

import functools
import hmac
import json
import socket
from collections.abc import Callable
from typing import Any, cast

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send

from vibecli.mcp.server import VibeMCPServer

HTTP_PATH = "/mcp"
KEY_MESSAGE = "missing or wrong API key (send Authorization: Bearer KEY)"
CHALLENGE = b'Bearer realm="vibe mcp", error="invalid_token", error_description="missing or wrong API key"'


def serve_stdio(server: VibeMCPServer, *, shutdown_timeout_s: float, log: Callable[[str], None]) -> int:
    """Serve one client on stdin/stdout until it closes stdin or a signal comes; returns the exit code."""
    from vibecli.mcp.stdio import serve_stdio_async

    return anyio.run(functools.partial(serve_stdio_async, server, shutdown_timeout_s=shutdown_timeout_s, log=log))


def bearer_token(authorization: bytes) -> bytes | None:
    """The token of `Authorization: Bearer TOKEN` (RFC 6750: the scheme is case-insensitive, one or
    more spaces follow it); None for any other header."""
    scheme, _, token = authorization.partition(b" ")
    token = token.strip(b" ")
    if scheme.lower() != b"bearer" or not token or b" " in token:
        return None
    return token


class ApiKeyGate:
    """Refuses HTTP requests without `Authorization: Bearer KEY` with a 401 and a JSON-RPC error.

    The challenge names a realm and an error (RFC 6750), so that clients show the key message
    rather than start an OAuth flow, which a bare `Bearer` invites.
    """

    def __init__(self, app: ASGIApp, key: str) -> None:
        self.app, self.key = app, key.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or [])
            given = bearer_token(headers.get(b"authorization", b""))
            if given is None or not hmac.compare_digest(given, self.key):
                error = {"code": -32001, "message": KEY_MESSAGE}
                body = json.dumps({"jsonrpc": "2.0", "id": None, "error": error}).encode()
                reply = [(b"content-type", b"application/json"), (b"www-authenticate", CHALLENGE)]
                await send({"type": "http.response.start", "status": 401, "headers": reply})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def _refused_host(reason: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": reason}}


def serve_http(
    server: VibeMCPServer, sock: socket.socket, *, host: str, api_key: str | None, shutdown_timeout_s: float,
    on_shutdown: Callable[[], None],
) -> None:  # fmt: skip
    """Serve streamable HTTP at `/mcp` on the bound `sock` until SIGINT or SIGTERM.

    A request whose Host or Origin does not name the served address is refused (DNS-rebinding
    protection, on every address). On a signal, calls in flight get `shutdown_timeout_s` (less
    a margin for closing) before they are cancelled; `on_shutdown` runs when the shutdown starts.
    """
    import uvicorn

    from vibecli.cli.serve import SHUTDOWN_MARGIN_S, _server_class
    from vibecli.serve.hosts import AllowedHosts, HostGuard

    app: ASGIApp = server.streamable_http_app(streamable_http_path=HTTP_PATH, host=host.strip("[]"))
    if api_key:
        app = ApiKeyGate(app, api_key)
    app = HostGuard(app, AllowedHosts(host, sock.getsockname()[0]), body=_refused_host)
    # uvicorn types the grace as int; it only hands it to asyncio.timeout, which takes seconds as a float.
    grace = cast(int, max(0.1, shutdown_timeout_s - SHUTDOWN_MARGIN_S))
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on", timeout_graceful_shutdown=grace)
    _server_class()(config, on_exit=on_shutdown).run(sockets=[sock])
