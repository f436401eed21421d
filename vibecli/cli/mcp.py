"""`vibe mcp`: the model and vibe's checkers as MCP tools, over stdio or streamable HTTP."""

from __future__ import annotations

import os
import signal
from typing import Annotated

import typer

from vibecli.cli import options as cli_options
from vibecli.cli.common import handle_errors
from vibecli.config import Config, load_config, with_overrides
from vibecli.errors import EngineError, UsageError
from vibecli.ui.console import make_terminal

TRANSPORTS = ("stdio", "http")
DEFAULT_PORT = 8001  # beside `vibe serve`'s 8000


@handle_errors
def mcp_command(
    model: cli_options.Model = None,
    backend: cli_options.Backend = None,
    base_url: cli_options.BaseUrl = None,
    remote_api_key: Annotated[
        str | None, typer.Option("--remote-api-key", help="Key for --base-url servers (or VIBE_API_KEY).")
    ] = None,
    device: cli_options.Device = None,
    ctx: cli_options.Ctx = None,
    cache: cli_options.Cache = None,
    mode: cli_options.Mode = None,
    temperature: cli_options.Temperature = None,
    top_p: cli_options.TopP = None,
    top_k: cli_options.TopK = None,
    max_tokens: cli_options.MaxTokens = None,
    seed: cli_options.Seed = None,
    think_budget: cli_options.ThinkBudget = None,
    budget_message: cli_options.BudgetMessage = None,
    loop_guard: cli_options.LoopGuard = None,
    transport: Annotated[
        str, typer.Option("--transport", help="stdio (the client starts vibe) or http (streamable HTTP).")
    ] = "stdio",
    host: Annotated[str | None, typer.Option("--host", help="http: address to listen on. [127.0.0.1]")] = None,
    port: Annotated[
        int | None,
        typer.Option("--port", "-p", min=0, max=65535, help=f"http: port (0: any free one). [{DEFAULT_PORT}]"),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option("--api-key", envvar="VIBE_MCP_API_KEY", help="http: require 'Authorization: Bearer KEY'."),
    ] = None,
    preload: Annotated[
        bool, typer.Option("--preload", help="Load the model at start, not on the first solve.")
    ] = False,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, help="solve calls generated together (one batch).")
    ] = 4,
    max_queue: Annotated[int, typer.Option("--max-queue", min=0, help="Waiting solve calls before 'busy'.")] = 64,
    check_workers: Annotated[
        int, typer.Option("--check-workers", min=1, help="Math checks, and substitution checks, run at once.")
    ] = 2,
    shutdown_timeout: Annotated[
        float,
        typer.Option("--shutdown-timeout", min=0, help="On SIGTERM (and Ctrl-C over http): seconds calls may finish."),
    ] = 5.0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No line per solve on stderr.")] = False,
) -> None:
    """Serve vibe as MCP tools for agents: a solver and the answer checkers.

    Tools solve, verify_math, check_equation, check_ode and verify_code; the prompt templates
    as prompts; the model's info as resource vibe://model.

    stdio by default (an MCP client starts `vibe mcp --model ...` itself; stdout carries only
    the protocol, logs go to stderr). `--transport http` serves streamable HTTP at /mcp, on
    loopback unless --api-key is set. The model loads on the first solve, or at start with
    --preload; concurrent solves run together in one batch.

    Exit codes: 0 stopped (stdin closed) · 2 usage error · 3 model or environment error (port
    taken) · 130 interrupted (Ctrl-C) · 143 terminated (SIGTERM).
    """
    config = with_overrides(
        load_config(), model=model, backend=backend, base_url=base_url, api_key=remote_api_key, device=device,
        ctx=ctx, cache=cache, mode=mode, temperature=temperature, top_p=top_p, top_k=top_k, max_tokens=max_tokens,
        seed=seed, think_budget=think_budget, budget_message=budget_message, loop_guard=loop_guard,
    )  # fmt: skip
    if transport not in TRANSPORTS:
        raise UsageError(f"--transport must be stdio or http, not '{transport}'")
    from vibecli.cli.common import check_engine_settings

    check_engine_settings(config)  # the model loads later (on the first solve): its settings are checked now
    if transport == "stdio" and (host is not None or port is not None):
        raise UsageError("--host and --port apply to --transport http")
    from vibecli.cli.serve import is_loopback

    host = host or "127.0.0.1"
    if not is_loopback(host) and not api_key:
        raise UsageError(f"--host {host} opens the tools beyond this machine: set --api-key (or VIBE_MCP_API_KEY)")
    try:
        import mcp  # noqa: F401
    except ImportError:
        raise EngineError("vibe mcp needs the MCP SDK: pip install 'vibecli[mcp]'") from None
    _serve(config, transport=transport, host=host, port=DEFAULT_PORT if port is None else port, api_key=api_key,
           preload=preload, concurrency=concurrency, max_queue=max_queue, check_workers=check_workers,
           shutdown_timeout=shutdown_timeout, quiet=quiet)  # fmt: skip


def _serve(
    config: Config, *, transport: str, host: str, port: int, api_key: str | None, preload: bool, concurrency: int,
    max_queue: int, check_workers: int, shutdown_timeout: float, quiet: bool,
) -> None:  # fmt: skip
    from vibecli.cli.serve import SHUTDOWN_MARGIN_S, _listen, _terminated
    from vibecli.engine.exl2_runtime import stdout_to_stderr  # fd 1 to stderr: stdio's stdout is the protocol's
    from vibecli.mcp.checks import Checkers
    from vibecli.mcp.engine import SharedEngine
    from vibecli.mcp.server import create_server, one_line_logs, stderr_log
    from vibecli.mcp.stdio import exit_regardless
    from vibecli.mcp.transport import HTTP_PATH, serve_http, serve_stdio
    from vibecli.prompting.templates import load_templates
    from vibecli.reasoning.solve import select_template

    templates = load_templates()
    if config.mode != "auto":
        select_template(config.mode, "", templates)  # an unknown --mode fails now, not on the first call
    terminal = make_terminal()
    engine = SharedEngine(config, terminal, concurrency=concurrency, max_queue=max_queue)
    name = engine.check()
    sock = _listen(host, port) if transport == "http" else None
    checkers = Checkers(workers=check_workers)
    stdio_exit: int | None = None
    try:
        if preload:
            with stdout_to_stderr():
                engine.load()
        info = engine.describe()
        where = f"{info.get('backend', '?')}, {info.get('device', '?')}" if engine.loaded else "loads on first solve"
        server = create_server(engine, checkers, templates, log=None if quiet else stderr_log)
        one_line_logs()
        if sock is None:
            stderr_log(f"{name} ({where}) over stdio · pid {os.getpid()}")
            stdio_exit = serve_stdio(server, shutdown_timeout_s=shutdown_timeout, log=stderr_log)
            if stdio_exit:
                raise typer.Exit(stdio_exit)
            return
        shown_host = f"[{host}]" if ":" in host else host
        stderr_log(f"{name} ({where}) on http://{shown_host}:{sock.getsockname()[1]}{HTTP_PATH} · "
                   f"{'API key required' if api_key else 'no API key'} · pid {os.getpid()}")  # fmt: skip
        # uvicorn drains on SIGTERM, then raises it again: end with 143 here, after the cleanup below.
        signal.signal(signal.SIGTERM, _terminated)
        serve_http(server, sock, host=host, api_key=api_key, shutdown_timeout_s=shutdown_timeout,
                   on_shutdown=lambda: engine.drain(max(0.0, shutdown_timeout - SHUTDOWN_MARGIN_S)))  # fmt: skip
    finally:
        engine.close()
        checkers.close()
        if stdio_exit is not None:
            exit_regardless(stdio_exit)
        if sock is not None:
            sock.close()
