"""`vibe serve`: the locally loaded model over the OpenAI-compatible HTTP API."""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
from collections.abc import Callable
from types import FrameType
from typing import Annotated, Any

import typer

from vibecli.cli import options as cli_options
from vibecli.cli.common import handle_errors, load_engine
from vibecli.config import load_config, with_overrides
from vibecli.errors import EngineError, UsageError
from vibecli.ui.console import make_terminal


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve anywhere


def _listen(host: str, port: int) -> socket.socket:
    """Bind before the model loads, so a taken port fails in a second, not after a minute."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise EngineError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(128)
    return sock


SHUTDOWN_MARGIN_S = 1.0  # cancelled requests still get their last chunk before uvicorn closes connections


def _refused_host(reason: str) -> dict[str, Any]:
    return {"error": {"message": reason, "type": "invalid_request_error", "param": None, "code": "invalid_host"}}


def _terminated(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _server_class() -> type[Any]:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, telling the scheduler to drain as soon as a shutdown starts."""

        def __init__(self, config: uvicorn.Config, on_exit: Callable[[], None]) -> None:
            super().__init__(config)
            self._on_exit = on_exit

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            super().handle_exit(sig, frame)
            self._on_exit()

    return Server


@handle_errors
def serve_command(
    model: cli_options.Model = None,
    backend: cli_options.Backend = None,
    device: cli_options.Device = None,
    ctx: cli_options.Ctx = None,
    cache: cli_options.Cache = None,
    temperature: cli_options.Temperature = None,
    top_p: cli_options.TopP = None,
    top_k: cli_options.TopK = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", min=0, max=65535, help="Port (0: any free one).")] = 8000,
    api_key: Annotated[
        str | None,
        typer.Option("--api-key", envvar="VIBE_SERVE_API_KEY", help="Require 'Authorization: Bearer KEY'."),
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, help="Requests generated together (one batch).")
    ] = 4,
    max_queue: Annotated[int, typer.Option("--max-queue", min=0, help="Waiting requests before 503s.")] = 64,
    max_tokens: Annotated[
        int | None, typer.Option("--max-tokens", help="Most new tokens a request may ask for, and the default.")
    ] = None,
    max_n: Annotated[int, typer.Option("--max-n", min=1, help="Most choices (n) one request may ask for.")] = 16,
    shutdown_timeout: Annotated[
        float,
        typer.Option("--shutdown-timeout", min=0, help="On SIGTERM or Ctrl-C: seconds in-flight requests may finish."),
    ] = 10.0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No request log on stderr.")] = False,
) -> None:
    """Serve the local model over the OpenAI-compatible API (loopback only, unless --api-key).

    Routes: POST /v1/chat/completions and /v1/completions (streaming or not; the thinking
    comes as `reasoning_content`), GET /v1/models, POST /v1/verify ({gold, pred} or
    {code, tests}), POST /tokenize, GET /health. Requests wait in one first-come queue and
    join the running batch between decode steps, --concurrency at a time; a request over the
    model's context is refused at once (400 context_length_exceeded); a client that
    disconnects cancels its generation. SIGTERM or Ctrl-C stops accepting, lets in-flight
    requests finish for --shutdown-timeout seconds, cancels the rest and frees the port.

    Exit codes: 0 stopped · 2 usage error · 3 model or environment error (port taken) ·
    130 interrupted (Ctrl-C) · 143 terminated (SIGTERM).
    """
    config = with_overrides(
        load_config(), model=model, backend=backend, device=device, ctx=ctx, cache=cache, max_tokens=max_tokens,
        temperature=temperature, top_p=top_p, top_k=top_k,
    )  # fmt: skip
    if config.backend == "openai":
        raise UsageError("vibe serve serves a local model; --backend openai is the client side (use auto, "
                         "transformers or exl2)")  # fmt: skip
    if not is_loopback(host) and not api_key:
        raise UsageError(f"--host {host} opens the model beyond this machine: set --api-key (or VIBE_SERVE_API_KEY)")
    import uvicorn

    from vibecli.serve.app import ServeSettings, create_app, stderr_log
    from vibecli.serve.hosts import AllowedHosts, HostGuard
    from vibecli.serve.protocol import Limits
    from vibecli.serve.scheduler import Scheduler
    from vibecli.serve.verify import Verifier

    sock = _listen(host, port)
    terminal = make_terminal()
    engine = load_engine(config, terminal)
    scheduler, verifier = Scheduler(engine, concurrency=concurrency, max_queue=max_queue), Verifier()
    defaults = Limits()  # the math mode's sampling, VibeThinker's card setting, where none is configured
    limits = Limits(max_tokens=config.max_tokens, max_n=max_n,
                    temperature=defaults.temperature if config.temperature is None else config.temperature,
                    top_p=defaults.top_p if config.top_p is None else config.top_p,
                    top_k=config.top_k or 0)  # fmt: skip
    settings = ServeSettings(api_key=api_key, limits=limits,
                             log=None if quiet else stderr_log)  # fmt: skip
    app = HostGuard(
        create_app(engine, scheduler, verifier, settings), AllowedHosts(host, sock.getsockname()[0]), body=_refused_host
    )
    server = _server_class()(
        uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                       timeout_graceful_shutdown=max(1, round(shutdown_timeout))),
        on_exit=lambda: scheduler.drain(max(0.0, shutdown_timeout - SHUTDOWN_MARGIN_S)),
    )  # fmt: skip
    bound = sock.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host
    info = engine.info
    terminal.err.print(
        f"vibe serve: {info.name} ({info.backend}, {info.device}) on http://{shown_host}:{bound}/v1 · "
        f"concurrency {concurrency} · {'API key required' if api_key else 'no API key'} · pid {os.getpid()}",
        markup=False, highlight=False, soft_wrap=True,
    )  # fmt: skip
    scheduler.start()
    # uvicorn shuts down gracefully on SIGTERM, then raises the signal again: end with 143 here
    # rather than die on the spot, so the workers are stopped and the port freed first.
    signal.signal(signal.SIGTERM, _terminated)
    try:
        server.run(sockets=[sock])
    finally:
        scheduler.close()
        verifier.close()
        engine.close()
        sock.close()
