"""Wrong arguments to the Python API are a `UsageError` (a `VibeError`) naming the Python
parameter, never a raw traceback, a silent wrong result or a failure on first use."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import vibecli
from vibecli.errors import UsageError

BAD_CHECKS: list[tuple[Callable[[], object], str]] = [
    (lambda: vibecli.verify_math_many(["12"]), r"item 1 must be a \(gold, pred\) pair"),
    (lambda: vibecli.verify_math_many([("1", "2", "3")]), r"item 1 must be a \(gold, pred\) pair"),
    (lambda: vibecli.verify_math_many(None), "pairs must be an iterable"),  # type: ignore[arg-type]
    (lambda: vibecli.verify_math_many("12"), "pairs must be an iterable"),  # type: ignore[arg-type]
    (lambda: vibecli.verify_math_many([("1", None)]), "pred of pair 1 must be a string"),  # type: ignore[list-item]
    (lambda: vibecli.verify_math_many([("1", "1")], workers=0.5), "workers must be a positive integer"),  # type: ignore[arg-type]
    (lambda: vibecli.verify_math_many([("1", "1")], workers=True), "workers must be a positive integer"),
    (lambda: vibecli.verify_math("1", "1", timeout=1e12), "timeout must be at most"),
    (lambda: vibecli.verify_math("1", "1", timeout=float("inf")), "timeout must be a positive"),
    (lambda: vibecli.verify_code("print(1)", None), "tests must be"),  # type: ignore[arg-type]
    (lambda: vibecli.verify_code("print(1)", 5), "tests must be"),  # type: ignore[arg-type]
    (lambda: vibecli.verify_code("print(1)", [{"input": "", "output": "1"}], float_tolerance="x"), "float_tolerance"),  # type: ignore[arg-type]
    (lambda: vibecli.verify_code("print(1)", [{"input": "", "output": "1"}], timeout=1e12), "timeout must be at most"),
    (lambda: vibecli.verify_code("print(1)", [{"input": "", "output": "1"}], memory=1.5), "memory must be"),  # type: ignore[arg-type]
    (lambda: vibecli.verify_code("print(1)", [{"input": "", "output": "1"}], budget=0), "budget must be"),
    (lambda: vibecli.load("demo", mode="poetry"), "mode must be auto or one of"),
    (lambda: vibecli.load("demo", max_tokens="5"), "max_tokens must be an integer"),  # type: ignore[arg-type]
    (lambda: vibecli.load("demo", max_tokens=0), "^max_tokens must be at least 1"),
    (lambda: vibecli.load("demo", temperature="hot"), "temperature must be a number"),  # type: ignore[arg-type]
    (lambda: vibecli.load("demo", temperature=9.0), "^temperature must be"),
    (lambda: vibecli.load("demo", seed=2**70), "seed must be at most"),
    (lambda: vibecli.load("demo", seed=-1), "^seed must be at least 0"),
]  # fmt: skip


@pytest.mark.parametrize(("call", "message"), BAD_CHECKS)
def test_bad_arguments_are_usage_errors_naming_the_parameter(call: Callable[[], object], message: str) -> None:
    with pytest.raises(UsageError, match=message) as caught:
        call()
    assert "--" not in str(caught.value)  # the Python name, not the command line's flag


@pytest.fixture(scope="module")
def model() -> Iterator[vibecli.Model]:
    with vibecli.load("demo", device="cpu", max_tokens=64) as loaded:
        yield loaded


BAD_CALLS: list[tuple[Callable[[vibecli.Model], Any], str]] = [
    (lambda m: m.solve("1+1", seed=2**70), "seed must be at most"),
    (lambda m: m.solve("1+1", max_tokens="5"), "max_tokens must be an integer"),
    (lambda m: m.solve("1+1", max_tokens=0), "^max_tokens must be at least 1"),
    (lambda m: m.solve("1+1", mode="poetry"), "mode must be auto or one of"),
    (lambda m: m.solve("1+1", expected=[2]), "expected must be a string"),
    (lambda m: m.samples("1+1", k=True), "k must be a positive integer"),
    (lambda m: m.samples("1+1", k=2.0), "k must be a positive integer"),
    (lambda m: list(m.batch("abc")), "problems must be an iterable of problem strings"),
    (lambda m: list(m.batch(["1+1"], concurrency=0.5)), "concurrency must be a positive integer"),
    (lambda m: list(m.batch(["1+1"], expected="2")), "problems must be an iterable"),
]  # fmt: skip


@pytest.mark.parametrize(("call", "message"), BAD_CALLS)
def test_bad_model_arguments_are_usage_errors(
    model: vibecli.Model, call: Callable[[vibecli.Model], Any], message: str
) -> None:
    with pytest.raises(UsageError, match=message) as caught:
        call(model)
    assert "--" not in str(caught.value)


def test_a_number_is_an_expected_answer(model: vibecli.Model) -> None:
    result = model.solve("What is 2 + 3?", expected=5, max_tokens=64, seed=0)
    assert result.check is not None and result.check.record["expected"] == "5"


def test_solve_reads_tests_as_a_file_or_as_verify_code_does(model: vibecli.Model, tmp_path: Path) -> None:
    asserts = "assert add(2, 3) == 5\n"
    file = tmp_path / "t.py"
    file.write_text(asserts)
    for tests in (asserts, file, str(file), [{"input": "2 3", "output": "5"}], '{"inputs": ["2 3"], "outputs": ["5"]}'):
        result = model.solve("What is 2 + 3?", tests=tests, max_tokens=64, seed=0)
        assert result.check is not None and result.check.kind == "code" and result.check.record["total"] == 1, tests
    for no_test in ("x = 1", "", "{}", str(tmp_path / "typo.py"), "tests/missing.jsonl"):
        with pytest.raises(UsageError):
            model.solve("What is 2 + 3?", tests=no_test, max_tokens=64)
