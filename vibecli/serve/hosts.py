"""DNS-rebinding protection for `vibe serve` and `vibe mcp --transport http`.

A web page can point a name it controls at this machine and then talk to the server from the
victim's browser. The browser still names the attacker's host in `Host` (and in `Origin`), so a
request whose Host or Origin is not the served address, or a name for it, is refused, whatever
the address: 127.0.0.2 is as reachable from a browser as 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Callable
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

WILDCARDS = ("0.0.0.0", "::")


def host_part(value: str) -> str:
    """The host of a `Host` header (`name:port`, `[::1]:port`), lowercased, without a trailing dot."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    if value.count(":") == 1:
        value = value.partition(":")[0]
    return value.rstrip(".")


def _literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


@lru_cache(maxsize=256)
def _is_local_address(address: str) -> bool:
    """Whether `address` belongs to this machine: only then can a socket bind to it."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.bind((address, 0))
    except OSError:
        return False
    return True


def _resolves_to(name: str, addresses: set[str]) -> bool:
    try:
        found = {str(info[4][0]) for info in socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)}
    except (OSError, UnicodeError):
        return False
    return bool(found & addresses)


class AllowedHosts:
    """The Host and Origin names that may reach a server bound to `bound` (the socket's address),
    listening on `host` (the address or name it was given)."""

    def __init__(self, host: str, bound: str) -> None:
        self.bound = str(ipaddress.ip_address(bound.split("%")[0]))
        self.wildcard = self.bound in WILDCARDS
        given = host_part(host.strip("[]"))
        # Names worth trying: the one given, localhost, this machine's name. Looked up once, here
        # (in /etc/hosts on most machines), never per request.
        candidates = {given, "localhost", socket.gethostname().lower()} - {""}
        candidates = {name for name in candidates if _literal(name) is None}
        if self.wildcard:
            self.names = candidates
        else:
            self.names = {name for name in candidates if name == given or _resolves_to(name, {self.bound})}

    def allows(self, host: str) -> bool:
        """Whether a Host or Origin host (already `host_part`ed) names this server."""
        address = _literal(host)
        if address is None:
            return host in self.names
        if self.wildcard:
            return _is_local_address(str(address))
        return str(address) == self.bound

    def refusal(self, headers: dict[bytes, bytes]) -> tuple[int, str] | None:
        """(status, reason) when the request's Host or Origin does not name this server; else None."""
        host = headers.get(b"host", b"").decode("latin-1")
        if not host or not self.allows(host_part(host)):
            return 421, f"the Host header {host!r} does not name this server"
        origin = headers.get(b"origin")
        if origin is not None:
            text = origin.decode("latin-1")
            try:
                origin_host = urlsplit(text).hostname
            except ValueError:
                origin_host = None
            if not origin_host or not self.allows(host_part(origin_host)):
                return 403, f"requests from origin {text!r} are refused"
        return None


class HostGuard:
    """Refuses requests whose Host or Origin does not name the server (421 and 403), with a JSON
    body made by `body(reason)`; plain ASGI, so streamed responses pass straight through."""

    def __init__(self, app: ASGIApp, allowed: AllowedHosts, body: Callable[[str], dict[str, Any]]) -> None:
        self.app, self.allowed, self.body = app, allowed, body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refused = self.allowed.refusal(dict(scope.get("headers") or []))
            if refused is not None:
                status, reason = refused
                content = json.dumps(self.body(reason)).encode()
                headers = [(b"content-type", b"application/json"), (b"content-length", str(len(content)).encode())]
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": content})
                return
        await self.app(scope, receive, send)
