"""`vibe config`: where the config file is, what is in effect, and a commented starter file."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import typer

from vibecli.cli.common import handle_errors
from vibecli.config import CONFIG_TEMPLATE, load_config
from vibecli.errors import UsageError
from vibecli.paths import config_file
from vibecli.ui.console import make_terminal

app = typer.Typer(help="Show or create the configuration file.", no_args_is_help=True)


@app.command("path")
@handle_errors
def path_command() -> None:
    """Print the config file's path ($VIBE_CONFIG, else $XDG_CONFIG_HOME/vibe/config.yaml)."""
    typer.echo(str(config_file()))


@app.command("show")
@handle_errors
def show_command() -> None:
    """Print the settings in effect: file, then VIBE_* variables."""
    import yaml

    settings = dataclasses.asdict(load_config())
    settings["base_url"] = [server if server["concurrency"] else server["url"] for server in settings["base_url"]]
    if settings["api_key"]:
        settings["api_key"] = "****" + settings["api_key"][-4:]  # enough to tell keys apart, not to use one
    typer.echo(f"# {config_file()}" + ("" if config_file().is_file() else " (not created yet: defaults)"))
    typer.echo(yaml.safe_dump(settings, sort_keys=False).rstrip())


@app.command("init")
@handle_errors
def init_command(force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False) -> None:
    """Write a commented config file with every setting and its default."""
    path = config_file()
    if path.exists() and not force:
        raise UsageError(f"{path} already exists (use --force to overwrite)")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(CONFIG_TEMPLATE, encoding="utf-8")
    make_terminal().err.print(f"wrote {path}", style="muted")
