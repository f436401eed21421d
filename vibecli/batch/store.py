"""The results file: one JSON line per finished problem, appended and synced as each finishes.

A run killed at any moment leaves at most one partial last line. `--resume` cuts it off,
skips the ids already written, and appends the rest, so no result is lost or duplicated.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Any


def read_results(path: Path) -> list[dict[str, Any]]:
    """The complete result lines in `path` (a partial last line is ignored)."""
    if not path.exists():
        return []
    results = []
    with path.open("rb") as handle:
        for line in handle:
            if not line.endswith(b"\n"):
                break
            try:
                record = json.loads(line)
            except ValueError:
                break
            if isinstance(record, dict) and "id" in record:
                results.append(record)
    return results


def repair(path: Path) -> int:
    """Truncate `path` after its last complete, valid line; return the bytes removed."""
    if not path.exists():
        return 0
    keep = 0
    with path.open("rb") as handle:
        for line in handle:
            if not line.endswith(b"\n"):
                break
            try:
                json.loads(line)
            except ValueError:
                break
            keep += len(line)
    removed = path.stat().st_size - keep
    if removed:
        with path.open("r+b") as handle:
            handle.truncate(keep)
    return removed


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
