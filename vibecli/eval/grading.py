"""Grading an evaluation's samples, and the vote behind cons@k.

Two graders: `vibe` (vibe's verifier: the final answer after the thinking, compared by
mathematical equivalence; `undecided` counts as wrong and is kept as such) and `card` (the
card's grader, see card_grader.py). Code is graded the same way by both: the last fenced block
after the thinking runs against every test in the sandbox, stopping at the first failure, and
passes only when all pass. Grades and votes are appended to `grades.jsonl`, so a report, a
resumed run or the other grader never redoes work.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vibecli.batch.vote import vote
from vibecli.eval.datasets import CodeTest, EvalProblem
from vibecli.reasoning.extract import extract_answer
from vibecli.reasoning.splitter import split_text
from vibecli.verify.math import as_verdict, check_many

if TYPE_CHECKING:
    from vibecli.verify.worker import WorkerPool

GRADERS = ("vibe", "card")
CARD_GRADE = "vibecli.eval.card_grader:grade"
TEST_SECONDS = 6.0  # LiveCodeBench's per-test limit
# LiveCodeBench puts these imports before every solution; models rely on them (List, defaultdict, …).
CODE_HEADER = (
    "from typing import *\nfrom collections import *\nfrom heapq import *\nfrom bisect import *\n"
    "from itertools import *\nfrom functools import *\nfrom math import *\n"
    "import sys, re, math, heapq, bisect, itertools, functools, collections, string\n"
)


@dataclass(frozen=True)
class Grade:
    answer: str | None
    correct: bool
    verdict: str  # equal / not_equal / undecided / no_answer, or passed / failed for code
    detail: str = ""


def final_answer(response: str, answer_format: str) -> str | None:
    """vibe's reading of a response: the final answer after a closed thinking, else None."""
    thinking, answer, closed = split_text(response)
    if thinking and not closed:
        return None
    return extract_answer(answer, answer_format)


def grade_math(pool: WorkerPool, grader: str, items: list[tuple[str, str, str]]) -> Iterator[Grade]:
    """Grades for (response, gold, answer_format) triples, in order."""
    if grader == "card":
        for outcome in pool.map(CARD_GRADE, [(response, gold) for response, gold, _ in items]):
            if isinstance(outcome, tuple):
                answer, correct = outcome
                yield Grade(answer, bool(correct), "equal" if correct else "not_equal" if answer else "no_answer")
            else:
                yield Grade(None, False, "undecided", as_verdict(outcome).reason)
        return
    answers = [final_answer(response, fmt) for response, _, fmt in items]
    verdicts = iter(check_many(pool, [(gold, a) for (_, gold, _), a in zip(items, answers, strict=True) if a]))
    for answer in answers:
        if answer is None:
            yield Grade(None, False, "no_answer")
        else:
            verdict = next(verdicts)
            yield Grade(answer, verdict.equal is True, verdict.verdict, verdict.reason)


def _functional_check(test: CodeTest, fn_name: str) -> str:
    """An assert program calling `Solution().fn_name` with the test's JSON arguments, one per line."""
    return (
        "import json as _json\n"
        f"_args = [_json.loads(_line) for _line in {test.input!r}.split('\\n') if _line.strip()]\n"
        f"_got = Solution().{fn_name}(*_args)\n"
        "_got = list(_got) if isinstance(_got, tuple) else _got\n"
        f"assert _got == _json.loads({test.output!r})\n"
    )


def grade_code(problem: EvalProblem, response: str) -> Grade:
    """Run the response's code against the problem's tests; the first failing test ends it."""
    from vibecli.verify.code import IOCase, run_assert_tests, run_io_tests
    from vibecli.verify.sandbox import Limits
    from vibecli.verify.solution import check_against_tests

    code = final_answer(response, "code")
    if code is None:
        return Grade(None, False, "no_answer", "no code block after the thinking")
    if problem.tests_file is not None:
        check = check_against_tests(code, Path(problem.tests_file))
        return Grade(code, check.verdict == "passed", check.verdict, check.detail)
    limits = Limits(wall_s=TEST_SECONDS, cpu_s=TEST_SECONDS)
    source = CODE_HEADER + code
    for number, test in enumerate(problem.tests, start=1):
        if test.functional and problem.fn_name:
            result = run_assert_tests(source, _functional_check(test, problem.fn_name), limits=limits)[0]
        else:
            result = run_io_tests(source, [IOCase(test.input, test.output)], limits=limits)[0]
        if result.verdict != "passed":
            detail = f"test {number}/{len(problem.tests)}: {result.verdict} {result.detail}".strip()
            return Grade(code, False, "failed", detail)
    return Grade(code, True, "passed", f"{len(problem.tests)} tests passed")


def grade_samples(
    pool: WorkerPool, grader: str, samples: list[dict[str, Any]], problems: dict[str, EvalProblem],
    formats: dict[str, str], on_graded: Callable[[dict[str, Any]], None],
) -> None:  # fmt: skip
    """Grade `samples` (records of samples.jsonl) and hand each grade record to `on_graded`."""

    def is_code(sample: dict[str, Any]) -> bool:
        return formats.get(problems[sample["problem"]].mode) == "code"

    math_items = [s for s in samples if not is_code(s)]
    code_items = [s for s in samples if is_code(s)]
    items = [(s["response"], problems[s["problem"]].expected or "", formats.get(problems[s["problem"]].mode, "boxed"))
             for s in math_items]  # fmt: skip
    graded = grade_math(pool, grader, items)
    for sample, grade in zip(math_items, graded, strict=True):
        on_graded(_grade_record(sample, grader, grade))
    for sample in code_items:
        on_graded(_grade_record(sample, grader, grade_code(problems[sample["problem"]], sample["response"])))


def _grade_record(sample: dict[str, Any], grader: str, grade: Grade) -> dict[str, Any]:
    return {"id": f"{sample['id']}@{grader}", "type": "grade", "sample": sample["id"], "grader": grader,
            "answer": grade.answer, "correct": grade.correct, "verdict": grade.verdict,
            "detail": grade.detail}  # fmt: skip


def vote_id(problem_id: str, budget: int | None, n: int) -> str:
    return f"vote:{problem_id}#{'off' if budget is None else budget}#{n}"


def vote_record(
    pool: WorkerPool, problem_id: str, budget: int | None, samples: list[dict[str, Any]], answer_format: str
) -> dict[str, Any]:
    """Cluster a problem's final answers by math equivalence (samples in sample order)."""
    answers = [final_answer(s["response"], answer_format) for s in samples]

    def same(a: str, b: str) -> bool:
        return next(check_many(pool, [(a, b)])).verdict == "equal"

    chosen = vote(answers, same)
    return {"id": vote_id(problem_id, budget, len(samples)), "type": "vote", "problem": problem_id,
            "budget": budget, "n": len(samples), "answer": chosen.answer,
            "clusters": [[samples[i]["sample"] for i in c] for c in chosen.clusters]}  # fmt: skip
