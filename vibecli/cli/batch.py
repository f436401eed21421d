"""`vibe batch`: problem sets from files or stdin, concurrent and resumable, with a report."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from vibecli.cli import options as cli_options
from vibecli.cli.common import (
    check_engine_settings,
    check_mode,
    handle_errors,
    load_engine,
    warn_invalid_templates,
    writable_file,
)
from vibecli.cli.interrupts import InterruptHandler
from vibecli.config import MAX_SAMPLES, check_seed_and_samples, load_config, with_overrides
from vibecli.errors import UsageError
from vibecli.ui.console import Terminal, error_line, make_terminal

if TYPE_CHECKING:
    from vibecli.batch.inputs import BatchProblem
    from vibecli.config import Config
    from vibecli.prompting.templates import Templates


@dataclass(frozen=True)
class _Options:
    output: Path | None
    files: list[str]
    samples: int
    concurrency: int
    include_thinking: bool
    progress: bool
    summary_json: Path | None
    given: tuple[tuple[str, object], ...] = ()  # the options as given, for the printed resume command


def _stdin_text() -> str:
    from vibecli.batch.inputs import decode

    buffer = getattr(sys.stdin, "buffer", None)
    return decode(buffer.read()) if buffer is not None else sys.stdin.read()


def _problem_file(path: Path) -> str:
    """A problem file's text; a byte that is not UTF-8 makes only its own line malformed."""
    from vibecli.batch.inputs import decode

    if path.is_dir():
        raise UsageError(f"problem file {path} is a directory; give a file")
    try:
        return decode(path.read_bytes())
    except FileNotFoundError:
        raise UsageError(f"problem file {path} does not exist") from None
    except OSError as exc:
        raise UsageError(f"cannot read problem file {path}: {exc.strerror or exc}") from None


def _sources(files: list[str]) -> list[tuple[str, str]]:
    if not files or files == ["-"]:
        if sys.stdin.isatty():
            raise UsageError("no problems: vibe batch FILE… (or pipe them in)")
        return [("stdin", _stdin_text())]
    return [(name, _stdin_text() if name == "-" else _problem_file(Path(name))) for name in files]


def _write_summary(summary: dict[str, object], path: Path | None) -> None:
    if path is not None:
        path.write_text(json.dumps(summary, indent=2) + "\n")


def _is_summary(path: Path) -> bool:
    """Whether `path` holds a summary vibe wrote (so writing a new one over it loses nothing)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and {"count", "finish_reasons", "total_s"} <= data.keys()


def check_summary_file(summary_json: Path, inputs: list[tuple[str, Path]]) -> None:
    """`--summary-json` before anything loads: never one of the command's own files (problems,
    results), never an existing file that is not a vibe summary; a device (/dev/null) is fine."""
    writable_file(summary_json, "summary file")
    for what, path in inputs:
        same = summary_json.resolve() == path.resolve()
        if same or (path.exists() and summary_json.exists() and summary_json.samefile(path)):
            raise UsageError(f"--summary-json {summary_json} is also the {what}: the summary needs a file of its own")
    regular = summary_json.is_file()
    if regular and summary_json.stat().st_size > 0 and not _is_summary(summary_json):
        raise UsageError(f"--summary-json {summary_json} exists and is not a vibe summary: "
                         "choose another file (or remove it)")  # fmt: skip


def _report(results: Path, summary_json: Path | None) -> None:
    from vibecli.batch.report import summarize
    from vibecli.batch.store import read_results
    from vibecli.ui.batch_view import print_summary

    if results.is_dir():
        raise UsageError(f"results file {results} is a directory; give a file")
    if not results.is_file():
        raise UsageError(f"results file {results} does not exist")
    if summary_json is not None:
        check_summary_file(summary_json, [("results file", results)])
    records = read_results(results)
    if not records:
        raise UsageError(f"{results} holds no results yet")
    summary = summarize(records)
    print_summary(make_terminal().out, summary)
    _write_summary(summary, summary_json)


def _check_output(
    output: Path | None, files: list[str], resume: bool, allow_mixed: bool = False
) -> tuple[set[str], dict[str, Any] | None]:
    """Check `-o` before anything loads; return the ids it already holds and the settings it
    was made with (with --resume)."""
    if output is None:
        if resume:
            raise UsageError("--resume needs --output FILE")
        return set(), None
    writable_file(output, "output file")
    if any(name != "-" and Path(name).resolve() == output.resolve() for name in files):
        raise UsageError(f"-o {output} is also a problem file: results need a file of their own")
    if output.exists() and not output.is_file():  # /dev/null, /dev/stdout, a FIFO: written, never read back
        if resume:
            raise UsageError(f"--resume needs a regular results file; {output} is a device or pipe")
        return set(), None
    if not output.exists() or output.stat().st_size == 0:
        return set(), None
    from vibecli.batch.settings import stored_settings
    from vibecli.batch.store import read_results, repair

    done = read_results(output)  # refuses a file that is not vibe's results, before anything is written
    if not resume:
        raise UsageError(f"{output} already has results: add --resume to continue it, or choose another file")
    settings = stored_settings(done, str(output), allow_mixed=allow_mixed) if done else None
    if repair(output):
        error_line(make_terminal(), f"warning: repaired a partial last line in {output}")
    return {str(record["id"]) for record in done}, settings


def _problem_modes(problems: list[BatchProblem], config: Config, templates: Templates) -> None:
    """Every mode the set will use must have a valid template: checked before the model loads."""
    from vibecli.prompting.routing import route

    for problem in problems:
        mode = problem.mode or config.mode
        templates.require(route(problem.problem) if mode == "auto" else mode)


@handle_errors
def batch_command(
    files: Annotated[list[str] | None, typer.Argument(help="Problem files (JSONL, YAML, text); '-' is stdin.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Results JSONL (default: stdout).")] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue --output with its settings: skip finished ids.")
    ] = False,
    samples: Annotated[
        int | None,
        typer.Option(
            "--samples", "-k", min=1, max=MAX_SAMPLES, help="Samples per problem (at most 256); majority vote. [1]"
        ),
    ] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", min=1, help="Requests run at once.")] = 8,
    include_thinking: Annotated[
        bool, typer.Option("--include-thinking", help="Keep the full traces in the results.")
    ] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Stop at the first malformed input line.")] = False,
    rename_duplicates: Annotated[
        bool, typer.Option("--rename-duplicates", help="Number repeated ids (id-2, id-3, …) instead of stopping.")
    ] = False,
    allow_mixed_settings: Annotated[
        bool,
        typer.Option(
            "--allow-mixed-settings",
            help="With --resume: continue a file whose lines lack their settings (an older vibe) or disagree.",
        ),
    ] = False,
    progress: Annotated[bool, typer.Option("--progress", help="Progress lines on stderr even when piped.")] = False,
    summary_json: Annotated[Path | None, typer.Option("--summary-json", help="Write the summary here.")] = None,
    model: cli_options.Model = None,
    backend: cli_options.Backend = None,
    base_url: cli_options.BaseUrl = None,
    api_key: cli_options.ApiKey = None,
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
) -> None:
    """Solve a problem set; one JSON line per problem, written as each finishes.

    `vibe batch report RESULTS.jsonl` prints the report of any results file. A problem line
    may carry its own `mode`, `think_budget` and `starter_code`. With --samples K,
    sample i uses seed SEED+i (--seed, default 0).

    Exit codes: 0 the run completed (whatever the accuracy) · 2 usage error (also: no problems
    in the input, a repeated id, an output or results file that is not vibe's, --resume with
    other settings than the file's) · 3 model or environment error · 130 interrupted,
    143 terminated (finished results are kept).
    """
    files = files or []
    if files[:1] == ["report"]:
        if len(files) != 2:
            raise UsageError("usage: vibe batch report RESULTS.jsonl")
        _report(Path(files[1]), summary_json)
        return
    from vibecli.batch.inputs import load_problems
    from vibecli.batch.settings import resumed_config
    from vibecli.prompting.templates import load_templates

    terminal = make_terminal()
    shaping = {"model": model, "backend": backend, "mode": mode, "temperature": temperature, "top_p": top_p,
               "top_k": top_k, "seed": seed, "max_tokens": max_tokens, "think_budget": think_budget,
               "budget_message": budget_message, "loop_guard": loop_guard}  # fmt: skip
    config = with_overrides(load_config(), base_url=base_url, api_key=api_key, device=device, ctx=ctx, cache=cache,
                            **shaping)  # fmt: skip
    done_ids, stored = _check_output(output, files, resume, allow_mixed_settings)
    given = {key for key, value in shaping.items() if value is not None} | ({"samples"} if samples else set())
    given |= {"include_thinking"} if include_thinking else set()
    if stored is not None:
        config, samples, include_thinking = resumed_config(config, samples, include_thinking, stored, given,
                                                           str(output), allow_mixed=allow_mixed_settings)  # fmt: skip
    k = samples or 1
    check_seed_and_samples(config.seed, k)
    check_engine_settings(config)
    if summary_json is not None:
        named = [("problem file", Path(name)) for name in files if name != "-"]
        check_summary_file(summary_json, [*named, *([("results file (-o)", output)] if output else [])])
    templates = load_templates()
    check_mode(config.mode, templates)  # before the problems are read, and before the model loads

    def malformed(item: object) -> None:
        if strict:
            raise UsageError(f"{item} (--strict)")
        error_line(terminal, f"{item}: skipped")

    sources = _sources(files)
    problems = load_problems(sources, on_malformed=malformed, modes={"auto", *templates, *templates.invalid},
                             rename_duplicates=rename_duplicates)  # fmt: skip
    if not problems:
        raise UsageError(f"no problems in {', '.join(name for name, _ in sources)}")
    todo = [p for p in problems if p.id not in done_ids]
    _problem_modes(todo, config, templates)
    warn_invalid_templates(terminal, templates)
    from vibecli.batch.settings import FLAGS

    as_given: list[tuple[str, object]] = [(FLAGS[key], value) for key, value in shaping.items() if value is not None]
    as_given += [("--base-url", url) for url in base_url or []]
    as_given += [
        (flag, value)
        for flag, value in (
            ("--samples", samples),
            ("--device", device),
            ("--ctx", ctx),
            ("--cache", cache),
            ("--summary-json", summary_json),
        )
        if value is not None
    ]
    as_given += [
        (flag, True)
        for flag, on in (
            ("--include-thinking", include_thinking),
            ("--strict", strict),
            ("--rename-duplicates", rename_duplicates),
            ("--allow-mixed-settings", allow_mixed_settings),
            ("--progress", progress),
        )
        if on
    ]
    if concurrency != 8:
        as_given.append(("--concurrency", concurrency))  # fmt: skip
    options = _Options(output, files, k, concurrency, include_thinking, progress, summary_json, tuple(as_given))
    _run(terminal, todo, templates, resumed=bool(done_ids), config=config, options=options)


def _run(
    terminal: Terminal, todo: list[BatchProblem], templates: Templates, *, resumed: bool, config: Config,
    options: _Options,
) -> None:  # fmt: skip
    from vibecli.batch.report import summarize
    from vibecli.batch.runner import BatchRun
    from vibecli.batch.store import ResultWriter, read_results
    from vibecli.ui.batch_view import BatchProgressView, print_summary
    from vibecli.verify.math import math_pool

    engine = load_engine(config, terminal)
    output = options.output
    stream = output.open("a", encoding="utf-8") if output else sys.stdout
    view = BatchProgressView(terminal, len(todo), force_plain=options.progress, samples=options.samples)
    started = time.monotonic()
    with InterruptHandler(sigterm=True) as interrupt, math_pool(workers=1) as pool:
        runner = BatchRun(
            engine, pool, ResultWriter(stream, sync=output is not None and output.is_file()), samples=options.samples,
            concurrency=options.concurrency, include_thinking=options.include_thinking, on_progress=view.update,
            on_problem_error=lambda pid, why: error_line(terminal, f"{pid}: {why} (not written; --resume retries)"),
            on_notice=lambda text: terminal.err.print(text, style="warning", markup=False, soft_wrap=True),
        )  # fmt: skip
        try:
            runner.run(todo, templates, config, cancel=interrupt.wrap_up)
        finally:
            view.close()
            if output:
                stream.close()
    if interrupt.wrap_up.is_set():
        from vibecli.batch.settings import resume_command

        command = resume_command(options.files, str(output or "RESULTS"), options.given)
        how = "terminated" if interrupt.exit_code == 143 else "interrupted"
        error_line(terminal, f"{how} after {len(runner.written)} new results; continue with: {command}")
        raise typer.Exit(interrupt.exit_code)
    records = read_results(output) if output and output.is_file() else runner.written
    # A resumed run's own wall time covers only part of the file: add up each run's instead.
    summary = summarize(records, wall_s=None if resumed else time.monotonic() - started)
    print_summary(terminal.err, summary)
    _write_summary(summary, options.summary_json)
