"""The `vibe` command.

Each subcommand lives in its own module, imported only when that subcommand runs (or its
help is asked for), so `vibe --help` pays for none of them. A new subcommand is one entry in
`SUBCOMMANDS`: its name, where it lives, and its one-line help.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, NoReturn

import typer
from typer._click.core import Command, Context  # Typer's own copy of Click (vendored since typer 0.26)
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
from typer._click.formatting import HelpFormatter
from typer._click.utils import echo
from typer.core import TyperGroup

from vibecli import __version__
from vibecli.errors import EXIT_CODES_HELP, ExitCode


@dataclass(frozen=True)
class Subcommand:
    """Where a subcommand lives: a `typer.Typer` (a group) or a command function, as "module:attribute"."""

    target: str
    help: str  # the first line of its help, shown by `vibe --help` without importing it


SUBCOMMANDS: dict[str, Subcommand] = {
    "solve": Subcommand(
        "vibecli.cli.solve:app", "Solve one problem: the thinking streams (stderr), then the final answer (stdout)."
    ),
    "verify": Subcommand(
        "vibecli.cli.verify:app", "Check answers: math equivalence, equations, ODEs, code against tests."
    ),
    "batch": Subcommand(
        "vibecli.cli.batch:batch_command", "Solve a problem set; one JSON line per problem, written as each finishes."
    ),
    "repl": Subcommand(
        "vibecli.cli.repl:repl_command",
        "An interactive session: the model loads once, then every problem starts at once.",
    ),
    "serve": Subcommand(
        "vibecli.cli.serve:serve_command",
        "Serve the local model over the OpenAI-compatible API (loopback only, unless --api-key).",
    ),
    "mcp": Subcommand(
        "vibecli.cli.mcp:mcp_command",
        "Serve vibe as MCP tools for agents: a solver and the answer checkers.",
    ),
    "eval": Subcommand(
        "vibecli.cli.eval:eval_command",
        "Run benchmarks the way the model card did, and report pass@1, pass@k, cons@k and lengths.",
    ),
    "config": Subcommand("vibecli.cli.config_cmd:app", "Show or create the configuration file."),
    "models": Subcommand("vibecli.cli.models:app", "Download, quantize, list, inspect and remove models."),
    "doctor": Subcommand(
        "vibecli.cli.doctor:doctor_command",
        "Check Python, torch and its CUDA build, the GPU, flash-attn, exllamav2/v3, transformers and the models "
        "found, then print concrete advice.",
    ),
}


def load_subcommand(name: str) -> Command:
    """Import the subcommand `name` and build its Click command."""
    import importlib

    module_name, _, attribute = SUBCOMMANDS[name].target.partition(":")
    target = getattr(importlib.import_module(module_name), attribute)
    if not isinstance(target, typer.Typer):
        single = typer.Typer(add_completion=False)
        single.command(name)(target)
        target = single
    command = typer.main.get_command(target)
    # Only the root offers --install-completion (a sub-app built on its own would add it too).
    command.params = [p for p in command.params if p.name not in ("install_completion", "show_completion")]
    return _plain_help(command)


def _plain_help(command: Command) -> Command:
    """Click's plain help for the command and its subcommands, as for `vibe --help` (Rich's boxes cost
    start-up time and do not survive a pipe)."""
    command.rich_markup_mode = None  # type: ignore[attr-defined]
    for sub in getattr(command, "commands", {}).values():
        _plain_help(sub)
    return command


class _LazyCommands(MutableMapping[str, Command]):
    """The group's command table: names are known up front, each command is built on first use."""

    def __init__(self) -> None:
        self._loaded: dict[str, Command] = {}

    def __getitem__(self, name: str) -> Command:
        if name not in self._loaded:
            if name not in SUBCOMMANDS:
                raise KeyError(name)
            self._loaded[name] = load_subcommand(name)
        return self._loaded[name]

    def __setitem__(self, name: str, command: Command) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        del self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*SUBCOMMANDS, *self._loaded]))

    def __len__(self) -> int:
        return len(dict.fromkeys([*SUBCOMMANDS, *self._loaded]))


class VibeGroup(TyperGroup):
    """The root group: lazy subcommands, and every usage error as one line (`vibe: …`) with exit 2."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = _LazyCommands()

    def list_commands(self, ctx: Context) -> list[str]:
        return list(self.commands)

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            _quiet_broken_pipe()

    def make_context(self, info_name: str | None, args: list[str], parent: Context | None = None,
                     **extra: Any) -> Context:  # fmt: skip
        try:  # `vibe --help | head -1`: the help is written while the arguments are parsed
            return super().make_context(info_name, args, parent, **extra)
        except BrokenPipeError:
            _quiet_broken_pipe()

    def format_commands(self, ctx: Context, formatter: HelpFormatter) -> None:
        rows = [(name, entry.help) for name, entry in SUBCOMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def main(  # type: ignore[override]
        self, args: Sequence[str] | None = None, prog_name: str | None = None, complete_var: str | None = None,
        standalone_mode: bool = True, **extra: Any,
    ) -> Any:  # fmt: skip
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            status = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            for stream in (sys.stdout, sys.stderr):
                stream.flush()  # what sits in a buffer fails here, if its reader is gone, not at exit
        except BrokenPipeError:
            _quiet_broken_pipe()
        except NoArgsIsHelpError as exc:  # `vibe models` alone: its help, as Click does
            echo(exc.format_message(), err=True)
            sys.exit(int(ExitCode.USAGE))
        except ClickException as exc:
            _usage_line(exc)
            sys.exit(exc.exit_code)
        except typer.Abort:
            echo("vibe: interrupted", err=True)
            sys.exit(int(ExitCode.INTERRUPTED))
        sys.exit(status if isinstance(status, int) else 0)


# Click's type names, in words a user reads: "'abc' is not a valid int range." and the like.
_CLICK_WORDING = [
    (re.compile(r"is not a valid int(?: range)?\.?"), "is not a whole number"),
    (re.compile(r"is not a valid float(?: range)?\.?"), "is not a number"),
    (re.compile(r"is not a valid boolean\.?"), "is not true or false"),
    (re.compile(r"(\S+) is not in the range x>=([^\s.]+(?:\.\d+)?)\.?"), r"must be at least \2 (got \1)"),
    (re.compile(r"(\S+) is not in the range x<=([^\s.]+(?:\.\d+)?)\.?"), r"must be at most \2 (got \1)"),
    (re.compile(r"(\S+) is not in the range ([^\s<]+)<=x<=([^\s.]+(?:\.\d+)?)\.?"), r"must be from \2 to \3 (got \1)"),
]


def _quiet_broken_pipe() -> NoReturn:
    """The reader of our output went away (`vibe … | head -1`): exit 141, as a process that
    SIGPIPE stopped reports, without a word: there is nowhere left to say it, and Python must
    not complain at exit while flushing into the closed pipe."""
    import contextlib
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # not a real file (a test's capture): nothing to silence
            os.dup2(devnull, stream.fileno())
    sys.exit(int(ExitCode.BROKEN_PIPE))


def _usage_line(exc: ClickException) -> None:
    """One line instead of Click's usage block: the message, then where the help is."""
    message = " ".join(exc.format_message().split())
    message = message[:1].lower() + message[1:]
    for click_words, ours in _CLICK_WORDING:
        message = click_words.sub(ours, message)
    ctx = getattr(exc, "ctx", None)
    hint = f" (see '{ctx.command_path} --help')" if isinstance(exc, UsageError) and ctx is not None else ""
    echo(f"vibe: {message}{hint}", err=True)


app = typer.Typer(
    name="vibe",
    cls=VibeGroup,
    help=f"Small reasoning models, useful on your own machine.\n\n{EXIT_CODES_HELP}",
    add_completion=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"vibe {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    version: Annotated[
        bool | None,
        typer.Option("--version", "-V", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = None,
) -> None:
    """Small reasoning models, useful on your own machine."""
    if ctx.invoked_subcommand is None:
        # Alone on a terminal, `vibe` opens the REPL; anywhere else it shows this help.
        if sys.stdin.isatty() and sys.stdout.isatty():
            from vibecli.cli.repl import repl_command

            ctx.invoke(repl_command)
        typer.echo(ctx.get_help())


def main() -> None:
    app()
