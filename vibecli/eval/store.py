"""The run folder of `vibe eval`: `run.json` (what was run), `samples.jsonl` (one line per
finished sample, with its full response) and `grades.jsonl` (grades and votes).

Both JSONL files are appended line by line and synced, as `vibe batch` writes its results, so
a run killed at any moment keeps every finished sample; a partial last line is cut off on resume.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from vibecli.batch.store import ResultWriter, read_results, repair
from vibecli.errors import UsageError

MANIFEST_VERSION = 1
# The keys every line of each file has (the runner's sample lines, the graders' grade and vote lines).
SAMPLE_KEYS = ("id", "problem", "sample", "budget")
GRADE_KEYS = ("id", "type")


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-").lower() or "model"


class RunFolder:
    """One benchmark's run: its manifest, samples and grades."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.manifest_path = path / "run.json"
        self.samples_path = path / "samples.jsonl"
        self.grades_path = path / "grades.jsonl"

    def exists(self) -> bool:
        return self.manifest_path.is_file()

    def manifest(self) -> dict[str, Any]:
        try:
            data = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"{self.path} is not a vibe eval run ({exc})") from None
        if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
            raise UsageError(f"{self.manifest_path} is not a vibe eval manifest")
        return data

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        temporary = self.manifest_path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"version": MANIFEST_VERSION, **manifest}, indent=2) + "\n", encoding="utf-8")
        temporary.replace(self.manifest_path)

    def repair(self) -> int:
        return repair(self.samples_path) + repair(self.grades_path)

    def samples(self) -> list[dict[str, Any]]:
        return read_results(self.samples_path, SAMPLE_KEYS)

    def grades(self) -> dict[str, dict[str, Any]]:
        return {str(r["id"]): r for r in read_results(self.grades_path, GRADE_KEYS)}

    @contextmanager
    def appending(self, which: str) -> Iterator[ResultWriter]:
        """A writer that appends to `samples.jsonl` or `grades.jsonl`."""
        self.path.mkdir(parents=True, exist_ok=True)
        with (self.samples_path if which == "samples" else self.grades_path).open("a", encoding="utf-8") as stream:
            yield ResultWriter(stream, sync=True)


def find_runs(path: Path) -> list[RunFolder]:
    """The run at `path`, or the runs in its subfolders (an `-o DIR` of several benchmarks)."""
    if RunFolder(path).exists():
        return [RunFolder(path)]
    return [RunFolder(p) for p in sorted(path.iterdir()) if RunFolder(p).exists()] if path.is_dir() else []
