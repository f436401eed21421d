"""What every command shares: turning errors into one line and an exit code."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

import typer

from vibecli.errors import ExitCode, UsageError, VibeError
from vibecli.ui.console import error_line, make_terminal

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
