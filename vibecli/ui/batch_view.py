"""`vibe batch` on screen: progress on stderr, the summary as a table (or plain lines)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from vibecli.batch.runner import Progress as BatchProgress
from vibecli.ui.console import Terminal


def progress_text(p: BatchProgress) -> str:
    rate = p.generated_tokens / p.elapsed_s if p.elapsed_s > 0 else 0.0
    eta = (p.total - p.done) * p.elapsed_s / p.done if p.done else 0.0
    accuracy = f" · accuracy {p.correct / p.graded:.1%}" if p.graded else ""
    return f"{p.done}/{p.total} problems · {rate:,.0f} tok/s · ETA {eta:,.0f}s{accuracy}"


class BatchProgressView:
    """A live bar on a terminal; plain lines when asked for (`--progress`) off a terminal."""

    def __init__(self, terminal: Terminal, total: int, *, force_plain: bool, samples: int) -> None:
        self.terminal = terminal
        self._bar: Progress | None = None
        self._plain = force_plain and not terminal.err_is_tty
        if terminal.err_is_tty:
            self._bar = Progress(
                TextColumn(f"[accent]batch ×{samples}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[info]}"), TimeRemainingColumn(), console=terminal.err, transient=True,
            )  # fmt: skip
            self._task = self._bar.add_task("batch", total=total, info="")
            self._bar.start()

    def update(self, p: BatchProgress) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=p.done, info=progress_text(p).split(" · ", 1)[1])
        elif self._plain:
            self.terminal.err.print(progress_text(p), markup=False, highlight=False)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.1%}" if value <= 1.0 else f"{value:,.2f}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    return "—" if value is None else f"{value:,}" if isinstance(value, int) else str(value)


def print_summary(console: Console, summary: dict[str, Any]) -> None:
    """A Rich table on a terminal, `key: value` lines otherwise."""
    rates = {"accuracy", "pass@1"} | {k for k in summary if k.startswith(("pass@", "maj@"))}
    rows = [(key, _shown(value) if key in rates or not isinstance(value, float) else f"{value:,.2f}")
            for key, value in summary.items()]  # fmt: skip
    if not console.is_terminal:
        for key, value in rows:
            console.print(f"{key}: {value}", markup=False, highlight=False)
        return
    table = Table(title="vibe batch", show_header=False, title_style="accent")
    for key, value in rows:
        table.add_row(key, value)
    console.print(table)
