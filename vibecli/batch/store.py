"""The results file: one JSON line per finished problem, appended and synced as each finishes.

A run killed at any moment leaves at most one partial last line. `--resume` cuts it off,
skips the ids already written, and appends the rest, so no result is lost or duplicated.
A file that holds anything else (a problem file, garbage) is refused, never cut.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Any

from vibecli.errors import UsageError

# Every result line has these; a problem line (the input format) has none of the last two.
RESULT_KEYS = ("id", "final_answer", "finish_reason")
_RESULT_START = b'{"id": '  # how ResultWriter begins every line


def _why_not_a_result(line: bytes, required: tuple[str, ...] = RESULT_KEYS) -> str | None:
    try:
        record = json.loads(line)
    except ValueError:
        return "is not JSON"
    if not isinstance(record, dict):
        return "is not a JSON object"
    missing = [key for key in required if key not in record]
    if not missing:
        return None
    if "finish_reason" in missing and any(k in record for k in ("problem", "question", "prompt")):
        return "is a problem, not a result (is this the problem file?)"
    return f"lacks {', '.join(repr(k) for k in missing)}"


def _cut_short(partial: bytes) -> bool:
    """Whether text after the last newline is a result line that a killed run left unfinished."""
    return partial.startswith(_RESULT_START) or _RESULT_START.startswith(partial)


def _split(path: Path) -> tuple[list[bytes], bytes]:
    """The complete lines of `path`, and what follows the last newline (a line cut short)."""
    data = path.read_bytes()
    *complete, partial = data.split(b"\n")
    return complete, partial


def read_results(path: Path, required: tuple[str, ...] = RESULT_KEYS) -> list[dict[str, Any]]:
    """The result lines of `path`, checked: anything but vibe's result lines (JSON objects with
    the `required` keys) is a UsageError naming the line, so a problem file or garbage is never
    taken for finished work. A last line cut short by a killed run is left out (`repair` removes it)."""
    if not path.exists():
        return []
    try:
        complete, partial = _split(path)
    except OSError as exc:
        raise UsageError(f"cannot read results file {path}: {exc.strerror or exc}") from None
    results = []
    for number, line in enumerate(complete, start=1):
        if not line.strip():
            continue
        why = _why_not_a_result(line, required)
        if why is not None:
            raise UsageError(f"{path} is not a vibe results file: line {number} {why}")
        results.append(json.loads(line))
    if not _cut_short(partial):
        why = _why_not_a_result(partial, required) or "has no newline"
        raise UsageError(f"{path} is not a vibe results file: line {len(complete) + 1} {why}")
    return results


def repair(path: Path) -> int:
    """Cut off a partial last line (a run killed mid-write); return the bytes removed.
    Text after the last newline that is not the start of a result line is left alone."""
    if not path.exists():
        return 0
    _, partial = _split(path)
    if partial and _cut_short(partial):
        with path.open("r+b") as handle:
            handle.truncate(path.stat().st_size - len(partial))
        return len(partial)
    return 0


class ResultWriter:
    """Appends result lines; each is one write, flushed and synced before the next."""

    def __init__(self, stream: IO[str], *, sync: bool) -> None:
        self._stream = stream
        self._sync = sync

    def write(self, record: dict[str, Any]) -> None:
        self._stream.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._stream.flush()
        if self._sync:
            os.fsync(self._stream.fileno())
