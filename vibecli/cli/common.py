"""What every command shares: turning errors into one line and an exit code."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, ParamSpec, TypeVar

import typer

from vibecli.errors import ExitCode, UsageError, VibeError
from vibecli.ui.console import Terminal, error_line, make_terminal

if TYPE_CHECKING:
    from vibecli.config import Config
    from vibecli.engine.backend import Backend

P = ParamSpec("P")
R = TypeVar("R")

EXIT_CODES_HELP = (
    "Exit codes: 0 answered · 1 no final answer could be extracted · 2 usage error · "
    "3 model or environment error · 130 interrupted."
)


def handle_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Print a `VibeError` as one line and exit with its code; Ctrl-C exits 130."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except VibeError as exc:
            error_line(make_terminal(), str(exc))
            raise typer.Exit(int(exc.exit_code)) from None
        except KeyboardInterrupt:
            error_line(make_terminal(), "interrupted")
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None

    return wrapper


def read_text_file(path: Path, what: str) -> str:
    """A user's input file, or one clear usage error."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{what} {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {what} {path}: {exc}") from None


def load_engine(config: Config, terminal: Terminal) -> Backend:
    """Resolve the model, pick its backend and load it, with a spinner on a terminal."""
    from vibecli.engine.backend import LoadOptions, choose_backend, load_backend
    from vibecli.engine.resolve import resolve_model

    if config.backend == "openai":
        return _connect_remote(config, terminal)
    resolved = resolve_model(config)
    if resolved.notice:
        terminal.err.print(resolved.notice, style="warning", soft_wrap=True)
    spec = choose_backend(config.backend, resolved.format)
    options = LoadOptions(path=resolved.path, name=resolved.name, format=resolved.format, device=config.device,
                          context=config.ctx, cache=config.cache, max_new_tokens=config.max_tokens)  # fmt: skip
    return _with_spinner(terminal, f"loading {resolved.name} ({spec.name})…", lambda: load_backend(spec, options))


def _connect_remote(config: Config, terminal: Terminal) -> Backend:
    from vibecli.engine.openai_backend import RemoteOptions, connect

    options = RemoteOptions(servers=config.base_url, api_key=config.api_key, model=config.model)
    where = ", ".join(s.url for s in config.base_url) or "the server"
    return _with_spinner(terminal, f"connecting to {where}…", lambda: connect(options))


def _with_spinner(terminal: Terminal, message: str, work: Callable[[], Backend]) -> Backend:
    """Run `work` under a spinner when stderr is a terminal."""
    if not terminal.err_is_tty:
        return work()
    with terminal.err.status(message):
        return work()
