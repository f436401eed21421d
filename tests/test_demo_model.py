"""The bundled demo model really solves its own kind of problem, negatives and conversations included."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from vibecli.demo.problems import KINDS, Problem, is_held_out, signed_steps, unseen_problems
from vibecli.engine.types import Message, Sampling
from vibecli.paths import demo_model_dir
from vibecli.prompting.templates import load_templates
from vibecli.reasoning.extract import extract_answer
from vibecli.reasoning.solve import build_request
from vibecli.reasoning.splitter import split_text

MATH = load_templates()["math"]  # the same prompt `vibe solve` sends
PER_KIND = 20


def greedy_correct(backend: Any, problems: list[Problem], histories: list[tuple[Message, ...]]) -> list[bool]:
    """Whether the greedy final answer to each problem, asked after its history, is right."""
    requests = [
        dataclasses.replace(
            build_request(MATH, p.question, sampling=Sampling(temperature=0), max_tokens=400, history=history),
            request_id=str(i),
        )
        for i, (p, history) in enumerate(zip(problems, histories, strict=True))
    ]
    answers = {}
    for completion in backend.run_many(requests, max_batch=16):
        _, answer, closed = split_text(completion.finished.text)
        answers[int(completion.request_id)] = extract_answer(answer, "boxed") if closed else None
    return [answers[i] == str(p.answer) for i, p in enumerate(problems)]


def test_at_least_90_percent_of_each_kind_on_unseen_problems(demo_backend: Any) -> None:
    problems = unseen_problems(PER_KIND * len(KINDS))
    assert all(is_held_out(p.question) for p in problems), "training never saw these"
    correct = greedy_correct(demo_backend, problems, [()] * len(problems))
    groups: dict[str, list[bool]] = {}
    for p, ok in zip(problems, correct, strict=True):
        groups.setdefault(p.kind, []).append(ok)
        if p.negative:
            groups.setdefault("negative", []).append(ok)
    assert set(groups) == {*KINDS, "negative"} and len(groups["negative"]) >= len(problems) // 4
    for name, marks in groups.items():
        assert sum(marks) >= 0.9 * len(marks), f"{name}: {sum(marks)}/{len(marks)} correct"


def test_the_negatives_people_type_first(demo_backend: Any) -> None:
    asked = {"What is 384 - 426?": -42, "Solve for x: 5x + 21 = -24.": -9, "What is -7 + 3?": -4, "-12 * 5": -60}
    problems = [Problem("", question, "", answer) for question, answer in asked.items()]
    assert all(greedy_correct(demo_backend, problems, [()] * len(problems)))


def test_answers_the_last_question_of_a_conversation(demo_backend: Any) -> None:
    """As `vibe repl` sends it: earlier questions with their answers, thinking stripped."""
    problems = unseen_problems(24, seed=5)
    earlier = unseen_problems(48, seed=6)
    histories = []
    for i in range(len(problems)):
        turns = earlier[2 * i : 2 * i + 1 + i % 2]  # one or two earlier turns
        asked = [
            (Message("user", MATH.render(p.question)), Message("assistant", f"\\boxed{{{p.answer}}}")) for p in turns
        ]
        histories.append(tuple(m for pair in asked for m in pair))
    correct = greedy_correct(demo_backend, problems, histories)
    assert sum(correct) >= 0.9 * len(problems), f"{sum(correct)}/{len(problems)} correct"


def test_demo_model_is_a_standard_qwen2_checkpoint() -> None:
    config = json.loads((demo_model_dir() / "config.json").read_text())
    assert config["architectures"] == ["Qwen2ForCausalLM"]
    assert config["max_position_embeddings"] == 1024
    assert (demo_model_dir() / "model.safetensors").stat().st_size < 5_000_000
    tokenizer_config = json.loads((demo_model_dir() / "tokenizer_config.json").read_text())
    chat_template = tokenizer_config.get("chat_template") or (demo_model_dir() / "chat_template.jinja").read_text()
    assert "<|im_start|>" in chat_template


def test_the_working_always_ends_in_the_answer() -> None:
    """Signed problems are rewritten into whole-number working whose last `→` is the answer."""
    problems = unseen_problems(400, seed=3)
    assert all(p.working.rsplit("→", 1)[1].strip() == str(p.answer) for p in problems)
    assert any("<0 → -(" in p.working for p in problems), "negative differences are among them"
    assert signed_steps(-5, "-", -3).splitlines()[0] == "-5-(-3) = 3-5"
