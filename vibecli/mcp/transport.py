"""Serving the MCP server: over stdio (the client starts `vibe mcp` itself) or streamable HTTP.

On stdio, stdout is the protocol's: the SDK points file descriptor 1 at stderr while it serves,
and `vibe mcp --preload` loads the model before that under `stdout_to_stderr`, so no library's
stray print can reach the client as a broken message.
"""

from __future__ import annotations

import hmac
import json
import socket

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send

from vibecli.mcp.server import VibeMCPServer

HTTP_PATH = "/mcp"


def serve_stdio(server: VibeMCPServer) -> None:
    """Serve one client on stdin/stdout until it closes stdin."""
    anyio.run(server.run_stdio_async)


class ApiKeyGate:
    """Refuses HTTP requests without `Authorization: Bearer KEY` with a 401 and a JSON-RPC error."""

    def __init__(self, app: ASGIApp, key: str) -> None:
        self.app, self.key = app, key.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or [])
            given = headers.get(b"authorization", b"").removeprefix(b"Bearer ").strip()
            if not hmac.compare_digest(given, self.key):
                error = {"code": -32001, "message": "missing or wrong API key (send Authorization: Bearer KEY)"}
                body = json.dumps({"jsonrpc": "2.0", "id": None, "error": error}).encode()
                reply = [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")]
                await send({"type": "http.response.start", "status": 401, "headers": reply})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def serve_http(server: VibeMCPServer, sock: socket.socket, *, host: str, api_key: str | None) -> None:
    """Serve streamable HTTP at `/mcp` on the bound `sock` until interrupted.

    On a loopback host the SDK also refuses requests whose Host or Origin header is not local
    (DNS-rebinding protection).
    """
    import uvicorn

    app: ASGIApp = server.streamable_http_app(streamable_http_path=HTTP_PATH, host=host.strip("[]"))
    if api_key:
        app = ApiKeyGate(app, api_key)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on", timeout_graceful_shutdown=3)
    uvicorn.Server(config).run(sockets=[sock])
