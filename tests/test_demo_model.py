"""The bundled demo model really solves its own kind of problem."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from vibecli.demo.problems import KINDS, is_held_out, unseen_problems
from vibecli.engine.types import Sampling
from vibecli.paths import demo_model_dir
from vibecli.prompting.templates import load_templates
from vibecli.reasoning.extract import extract_answer
from vibecli.reasoning.solve import build_request
from vibecli.reasoning.splitter import split_text


def test_at_least_90_percent_on_50_unseen_problems(demo_backend: Any) -> None:
    problems = unseen_problems(50)
    assert all(is_held_out(p.question) for p in problems), "training never saw these"
    assert {p.kind for p in problems} == set(KINDS)
    math = load_templates()["math"]  # the same prompt `vibe solve` sends
    requests = [
        dataclasses.replace(
            build_request(math, p.question, sampling=Sampling(temperature=0), max_tokens=400), request_id=str(i)
        )
        for i, p in enumerate(problems)
    ]
    answers = {}
    for completion in demo_backend.run_many(requests, max_batch=10):
        _, answer, closed = split_text(completion.finished.text)
        answers[int(completion.request_id)] = extract_answer(answer, "boxed") if closed else None
    correct = sum(answers[i] == str(p.answer) for i, p in enumerate(problems))
    assert correct / len(problems) >= 0.9, f"{correct}/{len(problems)} correct"


def test_demo_model_is_a_standard_qwen2_checkpoint() -> None:
    config = json.loads((demo_model_dir() / "config.json").read_text())
    assert config["architectures"] == ["Qwen2ForCausalLM"]
    assert (demo_model_dir() / "model.safetensors").stat().st_size < 5_000_000
    tokenizer_config = json.loads((demo_model_dir() / "tokenizer_config.json").read_text())
    chat_template = tokenizer_config.get("chat_template") or (demo_model_dir() / "chat_template.jinja").read_text()
    assert "<|im_start|>" in chat_template
