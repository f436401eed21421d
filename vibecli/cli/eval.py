"""`vibe eval`: the model card's benchmarks (or your own set), batched, resumable, graded, reported."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from typer._click.core import Context
from typer._click.utils import echo
from typer.core import TyperCommand

from vibecli.cli import options as cli_options
from vibecli.cli.common import handle_errors, load_engine
from vibecli.cli.eval_report import REPORT_HELP, check_files, report, write_outputs
from vibecli.cli.interrupts import InterruptHandler
from vibecli.config import load_config, with_overrides
from vibecli.errors import ExitCode, UsageError
from vibecli.ui.console import Terminal, error_line, make_terminal


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


class EvalCommand(TyperCommand):
    """`vibe eval`, whose `report` word has help of its own."""

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        if args[:1] == ["report"] and any(a in ("--help", "-h") for a in args[1:]):
            echo(REPORT_HELP.rstrip("\n"))
            ctx.exit(0)
        return super().parse_args(ctx, args)


def _eval(
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
    protocol: Annotated[
        str | None,
        typer.Option(
            "--protocol",
            help="vibethinker-1.5b or vibethinker-3b: the card's sampling. [from the model's "
            "name, else vibethinker-1.5b]",
        ),
    ] = None,
    grader: Annotated[
        str | None,
        typer.Option(
            "--grader",
            help="card (the card's grader, rllm's) or vibe (vibe's verifier). [card for "
            "registered benchmarks, vibe for your files]",
        ),
    ] = None,
    choices: Annotated[
        str | None,
        typer.Option(
            "--choices", help="GPQA: card (the card's order, correct option A) or shuffled (needs --seed). [card]"
        ),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            help="hub (the Hub's copies) or card (the card authors' own files, pinned and "
            "checked: aime24, aime25, hmmt25, gpqa-diamond). [hub]",
        ),
    ] = None,
    summary_json: Annotated[
        Path | None, typer.Option("--summary-json", help="Write the summaries here (.json).")
    ] = None,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Draw accuracy and tokens per budget (.png/.svg/.pdf).")
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
        float | None, typer.Option("--temperature", "-t", help="[the protocol's: 1.0, code 0.6 for the 1.5B]")
    ] = None,
    top_p: Annotated[float | None, typer.Option("--top-p", help="[0.95]")] = None,
    top_k: Annotated[int | None, typer.Option("--top-k", help="0 is off. [0]")] = None,
    max_tokens: Annotated[
        int | None, typer.Option("--max-tokens", help="New-token cap per sample. [40960; the 3B: context - prompt]")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Sample i uses seed SEED+i; shuffles GPQA. [0]")] = None,
) -> None:
    """Run benchmarks the way the model card did, and report pass@1, pass@k, cons@k and lengths.

    `vibe eval list` shows the registered benchmarks; `vibe eval report DIR` prints the report
    of any run, finished or not. Every usage error is found before the model loads. Exit codes:
    0 the run completed · 2 usage error · 3 model, data or environment error · 130 interrupted
    (finished samples are kept).
    """
    names = benchmarks or []
    if grader not in (None, "vibe", "card"):
        raise UsageError(f"--grader takes vibe or card (got '{grader}')")
    if names[:1] == ["list"]:
        if len(names) != 1:
            raise UsageError("usage: vibe eval list")
        _list(make_terminal())
        return
    if names[:1] == ["report"]:
        if len(names) != 2:
            raise UsageError("usage: vibe eval report DIR")
        report(Path(names[1]), grader, samples, summary_json, plot)
        return
    if not names:
        raise UsageError("no benchmark: vibe eval aime25 (vibe eval list shows them), or vibe eval FILE.jsonl")
    if loop_guard not in ("on", "off"):
        raise UsageError(f"--loop-guard takes on or off (got '{loop_guard}')")
    if choices not in (None, "card", "shuffled"):
        raise UsageError(f"--choices takes card or shuffled (got '{choices}')")
    if source not in (None, "hub", "card"):
        raise UsageError(f"--source takes hub or card (got '{source}')")
    if source == "card" and choices == "shuffled":
        raise UsageError("--source card is the card's prompts as they are: --choices shuffled needs --source hub")
    if len(set(names)) != len(names):
        raise UsageError("a benchmark is named twice: name each once")
    config = with_overrides(
        load_config(),
        model=model,
        backend=backend,
        base_url=base_url,
        api_key=api_key,
        device=device,
        ctx=ctx,
        cache=cache,
        mode=mode,
        seed=seed,
        temperature=temperature,
        top_p=top_p,
        top_k=top_k,
        max_tokens=max_tokens,
    )  # fmt: skip (validates them too)
    if choices == "shuffled" and config.seed is None:  # a silent seed 0 would pass for a choice
        raise UsageError("--choices shuffled needs --seed N: the order of the options is the seed's")
    budgets = parse_budgets(think_budget)
    window = _date(since, "--since"), _date(until, "--until")
    if window[0] and window[1] and window[0] >= window[1]:
        raise UsageError(f"--since {window[0]} is not before --until {window[1]}")
    check_files(summary_json, plot)
    flags = {"temperature": temperature, "top_p": top_p, "top_k": top_k, "max_tokens": max_tokens}
    plan = _Plan(names, output, resume, samples, concurrency, budgets, loop_guard == "on", grader, limit, *window,
                 dataset_revision, progress, protocol, choices or "card", flags, source or "hub")  # fmt: skip
    rows = _run(make_terminal(), config, plan)
    write_outputs(make_terminal(), rows, summary_json, plot)


eval_command = typer.Typer(add_completion=False)
eval_command.command("eval", cls=EvalCommand)(handle_errors(_eval))


class _Plan:
    """What the flags asked for, beyond the config."""

    def __init__(self, *values: Any) -> None:
        (self.names, self.output, self.resume, self.k, self.concurrency, self.budgets, self.loop_guard, self.grader,
         self.limit, self.since, self.until, self.revision, self.progress, self.protocol, self.choices,
         self.flags, self.origin) = values  # fmt: skip
        self.run_k: dict[str, int] = {}  # the k of each run being resumed


def _run(terminal: Terminal, config: Any, plan: _Plan) -> list[dict[str, Any]]:
    from vibecli.eval import evaluate as ev
    from vibecli.eval.protocol import choose_protocol
    from vibecli.eval.runner import EvalRunner
    from vibecli.eval.store import RunFolder
    from vibecli.prompting.templates import load_templates
    from vibecli.ui.eval_view import EvalProgressView
    from vibecli.verify.math import math_pool

    templates = ev.eval_templates(load_templates())
    targets = [ev.resolve_target(name) for name in plan.names]
    if plan.origin == "card":
        from vibecli.eval.card_data import require

        for target in targets:
            if target.benchmark is None:
                raise UsageError(
                    f"--source card reads the card's own files of registered benchmarks, not {target.file}"
                )
            require(target.benchmark.name)
    choose_protocol(plan.protocol, config.model)  # a --protocol against the name asked for, first
    predicted = config.model  # the model's name, known before loading where its files are local
    if config.backend != "openai":
        from vibecli.engine.resolve import resolve_model

        predicted = resolve_model(config).name
    chosen, chosen_by = choose_protocol(plan.protocol, predicted)
    if plan.output is not None:
        if plan.output.is_file():
            raise UsageError(f"-o {plan.output} is a file: give a folder for the run")
        if len(targets) > 1:
            ev.check_parent(plan.output, [target.name for target in targets])
        for target in targets:
            ev.check_output(plan.output / target.name if len(targets) > 1 else plan.output, resume=plan.resume)
    windowed = plan.since is not None or plan.until is not None
    loaded = []
    for target in targets:  # every download, and every check of the run folders, before the model loads
        problems, source = ev.load_target(target, templates, mode=config.mode, revision=plan.revision,
                                          since=plan.since, until=plan.until, choices=plan.choices,
                                          seed=config.seed or 0, origin=plan.origin)  # fmt: skip
        if target.file is not None:
            source["mode"] = config.mode
        if not problems:
            raise UsageError(ev.empty_message(target, windowed=windowed))
        warning = ev.count_warning(target, problems, windowed_by_user=windowed)
        if warning:
            terminal.err.print(f"vibe: warning: {warning}", style="warning", markup=False, highlight=False)
        source["problems_in_set"] = len(problems)
        loaded.append((target, problems[: plan.limit] if plan.limit else problems, source))
    runs = _settings(terminal, config, plan, chosen, chosen_by, loaded, templates)
    for (target, problems, source), (settings, _, _) in zip(loaded, runs, strict=True):
        if plan.output is not None:
            folder = RunFolder(plan.output / target.name if len(targets) > 1 else plan.output)
        else:
            folder = RunFolder(ev.default_folder(target, predicted or "model", settings))
        if folder.exists():
            old = ev.check_resume(folder, target, settings, problems, source, resume=plan.resume)
            plan.run_k[target.name] = int(old["settings"]["k"])  # without -k, a resume keeps the run's k
            warning = ev.gold_warning(folder, problems)
            if warning:
                terminal.err.print(f"vibe: warning: {warning}", style="warning", markup=False, highlight=False)
    if plan.run_k:
        runs = _settings(terminal, config, plan, chosen, chosen_by, loaded, templates, quiet=True)
    engine = load_engine(config, terminal)
    info = engine.info
    if chosen_by == "default" and ev.protocol_for(info.name) not in (None, chosen.name):
        chosen, chosen_by = choose_protocol(ev.protocol_for(info.name), info.name)
        runs = _settings(terminal, config, plan, chosen, "model name", loaded, templates, quiet=True)
    model = {"model": info.name, "model_path": info.path, "backend": info.backend}
    rows: list[dict[str, Any]] = []
    view = EvalProgressView(terminal, force_plain=plan.progress)
    interrupted: RunFolder | None = None
    with InterruptHandler() as interrupt, math_pool(workers=1) as pool:
        try:
            for (target, problems, source), (settings, grader, extra) in zip(loaded, runs, strict=True):
                base = plan.output
                path = (base / target.name if len(targets) > 1 else base) if base else ev.default_folder(
                    target, info.name, settings)  # fmt: skip
                folder = RunFolder(path)
                manifest = ev.open_run(folder, target, model=model, settings=settings, budgets=plan.budgets,
                                       problems=problems, source=source, resume=plan.resume,
                                       extra=extra)  # fmt: skip
                k = settings.k
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
                ev.grade_run(folder, problems, templates, grader, pool, on_progress=view.graded, k=k)
                rows += ev.summaries(folder, grader, k=k, problems=problems)
                if int(manifest["settings"]["k"]) != k:
                    terminal.err.print(f"{target.name}: the run's k is {manifest['settings']['k']} (it holds "
                                       f"{ev.held(folder, problems, plan.budgets)} samples per problem); reported "
                                       f"at the {k} asked", style="muted", markup=False)  # fmt: skip
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


def _settings(
    terminal: Terminal, config: Any, plan: _Plan, protocol: Any, chosen_by: str, loaded: list[Any],
    templates: dict[str, Any], *, quiet: bool = False,
) -> list[tuple[Any, str, dict[str, Any]]]:  # fmt: skip
    """Each target's settings, grader and manifest record: the protocol, and what replaced it."""
    import os

    from vibecli.config import env_overrides, read_config_file
    from vibecli.eval import evaluate as ev
    from vibecli.eval.protocol import sampling_overrides
    from vibecli.eval.runner import EvalSettings
    from vibecli.paths import config_file

    overrides = sampling_overrides(plan.flags, read_config_file(config_file()), env_overrides(os.environ), protocol)
    for o in overrides:
        if o.origin != "flag" and not quiet:
            terminal.err.print(f"vibe: warning: {o.key} {o.value} from the {o.origin} replaces the {protocol.name} "
                               "protocol's; the run records it", style="warning", markup=False)  # fmt: skip
    value = {o.key: o.value for o in overrides}
    runs = []
    for target, problems, _source in loaded:
        k = plan.k or plan.run_k.get(target.name) or ev.default_k(target, problems, templates)
        settings = EvalSettings(k=k,
                                temperature=value.get("temperature"), top_p=value.get("top_p", protocol.top_p),
                                top_k=value.get("top_k", protocol.top_k),
                                max_tokens=value.get("max_tokens", protocol.max_tokens), seed=config.seed or 0,
                                loop_guard=plan.loop_guard, temperatures=dict(protocol.temperature),
                                protocol=protocol.name)  # fmt: skip
        grader = plan.grader or ("card" if target.benchmark is not None else "vibe")
        extra = {"protocol": {**protocol.to_json(), "chosen_by": chosen_by,
                              "overrides": [o.to_json() for o in overrides]}, "grader": grader}  # fmt: skip
        runs.append((settings, grader, extra))
    return runs
