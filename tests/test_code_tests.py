"""Tests in the formats code datasets use are read as cases; tests with no test in them are an
error everywhere (verify_code, the rewards, `vibe verify code`), never a pass."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

import vibecli
from vibecli.cli.app import app
from vibecli.errors import UsageError
from vibecli.rewards import code_reward, compute_score
from vibecli.verify.code import IOCase
from vibecli.verify.code_tests import read_tests

np = pytest.importorskip("numpy")  # installed with torch; NumPy arrays are what verl hands over

GARBAGE = "<think>x</think>\n```python\nprint('garbage')\n```"
ADD = "<think>x</think>\n```python\na, b = map(int, input().split())\nprint(a + b)\n```"


def _pairs(seed: int, n: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    return [(f"{a} {b}\n", f"{a + b}\n") for a, b in ((rng.randint(-99, 99), rng.randint(-99, 99)) for _ in range(n))]


def _shapes(pairs: list[tuple[str, str]]) -> dict[str, object]:
    """The same cases in every shape the reader understands."""
    listed = [{"input": i, "output": o} for i, o in pairs]
    apps = {"inputs": [i for i, _ in pairs], "outputs": [o for _, o in pairs]}
    columns = {"input": [i for i, _ in pairs], "output": [o for _, o in pairs]}
    return {
        "list": listed,
        "list json": json.dumps(listed),
        "apps": apps,
        "apps json": json.dumps(apps),
        "apps python literal": repr(apps),
        "tests wrapper": {"tests": listed},
        "tests wrapper json": json.dumps({"tests": listed}),
        "tests wrapper of json text": {"tests": json.dumps(listed)},
        "dict of lists (HF Sequence)": columns,
        "jsonl": "\n".join(json.dumps(case) for case in listed) + "\n",
        "numpy array of dicts": np.array(listed, dtype=object),
        "numpy array of json lines": np.array([json.dumps(case) for case in listed], dtype=object),
        "tuple": tuple(listed),
    }


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_shape_reads_as_the_same_cases(seed: int) -> None:
    pairs = _pairs(seed, 1 + seed * 3)
    want = [IOCase(i, o) for i, o in pairs]
    for name, tests in _shapes(pairs).items():
        assert read_tests(tests) == want, name


def test_a_single_case_object() -> None:
    for case in (
        {"input": "2 3", "output": "5"},
        '{"input": "2 3", "output": "5"}',
        np.array([{"input": "2 3", "output": "5"}]),
    ):
        assert read_tests(case) == [IOCase("2 3", "5")]


NO_TESTS = [
    "", "   \n", "\n\n", "# just a comment\n", "x = 1\n", "import os\n", "{'a': 1}", "[]", "{}", '{"tests": []}',
    '{"inputs": [], "outputs": []}', "def helper(x):\n    return x\n", "pass\n", '"""a docstring"""\n',
]  # fmt: skip


@pytest.mark.parametrize("tests", NO_TESTS)
def test_tests_with_no_test_are_a_usage_error_at_the_api(tests: str) -> None:
    with pytest.raises(UsageError):
        read_tests(tests)
    with pytest.raises(UsageError):
        vibecli.verify_code("print('garbage')", tests)


@pytest.mark.parametrize("tests", [[], {}, np.array([]), {"tests": []}])
def test_empty_collections_are_a_usage_error(tests: object) -> None:
    with pytest.raises(UsageError):
        read_tests(tests)


def test_sources_that_can_fail_are_tests() -> None:
    for source in ("assert f(1) == 2\n", "def check(candidate):\n    assert candidate(1) == 2\n",
                   "if f(1) != 2:\n    raise AssertionError\n", "check(f)\n"):  # fmt: skip
        assert read_tests(source) == source


@pytest.mark.parametrize("seed", [0, 1])
def test_code_reward_scores_every_shape_by_its_cases(seed: int) -> None:
    pairs = _pairs(seed, 2)
    shapes = _shapes(pairs)
    rows = list(shapes.values())
    assert code_reward([GARBAGE] * len(rows), tests=rows) == [0.0] * len(rows)
    assert code_reward([ADD] * len(rows), tests=rows) == [1.0] * len(rows)


@pytest.mark.parametrize("tests", NO_TESTS[:6])
def test_code_reward_refuses_tests_with_no_test(tests: str) -> None:
    with pytest.raises(UsageError):
        code_reward([GARBAGE], tests=[tests])
    with pytest.raises(UsageError):
        code_reward(["no code at all"], tests=[tests])  # whatever the completion
    with pytest.raises(UsageError):
        compute_score("apps", GARBAGE, "", extra_info={"tests": tests})


def test_verl_reads_apps_numpy_and_json_ground_truth() -> None:
    apps = json.dumps({"inputs": ["2 3\n"], "outputs": ["5\n"]})
    cases = [{"input": "2 3", "output": "5"}]
    for truth in (np.array(cases, dtype=object), json.dumps(cases), apps, np.array([json.dumps(cases[0])])):
        assert compute_score("apps", ADD, truth) == 1.0
        assert compute_score("apps", GARBAGE, truth) == 0.0
    assert compute_score("apps", GARBAGE, "", extra_info={"tests": apps}) == 0.0
    assert compute_score("apps", ADD, "", extra_info={"tests": apps}) == 1.0
    # math answers that look like JSON stay math
    assert compute_score("math", "<think>…</think>\\boxed{[1, 2]}", "[1, 2]") == 1.0


def test_a_completion_without_the_function_scores_zero() -> None:
    """HumanEval-style tests (check(candidate), never called): the model's output decides, so no error."""
    tests = "def check(candidate):\n    assert candidate(1) == 2\n"
    bodies = ["x = 1", "", "f = lambda x: x + 1", "class A:\n    pass", "import math", "def (:"]
    completions = [f"<think>…</think>\n```python\n{body}\n```" for body in bodies]
    assert code_reward(completions, tests=[tests] * len(completions)) == [0.0] * len(completions)
    verdict = vibecli.verify_code("x = 1", tests)
    assert not verdict.ok and verdict.tests[0].verdict == "runtime_error"
    assert code_reward(["<think>…</think>\n```python\ndef f(x):\n    return x + 1\n```"], tests=[tests]) == [1.0]


def test_vibe_verify_code_refuses_tests_files_with_no_test(tmp_path: Path) -> None:
    solution = tmp_path / "s.py"
    solution.write_text("print('garbage')\n")
    runner = CliRunner()
    for name, text in [("t.py", "x = 1\n"), ("t.py", ""), ("t.json", "{}"), ("t.jsonl", "")]:
        tests = tmp_path / name
        tests.write_text(text)
        result = runner.invoke(app, ["verify", "code", str(solution), "--tests", str(tests)])
        assert result.exit_code == 2, (name, text, result.output)
    apps = tmp_path / "apps.json"
    apps.write_text(json.dumps({"inputs": ["2 3\n"], "outputs": ["5\n"]}))
    result = runner.invoke(app, ["verify", "code", str(solution), "--tests", str(apps)])
    assert result.exit_code == 1 and "0/1 passed" in result.output


def test_a_budget_caps_the_whole_check() -> None:
    cases = [{"input": str(i), "output": str(i)} for i in range(6)]
    verdict = vibecli.verify_code("while True:\n    pass\n", cases, timeout=0.5, budget=1.0)
    assert [t.index for t in verdict.tests] == [1, 2, 3, 4, 5, 6]
    assert all(t.verdict == "time_limit" for t in verdict.tests)
    assert verdict.tests[-1].detail.startswith("not run: the 1s budget was spent")
    echo = vibecli.verify_code("print(input())", cases, timeout=5, budget=120)
    assert echo.ok and echo.total == 6


def test_code_reward_gives_each_completion_a_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    import vibecli.rewards as rewards

    monkeypatch.setattr(rewards, "CODE_TIMEOUT_S", 0.5)
    monkeypatch.setattr(rewards, "CODE_BUDGET_S", 1.0)
    seen: list[vibecli.CodeVerdict] = []

    def spy(*args: object, **kwargs: object) -> vibecli.CodeVerdict:
        seen.append(vibecli.verify_code(*args, **kwargs))  # type: ignore[arg-type]
        return seen[-1]

    monkeypatch.setattr(rewards, "verify_code", spy)
    cases = [{"input": str(i), "output": str(i)} for i in range(8)]
    hang = "<think>…</think>\n```python\nwhile True:\n    pass\n```"
    assert code_reward([hang], tests=[cases]) == [0.0]
    assert [t.detail.startswith("not run") for t in seen[-1].tests] == [False] + [True] * 7  # one timeout
    monkeypatch.setattr(rewards, "CODE_TIMEOUT_S", 5.0)
    slow = "<think>…</think>\n```python\nimport time\ntime.sleep(0.4)\nprint(input())\n```"
    assert code_reward([slow], tests=[cases]) < [1.0]  # the 1 s budget runs out part way
    assert seen[-1].tests[-1].detail == "not run: the 1s budget was spent"


@pytest.mark.parametrize("n", [3, 7])
def test_stop_on_timeout_skips_the_cases_after_a_hang(n: int) -> None:
    cases = [{"input": str(i), "output": str(i)} for i in range(n)]
    hang = "x = int(input())\nwhile x >= 0:\n    pass\n"
    verdict = vibecli.verify_code(hang, cases, timeout=0.5, stop_on_timeout=True)
    assert verdict.tests[0].verdict == "time_limit" and verdict.tests[0].detail != ""
    assert [t.detail for t in verdict.tests[1:]] == ["not run: an earlier case ran out of time"] * (n - 1)
    # a program that passes is not cut short
    assert vibecli.verify_code("print(input())", cases, timeout=5, stop_on_timeout=True).ok
