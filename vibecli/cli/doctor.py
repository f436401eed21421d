"""`vibe doctor`: the machine's Python, torch, GPU and engines, then advice."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from vibecli.cli.common import handle_errors
from vibecli.ui.console import make_terminal

MARKS = {"ok": ("✓", "answer"), "warn": ("!", "warning"), "missing": ("✗", "error"), "info": ("·", "muted")}


@handle_errors
def doctor_command(json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Check Python, torch and its CUDA build, the GPU, flash-attn, exllamav2/v3, transformers and
    the models found, then print concrete advice. Always exits 0: it reports, it does not judge."""
    from rich.text import Text

    from vibecli.doctor import diagnose

    report = diagnose()
    if json_output:
        typer.echo(json.dumps(report.to_json()))
        return
    out = make_terminal().out
    for check in report.checks:
        mark, style = MARKS[check.status]
        out.print(Text.assemble((f"{mark} ", style), (f"{check.name:<13}", "accent"), check.detail), soft_wrap=True)
    if report.advice:
        out.print(Text("\nadvice:", style="accent"))
        for line in report.advice:
            out.print(Text(f"  - {line}"), soft_wrap=True)
