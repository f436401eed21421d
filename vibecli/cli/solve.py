"""`vibe solve`: one problem, thinking streamed, then the final answer."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from vibecli.cli import options as cli_options
from vibecli.cli.common import check_tests_file, handle_errors, load_engine, pick_template, read_text_file
from vibecli.cli.interrupts import InterruptHandler
from vibecli.cli.options import FreeTextCommand
from vibecli.config import MAX_SAMPLES, check_seed_and_samples, load_config, with_overrides
from vibecli.errors import ExitCode, UsageError
from vibecli.prompting.templates import load_templates
from vibecli.reasoning.solve import (
    SolveResult,
    build_request,
    controls_for,
    sampling_for,
    solve_stream,
)
from vibecli.ui.console import Terminal, error_line, make_terminal
from vibecli.ui.solve_view import SolveView


def read_problem(words: list[str] | None, file: Path | None) -> str:
    """The problem from the arguments (joined: it may come unquoted), `-f FILE`, or stdin (`-` or piped)."""
    problem = " ".join(words) if words else None
    if problem is not None and file is not None:
        raise UsageError("give the problem as an argument or with -f, not both")
    if file is not None:
        text = read_text_file(file, "problem file")
    elif problem == "-" or (problem is None and not sys.stdin.isatty()):
        text = sys.stdin.read()
    elif problem is None:
        raise UsageError('no problem given: vibe solve "PROBLEM", vibe solve -f FILE, or pipe it in')
    else:
        text = problem
    if not text.strip():
        raise UsageError("the problem is empty")
    return text.strip()


def _exit_code(result: SolveResult, terminal: Terminal) -> ExitCode:
    if result.finish_reason == "cancelled":
        return ExitCode.INTERRUPTED
    if result.finish_reason == "error":
        error_line(terminal, f"generation failed: {result.error}")
        return ExitCode.ENVIRONMENT
    if result.final_answer is None:
        why = "the thinking never finished" if result.answer == "" else "no final answer in the response"
        error_line(terminal, f"{why} (finish reason: {result.finish_reason})")
        return ExitCode.NO_ANSWER
    if result.check is not None and result.check.verdict not in ("equal", "passed"):
        return ExitCode.CHECK_FAILED  # the verdict line (or the JSON's `verification`) says why
    return ExitCode.OK


@handle_errors
def solve_command(
    problem: Annotated[
        list[str] | None,
        typer.Argument(metavar="PROBLEM...", help="The problem (quotes optional); '-' reads stdin."),
    ] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="Read the problem from a file.")] = None,
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
    think: cli_options.Think = None,
    think_budget: cli_options.ThinkBudget = None,
    budget_message: cli_options.BudgetMessage = None,
    loop_guard: cli_options.LoopGuard = None,
    starter_code: Annotated[Path | None, typer.Option("--starter-code", help="Starter code file (code mode).")] = None,
    expected: Annotated[
        str | None, typer.Option("--expected", help="Check the final answer against this gold answer.")
    ] = None,
    tests: Annotated[
        Path | None, typer.Option("--tests", help="Run the answer's code against these tests (sandboxed).")
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of rendered text.")
    ] = False,
    stats: Annotated[bool, typer.Option("--stats", help="Print token counts, timings and speed on stderr.")] = False,
    samples: Annotated[
        int,
        typer.Option(
            "--samples", min=1, max=MAX_SAMPLES, help="Solve K times in one batch (at most 256); the majority wins."
        ),
    ] = 1,
) -> None:
    """Solve one problem: the thinking streams (stderr), then the final answer (stdout).

    The problem may be unquoted (vibe solve What is 48 + 37) and may start with a dash
    (vibe solve -5 + 3); anything after `--` is problem text.

    Ctrl-C during the thinking wraps up: the answer is forced from what was thought so far.
    A second Ctrl-C (or the first, during the answer) cancels and exits 130.

    Exit codes: 0 answered · 1 no final answer could be extracted · 2 usage error ·
    3 model or environment error · 4 the answer failed --expected or --tests · 130 interrupted.
    """
    terminal = make_terminal()
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
        temperature=temperature,
        top_p=top_p,
        top_k=top_k,
        max_tokens=max_tokens,
        seed=seed,
        think=think,
        think_budget=think_budget,
        budget_message=budget_message,
        loop_guard=loop_guard,
    )
    check_seed_and_samples(config.seed, samples)
    text = read_problem(problem, file)
    starter = read_text_file(starter_code, "starter code file") if starter_code else None
    if tests is not None:
        check_tests_file(tests)  # before the model loads
    template = pick_template(config.mode, text, load_templates(), terminal)
    engine = load_engine(config, terminal)
    if samples > 1:
        from vibecli.cli.samples import run_samples, samples_exit_code

        voted = run_samples(engine, config, template, text, terminal, k=samples, json_output=json_output,
                            expected=expected, tests=tests, starter_code=starter, stats=stats)  # fmt: skip
        engine.close()
        raise typer.Exit(int(samples_exit_code(voted, terminal)))
    request = build_request(
        template, text, sampling=sampling_for(template, config), max_tokens=config.max_tokens, starter_code=starter
    )
    controls = controls_for(template, config)
    from vibecli.verify.solution import with_check

    view = SolveView(terminal, think=config.think, json_output=json_output, budget=controls.budget)
    result: SolveResult | None = None
    with InterruptHandler() as interrupt:
        try:
            events = solve_stream(
                engine, template, text, request=request, controls=controls, cancel=interrupt.cancel,
                wrap_up=interrupt.wrap_up,
            )  # fmt: skip
            finished = view.consume(events)
            result = with_check(finished, expected, tests) if finished is not None else None
        finally:
            view.close(result, stats=stats)
            engine.close()
    assert result is not None
    raise typer.Exit(int(_exit_code(result, terminal)))


app = typer.Typer(add_completion=False)
app.command("solve", cls=FreeTextCommand)(solve_command)
