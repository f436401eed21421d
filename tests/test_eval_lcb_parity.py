"""LiveCodeBench parity: vibe's verdict equals lcb_runner's on stand-in problems in
LiveCodeBench's own schema (code_generation_lite rows: JSON public tests, base64(zlib(pickle))
private tests, `metadata.func_name` for call-based ones).

Each solution records what lcb_runner decides and why, read from its source
(lcb_runner/evaluation/testing_util.py: `import_string`, `make_function`, `clean_if_name`,
`call_method`, `grade_stdio`, `grade_call_based`, `compile_code`; compute_code_generation_metrics.py:
`sys.set_int_max_str_digits(50000)`, `timeout=6`; utils/extraction_utils.py: `extract_code`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from fake_hub_datasets import encode_private

from vibecli.eval.datasets import EvalProblem, benchmark_problems
from vibecli.eval.grading import grade_code, grade_samples
from vibecli.eval.registry import BENCHMARKS
from vibecli.verify.math import math_pool

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Solution:
    code: str
    lcb_passes: bool
    why: str
    wrapper: str = "<think>\nLet me write it.\n</think>\n```python\n{code}\n```"

    def response(self) -> str:
        return self.wrapper.replace("{code}", self.code)


@dataclass(frozen=True)
class StandIn:
    id: str
    tests: list[tuple[str, str]]
    solutions: list[Solution]
    fn_name: str | None = None


def ok(code: str, why: str, **kw: str) -> Solution:
    return Solution(code, True, why, **kw)


def bad(code: str, why: str, **kw: str) -> Solution:
    return Solution(code, False, why, **kw)


def big_power(exponent: int) -> str:
    """2**exponent in decimal, past this process's 4,300-digit int-to-str limit (exact: Decimal)."""
    import decimal

    with decimal.localcontext(decimal.Context(prec=exponent)):
        return str(decimal.Decimal(2) ** exponent)


SUM = [("2 3\n", "5\n"), ("10 -4\n", "6\n")]
READ = "a, b = map(int, input().split())\n"
CUT = "<think>\nFirst try:\n```python\n{code}\n```\nHmm, let me check that aga"  # cut inside the thinking

STDIN: list[StandIn] = [
    StandIn(
        "sum",
        SUM,
        [
            ok(READ + "print(a + b)", "right output on every test"),
            bad(READ + "print(a - b)", "grade_stdio: line differs, not equal as decimals"),
        ],
    ),
    StandIn(
        "recursion",
        [("20000\n", "200010000\n")],
        [
            ok(
                "def s(n):\n    return 0 if n == 0 else n + s(n - 1)\nprint(s(int(input())))",
                "import_string ends with sys.setrecursionlimit(50000): depth 20,000 runs",
            ),
            bad("def s(n):\n    return 0 if n == 0 else n + s(n - 1)\nprint(s(int(input())) + 1)", "wrong sum"),
        ],
    ),
    StandIn(
        "deepcopy",
        [("3\n", "[3, 3]\n")],
        [
            ok("n = int(input())\na = [n]\nb = deepcopy(a)\nprint(a + b)", "import_string has `from copy import *`"),
            bad("n = int(input())\nprint(deep_copy([n]))", "NameError: no deep_copy anywhere -> runtime error"),
        ],
    ),
    StandIn(
        "randint",
        [("5\n", "5\n")],
        [
            ok("n = int(input())\nprint(randint(n, n))", "import_string has `from random import *`"),
            bad("n = int(input())\nprint(randint(n - 1, n - 1))", "prints 4"),
        ],
    ),
    StandIn(
        "datetime",
        [("2024 1 1\n", "0\n")],
        [
            ok(
                "y, m, d = map(int, input().split())\nprint(date(y, m, d).weekday())",
                "`from datetime import *` gives date",
            ),
            bad("y, m, d = map(int, input().split())\nprint(date(y, m, d).isoweekday())", "prints 1, not 0"),
        ],
    ),
    StandIn(
        "statistics",
        [("1 5 2\n", "2\n")],
        [
            ok("print(median(map(int, input().split())))", "`from statistics import *` gives median"),
            bad("print(mean(map(int, input().split())))", "mean is 2.666…, not 2"),
        ],
    ),
    StandIn(
        "json-string-operator",
        [("abc\n", '["a", "b", "c"] 6 True\n')],
        [
            ok(
                "s = input()\nprint(dumps(list(s)), reduce(mul, [1, 2, 3]), s[0] in ascii_lowercase)",
                "json, functools, operator and string are all in import_string",
            ),
            bad(
                "s = input()\nprint(dumps(list(s)), reduce(add, [1, 2, 4]), s[0] in ascii_lowercase)",
                "reduce(add, [1, 2, 4]) is 7, not 6",
            ),
        ],
    ),
    StandIn(
        "big-output",
        [("200000\n", "1234567890\n" * 200000)],
        [
            ok(
                "for _ in range(int(input())):\n    print(1234567890)",
                "about 2.2 MB of output: lcb_runner captures stdout whole, no cap",
            ),
            bad("for _ in range(int(input()) - 1):\n    print(1234567890)", "one line short: mismatched output length"),
        ],
    ),
    StandIn(
        "big-int",
        [("33000\n", big_power(33000) + "\n")],
        [
            ok("print(2 ** int(input()))", "9,934 digits: the metrics module allows 50,000 (set_int_max_str_digits)"),
            bad("print(2 ** int(input()) + 1)", "last digit differs"),
        ],
    ),
    StandIn(
        "main-guard",
        SUM,
        [
            ok(
                "def main():\n    " + READ.strip() + "\n    print(a + b)\nif __name__ == '__main__':\n    main()",
                "clean_if_name unwraps a last `if __name__ == '__main__':`",
            ),
            bad(
                "def main():\n    " + READ.strip() + "\n    print(a + b)\nif '__main__' == __name__:\n    main()",
                "written the other way round it is not unwrapped, and the module is tmp_sol: no output",
            ),
        ],
    ),
    StandIn(
        "system-exit",
        SUM,
        [
            ok(READ + "print(a + b)\nexit(1)", "call_method catches SystemExit: the output so far counts"),
            bad(
                READ + "import os\nprint(a + b, flush=True)\nos.kill(os.getpid(), 9)",
                "the process dies: no result -> the global timeout's -1",
            ),
        ],
    ),
    StandIn(
        "decimals",
        [("5 2\n", "2.5\n")],
        [
            ok("a, b = map(int, input().split())\nprint(f'{a / b:.2f}')", "2.50 and 2.5 are equal decimals"),
            bad("a, b = map(int, input().split())\nprint(f'{a / b + 0.01:.2f}')", "2.51 is not 2.5 (no tolerance)"),
        ],
    ),
    StandIn(
        "exponent",
        [("1000\n", "1000\n")],
        [
            ok("print('1e3')", "Decimal('1e3') == Decimal('1000')"),
            bad("print('1e4')", "not equal"),
        ],
    ),
    StandIn(
        "infinity",
        [("x\n", "Infinity\n")],
        [
            ok("input()\nprint('inf')", "Decimal('inf') == Decimal('Infinity'): lcb_runner compares non-finite too"),
            bad("input()\nprint('-inf')", "-Infinity is not Infinity"),
        ],
    ),
    StandIn(
        "nan",
        [("x\n", "nan\n")],
        [
            ok("input()\nprint('nan')", "equal as text (case 1 of grade_stdio)"),
            bad("input()\nprint('NaN')", "text differs and Decimal NaN never equals NaN"),
        ],
    ),
    StandIn(
        "whitespace",
        [("5\n", "5\n")],
        [
            ok("print(input() + '   ')\nprint()\nprint()", "stripped whole, then each line stripped"),
            bad("print(input())\nprint(6)", "two lines where one is expected"),
        ],
    ),
    StandIn(
        "global-in-wrapper",
        [("x\n", "1\n")],
        [
            ok(
                "input()\ncount = [0]\ndef inc():\n    count[0] += 1\ninc()\nprint(count[0])",
                "a closure over the wrapped function's local works",
            ),
            bad(
                "input()\ncount = 0\ndef inc():\n    global count\n    count += 1\ninc()\nprint(count)",
                "make_function turns top-level code into a function: `count` is its local, the global is missing",
            ),
        ],
    ),
    StandIn(
        "cut-in-thinking",
        SUM,
        [
            ok(
                READ + "print(a + b)",
                "extract_code takes the last fences of the whole output, thinking included",
                wrapper=CUT,
            ),
            bad(
                READ + "print(a + b)",
                "fewer than two fence lines: extract_code returns ''",
                wrapper="<think>\nI would write:\n```python\n{code}\n",
            ),
        ],
    ),
    StandIn(
        "last-block",
        SUM,
        [
            ok(
                READ + "print(a + b)",
                "the last block is the answer",
                wrapper="```python\nprint(0)\n```\n</think>\n```python\n{code}\n```",
            ),
            bad(
                READ + "print(a + b)",
                "an earlier right block does not count: the last one prints 0",
                wrapper="```python\n{code}\n```\n</think>\n```python\nprint(0)\n```",
            ),
        ],
    ),
    StandIn(
        "stdin-read",
        SUM,
        [
            ok("import sys\na, b = map(int, sys.stdin.read().split())\nprint(a + b)", "sys.stdin.read is the input"),
            bad("import sys\na, b = map(int, sys.stdin.read().split())\nprint(a * b)", "wrong"),
        ],
    ),
    StandIn(
        "open-zero",
        SUM,
        [
            ok("a, b = map(int, open(0).read().split())\nprint(a + b)", "builtins.open is mocked with the input"),
            bad("a, b = map(int, open(0).read().split())\nprint(b - a)", "wrong"),
        ],
    ),
    StandIn(
        "runtime-error",
        SUM,
        [
            ok(READ + "print(sum([a, b]))", "right"),
            bad(READ + "raise ValueError(a)", "an exception in the call -> -4 runtime error"),
        ],
    ),
    StandIn(
        "time-limit",
        [("1\n", "1\n")],
        [
            ok("print(input())", "right"),
            bad("input()\nwhile True:\n    pass", "the 6 s alarm -> -3 time limit"),
        ],
    ),
]
ADD = [("2\n3", "5"), ("10\n-4", "6")]
METHOD = "class Solution:\n    def addTwo(self, a: int, b: int) -> int:\n        return {expr}\n"
CALL: list[StandIn] = [
    StandIn(
        "method",
        ADD,
        [
            ok(METHOD.format(expr="a + b"), "Solution().addTwo gives 5 and 6"),
            bad(METHOD.format(expr="a - b"), "-1 != 5"),
        ],
        fn_name="addTwo",
    ),
    StandIn(
        "top-level-function",
        ADD,
        [
            ok("def addTwo(a, b):\n    return a + b\n", "no `class Solution` in the code: the module's own function"),
            bad("def addTwo(a, b):\n    return a * b\n", "6 != 5"),
        ],
        fn_name="addTwo",
    ),
    StandIn(
        "class-in-comment",
        ADD,
        [
            ok("def helper(x):\n    return x\n\ndef addTwo(a, b):\n    return helper(a) + b\n", "plain function"),
            bad(
                "# not a class Solution here\ndef addTwo(a, b):\n    return a + b\n",
                "the text says `class Solution`, so compile_code calls tmp_sol.Solution(), which is missing",
            ),
        ],
        fn_name="addTwo",
    ),
    StandIn(
        "tuple-result",
        [("[1, 2]", "[2, 1]")],
        [
            ok("class Solution:\n    def swap(self, p):\n        return (p[1], p[0])\n", "a tuple counts as a list"),
            bad("class Solution:\n    def swap(self, p):\n        return p\n", "[1, 2] != [2, 1]"),
        ],
        fn_name="swap",
    ),
    StandIn(
        "call-deepcopy",
        [("[[1], [2]]", "[[1], [2], [1], [2]]")],
        [
            ok(
                "class Solution:\n    def twice(self, g):\n        return g + deepcopy(g)\n", "copy is in import_string"
            ),
            bad("class Solution:\n    def twice(self, g):\n        return g + g[:1]\n", "three items"),
        ],
        fn_name="twice",
    ),
    StandIn(
        "call-recursion",
        [("20000", "200010000")],
        [
            ok(
                "class Solution:\n    def total(self, n):\n        return 0 if n == 0 else n + self.total(n - 1)\n",
                "recursion limit 50,000",
            ),
            bad(
                "class Solution:\n    def total(self, n):\n        return 0 if n == 0 else n + self.total(n - 2)\n",
                "never reaches 0 exactly: RecursionError past 50,000",
            ),
        ],
        fn_name="total",
    ),
    StandIn(
        "typing-names",
        [("[3, 1, 2]", "[1, 2, 3]")],
        [
            ok(
                "class Solution:\n    def order(self, xs: List[int]) -> List[int]:\n        return sorted(xs)\n",
                "List comes from `from typing import *`",
            ),
            bad("class Solution:\n    def order(self, xs: List[int]) -> List[int]:\n        return xs\n", "unsorted"),
        ],
        fn_name="order",
    ),
    StandIn(
        "call-raises",
        ADD,
        [
            ok(METHOD.format(expr="sum((a, b))"), "right"),
            bad(METHOD.format(expr="a // 0"), "ZeroDivisionError -> -4 runtime error"),
        ],
        fn_name="addTwo",
    ),
    StandIn(
        "float-exact",
        [("0.1\n0.2", "0.30000000000000004")],
        [
            ok(
                "class Solution:\n    def plus(self, a, b):\n        return a + b\n", "the same float, compared with =="
            ),
            bad(
                "class Solution:\n    def plus(self, a, b):\n        return round(a + b, 2)\n",
                "0.3 != 0.30000000000000004: call-based results have no tolerance",
            ),
        ],
        fn_name="plus",
    ),
    StandIn(
        "main-block-in-call",
        ADD,
        [
            ok(
                METHOD.format(expr="a + b")
                + "if __name__ == '__main__':\n    print(Solution().addTwo(int(input()), 1))\n",
                "the module is tmp_sol: its __main__ block never runs",
            ),
            bad(METHOD.format(expr="a + b") + "print(undefined_name)\n", "NameError while the module loads"),
        ],
        fn_name="addTwo",
    ),
    StandIn(
        "call-time-limit",
        [("1", "1")],
        [
            ok("class Solution:\n    def same(self, n):\n        return n\n", "right"),
            bad(
                "class Solution:\n    def same(self, n):\n        while True:\n            n += 1\n",
                "the 6 s alarm -> -3 time limit",
            ),
        ],
        fn_name="same",
    ),
]
STAND_INS = STDIN + CALL


def lcb_row(stand_in: StandIn) -> dict[str, object]:
    """A code_generation_lite row: the first test public, the rest private."""
    kind = "functional" if stand_in.fn_name else "stdin"
    cases = [{"input": i, "output": o, "testtype": kind} for i, o in stand_in.tests]
    starter = "class Solution:\n    pass" if stand_in.fn_name else ""
    return {"question_title": stand_in.id, "question_content": f"Stand-in {stand_in.id}.",
            "platform": "leetcode" if stand_in.fn_name else "atcoder", "question_id": stand_in.id,
            "contest_id": "c", "contest_date": "2025-03-01T00:00:00", "starter_code": starter,
            "difficulty": "easy", "public_test_cases": json.dumps(cases[:1]),
            "private_test_cases": encode_private(cases[1:]),
            "metadata": json.dumps({"func_name": stand_in.fn_name} if stand_in.fn_name else {})}  # fmt: skip


@pytest.fixture(scope="module")
def problems(tmp_path_factory: pytest.TempPathFactory) -> dict[str, EvalProblem]:
    folder: Path = tmp_path_factory.mktemp("lcb")
    (folder / "test6.jsonl").write_text("".join(json.dumps(lcb_row(s)) + "\n" for s in STAND_INS))
    read = benchmark_problems(BENCHMARKS["livecodebench-v6"], folder)
    return {p.id: p for p in read}


CASES = [(s.id, n, sol) for s in STAND_INS for n, sol in enumerate(s.solutions)]


def test_the_suite_has_what_the_issue_asks() -> None:
    assert len(STAND_INS) >= 30
    assert all(any(s.lcb_passes for s in x.solutions) and any(not s.lcb_passes for s in x.solutions)
               for x in STAND_INS)  # fmt: skip
    assert {bool(x.fn_name) for x in STAND_INS} == {True, False}


@pytest.mark.parametrize(("problem_id", "number", "solution"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_vibe_agrees_with_lcb_runner(
    problems: dict[str, EvalProblem], problem_id: str, number: int, solution: Solution
) -> None:
    grade = grade_code(problems[problem_id], solution.response())
    assert grade.correct is solution.lcb_passes, f"lcb_runner: {solution.why}; vibe: {grade.verdict} {grade.detail}"


def test_samples_are_graded_side_by_side_with_the_same_verdicts(problems: dict[str, EvalProblem]) -> None:
    chosen = [c for c in CASES if c[0] in ("sum", "method", "deepcopy", "tuple-result", "decimals", "nan")]
    samples = [{"id": f"{pid}#{n}#off", "problem": pid, "sample": n, "budget": None, "response": sol.response()}
               for pid, n, sol in chosen]  # fmt: skip
    graded: list[dict[str, object]] = []
    with math_pool(workers=1) as pool:
        grade_samples(pool, "card", samples, problems, {"code": "code"}, graded.append)
    by_id = {g["sample"]: g["correct"] for g in graded}
    assert [by_id[s["id"]] for s in samples] == [sol.lcb_passes for _, _, sol in chosen]
