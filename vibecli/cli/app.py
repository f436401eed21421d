"""The `vibe` command. Each subcommand lives in its own module; heavy libraries load only
inside the commands that use them, so `vibe --help` stays fast."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from vibecli import __version__
from vibecli.cli import batch, config_cmd, doctor, eval, mcp, models, repl, serve, solve, verify
from vibecli.cli.common import EXIT_CODES_HELP

app = typer.Typer(
    name="vibe",
    help=f"Small reasoning models, useful on your own machine.\n\n{EXIT_CODES_HELP}",
    add_completion=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command("solve", no_args_is_help=False)(solve.solve_command)
app.add_typer(verify.app, name="verify")
app.command("batch")(batch.batch_command)
app.command("repl")(repl.repl_command)
app.command("serve")(serve.serve_command)
app.command("mcp")(mcp.mcp_command)
app.add_typer(config_cmd.app, name="config")
app.add_typer(models.app, name="models")
app.command("doctor")(doctor.doctor_command)
app.command("eval")(eval.eval_command)


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
            ctx.invoke(repl.repl_command)
        typer.echo(ctx.get_help())


def main() -> None:
    app()
