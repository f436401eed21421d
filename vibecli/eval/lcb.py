"""LiveCodeBench graded as lcb_runner grades it, with vibe's sandbox owning the verdict.

What lcb_runner does (lcb_runner/evaluation/testing_util.py, compute_code_generation_metrics.py,
utils/extraction_utils.py), rebuilt here:
- the answer is the text between the last two lines of the *whole* output that hold a code
  fence, thinking included (a response cut inside its thinking still has one), and nothing when
  fewer than two such lines exist;
- every program starts with its import header (string, re, datetime, collections, heapq,
  bisect, copy, math, random, statistics, itertools, functools, operator, io, sys, json,
  builtins and typing, each imported as a module and with `*`), raises the recursion limit to
  50,000, and may print integers of up to 50,000 digits (its metrics module sets that in the
  parent its workers fork from);
- the solution runs as a module named `tmp_sol`, so a block under `__name__ == "__main__"` runs
  only where lcb_runner unwraps it: the last statement, written exactly that way;
- stdin problems: everything but the imports becomes the body of one function, called with the
  test's input on stdin; `SystemExit` ends it normally; the output is captured whole (no cap)
  and compared line by line after stripping, each line equal as text or as a list of decimals;
- call-based problems: `Solution().<fn>` when the code says `class Solution`, else the module's
  own function; each argument line is JSON, a tuple result counts as a list, and the result must
  equal the JSON output;
- 6 seconds per test (a wall-clock alarm around the call); the first failure ends the sample.

Each test runs in a sandbox of its own: the program's output is compared here, outside it, and
call-based results reach the comparison through the sandbox's harness, never through the
program's exit status or its own say.
"""

from __future__ import annotations

import ast
import json
from decimal import Decimal, InvalidOperation

from vibecli.verify.sandbox import Limits

TEST_SECONDS = 6.0  # lcb_runner's `timeout`
# The interpreter's start and the header's imports come on top of the call's 6 s: lcb_runner's
# own slack is one second per test (its global timeout is (timeout + 1) per test + 5).
LIMITS = Limits(wall_s=TEST_SECONDS + 1, cpu_s=TEST_SECONDS + 1, memory_mb=2048, output_bytes=64 << 20)
_MODULES = ("string", "re", "datetime", "collections", "heapq", "bisect", "copy", "math", "random", "statistics",
            "itertools", "functools", "operator", "io", "sys", "json", "builtins", "typing")  # fmt: skip
HEADER = (
    "".join(f"from {m} import *\n" for m in _MODULES)
    + "".join(f"import {m}\n" for m in _MODULES if m not in ("builtins", "typing"))
    + "sys.setrecursionlimit(50000)\nsys.set_int_max_str_digits(50000)\n"
)
MODULE_NAME = "__name__ = 'tmp_sol'\n"


def extract_code(response: str) -> str | None:
    """The text between the last two lines holding a code fence, anywhere in the output."""
    lines = response.split("\n")
    fences = [i for i, line in enumerate(lines) if "```" in line]
    if len(fences) < 2:
        return None
    return "\n".join(lines[fences[-2] + 1 : fences[-1]])


def _unwrap_main(code: str) -> str:
    """The last statement's body when it is exactly `if __name__ == '__main__':` (as lcb_runner)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return code
    if not tree.body or not isinstance(tree.body[-1], ast.If):
        return code
    last = tree.body[-1]
    if ast.unparse(last.test).strip() != "__name__ == '__main__'":
        return code
    before = ast.unparse(ast.Module(body=tree.body[:-1], type_ignores=[]))
    return before + "\n" + ast.unparse(ast.Module(body=last.body, type_ignores=[]))


def stdin_program(code: str) -> str:
    """The program a stdin problem runs: header, the solution's imports, the rest as one function."""
    code = _unwrap_main(code)
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return HEADER + MODULE_NAME + code  # it fails to compile here as it does there
    imports = [s for s in tree.body if isinstance(s, ast.Import | ast.ImportFrom)]
    body = [s for s in tree.body if not isinstance(s, ast.Import | ast.ImportFrom)] or [ast.Pass()]
    function = ast.parse("def wrapped_function():\n    pass\n").body[0]
    assert isinstance(function, ast.FunctionDef)
    function.body = body
    wrapped = ast.unparse(ast.Module(body=[*imports, function], type_ignores=[]))
    return HEADER + MODULE_NAME + wrapped + "\ntry:\n    wrapped_function()\nexcept SystemExit:\n    pass\n"


def call_source(code: str) -> str:
    return HEADER + MODULE_NAME + code


def call_tests(code: str, fn_name: str, arguments: str, expected: str) -> str:
    """Assert tests, run by the sandbox's harness, for one call-based test."""
    target = f"Solution().{fn_name}" if "class Solution" in code else fn_name
    return (
        "import json as _json\n"
        f"_args = [_json.loads(_line) for _line in {arguments!r}.split('\\n')]\n"
        f"_want = _json.loads({expected!r})\n"
        f"_got = {target}(*_args)\n"
        "if isinstance(_got, tuple):\n    _got = list(_got)\n"
        "assert _got == _want\n"
    )


def _decimals(line: str) -> list[Decimal] | None:
    try:
        return [Decimal(token) for token in line.split()]
    except (InvalidOperation, ValueError):
        return None


def outputs_equal(expected: str, got: str) -> bool:
    """lcb_runner's comparison: stripped lines, equal as text or as lists of decimals."""
    want = [line.strip() for line in expected.strip().split("\n")]
    have = [line.strip() for line in got.strip().split("\n")]
    if len(want) != len(have):
        return False
    for w, h in zip(want, have, strict=True):
        if w == h:
            continue
        wd, hd = _decimals(w), _decimals(h)
        try:
            if wd is None or hd is None or wd != hd:
                return False
        except InvalidOperation:  # a signalling NaN: lcb_runner's comparison raises, and the test fails
            return False
    return True


def expected_json(text: str) -> bool:
    """Whether a call-based test's output is JSON (else lcb_runner fails the sample)."""
    try:
        json.loads(text)
    except ValueError:
        return False
    return True
