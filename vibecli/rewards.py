"""Reward functions for RL trainers, on vibe's checkers.

The answer is read the way VibeThinker's card grader reads it: the response must close its
thinking with `</think>` and, after it, hold a `\\boxed{…}` (math; the last one counts) or a
fenced code block (code; the last one counts). A response without them scores 0.0, whatever
it says. Math answers are compared with `vibecli.verify_math_many` (each comparison in a worker
process under a time limit); code runs against its tests in the sandbox (`vibecli.verify_code`).

- TRL (`GRPOTrainer(reward_funcs=[math_reward])`): `math_reward(completions, solution, **kwargs)`
  and `code_reward(completions, tests, **kwargs)`; completions may be strings or conversations
  (`[{"role": "assistant", "content": …}]`); the gold column is `solution` (else `answer`, else
  `ground_truth`), the tests column `tests`.
- verl (`custom_reward_function.path=…/vibecli/rewards.py`, `.name=compute_score`):
  `compute_score(data_source, solution_str, ground_truth, extra_info=None)`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from vibecli.api.checking import DEFAULT_WORKERS, verify_code, verify_math_many
from vibecli.eval.card_grader import CLOSE_TAG, card_answer
from vibecli.reasoning.extract import last_code_block

__all__ = ["code_reward", "compute_score", "math_answer", "math_reward"]

MATH_TIMEOUT_S = 5.0
CODE_TIMEOUT_S = 6.0
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


def math_answer(response: str) -> str | None:
    """The answer the card's grader reads: the last `\\boxed{}` after `</think>`; None without either."""
    return card_answer(response)


def _code(response: str) -> str | None:
    """The last fenced code block after `</think>`; None without either."""
    if CLOSE_TAG not in response:
        return None
    return last_code_block(response.split(CLOSE_TAG, 1)[1])


def _math_scores(responses: Sequence[str], golds: Sequence[Any], timeout: float) -> list[float]:
    answers = [math_answer(response) for response in responses]
    asked = [i for i, answer in enumerate(answers) if answer is not None and golds[i] is not None]
    verdicts = verify_math_many([(str(golds[i]), str(answers[i])) for i in asked], workers=DEFAULT_WORKERS,
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
    if len(golds) != len(completions):
        raise ValueError(f"{len(completions)} completions but {len(golds)} gold answers")
    return _math_scores([_text(c) for c in completions], list(golds), MATH_TIMEOUT_S)


def _tests(raw: Any) -> Any:
    """One row's tests: Python assert source, or stdin/stdout cases (a list, or JSON text of one)."""
    if isinstance(raw, str):
        try:
            parsed = json.loads(raw)
        except ValueError:
            return raw  # assert source
        return parsed if isinstance(parsed, list) else raw
    if isinstance(raw, Mapping) and "tests" in raw:
        return _tests(raw["tests"])
    return list(raw)


def _code_score(response: str, tests: Any, timeout: float) -> float:
    """The fraction of tests passed by the response's last code block (after `</think>`)."""
    code = _code(response)
    if code is None or tests is None:
        return 0.0
    verdict = verify_code(code, _tests(tests), timeout=timeout)
    return verdict.passed / verdict.total if verdict.total else 0.0


def code_reward(completions: Sequence[Any], tests: Sequence[Any] | None = None, **kwargs: Any) -> list[float]:
    """TRL reward: the fraction of a row's tests that the completion's last code block (after
    `</think>`) passes in the sandbox. `tests[i]` is Python assert source, or a list (or JSON text)
    of `{"input": …, "output": …}` stdin/stdout cases."""
    if tests is None:
        raise TypeError("code_reward needs the tests in a dataset column named 'tests'")
    if len(tests) != len(completions):
        raise ValueError(f"{len(completions)} completions but {len(tests)} sets of tests")
    responses = [_text(c) for c in completions]
    rows = list(zip(responses, tests, strict=True))
    with ThreadPoolExecutor(max_workers=min(len(rows), os.cpu_count() or 1) or 1) as threads:
        return list(threads.map(lambda row: _code_score(row[0], row[1], CODE_TIMEOUT_S), rows))


def compute_score(data_source: str, solution_str: str, ground_truth: Any, extra_info: Any = None) -> float:
    """verl's custom reward: math when `ground_truth` is an answer (text or number); code when it is
    a list of stdin/stdout cases, or when `extra_info["tests"]` holds the tests."""
    tests = extra_info.get("tests") if isinstance(extra_info, Mapping) else None
    if tests is None and isinstance(ground_truth, list | tuple):
        tests = ground_truth
    if tests is not None:
        return _code_score(solution_str, tests, CODE_TIMEOUT_S)
    return _math_scores([solution_str], [ground_truth], MATH_TIMEOUT_S)[0]
