"""`vibe eval`: the model card's benchmarks (or your own set), batched, resumable, graded, reported."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from vibecli.cli import options as cli_options
from vibecli.cli.common import handle_errors, load_engine
from vibecli.cli.interrupts import InterruptHandler
from vibecli.config import load_config, with_overrides
from vibecli.errors import EngineError, ExitCode, UsageError
from vibecli.ui.console import Terminal, error_line, make_terminal

if TYPE_CHECKING:
    from vibecli.eval.store import RunFolder


def parse_budgets(text: str | None) -> list[int | None]:
    """`4096,8192,off` → [4096, 8192, None]; no flag means one run without a budget."""
    if text is None:
        return [None]
    budgets: list[int | None] = []
    for part in text.split(","):
        item = part.strip().lower()
        if item in ("off", "none"):
            value = None
        elif item.isdigit():
            value = int(item)
        else:
            raise UsageError(f"--think-budget takes whole numbers and 'off', separated by commas (got '{part}')")
        if value not in budgets:
            budgets.append(value)
    return budgets


def _date(text: str | None, flag: str) -> str | None:
    import datetime

    if text is None:
        return None
    try:
        return datetime.date.fromisoformat(text).isoformat()
    except ValueError:
        raise UsageError(f"{flag} takes a date as YYYY-MM-DD (got '{text}')") from None


def _write_outputs(
    terminal: Terminal, rows: list[dict[str, Any]], summary_json: Path | None, plot: Path | None
) -> None:
    from vibecli.ui.eval_view import plot_budgets, print_report

    print_report(terminal.out, rows)
    if summary_json is not None:
        summary_json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    if plot is not None:
        plot_budgets(rows, plot)
        terminal.err.print(f"plot: {plot}", style="muted", markup=False)


def _list(terminal: Terminal) -> None:
    from rich.table import Table

    from vibecli.eval.registry import BENCHMARKS, CARD

    table = Table(title="registered benchmarks", title_style="accent")
    for name in ("name", "benchmark", "dataset", "revision", "k", "VibeThinker-1.5B", "VibeThinker-3B"):
        table.add_column(name)
    for b in BENCHMARKS.values():
        cards = [CARD[c].get(b.name) for c in ("VibeThinker-1.5B", "VibeThinker-3B")]
        table.add_row(b.name, b.title, b.repo + (" (gated)" if b.gated else ""), (b.revision or "main")[:12],
                      str(b.k), *(f"{100 * c.pass_at_1:.1f}" if c else "—" for c in cards))  # fmt: skip
    from vibecli.ui.tables import show_table

    show_table(terminal.out, table)  # piped: whole lines, never cut


def _problems_of(folder: RunFolder, templates: dict[str, Any]) -> list[Any] | None:
    """A finished or partial run's problems, from its recorded source (the Hub cache or its file)."""
    from vibecli.eval.datasets import benchmark_problems
    from vibecli.eval.evaluate import Target, load_target
    from vibecli.eval.hub import download
    from vibecli.eval.registry import find_benchmark, windowed

    manifest = folder.manifest()
    source = manifest["source"]
    try:
        if "file" in source:
            target = Target(manifest["benchmark"], file=Path(source["file"]))
            return load_target(target, templates, mode=source.get("mode", "auto"))[0]
        registered = find_benchmark(manifest["benchmark"])
        if registered is None:
            return None
        window = source.get("window") or [None, None]
        benchmark = windowed(registered, window[0], window[1])
        local, _ = download(benchmark, source.get("revision"))
        return benchmark_problems(benchmark, local)
    except (EngineError, UsageError):
        return None


def _report(directory: Path, grader: str, summary_json: Path | None, plot: Path | None) -> None:
    from vibecli.eval.evaluate import eval_templates, grade_run, summaries
    from vibecli.eval.store import find_runs
    from vibecli.prompting.templates import load_templates
    from vibecli.verify.math import math_pool

    terminal = make_terminal()
    runs = find_runs(directory)
    if not runs:
        raise UsageError(f"{directory} holds no vibe eval run (no run.json)")
    templates = eval_templates(load_templates())
    rows: list[dict[str, Any]] = []
    with math_pool(workers=1) as pool:
        for folder in runs:
            problems = _problems_of(folder, templates)
            if problems is None:
                error_line(terminal, f"{folder.path}: its problems cannot be read; reporting what is graded")
            else:
                grade_run(folder, problems, templates, grader, pool)
            rows += summaries(folder, grader)
    _write_outputs(terminal, rows, summary_json, plot)


@handle_errors
def eval_command(
    benchmarks: Annotated[
        list[str] | None, typer.Argument(help="Registered benchmarks (vibe eval list) or JSONL/YAML files.")
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Run folder [under vibe's data dir].")] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue the run in the folder: only what is missing.")
    ] = False,
    samples: Annotated[
        int | None, typer.Option("--samples", "-k", min=1, help="Samples per problem [the card's]")
    ] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", min=1, help="Requests run at once.")] = 16,
    think_budget: Annotated[
        str | None, typer.Option("--think-budget", help="Budgets to sweep, e.g. 4096,8192,16384,off.")
    ] = None,
    loop_guard: Annotated[
        str,
        typer.Option(
            "--loop-guard", show_default=False, help="on or off: force the answer of looping traces. [off, as the card]"
        ),
    ] = "off",
    grader: Annotated[
        str, typer.Option("--grader", help="vibe (vibe's verifier) or card (the card's grader).")
    ] = "vibe",
    summary_json: Annotated[Path | None, typer.Option("--summary-json", help="Write the summaries here.")] = None,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Draw accuracy and tokens per budget (.png/.svg).")
    ] = None,
    progress: Annotated[bool, typer.Option("--progress", help="Progress lines on stderr even when piped.")] = False,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Only the first N problems.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="LiveCodeBench: contests from YYYY-MM-DD.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="LiveCodeBench: contests before YYYY-MM-DD.")] = None,
    dataset_revision: Annotated[
        str | None, typer.Option("--dataset-revision", help="Override the dataset's pinned revision.")
    ] = None,
    model: cli_options.Model = None,
    backend: cli_options.Backend = None,
    base_url: cli_options.BaseUrl = None,
    api_key: cli_options.ApiKey = None,
    device: cli_options.Device = None,
    ctx: cli_options.Ctx = None,
    cache: cli_options.Cache = None,
    mode: cli_options.Mode = None,
    temperature: Annotated[
        float | None, typer.Option("--temperature", "-t", help="[the card's: 1.0 math, 0.6 code]")
    ] = None,
    top_p: Annotated[float | None, typer.Option("--top-p", help="[0.95]")] = None,
    top_k: Annotated[int | None, typer.Option("--top-k", help="0 is off. [0]")] = None,
    max_tokens: Annotated[int | None, typer.Option("--max-tokens", help="New-token cap per sample. [40960]")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Sample i uses seed SEED+i. [0]")] = None,
) -> None:
    """Run benchmarks the way the model card did, and report pass@1, pass@k, cons@k and lengths.

    `vibe eval list` shows the registered benchmarks; `vibe eval report DIR` prints the report
    of any run, finished or not. Exit codes: 0 the run completed · 2 usage error ·
    3 model, data or environment error · 130 interrupted (finished samples are kept).
    """
    names = benchmarks or []
    if grader not in ("vibe", "card"):
        raise UsageError("--grader takes vibe or card")
    if names[:1] == ["list"]:
        if len(names) > 1:
            raise UsageError("usage: vibe eval list (it takes no arguments)")
        _list(make_terminal())
        return
    if names[:1] == ["report"]:
        if len(names) != 2:
            raise UsageError("usage: vibe eval report DIR")
        _report(Path(names[1]), grader, summary_json, plot)
        return
    if not names:
        raise UsageError("no benchmark: vibe eval aime25 (vibe eval list shows them), or vibe eval FILE.jsonl")
    if loop_guard not in ("on", "off"):
        raise UsageError("--loop-guard takes on or off")
    config = with_overrides(load_config(), model=model, backend=backend, base_url=base_url, api_key=api_key,
                            device=device, ctx=ctx, cache=cache, mode=mode, temperature=temperature,
                            max_tokens=max_tokens, seed=seed)  # fmt: skip
    budgets = parse_budgets(think_budget)
    window = _date(since, "--since"), _date(until, "--until")
    plan = _Plan(names, output, resume, samples, concurrency, budgets, loop_guard == "on", grader, limit, *window,
                 dataset_revision, progress, top_p, top_k)  # fmt: skip
    rows = _run(make_terminal(), config, plan)
    _write_outputs(make_terminal(), rows, summary_json, plot)


class _Plan:
    """What the flags asked for, beyond the config."""

    def __init__(self, *values: Any) -> None:
        (self.names, self.output, self.resume, self.k, self.concurrency, self.budgets, self.loop_guard, self.grader,
         self.limit, self.since, self.until, self.revision, self.progress, self.top_p, self.top_k) = values  # fmt: skip


def _run(terminal: Terminal, config: Any, plan: _Plan) -> list[dict[str, Any]]:
    from vibecli.eval import evaluate as ev
    from vibecli.eval.runner import EvalRunner, EvalSettings
    from vibecli.eval.store import RunFolder
    from vibecli.prompting.templates import load_templates
    from vibecli.ui.eval_view import EvalProgressView
    from vibecli.verify.math import math_pool

    templates = ev.eval_templates(load_templates())
    targets = [ev.resolve_target(name) for name in plan.names]
    if plan.output is not None and len(targets) > 1 and plan.output.is_file():
        raise UsageError(f"-o {plan.output} is a file: give a folder")
    loaded = []
    for target in targets:  # every download before the model loads
        problems, source = ev.load_target(target, templates, mode=config.mode, revision=plan.revision,
                                          since=plan.since, until=plan.until)  # fmt: skip
        if target.file is not None:
            source["mode"] = config.mode
        if not problems:
            raise UsageError(f"{target.name}: no problems (check --since/--until)")
        loaded.append((target, problems[: plan.limit] if plan.limit else problems, source))
    engine = load_engine(config, terminal)
    info = engine.info
    model = {"model": info.name, "model_path": info.path, "backend": info.backend}
    rows: list[dict[str, Any]] = []
    view = EvalProgressView(terminal, force_plain=plan.progress)
    interrupted: RunFolder | None = None
    with InterruptHandler() as interrupt, math_pool(workers=1) as pool:
        try:
            for target, problems, source in loaded:
                settings = EvalSettings(k=plan.k or ev.default_k(target, problems, templates),
                                        temperature=config.temperature, top_p=plan.top_p or 0.95,
                                        top_k=plan.top_k or 0, max_tokens=config.max_tokens, seed=config.seed or 0,
                                        loop_guard=plan.loop_guard)  # fmt: skip
                base = plan.output if plan.output is not None else None
                path = (base / target.name if len(targets) > 1 else base) if base else ev.default_folder(
                    target, info.name, settings)  # fmt: skip
                folder = RunFolder(path)
                manifest = ev.open_run(folder, target, model=model, settings=settings, budgets=plan.budgets,
                                       problems=problems, source=source, resume=plan.resume)  # fmt: skip
                k = int(manifest["settings"]["k"])
                for budget in plan.budgets:
                    jobs = ev.missing_jobs(folder, problems, k, budget)
                    shown = "" if budget is None else f" · budget {budget:,}"
                    view.stage(f"{target.name}{shown}", len(jobs))
                    with folder.appending("samples") as writer:
                        runner = EvalRunner(engine, templates, settings, writer, concurrency=plan.concurrency,
                                            on_progress=view.update, on_error=lambda sid, why: error_line(
                                                terminal, f"{sid}: {why} (not written; --resume retries)"))  # fmt: skip
                        runner.run(jobs, budget, cancel=interrupt.wrap_up)
                    if interrupt.wrap_up.is_set():
                        interrupted = folder
                        break
                if interrupted is not None:
                    break
                view.stage(f"{target.name} · grading", len(folder.samples()))
                ev.grade_run(folder, problems, templates, plan.grader, pool, on_progress=view.graded)
                rows += ev.summaries(folder, plan.grader)
                terminal.err.print(f"{target.name}: {folder.path}", style="muted", markup=False)
        finally:
            view.close()
            engine.close()
    if interrupted is not None:
        where = interrupted.path
        error_line(terminal, f"interrupted: finished samples are in {where}; continue with the same command plus "
                             f"-o {where} --resume, or see vibe eval report {where}")  # fmt: skip
        raise typer.Exit(int(ExitCode.INTERRUPTED))
    return rows
