"""`vibe models`: download, quantize, list, inspect and remove models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from vibecli.cli.common import handle_errors
from vibecli.config import load_config
from vibecli.errors import EngineError, ExitCode
from vibecli.ui.console import error_line, make_terminal

app = typer.Typer(help="Download, quantize, list, inspect and remove models.", no_args_is_help=True)


def _quantize(source: Path, bits: float, head_bits: int, output: Path | None) -> Path:
    from vibecli.models.quantize import plan, run
    from vibecli.ui.models_view import ConvertProgress

    job = plan(source, bits=bits, head_bits=head_bits, output=output)
    terminal = make_terminal()
    terminal.err.print(f"quantizing {source} to EXL2 {bits:g} bpw → {job.output} (work: {job.work})", markup=False)
    with ConvertProgress(terminal) as progress:
        try:
            return run(job, on_status=progress.status, on_line=progress.line)
        except KeyboardInterrupt:
            error_line(terminal, f"interrupted; the same command resumes from {job.work}")
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None


@app.command("pull")
@handle_errors
def pull_command(
    repo: Annotated[str, typer.Argument(help="Hub repository, e.g. WeiboAI/VibeThinker-1.5B.")],
    revision: Annotated[str | None, typer.Option("--revision", help="Branch, tag or commit.")] = None,
    quantize: Annotated[
        float | None, typer.Option("--quantize", help="Then make an EXL2 quant at this many bits per weight.")
    ] = None,
) -> None:
    """Download a model from the Hugging Face Hub into $XDG_DATA_HOME/vibe/models.

    Progress shows on stderr; an interrupted pull resumes. HF_TOKEN and HF_ENDPOINT are honoured.
    The model is then usable as `--model owner/name` (or just `name`).
    """
    from vibecli.models.hub import pull

    path = pull(repo, revision)
    make_terminal().err.print(f"downloaded {repo} to {path}", style="muted", markup=False)
    if quantize is not None:
        path = _quantize(path, quantize, 6, None)
    typer.echo(str(path))


@app.command("quantize")
@handle_errors
def quantize_command(
    source: Annotated[str, typer.Argument(help="Model directory or name (bf16/fp16).")],
    bpw: Annotated[float, typer.Option("--bpw", help="Target bits per weight (2.0 to 8.0).")] = 4.0,
    head_bits: Annotated[int, typer.Option("--head-bits", help="Bits for the output layer (2-6 or 8).")] = 6,
    out: Annotated[Path | None, typer.Option("--out", help="Output directory. [models dir/NAME-exl2-Nbpw]")] = None,
) -> None:
    """Make an EXL2 quant with ExLlamaV2's converter (needs an NVIDIA GPU).

    Running the same command again after an interruption resumes from the work directory.
    """
    from vibecli.models.store import locate

    found = locate(source, load_config().models)
    typer.echo(str(_quantize(found[0] if found else Path(source).expanduser(), bpw, head_bits, out)))


@app.command("list")
@handle_errors
def list_command(
    json_output: Annotated[bool, typer.Option("--json", help="One JSON object per model.")] = False,
) -> None:
    """Models vibe downloaded or made, and those registered in the config."""
    from vibecli.models.store import list_models
    from vibecli.ui.models_view import print_models

    entries = list_models(load_config().models)
    if json_output:
        for entry in entries:
            typer.echo(json.dumps(entry.to_json()))
        return
    print_models(make_terminal(), entries)


@app.command("info")
@handle_errors
def info_command(
    model: Annotated[str, typer.Argument(help="Model directory or name.")],
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """What a model is: format, bits per weight, size, architecture, context, quantization.

    Exit codes: 0 the model can be loaded · 3 not found, or it cannot be loaded (the last line says why).
    """
    from vibecli.models.store import describe, locate
    from vibecli.ui.models_view import print_info

    found = locate(model, load_config().models)
    if found is None:
        raise EngineError(f"no model '{model}': not a directory, a downloaded model or a registered name")
    if not found[0].is_dir():
        raise EngineError(f"model '{model}' is registered as {found[0]}, which is not a directory")
    entry = describe(model, *found)
    if json_output:
        typer.echo(json.dumps(entry.to_json()))
    else:
        print_info(make_terminal(), entry)
    if entry.problem:  # what can be read is shown above; this says why it would not load
        raise EngineError(f"model '{model}' cannot be loaded: {entry.problem}")


@app.command("rm")
@handle_errors
def rm_command(name: Annotated[str, typer.Argument(help="A downloaded or quantized model's name.")]) -> None:
    """Delete a model vibe downloaded or made (never a directory of yours from the config)."""
    from vibecli.models.store import remove

    path, size = remove(name, load_config().models)
    make_terminal().err.print(f"removed {path} ({size / 1e9:.2f} GB)", style="muted", markup=False)
