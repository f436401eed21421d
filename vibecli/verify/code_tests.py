"""Reading code tests given in memory or in a file, in the formats code datasets use, into either
Python assert source or a list of stdin/stdout cases.

Understood: a list of `{"input", "output"}` cases; one such case on its own; APPS/TACO's
`{"inputs": [...], "outputs": [...]}`; a Hugging Face `Sequence` column's dict of lists
(`{"input": [...], "output": [...]}`); `{"tests": …}` around any of these; JSON or JSONL text of
any of these; NumPy arrays and other objects with `.tolist()`. Anything else that is a string is
Python assert source, and it must hold a test: an `assert`, a `raise` or a call (such as
`check(candidate)`), or a `def check(…)` for the entry point. Tests with no test in them are a
`UsageError`, never a pass.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vibecli.errors import UsageError
from vibecli.verify.code import IOCase, load_io_cases

ReadTests = str | list[IOCase]  # assert source, or stdin/stdout cases
NO_TESTS = "no test in them (no assert, no check call, no input/output cases)"


def read_tests(tests: object, *, what: str = "tests") -> ReadTests:
    """`tests` as assert source or stdin/stdout cases; `UsageError` naming `what` when it holds none."""
    if isinstance(tests, Path):
        return _read_file(tests)
    if isinstance(tests, str):
        return _from_text(tests, what)
    return _cases(_plain(tests), what)


def _read_file(path: Path) -> ReadTests:
    if path.suffix in (".yaml", ".yml"):
        return load_io_cases(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise UsageError(f"cannot read tests file {path}: {reason}") from None
    if path.suffix == ".py":
        return _assert_source(text, f"tests file {path}")
    if path.suffix == ".jsonl":
        try:
            records = [json.loads(line) for line in text.splitlines() if line.strip()]
        except ValueError:
            return load_io_cases(path)  # its message names the line
        return _cases(records, f"tests file {path}") if records else load_io_cases(path)
    if path.suffix == ".json":
        try:
            return _cases(json.loads(text), f"tests file {path}")
        except ValueError:
            raise UsageError(f"tests file {path}: not JSON") from None
    return _from_text(text, f"tests file {path}")


def _plain(value: object) -> object:
    """NumPy arrays, pandas objects and the like as plain lists and dicts."""
    tolist = getattr(value, "tolist", None)
    if callable(tolist) and not isinstance(value, str | bytes):
        value = tolist()
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _from_text(text: str, what: str) -> ReadTests:
    stripped = text.strip()
    if not stripped:
        raise UsageError(f"{what}: {NO_TESTS}")
    if stripped[0] in "[{":
        try:
            return _cases(json.loads(stripped), what)
        except ValueError:
            pass
        lines = [line for line in stripped.splitlines() if line.strip()]
        try:
            records = [json.loads(line) for line in lines]
        except ValueError:
            records = []
        if len(records) > 1:  # JSONL: one case (or set of cases) a line
            return _cases(records, what)
    return _assert_source(text, what)


def _assert_source(text: str, what: str) -> ReadTests:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return text  # it runs and fails in the sandbox, as any broken test file does
    if len(tree.body) == 1 and isinstance(tree.body[0], ast.Expr):
        try:  # a Python literal of cases, e.g. {'inputs': [...], 'outputs': [...]}
            literal = ast.literal_eval(tree.body[0].value)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            literal = None
        if isinstance(literal, list | dict):
            return _cases(literal, what)
    if not holds_a_test(tree):
        raise UsageError(f"{what}: {NO_TESTS}")
    return text


def holds_a_test(tree: ast.Module) -> bool:
    """Can running this source fail? An `assert`, a `raise`, a call or a `def check` can; a file of
    literals, imports and assignments cannot, and would pass any program."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert | ast.Raise | ast.Call):
            return True
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == "check":
            return True
    return False


def _cases(data: object, what: str) -> list[IOCase]:
    data = _plain(data)
    while isinstance(data, Mapping) and set(data) == {"tests"}:
        data = data["tests"]
        if isinstance(data, str):
            parsed = _from_text(data, what)
            if isinstance(parsed, str):
                raise UsageError(f"{what}: 'tests' holds Python source inside cases; give the source itself")
            return parsed
    if isinstance(data, Mapping):
        data = _case_list(data, what)
    if not isinstance(data, list):
        raise UsageError(f"{what}: expected input/output cases, got {type(data).__name__}")
    out = []
    for number, case in enumerate(data, start=1):
        if isinstance(case, IOCase):
            out.append(case)
        elif isinstance(case, Mapping) and {"input", "output"} <= set(case):
            out.append(IOCase(_io_text(case["input"]), _io_text(case["output"])))
        elif isinstance(case, Mapping) and ({"inputs", "outputs"} <= set(case) or "tests" in case):
            out.extend(_cases(case, what))  # JSONL of APPS rows
        elif isinstance(case, str) and case.lstrip().startswith("{"):  # JSON text a case
            try:
                out.extend(_cases(json.loads(case), what))
            except ValueError:
                raise UsageError(f"{what}: test {number} is not JSON") from None
        else:
            raise UsageError(f"{what}: test {number} needs 'input' and 'output'")
    if not out:
        raise UsageError(f"{what}: {NO_TESTS}")
    return out


def _case_list(data: Mapping[str, Any], what: str) -> list[Any]:
    """One mapping: a single case, APPS's inputs/outputs, or a dict of lists (a HF Sequence column)."""
    if data.get("fn_name"):
        raise UsageError(f"{what}: call-based tests (fn_name) are not supported; give stdin/stdout cases or asserts")
    for inputs, outputs in (("inputs", "outputs"), ("input", "output")):
        if {inputs, outputs} <= set(data):
            ins, outs = data[inputs], data[outputs]
            if isinstance(ins, list) and isinstance(outs, list):
                if len(ins) != len(outs):
                    raise UsageError(f"{what}: {len(ins)} {inputs} but {len(outs)} {outputs}")
                return [{"input": i, "output": o} for i, o in zip(ins, outs, strict=True)]
            if inputs == "input":
                return [dict(data)]
    if "tests" in data:
        return _cases(data["tests"], what)
    raise UsageError(f"{what}: expected 'input' and 'output' (or APPS's 'inputs' and 'outputs'), got keys "
                     f"{', '.join(map(str, list(data)[:5])) or 'none'}")  # fmt: skip


def _io_text(value: object) -> str:
    """A case's input or output as text: lists of lines (some datasets store them so) joined."""
    if isinstance(value, list):
        return "\n".join(map(str, value))
    return str(value)
