"""`vibe verify math|equation|ode` and `vibe solve --expected` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vibecli.cli.app import app

runner = CliRunner()
MATRIX = "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}"
TRANSPOSE = "\\begin{pmatrix}1&3\\\\2&4\\end{pmatrix}"


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
        # The false positives, now right.
        (["math", "\\infty", "--expected", "1"], 1, "not equal"),
        (["math", "-\\infty", "--expected", "1"], 1, "not equal"),
        (["math", "oo", "--expected", "1"], 1, "not equal"),
        (["math", "1/0", "--expected", "1"], 1, "not equal"),
        (["math", "\\frac{1}{0}", "--expected", "5"], 1, "not equal"),
        (["math", "\\infty", "--expected", "\\infty"], 0, "equal"),
        (["math", "(3, \\frac{3\\pi}{4})", "--expected", "(3, \\frac{\\pi}{3})"], 1, "not equal"),
        (["math", "(2,2)", "--expected", "(1,1)"], 1, "not equal"),
        (["math", "(0, 0)", "--expected", "(27/8, 15/8)"], 1, "not equal"),
        (["math", TRANSPOSE, "--expected", MATRIX], 1, "not equal"),
        (["equation", "x^2 + 1 = 0", ""], 3, "undecided"),
        (["equation", "x^2 + 1 = 0", "banana"], 3, "undecided"),
        # Answers that begin with a dash are answers, not options.
        (["math", "-5", "--expected", "-5"], 0, "equal"),
        (["math", "-5", "-e", "5"], 1, "not equal"),
        (["math", "-\\frac{1}{2}", "--expected", "-0.5"], 0, "equal"),
        (["math", "--expected", "-x^2", "--", "-x^{2}"], 0, "equal"),
        (["equation", "-x^2 + 4 = 0", "-2, 2"], 0, "correct"),
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


def test_gold_and_prediction_are_extracted_the_same_way() -> None:
    gold = "We find $x = 3$, so $y = 2x = 6$ and the answer is $\\boxed{6}$."
    result = runner.invoke(app, ["verify", "math", "The final answer is $6$.", "--expected", gold, "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["gold"] == "6"


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


@pytest.mark.parametrize(
    "args",
    [
        ["math", "1"],
        ["math", "--cases", "/no/such/file"],
        ["equation", "x = 1", "x = 1", "--domain", "p-adic"],
        ["math", "1", "--expected", "1", "--timeout", "0"],
        ["math", "1", "--expected", "1", "--timeout", "-3"],
        ["math", "1", "--expected", "1", "--timeout", "nan"],
        ["math", "--cases", "-", "--workers", "0"],
        ["equation", "x = 1", "x = 1", "--timeout", "0"],
        ["ode", "y' = y", "y = e^x", "--timeout", "-1"],
        ["math", "1", "--jsno", "--expected", "1"],  # a mistyped flag is still an error
    ],
)
def test_usage_errors(args: list[str]) -> None:
    result = runner.invoke(app, ["verify", *args], input="")
    assert result.exit_code == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_a_binary_cases_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(bytes(range(256)) * 4)
    result = runner.invoke(app, ["verify", "math", "--cases", str(garbage)])
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "garbage.bin" in result.stderr


def test_a_runaway_comparison_is_undecided_after_the_time_limit() -> None:
    result = runner.invoke(app, ["verify", "math", "(10^{9})!", "--expected", "(10^{9})! + 1", "--timeout", "1"])
    assert result.exit_code == 3 and "timed out after 1s" in result.stdout


def test_solve_with_expected_shows_the_verdict() -> None:
    result = runner.invoke(app, ["solve", "What is 48 + 37?", "--model", "demo", "-t", "0", "--expected", "85"])
    assert result.exit_code == 0 and "verified: equal" in result.stderr
    result = runner.invoke(
        app, ["solve", "What is 48 + 37?", "--model", "demo", "-t", "0", "--expected", "86", "--json"]
    )
    assert json.loads(result.stdout)["verification"]["equal"] is False
