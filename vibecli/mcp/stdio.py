"""The stdio transport, with the lifetime an interactive tool needs.

The SDK's own stdio transport reads stdin in a worker thread that cancellation cannot stop, so
Ctrl-C, SIGTERM and the end of stdin all waited for the next line or the running call. Here a
daemon thread reads stdin and hands each line to the event loop, and the serving task group is
cancelled when the server has to stop:

- stdin closes (the client is gone): every call is cancelled, exit 0;
- SIGINT (Ctrl-C): every call is cancelled, exit 130;
- SIGTERM: new requests are refused, calls in flight get `shutdown_timeout_s` to finish, then
  the rest are cancelled, exit 143 (as `vibe serve`).

Cancelled calls stop their generations and kill their sandboxes (see `solving` and `checks`).
A line that is not JSON gets JSON-RPC's -32700 and one log line; one that is JSON but not a
JSON-RPC message gets -32600.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Callable
from typing import Any

import anyio
import anyio.abc
import anyio.from_thread
import anyio.lowlevel
import mcp_types as types
from mcp.shared._context_streams import create_context_streams
from mcp.shared.message import SessionMessage

from vibecli.mcp.server import VibeMCPServer

PARSE_ERROR, INVALID_REQUEST, SHUTTING_DOWN = -32700, -32600, -32000
INTERRUPTED, TERMINATED = 128 + signal.SIGINT, 128 + signal.SIGTERM


def _take_stdio() -> tuple[int, int, Callable[[], None]]:
    """Private copies of fd 0 and 1 for the protocol; fd 0 reads /dev/null and fd 1 goes to stderr
    meanwhile, so no library or child reads a request or writes into the protocol."""
    protocol_in, protocol_out = os.dup(0), os.dup(1)
    saved_in, saved_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)

    def restore() -> None:
        os.dup2(saved_in, 0)
        os.dup2(saved_out, 1)
        for fd in (saved_in, saved_out):  # the protocol's stay open: a thread may still block on them
            os.close(fd)

    return protocol_in, protocol_out, restore


class _InFlight:
    """The requests read and not yet answered, so a SIGTERM can wait for them."""

    def __init__(self) -> None:
        self.ids: set[Any] = set()
        self.idle = anyio.Event()
        self.idle.set()

    def add(self, request_id: Any) -> None:
        self.ids.add(request_id)
        self.idle = anyio.Event() if self.idle.is_set() else self.idle

    def discard(self, request_id: Any) -> None:
        self.ids.discard(request_id)
        if not self.ids:
            self.idle.set()


async def serve_stdio_async(server: VibeMCPServer, *, shutdown_timeout_s: float, log: Callable[[str], None]) -> int:
    """Serve one client on stdin/stdout; returns the exit code (0, 130 or 143)."""
    protocol_in, protocol_out, restore = _take_stdio()
    read_writer, read_stream = create_context_streams[SessionMessage | Exception](0)
    # Buffered: when the server stops, the SDK writes a last error for each cancelled call.
    write_stream, write_reader = create_context_streams[SessionMessage](1024)
    replies_send, replies = anyio.create_memory_object_stream[str](16)
    in_flight, draining, ended = _InFlight(), [False], anyio.Event()
    exit_code = [0]
    token = anyio.lowlevel.current_token()

    async def receive(line: bytes) -> None:
        try:
            data = json.loads(line)
        except ValueError:
            log("a line from the client is not JSON: answered -32700 (parse error)")
            await replies_send.send(_error(None, PARSE_ERROR, "Parse error: the line is not valid JSON"))
            return
        try:
            message = types.jsonrpc_message_adapter.validate_python(data, by_name=False)
        except ValueError:
            request_id = data.get("id") if isinstance(data, dict) and isinstance(data.get("id"), str | int) else None
            await replies_send.send(_error(request_id, INVALID_REQUEST, "Invalid Request: not a JSON-RPC message"))
            return
        if isinstance(message, types.JSONRPCRequest):
            if draining[0]:
                await replies_send.send(_error(message.id, SHUTTING_DOWN, "the server is shutting down"))
                return
            in_flight.add(message.id)
        elif isinstance(message, types.JSONRPCNotification) and message.method == "notifications/cancelled":
            in_flight.discard((message.params or {}).get("requestId"))  # a cancelled call gets no answer
        await read_writer.send(SessionMessage(message))

    def read_stdin() -> None:
        # A daemon thread: it may stay blocked on stdin after the server has stopped.
        with os.fdopen(protocol_in, "rb", closefd=False) as lines:
            try:
                for line in lines:
                    if line.strip():
                        anyio.from_thread.run(receive, line, token=token)
            except (RuntimeError, anyio.ClosedResourceError, anyio.BrokenResourceError):
                return  # the loop has stopped
            except OSError:
                pass
        try:
            anyio.from_thread.run_sync(ended.set, token=token)
        except RuntimeError:
            return

    async def write(text: str) -> None:
        data = (text + "\n").encode()
        await anyio.to_thread.run_sync(_write_all, protocol_out, data, abandon_on_cancel=True)

    async def write_messages() -> None:
        async for session_message in write_reader:
            message = session_message.message
            await write(message.model_dump_json(by_alias=True, exclude_unset=True))
            if isinstance(message, types.JSONRPCResponse | types.JSONRPCError):
                in_flight.discard(message.id)  # written: a drain may end now

    async def write_replies() -> None:
        async for text in replies:
            await write(text)

    async def drain(scope: anyio.CancelScope) -> None:
        log(f"SIGTERM: finishing {len(in_flight.ids)} call(s) for up to {shutdown_timeout_s:g}s")
        with anyio.move_on_after(shutdown_timeout_s):
            await in_flight.idle.wait()
        scope.cancel()

    async def on_signals(group: anyio.abc.TaskGroup) -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for signum in signals:
                if signum == signal.SIGINT or draining[0]:  # Ctrl-C, or a second signal: stop now
                    exit_code[0] = INTERRUPTED if signum == signal.SIGINT else TERMINATED
                    group.cancel_scope.cancel()
                    return
                exit_code[0], draining[0] = TERMINATED, True
                group.start_soon(drain, group.cancel_scope)

    async def until_stdin_ends(scope: anyio.CancelScope) -> None:
        await ended.wait()
        scope.cancel()

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(on_signals, group)
            group.start_soon(until_stdin_ends, group.cancel_scope)
            group.start_soon(write_messages)
            group.start_soon(write_replies)
            group.start_soon(_run_server, server, read_stream, write_stream)
            threading.Thread(target=read_stdin, name="vibe-mcp-stdin", daemon=True).start()
    finally:
        restore()
    return exit_code[0]


async def _run_server(server: VibeMCPServer, read_stream: Any, write_stream: Any) -> None:
    lowlevel = server._lowlevel_server  # the SDK's own `run_stdio_async` does the same
    await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())


def exit_regardless(code: int, after_s: float = 1.0) -> None:
    """End the process with `code` in `after_s` seconds even if a thread still blocks it (a write
    to a client that stopped reading, an abandoned call): the interpreter waits for them all."""
    timer = threading.Timer(after_s, os._exit, args=(code,))
    timer.daemon = True
    timer.start()


def _error(request_id: Any, code: int, message: str) -> str:
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}})


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data) :]
