"""How `vibe solve --samples K` looks: one live line per sample, then the vote and the answer.

On a terminal, stderr shows each sample's progress (`#3 thinking 1,234 tokens`, then its
answer); the vote line (`85 ×6 · 84 ×1 · no answer ×1`) stays. stdout gets the chosen answer,
rendered on a terminal and plain when piped, or the JSON object with `--json`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.text import Text

from vibecli.reasoning.results import Notice
from vibecli.reasoning.samples import SamplesResult, SampleUpdate
from vibecli.ui.console import Terminal
from vibecli.ui.latex import latex_to_unicode
from vibecli.ui.solve_view import forced_text

if TYPE_CHECKING:
    from rich.live import Live

_MAX_LINES = 16  # beyond this many samples, one summary line instead of a line each


class _Board:
    """Every sample's latest state, drawn at Live's pace."""

    def __init__(self, k: int) -> None:
        self.updates: dict[int, SampleUpdate] = {}
        self.k = k
        self.started = time.monotonic()

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        done = sum(u.phase == "done" for u in self.updates.values())
        tokens = sum(u.tokens for u in self.updates.values())
        header = Text(f"{self.k} samples · {done} done · {tokens:,} tokens · "
                      f"{time.monotonic() - self.started:.1f}s", style="accent")  # fmt: skip
        if self.k > _MAX_LINES:
            yield header
            return
        yield Group(header, *(self._line(i) for i in range(self.k)))

    def _line(self, index: int) -> Text:
        update = self.updates.get(index)
        if update is None:
            return Text(f"#{index + 1:<3} waiting", style="muted")
        if update.phase != "done":
            return Text(f"#{index + 1:<3} {update.phase} {update.tokens:,} tokens", style="thinking")
        shown = latex_to_unicode(update.final_answer) if update.final_answer is not None else "no answer"
        return Text.assemble(f"#{index + 1:<3} ", (shown[:60], "answer"),
                             (f" · {update.tokens:,} tokens · {update.finish_reason}", "muted"))  # fmt: skip


class SamplesView:
    """Consumes `SampleUpdate`s, then shows the `SamplesResult`; `close` must be called once."""

    def __init__(self, terminal: Terminal, k: int, *, json_output: bool) -> None:
        self.terminal = terminal
        self.json_output = json_output
        self._board = _Board(k)
        self._live: Live | None = None
        if terminal.err_is_tty:
            from rich.live import Live

            self._live = Live(self._board, console=terminal.err, transient=True, refresh_per_second=8)
            self._live.start()

    def consume(self, events: Iterable[SampleUpdate | Notice | SamplesResult]) -> SamplesResult | None:
        result = None
        for event in events:
            if isinstance(event, SamplesResult):
                result = event
            elif isinstance(event, Notice):
                self.terminal.err.print(event.text, style="warning", markup=False, soft_wrap=True)
            else:
                self._board.updates[event.index] = event
        return result

    def close(self, result: SamplesResult | None, *, stats: bool = False) -> None:
        if self._live is not None:
            self._live.stop()
        if result is None:
            return
        err, out = self.terminal.err, self.terminal.out
        if result.cancelled:
            err.print("interrupted: no vote over unfinished samples", style="warning", markup=False)
        else:
            how = "tests" if result.chosen_by == "tests" else "vote"
            err.print(Text.assemble((f"{how}: ", "accent"), result.tally()), highlight=False)
            for sample in result.samples:  # as a single solve says it: which control forced an answer
                trigger = sample.controls.trigger if sample.controls else None
                if trigger:
                    err.print(f"#{sample.index + 1} {forced_text(trigger, sample.thinking_tokens)}", style="warning",
                              markup=False)  # fmt: skip
        if self.json_output:
            out.file.write(json.dumps(result.to_json(), ensure_ascii=False) + "\n")
        elif result.final_answer is not None:
            chosen = result.samples[result.winner] if result.winner is not None else None
            if out.is_terminal and result.mode != "code":
                shown = latex_to_unicode(result.final_answer)
                size = f" ({result.vote.size} of {len(result.samples)})" if result.chosen_by == "vote" else ""
                out.print(Text.assemble(("Answer: ", "accent"), (shown, "answer"), (size, "muted")))
            elif chosen is not None:
                out.file.write(chosen.answer.strip() + "\n")
        elif result.shown is not None and result.shown.answer.strip():
            # No sample gave a final answer: the first sample's text, as a single solve shows its answer.
            out.file.write(result.shown.answer.strip() + "\n")
        out.file.flush()
        if result.check is not None and not self.json_output:
            style = {"equal": "answer", "passed": "answer", "undecided": "warning"}.get(result.check.verdict, "error")
            err.print(Text.assemble(("verified: ", "accent"), (result.check.verdict.replace("_", " "), style),
                                    f" ({result.check.detail})"))  # fmt: skip
        if stats:
            err.print(samples_stats_line(result), style="muted", markup=False)


def samples_stats_line(result: SamplesResult) -> str:
    """`--stats` for K samples: the same fields as a single solve's line, summed over the samples."""
    record = result.to_json()
    tokens, timings = record["tokens"], record["timings"]
    return (
        f"{result.model} ({result.backend}) · mode {result.mode} · {len(result.samples)} samples · "
        f"prompt {tokens['prompt']:,} · thinking {tokens['thinking']:,} · answer {tokens['answer']:,} tokens · "
        f"ttft {timings['ttft_s']:.2f}s · {timings['tokens_per_s']:.1f} tok/s · total {timings['total_s']:.2f}s · "
        f"finish {record['finish_reason']}"
    )
