"""How `vibe models` looks: the model table, one model's details, the converter's progress."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from rich.table import Table

from vibecli.models.store import ModelEntry
from vibecli.ui.console import Terminal


def _size(size: int) -> str:
    return f"{size / 1e9:.2f} GB" if size >= 1e8 else f"{size / 1e6:.1f} MB"


def _row(entry: ModelEntry) -> list[str]:
    bits = f"{entry.bits_per_weight:g}" if entry.bits_per_weight else "-"
    context = f"{entry.context:,}" if entry.context else "-"
    return [entry.name, entry.format, bits, _size(entry.size_bytes), entry.architecture, context, entry.source]


HEADERS = ["name", "format", "bpw", "size", "architecture", "context", "source"]


def print_models(terminal: Terminal, entries: list[ModelEntry]) -> None:
    if not terminal.out_is_tty:
        for entry in entries:  # tab-separated for cut and awk (Rich would expand the tabs)
            terminal.out.file.write("\t".join(_row(entry)) + "\n")
        return
    table = Table(*HEADERS, box=None, header_style="accent")
    for entry in entries:
        table.add_row(*_row(entry))
    terminal.out.print(table)


def print_info(terminal: Terminal, entry: ModelEntry) -> None:
    for key, value in zip(HEADERS, _row(entry), strict=True):
        terminal.out.print(f"{key}: {value}", markup=False, highlight=False)
    terminal.out.print(f"path: {entry.path}", markup=False, highlight=False)
    if entry.quantization:
        shown = ", ".join(f"{k}={v}" for k, v in entry.quantization.items() if not isinstance(v, dict))
        terminal.out.print(f"quantization: {shown}", markup=False, highlight=False)


class ConvertProgress:
    """The converter's stages as a progress bar on a terminal; its log lines dim on stderr."""

    def __init__(self, terminal: Terminal) -> None:
        self.terminal = terminal
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> ConvertProgress:
        if self.terminal.err_is_tty:
            from rich.progress import BarColumn, Progress, TextColumn

            self._progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                      TextColumn("{task.percentage:>3.0f}%"), console=self.terminal.err)  # fmt: skip
            self._progress.start()
            self._task = self._progress.add_task("starting", total=1.0)
        return self

    def status(self, stage: str, completion: float) -> None:
        if self._progress is not None:
            self._progress.update(self._task, description=stage, completed=completion)

    def line(self, text: str) -> None:
        if text.strip():
            self.terminal.err.print(text, style="muted", markup=False, highlight=False)

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()
