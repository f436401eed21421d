"""The two output streams, built once per command and passed down (never global).

stdout carries the answer; stderr carries thinking, progress and notices, so
`vibe solve … > answer.txt` captures only the answer.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import TextIO

from rich.console import Console
from rich.theme import Theme

THEME = Theme(
    {
        "thinking": "dim",
        "muted": "dim",
        "accent": "bold cyan",
        "answer": "bold green",
        "warning": "yellow",
        "error": "bold red",
    }
)


@dataclass(frozen=True)
class Terminal:
    """stdout and stderr consoles, and whether each is a terminal."""

    out: Console
    err: Console

    @property
    def out_is_tty(self) -> bool:
        return self.out.is_terminal

    @property
    def err_is_tty(self) -> bool:
        return self.err.is_terminal


class _Console(Console):
    """Rich's console, except that a closed pipe is the command's to handle: Rich would exit 1."""

    def on_broken_pipe(self) -> None:
        raise BrokenPipeError  # `vibe` ends quietly with 141, the same for every command


def make_terminal(stdout: TextIO | None = None, stderr: TextIO | None = None) -> Terminal:
    """Consoles for the real streams; Rich honours NO_COLOR and FORCE_COLOR itself."""
    no_color = "NO_COLOR" in os.environ

    def console(stream: TextIO) -> Console:
        made = _Console(file=stream, theme=THEME, highlight=False, no_color=no_color)
        # Off a terminal there is no width to fit: a line stays one line, for grep and log parsers.
        made.soft_wrap = not made.is_terminal
        return made

    return Terminal(out=console(stdout or sys.stdout), err=console(stderr or sys.stderr))


def error_line(terminal: Terminal, message: str) -> None:
    """The one line a failing command prints."""
    from rich.markup import escape

    # Escaped: messages quote user input and install hints such as 'vibecli[exl2]'.
    terminal.err.print(f"[error]vibe:[/error] {escape(message)}", markup=True, highlight=False, soft_wrap=True)
