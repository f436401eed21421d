"""Code against tests, in the sandbox.

Two kinds of tests:
- stdin/stdout cases (`{"input": …, "output": …}` in JSONL or a YAML list), compared the way
  LiveCodeBench does: whole output stripped, split into lines, each line stripped, the same
  number of lines, each line equal or equal as a list of decimal numbers, with an opt-in float
  tolerance;
- a Python file of asserts (HumanEval style), run by the sandbox's harness against the
  solution loaded in a process of its own, so that the solution cannot fake a pass. A file
  that calls `check(…)` itself runs as it is; one that only defines `check(candidate)` is
  called with the solution's entry point: `--entry-point`, else the solution's only function,
  else the one function the tests do not call themselves (a helper such as HumanEval's
  `encode_cyclic` is theirs), preferring one the tests name, else the last one defined.
"""

from __future__ import annotations

import ast
import json
import re
import threading
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Literal

import yaml

from vibecli.errors import UsageError
from vibecli.reasoning.extract import last_code_block
from vibecli.verify.sandbox import Limits, RunResult, run_python, run_tests

TestVerdict = Literal["passed", "wrong_answer", "runtime_error", "time_limit", "memory_limit"]


@dataclass(frozen=True)
class IOCase:
    input: str
    output: str


@dataclass(frozen=True)
class TestResult:
    index: int
    verdict: TestVerdict
    seconds: float
    detail: str = ""


def solution_source(text: str) -> str:
    """The program in `text`: the last fenced block of a model response, else the text itself."""
    if "</think>" in text:
        text = text.rsplit("</think>", 1)[1]
    block = last_code_block(text)
    return block if block is not None else text


def load_io_cases(path: Path) -> list[IOCase]:
    """stdin/stdout cases from JSONL (one object a line) or YAML (a list of mappings)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read tests {path}: {exc.strerror}") from None
    if path.suffix in (".yaml", ".yml"):
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise UsageError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
        records = raw if isinstance(raw, list) else []
    else:
        records = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except ValueError:
                    raise UsageError(f"{path} line {number}: not JSON") from None
    cases = []
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict) or not {"input", "output"} <= set(record):
            raise UsageError(f"{path}: test {number} needs 'input' and 'output'")
        cases.append(IOCase(str(record["input"]), str(record["output"])))
    if not cases:
        raise UsageError(f"{path} holds no tests")
    return cases


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.strip().split("\n")]


# A number as a program prints one: ASCII digits only. Decimal() alone also reads `1_0`, `١٠` and
# `１０` as 10, and NaN/Infinity, so a wrong output could match a number.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _numbers(line: str) -> list[Decimal] | None:
    """The line's tokens as decimals when every one is a plainly written number, else None."""
    tokens = line.split()
    if not all(_NUMBER.fullmatch(token) for token in tokens):
        return None
    try:
        return [Decimal(token) for token in tokens]
    except InvalidOperation:
        return None


def outputs_match(expected: str, actual: str, *, float_tolerance: float | None = None) -> bool:
    """LiveCodeBench's rule: line by line, strings equal or numbers exactly equal as decimals."""
    want, got = _lines(expected), _lines(actual)
    if len(want) != len(got):
        return False
    for w, g in zip(want, got, strict=True):
        if w == g:
            continue
        wn, gn = _numbers(w), _numbers(g)
        if wn is None or gn is None or len(wn) != len(gn) or not _close(wn, gn, float_tolerance):
            return False
    return True


def _close(want: list[Decimal], got: list[Decimal], tolerance: float | None) -> bool:
    try:
        if tolerance is None:
            return want == got
        limit = Decimal(str(tolerance))
        return all(abs(a - b) <= limit * max(Decimal(1), abs(a)) for a, b in zip(want, got, strict=True))
    except ArithmeticError:  # an exponent past the decimal context's range: not a match
        return False


def _verdict(run: RunResult) -> tuple[TestVerdict, str] | None:
    """A failure read from how the run ended (vibe's timer, the kernel), or None when it ran to the end."""
    if run.status == "time_limit":
        return "time_limit", run.detail
    if run.status == "memory_limit":
        return "memory_limit", run.detail
    if run.status == "output_limit":
        return "runtime_error", run.detail
    if run.status == "runtime_error":  # the last error line only explains; the exit status decided
        errors = re.findall(r"^\w*(?:Error|Exception|Exit)\b.*$", run.stderr, re.MULTILINE)
        return "runtime_error", errors[-1][:120] if errors else run.detail
    return None


def run_io_tests(
    source: str, cases: list[IOCase], *, limits: Limits, float_tolerance: float | None = None,
    cancel: threading.Event | None = None,
) -> list[TestResult]:  # fmt: skip
    """Each case in a sandbox of its own that holds the program and that case's input, nothing
    else: the expected output is compared here, outside. Setting `cancel` kills the running case,
    starts no other and raises `CheckCancelled`."""
    results = []
    for index, case in enumerate(cases, start=1):
        run = run_python(source, case.input, limits=limits, cancel=cancel)
        failure = _verdict(run)
        if failure is not None:
            results.append(TestResult(index, failure[0], run.wall_s, failure[1]))
        elif outputs_match(case.output, run.stdout, float_tolerance=float_tolerance):
            results.append(TestResult(index, "passed", run.wall_s))
        else:
            shown = run.stdout.strip().splitlines()[:1]
            results.append(
                TestResult(index, "wrong_answer", run.wall_s, f"got {shown[0][:60]!r}" if shown else "no output")
            )
    return results


def run_assert_tests(
    source: str, tests: str, *, limits: Limits, entry_point: str | None = None, cancel: threading.Event | None = None
) -> list[TestResult]:
    """The tests run in the sandbox's harness, the solution in a process of its own (see
    sandbox/harness.py); `check(fn)` is called when the tests define it without calling it.
    Only the harness's own record can make the test pass."""
    check_with = None
    if _defines_check(tests) and not _calls_check(tests):
        check_with = entry_point or infer_entry_point(source, tests)
        if check_with is None:
            raise UsageError("the tests define check(candidate) but the solution has no function to pass to it")
    entry = check_with or entry_point or infer_entry_point(source, tests)
    run = run_tests(source, tests, check_with=check_with, entry=entry, limits=limits, cancel=cancel)
    record = run.verdict or {}
    if record.get("verdict") == "passed":
        return [TestResult(1, "passed", run.wall_s)]
    failure = _verdict(run)  # how the run ended (time, memory) names the failure first
    if failure is None and record.get("verdict") in ("wrong_answer", "runtime_error", "memory_limit"):
        failure = record["verdict"], str(record.get("detail", ""))[:200]
    verdict, detail = failure or ("runtime_error", "the tests did not finish")
    return [TestResult(1, verdict, run.wall_s, detail)]


def _module(text: str) -> ast.Module | None:
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError):
        return None


def _defines_check(tests: str) -> bool:
    tree = _module(tests)
    if tree is None:
        return re.search(r"^def check\(", tests, re.MULTILINE) is not None
    return any(isinstance(node, ast.FunctionDef) and node.name == "check" for node in tree.body)


def _calls_check(tests: str) -> bool:
    """Does the file call `check(…)` at its top level (outside any function)?"""
    tree = _module(tests)
    if tree is None:
        return re.search(r"^check\(", tests, re.MULTILINE) is not None
    top_level = [
        node for node in tree.body if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    ]
    return any(
        isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "check"
        for node in top_level
        for call in ast.walk(node)
    )


def infer_entry_point(source: str, tests: str) -> str | None:
    """The solution's function that `check(candidate)` should receive (see the module docstring)."""
    tree = _module(source)
    if tree is None:
        functions = re.findall(r"^def (\w+)\(", source, re.MULTILINE)
    else:
        functions = [n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    functions = list(dict.fromkeys(functions))
    if len(functions) <= 1:
        return functions[0] if functions else None
    test_tree = _module(tests)
    used = {n.id for n in ast.walk(test_tree) if isinstance(n, ast.Name)} if test_tree else set()
    candidates = [name for name in functions if name not in used] or functions
    named = [name for name in candidates if re.search(rf"\b{re.escape(name)}\b", tests)]
    return str(named[0] if len(named) == 1 else candidates[-1])
