"""`vibe verify math|equation|ode` and `vibe solve --expected` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vibecli.cli.app import app

runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "code", "word"),
    [
        (["math", "0.5", "--expected", "\\frac{1}{2}"], 0, "equal"),
        (["math", "1728", "--expected", "1331, 1728"], 1, "not equal"),
        (["math", "\\frac{", "--expected", "1"], 3, "undecided"),
        (["equation", "x^2 - 5x + 6 = 0", "x = 2, x = 3"], 0, "correct"),
        (["equation", "x^2 - 5x + 6 = 0", "x = 2"], 1, "incorrect"),
        (["ode", "y'' + y = 0", "y = C1 sin(x) + C2 cos(x)"], 0, "correct"),
        (["ode", "y'' + y = 0", "y = sin(x)", "--ic", "y(0)=1, y'(0)=0"], 1, "incorrect"),
    ],
)
def test_exit_codes(args: list[str], code: int, word: str) -> None:
    result = runner.invoke(app, ["verify", *args])
    assert result.exit_code == code, result.stdout + result.stderr
    assert result.stdout.startswith(word)


def test_math_json_has_both_parsed_forms_and_the_reason() -> None:
    result = runner.invoke(app, ["verify", "math", "3.14", "--expected", "\\pi", "--json"])
    data = json.loads(result.stdout)
    assert data["verdict"] == "not_equal" and data["equal"] is False
    assert data["gold"] == "pi" and data["pred"] == "3.14" and "approximation" in data["reason"]


def test_math_reads_a_full_response_from_stdin() -> None:
    response = "<think>2+2=4, or 5?</think>\nThe answer is \\boxed{4}."
    result = runner.invoke(app, ["verify", "math", "-", "--expected", "4"], input=response)
    assert result.exit_code == 0


def test_cases_file_passes_fields_through_and_reports_bad_lines(tmp_path: Path) -> None:
    cases = tmp_path / "cases.jsonl"
    lines = [
        json.dumps({"id": 1, "gold": "1/2", "pred": "0.5"}),
        "not json",
        json.dumps({"id": 2, "gold": "\\pi", "pred": "3.14"}),
        json.dumps({"id": 3, "pred": "no gold"}),
        json.dumps({"id": 4, "gold": "1", "pred": "\\frac{"}),
    ]
    cases.write_text("\n".join(lines) + "\n")
    result = runner.invoke(app, ["verify", "math", "--cases", str(cases), "--workers", "2"])
    assert result.exit_code == 0
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["id"], r["equal"]) for r in out] == [(1, True), (2, False), (4, None)]
    assert "line 2" in result.stderr and "line 4" in result.stderr


def test_usage_errors() -> None:
    assert runner.invoke(app, ["verify", "math", "1"]).exit_code == 2
    assert runner.invoke(app, ["verify", "math", "--cases", "/no/such/file"]).exit_code == 2
    assert runner.invoke(app, ["verify", "equation", "x = 1", "x = 1", "--domain", "p-adic"]).exit_code == 2


def test_solve_with_expected_shows_the_verdict() -> None:
    result = runner.invoke(app, ["solve", "What is 48 + 37?", "--model", "demo", "-t", "0", "--expected", "85"])
    assert result.exit_code == 0 and "verified: equal" in result.stderr
    result = runner.invoke(
        app, ["solve", "What is 48 + 37?", "--model", "demo", "-t", "0", "--expected", "86", "--json"]
    )
    assert json.loads(result.stdout)["verification"]["equal"] is False
