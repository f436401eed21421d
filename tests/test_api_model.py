"""vibecli.load and Model against the bundled demo model, and the public names of `vibecli`."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

import vibecli
from vibecli import AnswerDelta, Notice, SamplesResult, SolveResult, ThinkingDelta
from vibecli.errors import EngineError, UsageError

PROBLEMS = {"What is 48 + 37?": "85", "Compute 12 * 3.": "36", "What is 9 - 4?": "5", "What is 7 + 8?": "15"}


@pytest.fixture(scope="module")
def model() -> Iterator[vibecli.Model]:
    with vibecli.load("demo", device="cpu", max_tokens=768) as loaded:
        yield loaded


def test_every_public_name_resolves_and_is_documented() -> None:
    names = set(vibecli.__all__) - {"__version__"}
    assert names == {"load", "Model", "verify_math", "verify_math_many", "verify_code", "MathVerdict", "CodeVerdict",
                     "SolveResult", "SamplesResult", "ThinkingDelta", "AnswerDelta", "Notice", "VibeError"}  # fmt: skip
    from vibecli import api

    assert set(api.__all__) == names
    for name in names:
        assert getattr(vibecli, name) is getattr(api, name)
        assert name in dir(vibecli)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        vibecli.nope  # type: ignore[attr-defined]  # noqa: B018


def test_import_vibecli_is_light() -> None:
    probe = ("import sys, vibecli, vibecli.rewards; vibecli.verify_math; vibecli.load; vibecli.SolveResult\n"
             "print([m for m in ('torch', 'transformers', 'sympy', 'latex2sympy2_extended', 'prompt_toolkit',"
             " 'exllamav2', 'openai') if m in sys.modules])")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


def test_solve_checks_the_answer(model: vibecli.Model) -> None:
    for problem, answer in PROBLEMS.items():
        result = model.solve(problem, expected=answer)
        assert isinstance(result, SolveResult)
        assert result.final_answer == answer and result.check.verdict == "equal"
        record = result.to_json()
        assert record["final_answer"] == answer and record["verification"]["equal"] is True
        json.dumps(record)
    wrong = model.solve("What is 48 + 37?", expected="84")
    assert wrong.check.verdict == "not_equal"


def test_stream_yields_deltas_then_the_result(model: vibecli.Model) -> None:
    events = list(model.stream("Compute 12 * 3.", max_tokens=4096))
    assert isinstance(events[-1], SolveResult)
    assert all(isinstance(e, ThinkingDelta | AnswerDelta | Notice) for e in events[:-1])
    assert any(isinstance(e, Notice) for e in events)  # 4096 does not fit the demo model's context: capped
    result = events[-1]
    assert "".join(e.text for e in events if isinstance(e, ThinkingDelta)) == result.thinking
    assert "".join(e.text for e in events if isinstance(e, AnswerDelta)) == result.answer
    assert result.final_answer == "36"
    first_answer = next(i for i, e in enumerate(events) if isinstance(e, AnswerDelta))
    assert not any(isinstance(e, ThinkingDelta) for e in events[first_answer:])


def test_stream_can_be_cancelled(model: vibecli.Model) -> None:
    cancel = threading.Event()
    events = []
    for event in model.stream("What is 48 + 37?", cancel=cancel):
        events.append(event)
        if isinstance(event, ThinkingDelta):
            cancel.set()
    result = events[-1]
    assert isinstance(result, SolveResult) and result.finish_reason == "cancelled"


def test_samples_vote(model: vibecli.Model) -> None:
    voted = model.samples("What is 48 + 37?", 3, temperature=0.7, seed=5, expected="85")
    assert isinstance(voted, SamplesResult)
    assert len(voted.samples) == 3 and [s.seed for s in voted.samples] == [5, 6, 7]
    assert voted.final_answer == "85" and voted.check.verdict == "equal"
    assert voted.to_json()["vote"]["k"] == 3


def test_batch_yields_every_problem_once(model: vibecli.Model) -> None:
    problems = list(PROBLEMS)
    seen = dict(model.batch(problems, concurrency=2, expected=list(PROBLEMS.values())))
    assert sorted(seen) == list(range(len(problems)))
    for index, result in seen.items():
        assert result.problem == problems[index]
        assert result.final_answer == PROBLEMS[problems[index]] and result.check.verdict == "equal"
        assert result.thinking and result.thinking_tokens + result.answer_tokens > 0


@pytest.mark.parametrize("budget", [0, 3])
def test_batch_runs_under_the_thinking_controls_of_a_solve(model: vibecli.Model, budget: int) -> None:
    problems = list(PROBLEMS)
    alone = model.solve(problems[0], think_budget=budget, temperature=0)
    seen = dict(model.batch(problems, concurrency=2, think_budget=budget, temperature=0))
    assert sorted(seen) == list(range(len(problems)))
    for result in seen.values():
        assert result.controls is not None and result.controls.budget == budget
        assert result.controls.trigger == "budget" and result.thinking_tokens <= budget
    assert seen[0].final_answer == alone.final_answer and seen[0].answer == alone.answer  # the same path


def test_batch_stopped_early_leaves_the_model_usable(model: vibecli.Model) -> None:
    for _ in model.batch(list(PROBLEMS), concurrency=1):
        break
    assert model.solve("What is 9 - 4?").final_answer == "5"


def test_one_call_at_a_time(model: vibecli.Model) -> None:
    stream = model.stream("What is 48 + 37?")
    next(stream)
    with pytest.raises(UsageError, match="busy"):
        model.solve("What is 9 - 4?")
    stream.close()
    assert model.solve("What is 9 - 4?").final_answer == "5"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m: m.solve(""), "non-empty string"),
        (lambda m: m.solve("1+1", temperature=-1), "temperature"),
        (lambda m: m.solve("1+1", mode="nonsense"), "nonsense"),
        (lambda m: m.solve("1+1", tests="/nonexistent.py"), "does not exist"),
        (lambda m: m.samples("1+1", 0), "positive integer"),
        (lambda m: list(m.batch(["1+1"], concurrency=0)), "positive integer"),
        (lambda m: list(m.batch(["1+1"], expected=["2", "3"])), "2 answers for 1 problems"),
    ],
)
def test_bad_arguments_are_usage_errors(model: vibecli.Model, call: object, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        call(model)  # type: ignore[operator]


def test_load_errors_and_close() -> None:
    with pytest.raises(EngineError, match="neither a directory nor a known name"):
        vibecli.load("no-such-model")
    loaded = vibecli.load("demo", device="cpu")
    assert loaded.info.name == "demo"
    loaded.close()
    loaded.close()
    with pytest.raises(UsageError, match="closed"):
        loaded.solve("What is 1 + 1?")
