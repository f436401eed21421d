"""How `vibe eval` looks: progress with ETA on stderr, then the report table (and the budget plot)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from vibecli.errors import UsageError
from vibecli.eval.runner import EvalProgress
from vibecli.ui.console import THEME, Terminal


def progress_text(p: EvalProgress) -> str:
    rate = p.generated_tokens / p.elapsed_s if p.elapsed_s > 0 else 0.0
    eta = f"ETA {(p.total - p.done) * p.elapsed_s / p.done:,.0f}s" if p.done else "ETA —"
    return f"{p.done}/{p.total} samples · {rate:,.0f} tok/s · {eta}"


class EvalProgressView:
    """A live bar on a terminal; plain lines off a terminal when asked (`--progress`)."""

    def __init__(self, terminal: Terminal, *, force_plain: bool) -> None:
        self.terminal = terminal
        self._plain = force_plain and not terminal.err_is_tty
        self._bar: Progress | None = None
        self._task: Any = None
        self._label = ""
        if terminal.err_is_tty:
            self._bar = Progress(
                TextColumn("[accent]{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[info]}"), TimeRemainingColumn(), console=terminal.err, transient=True,
            )  # fmt: skip
            self._bar.start()

    def stage(self, label: str, total: int) -> None:
        """Start a new bar: generating one budget, or grading."""
        self._label = label
        if self._bar is not None:
            if self._task is not None:
                self._bar.remove_task(self._task)
            self._task = self._bar.add_task(label, total=total, info="")
        elif self._plain:
            self.terminal.err.print(f"{label}: {total} to do", markup=False, highlight=False)

    def update(self, p: EvalProgress) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, completed=p.done, info=progress_text(p).split(" · ", 1)[1])
        elif self._plain:
            self.terminal.err.print(f"{self._label}: {progress_text(p)}", markup=False, highlight=False)

    def graded(self, done: int, total: int) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, completed=done)
        elif self._plain and (done == total or done % 50 == 0):
            self.terminal.err.print(f"{self._label}: {done}/{total}", markup=False, highlight=False)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def _rate(value: Any) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def _budget(value: Any) -> str:
    return "off" if value is None else f"{value:,}"


def print_report(console: Console, rows: Sequence[dict[str, Any]]) -> None:
    """The summaries as one table; the card's numbers in their own column when known."""
    table = Table(title="vibe eval", title_style="accent", box=box.SIMPLE_HEAD if console.is_terminal else box.ASCII)
    columns = ["benchmark", "budget", "k", "problems", "pass@1", "± stderr", "pass@k", "cons@k", "mean tokens",
               "cut off", "loop", "tok/s", "wall", "card pass@1"]  # fmt: skip
    for name in columns:
        table.add_column(name, justify="left" if name == "benchmark" else "right")
    for r in rows:
        problems = f"{r['problems_graded']}/{r['problems']}"
        card = r.get("card") or {}
        table.add_row(
            r["benchmark"], _budget(r["budget"]), str(r["k"]), problems, _rate(r["pass@1"]),
            "—" if r["pass@1_stderr"] is None else f"{100 * r['pass@1_stderr']:.1f}", _rate(r["pass@k"]),
            _rate(r["cons@k"]), "—" if r["mean_response_tokens"] is None else f"{r['mean_response_tokens']:,.0f}",
            _rate(r["cutoff_ratio"]), _rate(r["loop_ratio"]),
            "—" if r["tokens_per_s"] is None else f"{r['tokens_per_s']:,.0f}", f"{r['wall_s']:,.0f}s",
            _rate(card.get("pass@1")) if card else "—",
        )  # fmt: skip
    if not console.is_terminal:  # piped or to a file: full columns, no colours
        console = Console(file=console.file, width=200, no_color=True, highlight=False, theme=THEME)
    console.print(table)
    graders = sorted({str(r["grader"]) for r in rows})
    console.print(f"grader: {', '.join(graders)} · pass@k and cons@k at k samples", style="muted", markup=False)
    for r in rows:
        card = r.get("card")
        if card and r["budget"] is None:
            extra = ", ".join(f"{key} {_rate(v) if key != 'mean_response_tokens' else f'{v:,.0f}'}"
                              for key, v in card.items() if key not in ("checkpoint", "source", "pass@1"))  # fmt: skip
            line = f"card ({card['checkpoint']}, {r['benchmark']}): pass@1 {_rate(card['pass@1'])}"
            console.print(line + (f", {extra}" if extra else "") + f" · {card['source']}", style="muted", markup=False)


def plot_budgets(rows: Sequence[dict[str, Any]], path: Path) -> None:
    """Accuracy and mean response tokens against the thinking budget, one line per benchmark."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError("--plot needs matplotlib: pip install 'vibecli[eval]'") from None
    if path.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise UsageError("--plot takes a .png, .svg or .pdf file")
    figure, (accuracy, length) = plt.subplots(1, 2, figsize=(9, 3.6))
    for benchmark in dict.fromkeys(r["benchmark"] for r in rows):
        mine = [r for r in rows if r["benchmark"] == benchmark and r["pass@1"] is not None]
        mine.sort(key=lambda r: float("inf") if r["budget"] is None else r["budget"])
        labels = [_budget(r["budget"]) for r in mine]
        accuracy.errorbar(labels, [100 * r["pass@1"] for r in mine],
                          yerr=[100 * (r["pass@1_stderr"] or 0) for r in mine], marker="o", capsize=3,
                          label=benchmark)  # fmt: skip
        length.plot(labels, [r["mean_response_tokens"] or 0 for r in mine], marker="o", label=benchmark)
    accuracy.set(title="pass@1 (± stderr)", xlabel="thinking budget (tokens)", ylabel="%")
    length.set(title="mean response tokens", xlabel="thinking budget (tokens)", ylabel="tokens")
    for axes in (accuracy, length):
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
    model = rows[0]["model"] if rows else ""
    figure.suptitle(f"vibe eval · {model}", fontsize=10)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, metadata={"Date": None} if path.suffix.lower() == ".svg" else None)
    plt.close(figure)
