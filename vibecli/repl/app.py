"""The interactive loop: prompt-toolkit input, slash commands, one turn per problem.

The model is loaded once by the caller. A turn that fails prints one line and the session
goes on; Ctrl-C during an answer cancels it (or, with a thinking budget set, wraps it up);
Ctrl-C at the prompt clears the line; Ctrl-D leaves. Piped input runs the same session
without prompt-toolkit (`run_piped`): one problem per line, plain output.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TextIO

from vibecli import __version__
from vibecli.cli.interrupts import InterruptHandler
from vibecli.cli.samples import repl_samples
from vibecli.config import Config
from vibecli.engine.backend import Backend
from vibecli.errors import VibeError
from vibecli.prompting.templates import PromptTemplate
from vibecli.reasoning.solve import (
    SolveResult,
    build_request,
    controls_for,
    sampling_for,
    select_template,
    solve_stream,
)
from vibecli.repl.commands import ARGUMENT_VALUES, COMMANDS, Context, dispatch
from vibecli.repl.session import ReplSession, ReplSettings
from vibecli.ui.console import Terminal, error_line
from vibecli.ui.solve_view import SolveView

PROMPT = ">>> "
CONTINUATION = "... "
FENCE = '"""'


def _completer(ctx: Context) -> Any:
    from prompt_toolkit.completion import Completer, Completion

    class SlashCompleter(Completer):
        """Completes /commands and their values (modes, think displays, …)."""

        def get_completions(self, document: Any, complete_event: Any) -> Iterable[Completion]:
            text = document.text_before_cursor
            if not text.startswith("/"):
                return
            name, space, arg = text[1:].partition(" ")
            if not space:
                for command, (_, _usage, help_text) in COMMANDS.items():
                    if command.startswith(name):
                        yield Completion(command, -len(name), display_meta=help_text)
                return
            values = ("auto", *ctx.modes) if name == "mode" else ARGUMENT_VALUES.get(name, ())
            for value in values:
                if value.startswith(arg):
                    yield Completion(value, -len(arg))

    return SlashCompleter()


def _toolbar(session: ReplSession, info: Any) -> str:
    s = session.settings
    budget = "off" if s.budget is None else f"{s.budget:,}"
    last = ""
    if session.last is not None:
        r = session.last.result
        last = f" · last: {r['tokens']['thinking']:,} thinking tokens, {r['timings']['tokens_per_s']:.0f} tok/s"
    return f" {info.name} · {info.backend} · mode {s.mode} · budget {budget}{last}"


def make_prompt(session: ReplSession, ctx: Context, history_path: Path | None, **io: Any) -> Any:
    """The prompt-toolkit session; `io` may carry `input=`/`output=` (tests use pipe input)."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
    from prompt_toolkit.history import FileHistory, InMemoryHistory
    from prompt_toolkit.key_binding import KeyBindings

    bindings = KeyBindings()

    @bindings.add("escape", "enter")  # Alt-Enter arrives as Esc Enter
    def _newline(event: Any) -> None:
        event.current_buffer.insert_text("\n")

    @bindings.add("c-g")
    def _editor(event: Any) -> None:
        event.current_buffer.open_in_editor(validate_and_handle=False)

    history: Any = InMemoryHistory()
    if history_path is not None:
        history_path.parent.mkdir(parents=True, exist_ok=True)
        history = FileHistory(str(history_path))
    return PromptSession(
        history=history,
        auto_suggest=AutoSuggestFromHistory(),
        completer=_completer(ctx),
        key_bindings=bindings,
        enable_open_in_editor=True,  # Ctrl-X Ctrl-E
        bottom_toolbar=lambda: _toolbar(session, ctx.info),
        **io,
    )


def _read_block(next_line: Callable[[], str], first: str) -> str:
    """A `\"\"\"` block: everything up to the closing fence, for long pastes."""
    lines = [first.strip()[len(FENCE) :]]
    while not lines[-1].rstrip().endswith(FENCE):
        lines.append(next_line())
    lines[-1] = lines[-1].rstrip()[: -len(FENCE)]
    return "\n".join(lines).strip()


def run_turn(
    engine: Backend, session: ReplSession, config: Config, templates: dict[str, PromptTemplate],
    terminal: Terminal, text: str,
) -> SolveResult | None:  # fmt: skip
    """Answer one problem in the conversation and record it."""
    turn = session.settings.apply(config)
    template = select_template(turn.mode, text, templates)
    request = build_request(template, text, sampling=sampling_for(template, turn), max_tokens=turn.max_tokens,
                            history=session.history())  # fmt: skip
    controls = controls_for(template, turn)
    view = SolveView(terminal, think=turn.think, json_output=False, budget=controls.budget)
    result = None
    with InterruptHandler(exiting=False) as interrupt:
        # With a budget the first Ctrl-C wraps up; without one it cancels the answer.
        wrap_up = interrupt.wrap_up if controls.budget is not None else None
        cancel = interrupt.cancel if controls.budget is not None else interrupt.wrap_up
        try:
            events = solve_stream(engine, template, text, request=request, controls=controls, cancel=cancel,
                                  wrap_up=wrap_up)  # fmt: skip
            result = view.consume(events)
        except KeyboardInterrupt:
            pass  # a third press: drop this answer, keep the session
        finally:
            view.close(result, stats=False)
    if result is not None:
        session.record(text, request.messages[-1].content, result)
    return result


def run_repl(
    engine: Backend, config: Config, templates: dict[str, PromptTemplate], terminal: Terminal,
    *, history_path: Path | None = None, **io: Any,
) -> int:  # fmt: skip
    """The interactive loop; returns the exit status (0 on Ctrl-D or /exit)."""
    session = ReplSession(ReplSettings.from_config(config))
    ctx = _context(engine, session, config, templates, terminal)
    prompt = make_prompt(session, ctx, history_path, **io)
    info = engine.info
    banner = (
        f"vibe {__version__} · {info.name} ({info.backend}, {info.device}, {info.dtype}) · "
        f"mode {session.settings.mode} · /help for commands, Ctrl-D to exit"
    )
    terminal.err.print(banner, style="accent", markup=False)
    while True:
        try:
            text = prompt.prompt(PROMPT)
        except KeyboardInterrupt:
            continue  # Ctrl-C at the prompt clears the line
        except EOFError:
            return 0
        try:
            if _handle(engine, session, ctx, config, templates, terminal, text, lambda: prompt.prompt(CONTINUATION)):
                return 0
        except (KeyboardInterrupt, EOFError):
            continue


def run_piped(
    engine: Backend, config: Config, templates: dict[str, PromptTemplate], terminal: Terminal, lines: TextIO
) -> int:
    """The same session read from a pipe or file: one problem (or /command) per line, plain
    output, no prompt or toolbar; returns 0 at the end of input or on /exit."""
    session = ReplSession(ReplSettings.from_config(config))
    ctx = _context(engine, session, config, templates, terminal)

    def next_line() -> str:
        line = lines.readline()
        if not line:
            raise EOFError
        return line.rstrip("\r\n")

    def block_line() -> str:
        try:
            return next_line()
        except EOFError:  # the input ended inside a block: send what it holds
            return FENCE

    while True:
        try:
            text = next_line()
        except EOFError:
            return 0
        if _handle(engine, session, ctx, config, templates, terminal, text, block_line):
            return 0


def _context(
    engine: Backend, session: ReplSession, config: Config, templates: dict[str, PromptTemplate], terminal: Terminal
) -> Context:
    samples = repl_samples(engine, session, config, templates, terminal)
    return Context(engine.info, tuple(sorted(templates)), samples=samples)


def _handle(
    engine: Backend, session: ReplSession, ctx: Context, config: Config, templates: dict[str, PromptTemplate],
    terminal: Terminal, text: str, next_line: Callable[[], str],
) -> bool:  # fmt: skip
    """One input: a problem, a slash command or a fenced block; True when the session ends."""
    if not text.strip():
        return False
    try:
        if text.strip().startswith(FENCE):
            text = _read_block(next_line, text)
        if text.startswith("/"):
            reply = dispatch(session, text, ctx)
            if reply.exit:
                return True
            terminal.out.print(reply.text, style=reply.style, markup=False, highlight=False)
            return False
        run_turn(engine, session, config, templates, terminal, text)
    except VibeError as exc:
        error_line(terminal, str(exc))
    except (EOFError, BrokenPipeError):
        raise  # Ctrl-D inside a block is the loop's to handle; a closed output pipe ends vibe (141)
    except Exception as exc:  # one failed answer must not end the session
        error_line(terminal, f"this answer failed: {type(exc).__name__}: {exc}")
    return False
