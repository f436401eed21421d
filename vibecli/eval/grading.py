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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vibecli.batch.vote import vote
from vibecli.eval.datasets import EvalProblem
from vibecli.reasoning.extract import extract_answer
from vibecli.reasoning.splitter import split_text
from vibecli.verify.math import as_verdict, check_many

if TYPE_CHECKING:
    from vibecli.verify.worker import WorkerPool

GRADERS = ("vibe", "card")
CARD_GRADE = "vibecli.eval.card_grader:grade"


@dataclass(frozen=True)
class Grade:
    answer: str | None
    correct: bool | None  # None: ungraded (the problem has no gold), counted apart and never wrong
    verdict: str  # equal / not_equal / undecided / no_answer / ungraded, or passed / failed for code
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


def grade_code(problem: EvalProblem, response: str) -> Grade:
    """A registered LiveCodeBench problem as lcb_runner grades it (see lcb.py); a local set's
    tests file as `vibe verify` checks it. The first failing test ends it."""
    from vibecli.eval import lcb
    from vibecli.verify.code import run_assert_tests
    from vibecli.verify.sandbox import run_python
    from vibecli.verify.solution import check_against_tests

    if problem.tests_file is not None:
        code = final_answer(response, "code")
        if code is None:
            return Grade(None, False, "no_answer", "no code block after the thinking")
        check = check_against_tests(code, Path(problem.tests_file))
        return Grade(code, check.verdict == "passed", check.verdict, check.detail)
    code = lcb.extract_code(response)
    if code is None:
        return Grade(None, False, "no_answer", "no code block (fewer than two fence lines)")
    for number, test in enumerate(problem.tests, start=1):
        if test.functional and problem.fn_name:
            tests = lcb.call_tests(code, problem.fn_name, test.input, test.output)
            entry = None if "class Solution" in code else problem.fn_name
            result = run_assert_tests(lcb.call_source(code), tests, limits=lcb.LIMITS, entry_point=entry)[0]
            verdict, detail = result.verdict, result.detail
        else:
            run = run_python(lcb.stdin_program(code), test.input, limits=lcb.LIMITS)
            if run.status != "ok":
                verdict = run.status if run.status in ("time_limit", "memory_limit") else "runtime_error"
                last = run.stderr.strip().splitlines()[-1:]
                detail = run.detail or (last[0][:120] if last else "")
            elif lcb.outputs_equal(test.output, run.stdout):  # compared here, outside the sandbox
                verdict, detail = "passed", ""
            else:
                verdict, detail = "wrong_answer", f"{len(run.stdout)} characters of output"
        if verdict != "passed":
            detail = f"test {number}/{len(problem.tests)}: {verdict} {detail}".strip()
            return Grade(code, False, "failed", detail)
    return Grade(code, True, "passed", f"{len(problem.tests)} tests passed")


def code_workers() -> int:
    """Samples graded at once: one per core (VIBE_EVAL_WORKERS overrides)."""
    import os

    configured = os.environ.get("VIBE_EVAL_WORKERS", "")
    return int(configured) if configured.isdigit() and int(configured) > 0 else max(1, os.cpu_count() or 1)


def grade_samples(
    pool: WorkerPool, grader: str, samples: list[dict[str, Any]], problems: dict[str, EvalProblem],
    formats: dict[str, str], on_graded: Callable[[dict[str, Any]], None],
) -> None:  # fmt: skip
    """Grade `samples` (records of samples.jsonl) and hand each grade record to `on_graded`."""

    def is_code(sample: dict[str, Any]) -> bool:
        return formats.get(problems[sample["problem"]].mode) == "code"

    def has_gold(sample: dict[str, Any]) -> bool:
        problem = problems[sample["problem"]]
        if is_code(sample):
            return bool(problem.tests) or problem.tests_file is not None
        return bool((problem.expected or "").strip())

    for sample in samples:
        if not has_gold(sample):
            why = "no tests" if is_code(sample) else "no gold answer"
            on_graded(_grade_record(sample, grader, Grade(None, None, "ungraded", why)))
    samples = [s for s in samples if has_gold(s)]
    math_items = [s for s in samples if not is_code(s)]
    code_items = [s for s in samples if is_code(s)]
    items = [(s["response"], problems[s["problem"]].expected or "", formats.get(problems[s["problem"]].mode, "boxed"))
             for s in math_items]  # fmt: skip
    graded = grade_math(pool, grader, items)
    for sample, grade in zip(math_items, graded, strict=True):
        on_graded(_grade_record(sample, grader, grade))
    # Each test is a sandboxed process: samples are graded side by side, one per core.
    with ThreadPoolExecutor(max_workers=code_workers()) as workers:
        graded_code = workers.map(lambda s: grade_code(problems[s["problem"]], s["response"]), code_items)
        for sample, grade in zip(code_items, graded_code, strict=True):
            on_graded(_grade_record(sample, grader, grade))


def _grade_record(sample: dict[str, Any], grader: str, grade: Grade) -> dict[str, Any]:
    return {"id": f"{sample['id']}@{grader}", "type": "grade", "sample": sample["id"], "grader": grader,
            "problem": sample["problem"],
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
