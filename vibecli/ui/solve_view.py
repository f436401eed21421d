"""How `vibe solve` looks: the thinking stream, the answer, and the stats.

On a terminal the thinking goes to stderr, dim: streamed in full (`show`), as a small live
tail that leaves one summary line (`collapse`), or as a counter (`hide`). The answer goes to
stdout, rendered as Markdown with LaTeX read as Unicode. Piped, everything is plain text.
Each update renders only a bounded tail, so display cost stays linear in the trace length.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.text import Text

from vibecli.reasoning.extract import last_boxed
from vibecli.reasoning.solve import AnswerDelta, Notice, SolveEvent, SolveResult, ThinkingDelta
from vibecli.ui.console import Terminal
from vibecli.ui.latex import latex_to_unicode, render_math_spans

if TYPE_CHECKING:
    from rich.live import Live

TAIL_LINES = 6
_TAIL_CHARS = 4000


class _TailWindow:
    """The last few lines of the trace under a one-line header; rendered at Live's pace."""

    def __init__(self, show_text: bool, budget: int | None = None) -> None:
        self.show_text = show_text
        self.budget = budget
        self.tail = ""
        self.tokens = 0
        self.phase = "thinking"
        self.started = time.monotonic()

    def add(self, text: str, tokens: int) -> None:
        self.tail = (self.tail + text)[-_TAIL_CHARS:]
        self.tokens = tokens

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        elapsed = time.monotonic() - self.started
        limit = f" / {self.budget:,}" if self.budget and self.phase == "thinking" else ""
        header = Text(f"{self.phase} {self.tokens:,}{limit} tokens · {elapsed:.1f}s", style="accent")
        if not self.show_text:
            yield header
            return
        lines = [Text(line, style="thinking", no_wrap=True, overflow="ellipsis") for line in self._last_lines()]
        yield Group(header, *lines)

    def _last_lines(self) -> list[str]:
        return [line.strip() for line in self.tail.strip().splitlines()[-TAIL_LINES:]]


class SolveView:
    """Consumes `SolveEvent`s and draws them; `close` must be called once at the end."""

    def __init__(self, terminal: Terminal, *, think: str, json_output: bool, budget: int | None = None) -> None:
        self.terminal = terminal
        self.think = think
        self.json_output = json_output
        self._answer_started = False
        self._started = time.monotonic()
        self._thinking_s: float | None = None  # when the last thinking arrived: a wrap-up's answer is not thinking
        self._live: Live | None = None
        self._window: _TailWindow | None = None
        self._stream_thinking = think == "show"
        if terminal.err_is_tty and think in ("collapse", "hide"):
            from rich.live import Live  # only terminals need it; keeps `vibe --help` fast

            self._window = _TailWindow(show_text=think == "collapse", budget=budget)
            self._live = Live(self._window, console=terminal.err, transient=True, refresh_per_second=8)
            self._live.start()

    def consume(self, events: Iterable[SolveEvent]) -> SolveResult | None:
        """Draw every delta of `events` and return their closing `SolveResult`."""
        result = None
        for event in events:
            if isinstance(event, SolveResult):
                result = event
            else:
                self.handle(event)
        return result

    def handle(self, event: SolveEvent) -> None:
        if isinstance(event, ThinkingDelta):
            self._thinking_s = time.monotonic() - self._started
            if self._window is not None:
                self._window.add(event.text, event.tokens)
            elif self._stream_thinking:
                self.terminal.err.print(event.text, style="thinking", end="", markup=False)
        elif isinstance(event, AnswerDelta):
            self._on_answer(event)
        elif isinstance(event, Notice):
            self.terminal.err.print(event.text, style="warning", markup=False, soft_wrap=True)

    def _on_answer(self, event: AnswerDelta) -> None:
        text = event.text
        if not self._answer_started:
            self._answer_started = True
            text = text.lstrip()
            if self._stream_thinking:
                self.terminal.err.print()
        if self._window is not None:
            self._window.phase = "answering"
            self._window.add(event.text, event.tokens)
        if not self.json_output and not self.terminal.out_is_tty and text:
            # Piped: the answer streams through as plain text.
            self.terminal.out.file.write(text)
            self.terminal.out.file.flush()

    def close(self, result: SolveResult | None, *, stats: bool) -> None:
        if self._live is not None:
            self._live.stop()
        if result is None:
            return
        if self.terminal.err_is_tty and self.think != "show" and result.thinking:
            self.terminal.err.print(summary_line(result, self._thinking_s), style="muted", markup=False)
        elif result.controls and result.controls.trigger:
            self.terminal.err.print(forced_line(result), style="warning", markup=False)
        if self.json_output:
            self.terminal.out.file.write(json.dumps(result.to_json(), ensure_ascii=False) + "\n")
        elif self.terminal.out_is_tty:
            render_answer(self.terminal, result)
        elif self._answer_started:
            self.terminal.out.file.write("\n")
        self.terminal.out.file.flush()
        if stats:
            self.terminal.err.print(stats_line(result), style="muted", markup=False)
        if result.check is not None and not self.json_output:
            style = {"equal": "answer", "passed": "answer", "undecided": "warning"}.get(result.check.verdict, "error")
            shown = result.check.verdict.replace("_", " ")
            self.terminal.err.print(
                Text.assemble(("verified: ", "accent"), (shown, style), f" ({result.check.detail})")
            )
        if result.finish_reason == "cancelled":
            self.terminal.err.print("interrupted: the output above is partial", style="warning", markup=False)


_TRIGGERS = {
    "budget": "thinking budget reached",
    "max_tokens": "token cap near",
    "loop": "thinking loop detected",
    "interrupt": "wrapped up on Ctrl-C",
}


def forced_line(result: SolveResult) -> str:
    trigger = result.controls.trigger if result.controls else None
    return forced_text(trigger, result.thinking_tokens)


def forced_text(trigger: str | None, thinking_tokens: int) -> str:
    """`thinking budget reached at 512 tokens: answer forced`, for a solve or one sample."""
    return f"{_TRIGGERS.get(trigger or '', 'stopped')} at {thinking_tokens:,} tokens: answer forced"


def summary_line(result: SolveResult, thinking_s: float | None = None) -> str:
    """The line a collapsed trace leaves: how long the thinking took (not the whole run) and its tokens."""
    seconds = result.total_s if thinking_s is None else thinking_s
    line = f"thought for {seconds:.1f}s · {result.thinking_tokens:,} thinking tokens"
    if result.controls and result.controls.trigger:
        line += f" · {forced_line(result)}"
    return line


def stats_line(result: SolveResult) -> str:
    cached = f" ({result.cached_tokens:,} cached)" if result.cached_tokens else ""
    line = (
        f"{result.model} ({result.backend}) · mode {result.mode} · prompt {result.prompt_tokens:,}{cached} · "
        f"thinking {result.thinking_tokens:,} · answer {result.answer_tokens:,} tokens · "
        f"ttft {result.ttft_s:.2f}s · {result.tokens_per_s:.1f} tok/s · total {result.total_s:.2f}s · "
        f"finish {result.finish_reason}"
    )
    return "\n".join([line, *(f"{result.backend}: {note}" for note in result.engine_notes)])


def render_answer(terminal: Terminal, result: SolveResult) -> None:
    """The answer as Markdown with readable math, then the final answer highlighted."""
    from rich.markdown import Markdown  # imports markdown-it: load only to render

    body = result.answer.strip()
    if body and body != f"\\boxed{{{result.final_answer}}}":
        terminal.out.print(Markdown(render_math_spans(_unbox(body))))
    if result.final_answer is not None:
        shown = result.final_answer if result.mode == "code" else latex_to_unicode(result.final_answer)
        if result.mode != "code":
            terminal.out.print(Text.assemble(("Answer: ", "accent"), (shown, "answer")))


def _unbox(text: str) -> str:
    """Show `\\boxed{x}` as bold `x` in the rendered Markdown."""
    boxed = last_boxed(text)
    return text.replace(f"\\boxed{{{boxed}}}", f"**{boxed}**") if boxed else text
