"""Pipes: a reader that goes away ends every command quietly with 141; piped tables are whole."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vibecli.errors import ExitCode


def _closed_pipe() -> int:
    """The write end of a pipe whose reader is already gone (as after `| head -1`)."""
    read, write = os.pipe()
    os.close(read)
    return write


@pytest.mark.parametrize(
    ("args", "stdin", "broken"),
    [
        (["solve", "--model", "demo", "-t", "0", "What is 2 + 3?"], None, "stdout"),
        (["solve", "--model", "demo", "-t", "0", "--think", "show", "What is 2 + 3?"], None, "stderr"),
        (["solve", "--model", "demo", "-t", "0", "--samples", "2", "What is 2 + 3?"], None, "stdout"),
        (["batch", "--model", "demo", "-t", "0"], "What is 1 + 1?\nWhat is 2 + 2?\n", "stdout"),
        (["repl", "--model", "demo", "-t", "0"], "What is 2 + 3?\nWhat is 1 + 1?\n", "stdout"),
        (["repl", "--model", "demo", "-t", "0"], "/samples 2 What is 2 + 3?\n/stats\nWhat is 1 + 1?\n", "stdout"),
        (["verify", "math", "1/2", "--expected", "0.5"], None, "stdout"),
        (["eval", "list"], None, "stdout"),
        (["config", "show"], None, "stdout"),
        (["models", "list"], None, "stdout"),
        (["--help"], None, "stdout"),
    ],
)
def test_a_closed_pipe_ends_quietly_with_141(args: list[str], stdin: str | None, broken: str, tmp_path: Path) -> None:
    write = _closed_pipe()
    other = tmp_path / "other.txt"
    with other.open("w") as handle:
        streams = {"stdout": write, "stderr": handle} if broken == "stdout" else {"stdout": handle, "stderr": write}
        proc = subprocess.run([sys.executable, "-m", "vibecli", *args], input=(stdin or "").encode(), timeout=120,
                              **streams)  # type: ignore[call-overload]  # fmt: skip
    os.close(write)
    said = other.read_text()
    assert proc.returncode == ExitCode.BROKEN_PIPE, (args, said)
    assert "Traceback" not in said and "BrokenPipe" not in said and "Exception ignored" not in said, said


def test_piped_tables_are_whole_lines() -> None:
    proc = subprocess.run([sys.executable, "-m", "vibecli", "eval", "list"], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "40"}, timeout=60)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "…" not in proc.stdout and not any(c in proc.stdout for c in "┏━│")
    names = [line.split("\t")[0] for line in lines[2:]]
    assert "gpqa-diamond" in names and any(n.startswith("livecodebench") and len(n) > 10 for n in names), names
    assert all(len(line.split("\t")) == len(lines[1].split("\t")) for line in lines[1:])
