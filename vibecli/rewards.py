"""Reward functions for RL trainers, on vibe's checkers.

The answer is read the way VibeThinker's card grader reads it: the response must close its
thinking with `</think>`, and the answer is the text after the first `</think>` (up to a second
one, if the model wrote another): there the last `\\boxed{…}` (math) or the last fenced code
block (code) counts. A response without them scores 0.0, whatever it says. Math golds may be
numbers, and a GSM8K-style gold ("… #### 72") counts by the part after `####`. Math answers are compared with
`vibecli.verify_math_many` (each comparison in a worker process under a time limit); code runs
against its tests in the sandbox (`vibecli.verify_code`).

- TRL (`GRPOTrainer(reward_funcs=[math_reward])`): `math_reward(completions, solution, **kwargs)`
  and `code_reward(completions, tests, **kwargs)`; completions may be strings or conversations
  (`[{"role": "assistant", "content": …}]`); the gold column is `solution` (else `answer`, else
  `ground_truth`), the tests column `tests`: in any format `vibecli.verify_code` reads (assert
  source, a list of `{"input", "output"}` cases, APPS's `{"inputs", "outputs"}`, a dict of lists,
  JSON/JSONL text, NumPy arrays). Each completion's tests run within `CODE_BUDGET_S` seconds in
  all (each test within `CODE_TIMEOUT_S`): tests not started by then count as failed, and so do
  the tests after one that ran out of time, so an endless loop costs one `CODE_TIMEOUT_S`.
- verl (`custom_reward_function.path=…/vibecli/rewards.py`, `.name=compute_score`):
  `compute_score(data_source, solution_str, ground_truth, extra_info=None)`: code when
  `extra_info["tests"]` holds tests or `ground_truth` is cases (a list, a mapping, a NumPy array,
  or JSON text of one), else math.

Tests that hold no test at all raise `UsageError` (a dataset problem); what a completion does
(no code, no function, a crash, a hang) only lowers its score.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from vibecli.api.checking import DEFAULT_WORKERS, verify_code, verify_math_many
from vibecli.eval.card_grader import CLOSE_TAG, boxed_content
from vibecli.reasoning.extract import last_code_block
from vibecli.verify.code_tests import read_tests

__all__ = ["code_reward", "compute_score", "math_answer", "math_reward"]

MATH_TIMEOUT_S = 5.0  # per comparison
CODE_TIMEOUT_S = 6.0  # per test
CODE_BUDGET_S = 30.0  # per completion, all its tests together (each case also pays ~0.1-0.2 s of sandbox start-up)
GOLD_COLUMNS = ("solution", "answer", "ground_truth")


def _text(completion: Any) -> str:
    """A completion as text: a string, or the last message's content of a conversation."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Mapping):
        return str(completion.get("content") or "")
    if isinstance(completion, Sequence) and completion:
        return _text(completion[-1])
    return ""


def answer_text(response: str) -> str | None:
    """The card grader's answer: the text after the first `</think>` (to a second one, if any); None without one."""
    if CLOSE_TAG not in response:
        return None
    return response.split(CLOSE_TAG)[1]


def math_answer(response: str) -> str | None:
    """The answer the card's grader reads: the last `\\boxed{}` in `answer_text`; None without either."""
    answer = answer_text(response)
    return None if answer is None else boxed_content(answer)


def _code(response: str) -> str | None:
    """The last fenced code block in `answer_text`; None without either."""
    answer = answer_text(response)
    return None if answer is None else last_code_block(answer)


def _gold(value: Any) -> str | None:
    """A gold answer as text: numbers as written, GSM8K's "reasoning #### 72" as its final answer."""
    if value is None:
        return None
    item = getattr(value, "item", None)  # a NumPy scalar
    if callable(item) and not isinstance(value, str):
        value = item()
    text = str(value)
    return text.rsplit("####", 1)[1].strip() if "####" in text else text


def _math_scores(responses: Sequence[str], golds: Sequence[Any], timeout: float) -> list[float]:
    answers = [math_answer(response) for response in responses]
    texts = [_gold(gold) for gold in golds]
    asked = [i for i, answer in enumerate(answers) if answer is not None and texts[i] is not None]
    verdicts = verify_math_many([(str(texts[i]), str(answers[i])) for i in asked], workers=DEFAULT_WORKERS,
                                timeout=timeout)  # fmt: skip
    scores = [0.0] * len(responses)
    for i, verdict in zip(asked, verdicts, strict=True):
        scores[i] = 1.0 if verdict.verdict == "equal" else 0.0
    return scores


def _gold_column(kwargs: Mapping[str, Any]) -> Sequence[Any]:
    for name in GOLD_COLUMNS:
        if kwargs.get(name) is not None:
            return kwargs[name]  # type: ignore[no-any-return]
    raise TypeError(f"math_reward needs the gold answers in a dataset column named one of {', '.join(GOLD_COLUMNS)}")


def math_reward(completions: Sequence[Any], solution: Sequence[Any] | None = None, **kwargs: Any) -> list[float]:
    """TRL reward: 1.0 where the completion's boxed answer (after `</think>`) equals the gold, else 0.0."""
    golds = solution if solution is not None else _gold_column(kwargs)
    tolist = getattr(golds, "tolist", None)  # a NumPy column
    golds = list(tolist() if callable(tolist) else golds)
    if len(golds) != len(completions):
        raise ValueError(f"{len(completions)} completions but {len(golds)} gold answers")
    return _math_scores([_text(c) for c in completions], golds, MATH_TIMEOUT_S)


def _code_score(response: str, tests: Any) -> float:
    """The fraction of tests passed by the response's last code block (after `</think>`)."""
    if tests is None:
        return 0.0
    read = read_tests(tests)  # tests that hold no test are the dataset's error, whatever the response
    code = _code(response)
    if code is None:
        return 0.0
    verdict = verify_code(code, read,
                          timeout=CODE_TIMEOUT_S, budget=CODE_BUDGET_S, stop_on_timeout=True)  # fmt: skip
    return verdict.passed / verdict.total if verdict.total else 0.0


def code_reward(completions: Sequence[Any], tests: Sequence[Any] | None = None, **kwargs: Any) -> list[float]:
    """TRL reward: the fraction of a row's tests that the completion's last code block (after
    `</think>`) passes in the sandbox, within `CODE_BUDGET_S` seconds per completion. `tests[i]` is
    in any format `vibecli.verify_code` reads (see the module docstring)."""
    if tests is None:
        raise TypeError("code_reward needs the tests in a dataset column named 'tests'")
    if len(tests) != len(completions):
        raise ValueError(f"{len(completions)} completions but {len(tests)} sets of tests")
    responses = [_text(c) for c in completions]
    rows = list(zip(responses, tests, strict=True))
    with ThreadPoolExecutor(max_workers=min(len(rows), os.cpu_count() or 1) or 1) as threads:
        return list(threads.map(lambda row: _code_score(row[0], row[1]), rows))


def _code_ground_truth(ground_truth: Any) -> Any:
    """`ground_truth` when it is tests (cases, a mapping, an array, JSON text of one), else None."""
    if callable(getattr(ground_truth, "tolist", None)) and not isinstance(ground_truth, str):
        ground_truth = ground_truth.tolist()
    if isinstance(ground_truth, list | tuple) and ground_truth and all(map(_plain_answer, ground_truth)):
        return None  # acceptable answers, graded as math
    if isinstance(ground_truth, list | tuple | Mapping):
        return ground_truth
    if isinstance(ground_truth, str) and ground_truth.lstrip()[:1] in ("[", "{"):
        try:
            parsed = json.loads(ground_truth)
        except ValueError:
            return None  # a math answer such as {1, 2} or [0, 1)
        return ground_truth if isinstance(parsed, list | dict) and parsed and not _numbers(parsed) else None
    return None


def _plain_answer(item: Any) -> bool:
    """A math answer (a number, or text that is not a JSON object), not a test case."""
    if isinstance(item, str):
        return not item.lstrip().startswith("{")
    return isinstance(item, int | float) and not isinstance(item, bool)


def _numbers(parsed: Any) -> bool:
    """A JSON list of numbers ([1, 2]) is a math answer, not tests."""
    return isinstance(parsed, list) and all(isinstance(x, int | float) for x in parsed)


def compute_score(data_source: str, solution_str: str, ground_truth: Any, extra_info: Any = None) -> float:
    """verl's custom reward: code when `extra_info["tests"]` holds tests or `ground_truth` is tests
    (cases as a list, mapping, NumPy array or JSON text); otherwise math against `ground_truth`
    (a list of plain answers: any one of them)."""
    tests = extra_info.get("tests") if isinstance(extra_info, Mapping) else None
    if tests is None:
        tests = _code_ground_truth(ground_truth)
    if tests is not None:
        return _code_score(solution_str, tests)
    if callable(getattr(ground_truth, "tolist", None)) and not isinstance(ground_truth, str):
        ground_truth = ground_truth.tolist()
    golds = list(ground_truth) if isinstance(ground_truth, list | tuple) else [ground_truth]
    return max(_math_scores([solution_str] * len(golds), golds, MATH_TIMEOUT_S), default=0.0)  # any one of them
