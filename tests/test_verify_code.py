"""Code checking: LiveCodeBench's output comparison, stdin/stdout tests, assert files, the CLI."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
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


def test_solution_from_stdin(files: Path) -> None:
    source = (files / "double.py").read_text()
    result = runner.invoke(app, ["verify", "code", "-", "--tests", str(files / "tests.jsonl")], input=source)
    assert result.exit_code == 0, result.stdout + result.stderr


@pytest.mark.parametrize("args", [["--timeout", "0"], ["--timeout", "-1"], ["--memory", "0"], ["--memory", "-5"]])
def test_limits_must_be_positive(files: Path, args: list[str]) -> None:
    result = runner.invoke(app, ["verify", "code", str(files / "add.py"), "--tests", str(files / "check.py"), *args])
    assert result.exit_code == 2 and "must be a positive number" in result.stderr


HELPERS = "def helper(x):\n    return x + 1\n\n\ndef add(a, b):\n    return helper(a) + b - 1\n"


@pytest.mark.parametrize(
    ("solution", "tests", "entry_point"),
    [
        ("def add(a, b):\n    return a + b\n", "def check(candidate):\n    assert candidate(1, 2) == 3\n", "add"),
        (HELPERS, "def check(candidate):\n    assert candidate(1, 2) == 3\n", "add"),  # the last one defined
        # A function the tests call themselves is theirs, not the entry point (HumanEval/38).
        ("def add(a, b):\n    return a + b\n\n\ndef twice(x):\n    return 2 * x\n",
         "def check(candidate):\n    assert candidate(twice(1), 1) == 3\n", "add"),
        # A function the tests name (here in a comment) is preferred.
        ("def add(a, b):\n    return a + b\n\n\ndef other(x):\n    return x\n",
         "# tests for add\ndef check(candidate):\n    assert candidate(1, 2) == 3\n", "add"),
    ],
)  # fmt: skip
def test_entry_point_inference(tmp_path: Path, solution: str, tests: str, entry_point: str) -> None:
    from vibecli.verify.code import infer_entry_point

    assert infer_entry_point(solution, tests) == entry_point
    (tmp_path / "solution.py").write_text(solution)
    (tmp_path / "tests.py").write_text(tests)
    result = runner.invoke(
        app, ["verify", "code", str(tmp_path / "solution.py"), "--tests", str(tmp_path / "tests.py")]
    )
    assert result.exit_code == 0, result.stdout + result.stderr


def test_entry_point_option_overrides_the_inference(tmp_path: Path) -> None:
    (tmp_path / "solution.py").write_text("def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n")
    (tmp_path / "tests.py").write_text("def check(candidate):\n    assert candidate(3, 2) == 5\n")
    args = ["verify", "code", str(tmp_path / "solution.py"), "--tests", str(tmp_path / "tests.py")]
    assert runner.invoke(app, args).exit_code == 1  # inferred: sub, the last one defined
    assert runner.invoke(app, [*args, "--entry-point", "add"]).exit_code == 0
    assert runner.invoke(app, [*args, "--entry-point", "sub"]).exit_code == 1


def test_a_tests_file_that_calls_check_itself_runs_as_it_is(tmp_path: Path) -> None:
    (tmp_path / "solution.py").write_text("def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n")
    (tmp_path / "tests.py").write_text("def check(f):\n    assert f(1, 2) == 3\n\n\ncheck(add)\n")
    result = runner.invoke(
        app, ["verify", "code", str(tmp_path / "solution.py"), "--tests", str(tmp_path / "tests.py")]
    )
    assert result.exit_code == 0, result.stdout + result.stderr


@pytest.fixture
def hidden(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Callable[..., None]]:
    """Hide tools (bwrap, unshare) from vibe by PATH; the sandbox probe is redone."""
    from test_sandbox import path_without

    from vibecli.verify.sandbox import isolation

    def hide(*tools: str) -> None:
        monkeypatch.setenv("PATH", path_without(tmp_path, tools))
        isolation.cache_clear()

    yield hide
    isolation.cache_clear()


def test_hostile_solution_is_contained_without_bubblewrap(files: Path, hidden: Callable[..., None]) -> None:
    hidden("bwrap")
    test_hostile_solution_is_reported_and_the_next_run_works(files)
    canary = files / "canary"
    (files / "writer.py").write_text(f"open({str(canary)!r}, 'w').write('x')\nprint(int(input()) * 2)\n")
    result = runner.invoke(app, ["verify", "code", str(files / "writer.py"), "--tests", str(files / "tests.jsonl"),
                                 "--json"])  # fmt: skip
    assert json.loads(result.stdout)["isolation"]["method"] in ("namespaces", "bubblewrap")
    assert not canary.exists()


def test_without_isolation_code_is_refused_unless_no_sandbox(files: Path, hidden: Callable[..., None]) -> None:
    hidden("bwrap", "unshare")
    args = ["verify", "code", str(files / "double.py"), "--tests", str(files / "tests.jsonl")]
    refused = runner.invoke(app, args)
    assert refused.exit_code == 3
    assert len(refused.stderr.strip().splitlines()) == 1 and "bubblewrap" in refused.stderr
    allowed = runner.invoke(app, [*args, "--no-sandbox"])
    assert allowed.exit_code == 0 and "without isolation" in allowed.stderr


@pytest.mark.parametrize(
    "ending",
    ["import sys\nsys.exit(0)\n", "import os\nos._exit(0)\n", "import atexit, os\natexit.register(os._exit, 0)\n"],
)
def test_vibe_verify_code_a_wrong_solution_cannot_exit_its_way_to_a_pass(tmp_path: Path, ending: str) -> None:
    (tmp_path / "solution.py").write_text("def add(a, b):\n    return a - b\n" + ending)
    (tmp_path / "tests.py").write_text("def check(f):\n    assert f(1, 2) == 3\n")
    result = runner.invoke(app, ["verify", "code", str(tmp_path / "solution.py"), "--tests", str(tmp_path / "tests.py"),
                                 "--json"])  # fmt: skip
    assert result.exit_code == 1, result.stdout + result.stderr
    assert json.loads(result.stdout)["passed"] == 0


@pytest.mark.parametrize("printed", ["sNaN", "NaN", "Infinity", "9e999999999"])
def test_outputs_match_never_raises_on_odd_numbers(printed: str) -> None:
    for tolerance in (None, 1e-6):
        assert outputs_match("6", printed, float_tolerance=tolerance) is False


def _respell_digits(text: str, zero: str) -> str:
    return "".join(chr(ord(zero) + int(c)) if c.isdigit() else c for c in text)


# Every script's digits that Python's Decimal() reads, and its underscore grouping: a program that
# prints them did not print the number (found by a stranger: `1_0`, `١٠` and `１０` matched 10).
DIGIT_RESPELLINGS = {
    "underscore": lambda n: n[0] + "_" + n[1:] if len(n) > 1 else n + "_0",
    **{f"digits from U+{ord(z):04X}": functools.partial(_respell_digits, zero=z) for z in "٠۰०০੦૦୦௦౦೦൦๐０"},
}


@pytest.mark.parametrize("number", ["10", "42", "-7", "3.25", "1000000", "0.5 12"])
@pytest.mark.parametrize("respell", list(DIGIT_RESPELLINGS), ids=list(DIGIT_RESPELLINGS))
def test_numbers_match_only_as_plain_ascii_numbers(number: str, respell: str) -> None:
    written = " ".join(DIGIT_RESPELLINGS[respell](token) for token in number.split())
    assert written != number
    assert outputs_match(number, written) is False
    assert outputs_match(number, written, float_tolerance=1e-6) is False
    padded = " ".join(token + ("0" if "." in token else ".0") for token in number.split())
    assert outputs_match(number, padded) is True  # the same numbers, plainly written, still match
