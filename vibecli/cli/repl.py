"""`vibe repl` (and `vibe` alone on a terminal): an interactive session on one loaded model."""

from __future__ import annotations

import sys

import typer

from vibecli.cli import options as cli_options
from vibecli.cli.common import check_engine_settings, check_mode, handle_errors, load_engine
from vibecli.config import load_config, with_overrides
from vibecli.paths import state_dir
from vibecli.ui.console import make_terminal


@handle_errors
def repl_command(
    model: cli_options.Model = None,
    backend: cli_options.Backend = None,
    base_url: cli_options.BaseUrl = None,
    api_key: cli_options.ApiKey = None,
    device: cli_options.Device = None,
    ctx: cli_options.Ctx = None,
    cache: cli_options.Cache = None,
    mode: cli_options.Mode = None,
    think: cli_options.Think = None,
    temperature: cli_options.Temperature = None,
    top_p: cli_options.TopP = None,
    top_k: cli_options.TopK = None,
    max_tokens: cli_options.MaxTokens = None,
    seed: cli_options.Seed = None,
    think_budget: cli_options.ThinkBudget = None,
    budget_message: cli_options.BudgetMessage = None,
    loop_guard: cli_options.LoopGuard = None,
) -> None:
    """An interactive session: the model loads once, then every problem starts at once.

    Slash commands (/help lists them) change the mode, sampling, budget and display, check
    the last answer (/verify), and save or load the session. History is kept in
    $XDG_STATE_HOME/vibe/history. Ctrl-C cancels an answer, Ctrl-D exits (status 0).
    With piped input (`printf 'What is 2 + 3?\\n' | vibe repl`) each line is one problem or
    command, answered in plain text; the session ends at the end of the input (status 0).
    """
    from vibecli.prompting.templates import load_templates
    from vibecli.repl.app import run_piped, run_repl

    terminal = make_terminal()
    config = with_overrides(load_config(), model=model, backend=backend, base_url=base_url, api_key=api_key,
                            device=device, ctx=ctx, cache=cache, mode=mode, think=think, temperature=temperature,
                            top_p=top_p, top_k=top_k, max_tokens=max_tokens, seed=seed, think_budget=think_budget,
                            budget_message=budget_message, loop_guard=loop_guard)  # fmt: skip
    check_engine_settings(config)
    templates = load_templates()
    check_mode(config.mode, templates)  # before the model loads
    engine = load_engine(config, terminal)
    try:
        if sys.stdin.isatty():
            status = run_repl(engine, config, templates, terminal, history_path=state_dir() / "history")
        else:  # piped or redirected: one problem per line, no prompt, toolbar or history
            status = run_piped(engine, config, templates, terminal, sys.stdin)
    finally:
        engine.close()
    raise typer.Exit(status)
