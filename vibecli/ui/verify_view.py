"""How verdicts look: one coloured line on a terminal, plain text or JSON when piped."""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text

from vibecli.ui.console import Terminal

_STYLES = {"equal": "answer", "passed": "answer", "not_equal": "error", "failed": "error", "undecided": "warning"}


def verdict_line(terminal: Terminal, verdict: str, detail: str) -> None:
    """`equal: same set of values`, styled by verdict."""
    terminal.out.print(Text.assemble((verdict, _STYLES.get(verdict, "accent")), (f": {detail}" if detail else "")))


def json_line(terminal: Terminal, record: dict[str, Any]) -> None:
    terminal.out.file.write(json.dumps(record, ensure_ascii=False) + "\n")
    terminal.out.file.flush()
