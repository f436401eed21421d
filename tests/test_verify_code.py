"""Code checking: LiveCodeBench's output comparison, stdin/stdout tests, assert files, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vibecli.cli.app import app
from vibecli.verify.code import outputs_match, solution_source

runner = CliRunner()


@pytest.mark.parametrize(
    ("expected", "actual", "tolerance", "match"),
    [
        ("6", "6\n", None, True),
        ("1 2 3", "  1 2 3  ", None, True),
        ("1.0", "1", None, True),  # decimals compare exactly as numbers
        ("0.1", "0.10000001", None, False),
        ("0.1", "0.10000001", 1e-6, True),
        ("a\nb", "a", None, False),  # line counts must match
        ("YES", "yes", None, False),
    ],
)
def test_outputs_match(expected: str, actual: str, tolerance: float | None, match: bool) -> None:
    assert outputs_match(expected, actual, float_tolerance=tolerance) is match


def test_solution_source_takes_the_last_fence_of_a_response() -> None:
    response = "<think>```python\nprint(0)\n```</think>\nHere:\n```python\nprint(1)\n```\nor\n```python\nprint(2)\n```"
    assert solution_source(response) == "print(2)\n"
    assert solution_source("print(3)\n") == "print(3)\n"


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "double.py").write_text("n = int(input())\nprint(n * 2)\n")
    (tmp_path / "tests.jsonl").write_text(
        "\n".join(json.dumps(t) for t in [{"input": "3\n", "output": "6"}, {"input": "10", "output": "20\n"}])
    )
    (tmp_path / "tests.yaml").write_text("- input: '4'\n  output: '8'\n- input: '5'\n  output: '11'\n")
    (tmp_path / "add.py").write_text("def add(a, b):\n    return a + b\n")
    (tmp_path / "check.py").write_text("def check(candidate):\n    assert candidate(1, 2) == 3\n")
    (tmp_path / "wrong.py").write_text("def add(a, b):\n    return a - b\n")
    return tmp_path


def test_all_tests_pass_exits_0(files: Path) -> None:
    result = runner.invoke(app, ["verify", "code", str(files / "double.py"), "--tests", str(files / "tests.jsonl")])
    assert result.exit_code == 0, result.stdout
    assert "2/2 passed" in result.stdout


def test_a_failing_test_exits_1_with_per_test_verdicts(files: Path) -> None:
    args = ["verify", "code", str(files / "double.py"), "--tests", str(files / "tests.yaml"), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert (report["passed"], report["total"]) == (1, 2)
    assert [t["verdict"] for t in report["tests"]] == ["passed", "wrong_answer"]
    assert "isolation" in report


def test_humaneval_style_assert_file(files: Path) -> None:
    ok = runner.invoke(app, ["verify", "code", str(files / "add.py"), "--tests", str(files / "check.py")])
    bad = runner.invoke(app, ["verify", "code", str(files / "wrong.py"), "--tests", str(files / "check.py"), "--json"])
    assert ok.exit_code == 0 and bad.exit_code == 1
    assert json.loads(bad.stdout)["tests"][0]["verdict"] == "wrong_answer"


def test_hostile_solution_is_reported_and_the_next_run_works(files: Path) -> None:
    (files / "bomb.md").write_text("```python\nimport os\nwhile True:\n    os.fork()\n```")
    bomb = runner.invoke(app, ["verify", "code", str(files / "bomb.md"), "--tests", str(files / "tests.jsonl"),
                               "--timeout", "2", "--json"])  # fmt: skip
    assert bomb.exit_code == 1
    assert all(t["verdict"] != "passed" for t in json.loads(bomb.stdout)["tests"])
    again = runner.invoke(app, ["verify", "code", str(files / "double.py"), "--tests", str(files / "tests.jsonl")])
    assert again.exit_code == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [("{not json", "not JSON"), ('{"input": "1"}', "needs 'input' and 'output'"), ("", "holds no tests")],
)
def test_bad_test_files_are_usage_errors(files: Path, content: str, message: str) -> None:
    (files / "bad.jsonl").write_text(content)
    result = runner.invoke(app, ["verify", "code", str(files / "double.py"), "--tests", str(files / "bad.jsonl")])
    assert result.exit_code == 2 and message in result.stderr
