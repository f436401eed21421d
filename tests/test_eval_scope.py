"""A report counts exactly the problems it is about: a resume with `--limit` reports the problems
asked (never "6 of 2"), `vibe eval report` scores only the problems still in the file, and a
problem whose text changed since the run is refused by the report as by a resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vibecli.cli.app import app

runner = CliRunner()
pytestmark = pytest.mark.slow

SIX = [(f"p{i}", f"What is {i} + {i + 3}?", str(2 * i + 3)) for i in range(1, 7)]
RUN = ["--model", "demo", "--max-tokens", "300"]


def write_set(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    path.write_text("".join(json.dumps({"id": i, "question": q, "answer": a}) + "\n" for i, q, a in rows))
    return path


def summary(path: Path) -> dict[str, object]:
    [row] = json.loads(path.read_text())
    return row  # type: ignore[no-any-return]


def test_a_resume_with_limit_reports_only_the_problems_asked(tmp_path: Path) -> None:
    problems, out = write_set(tmp_path / "set.jsonl", SIX), tmp_path / "run"
    first = runner.invoke(app, ["eval", str(problems), *RUN, "-k", "1", "-o", str(out)])
    assert first.exit_code == 0, first.stderr
    for limit in (2, 4):
        path = tmp_path / f"limit{limit}.json"
        result = runner.invoke(app, ["eval", str(problems), *RUN, "-k", "3", "-o", str(out), "--resume",
                                     "--limit", str(limit), "--summary-json", str(path)])  # fmt: skip
        assert result.exit_code == 0, result.stderr
        row = summary(path)
        assert (row["problems"], row["problems_graded"], row["problems_complete"]) == (limit, limit, limit)
        assert (row["samples"], row["samples_asked"], row["samples_per_problem"]) == (3 * limit, 3 * limit, [3, 3])
        assert row["problems_left_out"] == 6 - limit
        assert f"samples {3 * limit} of {3 * limit} (3 per problem, k 3)" in result.stdout
        assert json.loads((out / "run.json").read_text())["problems"] == 6  # the run's count, not the limit's
    whole = tmp_path / "whole.json"
    report = runner.invoke(app, ["eval", "report", str(out), "--summary-json", str(whole)])
    assert report.exit_code == 0, report.stderr
    row = summary(whole)
    assert (row["problems"], row["problems_left_out"], row["samples_per_problem"]) == (6, 0, [1, 3])


@pytest.mark.parametrize("command", ["report", "resume"])
def test_problems_deleted_from_the_file_are_left_out(tmp_path: Path, command: str) -> None:
    problems, out = write_set(tmp_path / "set.jsonl", SIX[:4]), tmp_path / "run"
    assert runner.invoke(app, ["eval", str(problems), *RUN, "-k", "2", "-o", str(out)]).exit_code == 0
    write_set(problems, [SIX[0], (SIX[1][0], SIX[1][1], "999"), SIX[2]])  # p4 deleted, p2's gold now wrong
    path = tmp_path / "s.json"
    args = (["eval", "report", str(out)] if command == "report"
            else ["eval", str(problems), *RUN, "-o", str(out), "--resume"])  # fmt: skip
    result = runner.invoke(app, [*args, "--summary-json", str(path)])
    assert result.exit_code == 0, result.stderr
    row = summary(path)
    assert (row["problems"], row["problems_graded"], row["samples"], row["samples_asked"]) == (3, 3, 6, 6)
    assert row["problems_left_out"] == 1 and row["pass@1"] == pytest.approx(2 / 3)
    assert "1 problems of the run left out" in result.stdout
    assert "the gold of 1 problems (p2) changed" in result.stderr


def test_a_report_refuses_a_problem_whose_text_changed(tmp_path: Path) -> None:
    problems, out = write_set(tmp_path / "set.jsonl", SIX[:3]), tmp_path / "run"
    assert runner.invoke(app, ["eval", str(problems), *RUN, "-k", "1", "-o", str(out)]).exit_code == 0
    before = (out / "grades.jsonl").read_text()
    reworded = ("p2", SIX[1][1].replace("+", "plus"), "7")
    for changed in ([("p1", "What is 1 + 5?", "6"), *SIX[1:3]], [SIX[0], reworded, SIX[2]]):
        write_set(problems, changed)
        result = runner.invoke(app, ["eval", "report", str(out)])
        lines = result.stderr.strip().splitlines()
        assert result.exit_code == 2 and len(lines) == 1, (result.exit_code, result.stderr)
        assert "changed since the run" in lines[0] and "Traceback" not in result.stderr
        assert (out / "grades.jsonl").read_text() == before
