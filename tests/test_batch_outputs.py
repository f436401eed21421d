"""Batch's output paths (-o, --summary-json) never overwrite the user's data, and a results file
that is not a regular file (/dev/null, a pipe) works or is refused in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vibecli.cli.app import app

runner = CliRunner()
RESULT = '{"id": "a", "problem": "What is 1 + 1?", "final_answer": "2", "finish_reason": "stop"}\n'


def _setup(tmp_path: Path) -> dict[str, Path]:
    problems = tmp_path / "p.jsonl"
    problems.write_text('{"id": "a", "problem": "What is 1 + 1?"}\n')
    results = tmp_path / "r.jsonl"
    results.write_text(RESULT * 3)
    keep = tmp_path / "keep.txt"
    keep.write_text("my notes\n")
    return {"problems": problems, "results": results, "keep": keep}


@pytest.mark.parametrize(
    "argv",
    [
        lambda fs: ["batch", "report", str(fs["results"]), "--summary-json", str(fs["results"])],
        lambda fs: ["batch", str(fs["problems"]), "-o", str(fs["results"]), "--resume",
                    "--summary-json", str(fs["results"])],
        lambda fs: ["batch", str(fs["problems"]), "--summary-json", str(fs["problems"])],
        lambda fs: ["batch", str(fs["problems"]), "--summary-json", str(fs["keep"])],
        lambda fs: ["batch", "report", str(fs["results"]), "--summary-json", str(fs["keep"])],
        lambda fs: ["batch", str(fs["problems"]), "--summary-json", str(fs["results"].parent / "." / "p.jsonl")],
    ],
)  # fmt: skip
def test_summary_json_never_overwrites_a_file_it_does_not_own(tmp_path: Path, argv) -> None:  # type: ignore[no-untyped-def]
    files = _setup(tmp_path)
    before = {name: path.read_bytes() for name, path in files.items()}
    result = runner.invoke(app, argv(files))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stderr.startswith("vibe: ") and "summary" in result.stderr
    assert {name: path.read_bytes() for name, path in files.items()} == before


def test_summary_json_and_a_new_results_file_are_not_the_same_file(tmp_path: Path) -> None:
    files = _setup(tmp_path)
    fresh = tmp_path / "new.jsonl"
    result = runner.invoke(app, ["batch", str(files["problems"]), "-o", str(fresh), "--summary-json", str(fresh)])
    assert result.exit_code == 2 and not fresh.exists()


def test_a_summary_replaces_an_older_summary(tmp_path: Path) -> None:
    files = _setup(tmp_path)
    summary = tmp_path / "s.json"
    assert runner.invoke(app, ["batch", "report", str(files["results"]), "--summary-json", str(summary)]).exit_code == 0
    first = json.loads(summary.read_text())
    assert first["count"] == 3
    files["results"].write_text(RESULT * 3 + RESULT.replace('"a"', '"b"'))
    assert runner.invoke(app, ["batch", "report", str(files["results"]), "--summary-json", str(summary)]).exit_code == 0
    assert json.loads(summary.read_text())["count"] == 4


def test_summary_json_to_dev_null_is_allowed(tmp_path: Path) -> None:
    files = _setup(tmp_path)
    result = runner.invoke(app, ["batch", "report", str(files["results"]), "--summary-json", "/dev/null"])
    assert result.exit_code == 0, result.output


def _demo_batch(problems: Path, output: str, *extra: str) -> object:
    return runner.invoke(app, ["batch", str(problems), "-o", output, "--model", "demo", "-t", "0",
                               "--max-tokens", "40", *extra])  # fmt: skip


def test_results_to_dev_null_work(tmp_path: Path) -> None:
    files = _setup(tmp_path)
    result = _demo_batch(files["problems"], "/dev/null")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "Traceback" not in result.output  # type: ignore[attr-defined]


def test_results_into_a_fifo_work(tmp_path: Path) -> None:
    import os
    import threading

    files = _setup(tmp_path)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()), daemon=True)
    reader.start()
    result = _demo_batch(files["problems"], str(fifo))
    reader.join(timeout=60)
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert json.loads(got[0].splitlines()[0])["id"] == "a"


@pytest.mark.parametrize("device", ["/dev/null"])
def test_resume_into_a_device_is_refused_in_one_line(tmp_path: Path, device: str) -> None:
    files = _setup(tmp_path)
    result = _demo_batch(files["problems"], device, "--resume")
    assert result.exit_code == 2  # type: ignore[attr-defined]
    assert result.stderr.count("vibe: ") == 1  # type: ignore[attr-defined]
