"""vibecli.rewards: TRL's reward convention (through TRL's own caller) and verl's compute_score."""

from __future__ import annotations

import json
import random
from types import SimpleNamespace
from typing import Any

import pytest

from vibecli.rewards import code_reward, compute_score, math_answer, math_reward

ADD = "print(sum(map(int, input().split())))"


def _responses(seed: int) -> list[tuple[str, str, float]]:
    """(response, gold, expected reward) in the shapes a policy writes, right, wrong and malformed."""
    rng = random.Random(seed)
    out = []
    for _ in range(12):
        a, b = rng.randint(2, 60), rng.randint(2, 60)
        gold = str(a * b)
        think = f"<think>{a} times {b}</think>"
        out += [
            (f"{think} So the product is \\boxed{{{a * b}}}.", gold, 1.0),
            (f"{think} \\boxed{{{a * b + 1}}}", gold, 0.0),
            (f"{think} \\boxed{{{a * b}.0}}", f"\\boxed{{{gold}}}", 1.0),  # a boxed gold, a decimal answer
            (f"\\boxed{{{a * b}}}", gold, 0.0),  # no </think>: a format failure
            (f"<think>maybe \\boxed{{{a * b}}}</think> I am not sure.", gold, 0.0),  # the box is in the thinking
            (f"{think} first \\boxed{{{a * b}}}, finally \\boxed{{{a * b - 1}}}", gold, 0.0),  # the last box counts
            (f"{think} \\boxed{{{a * b}", gold, 0.0),  # the box never closes
        ]
    return out


@pytest.mark.parametrize("seed", [0, 1])
def test_math_reward_reads_the_answer_as_the_card_does(seed: int) -> None:
    cases = _responses(seed)
    rewards = math_reward([r for r, _, _ in cases], solution=[g for _, g, _ in cases])
    assert rewards == [want for _, _, want in cases]


def test_math_reward_takes_conversations_and_other_gold_columns() -> None:
    conversation = [[{"role": "assistant", "content": "<think>6*7</think>\\boxed{42}"}],
                    [{"role": "assistant", "content": "\\boxed{42}"}]]  # fmt: skip
    assert math_reward(conversation, solution=["42", "42"]) == [1.0, 0.0]
    assert math_reward(conversation, answer=["42", "42"], prompts=["p", "q"]) == [1.0, 0.0]
    assert math_reward(conversation, ground_truth=["41", "42"]) == [0.0, 0.0]
    with pytest.raises(TypeError, match="solution, answer, ground_truth"):
        math_reward(conversation, prompts=["p", "q"])
    with pytest.raises(ValueError, match="2 completions but 1 gold"):
        math_reward(conversation, solution=["42"])
    assert math_answer("<think>x</think> \\boxed{\\frac{1}{2}}") == "\\frac{1}{2}"
    assert math_answer("\\boxed{1}") is None


def test_code_reward_scores_the_fraction_of_tests_passed() -> None:
    good = f"<think>add them</think>\n```python\n{ADD}\n```"
    cases = [{"input": "2 3", "output": "5"}, {"input": "1 1", "output": "2"}]
    half = [{"input": "2 3", "output": "5"}, {"input": "1 1", "output": "3"}]
    asserts = "def f(x):\n    return x + 1\n"
    rewards = code_reward(
        [good, good, good, ADD, f"```python\n{ADD}\n```</think>nothing", f"<think>…</think>```python\n{asserts}```"],
        tests=[cases, half, json.dumps(cases), cases, cases, "assert f(1) == 2\n"],
    )
    assert rewards == [1.0, 0.5, 1.0, 0.0, 0.0, 1.0]
    with pytest.raises(TypeError, match="'tests'"):
        code_reward([good])


def test_verl_compute_score() -> None:
    assert compute_score("openai/gsm8k", "<think>…</think> \\boxed{72}", "72") == 1.0
    assert compute_score("openai/gsm8k", "<think>…</think> \\boxed{71}", "72") == 0.0
    assert compute_score("openai/gsm8k", "\\boxed{72}", "72") == 0.0
    assert compute_score("lighteval/MATH", "<think>…</think> \\boxed{0.5}", "\\frac{1}{2}", {"split": "train"}) == 1.0
    code = f"<think>…</think>\n```python\n{ADD}\n```"
    assert compute_score("codecontests", code, [{"input": "2 3", "output": "5"}]) == 1.0
    assert compute_score("codecontests", code, "", {"tests": [{"input": "2 3", "output": "6"}]}) == 0.0


def test_trl_calls_the_rewards() -> None:
    """GRPOTrainer's own `_calculate_rewards` calls the functions with the dataset's columns."""
    pytest.importorskip("trl")
    import torch
    from trl import GRPOTrainer

    funcs = [math_reward, code_reward]
    trainer: Any = SimpleNamespace(
        accelerator=SimpleNamespace(device=torch.device("cpu"), is_main_process=True),
        reward_funcs=funcs, reward_processing_classes=[None, None], reward_func_names=[f.__name__ for f in funcs],
        state=SimpleNamespace(global_step=0), args=SimpleNamespace(report_to=[]),
        _log_completion_extra=lambda *args, **kwargs: None, _log_metric=lambda *args, **kwargs: None,
        environments=None,
    )  # fmt: skip
    cases = [{"input": "2 3", "output": "5"}]
    inputs = [{"prompt": "What is 2 + 3? Or write a program.", "solution": "5", "tests": cases}] * 3
    completions = ["<think>2+3</think>\\boxed{5}", f"<think>…</think>\n```python\n{ADD}\n```", "\\boxed{5}"]
    rewards = GRPOTrainer._calculate_rewards(trainer, inputs, [i["prompt"] for i in inputs], completions, [[1]] * 3)
    assert rewards.tolist() == [[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]


def test_verl_loads_compute_score_from_the_file() -> None:
    """verl's `custom_reward_function.path`: the file is loaded as a module of its own, then
    `compute_score` is called with keyword arguments."""
    import importlib.util
    import sys

    import vibecli.rewards

    spec = importlib.util.spec_from_file_location("custom_module", vibecli.rewards.__file__)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["custom_module"] = module
    try:
        spec.loader.exec_module(module)
        score = module.compute_score(data_source="math", solution_str="<think>…</think>\\boxed{2}", ground_truth="2",
                                     extra_info=None)  # fmt: skip
    finally:
        del sys.modules["custom_module"]
    assert score == 1.0


@pytest.mark.parametrize("seed", [0, 1])
def test_gsm8k_numpy_and_number_golds(seed: int) -> None:
    np = pytest.importorskip("numpy")
    rng = random.Random(seed)
    values = [rng.randint(2, 999) for _ in range(6)]
    right = [f"<think>…</think> \\boxed{{{v}}}" for v in values]
    wrong = [f"<think>…</think> \\boxed{{{v + 1}}}" for v in values]
    gsm8k = [f"She has {v - 1} and gets one more.\n#### {v}" for v in values]
    for golds in (gsm8k, values, np.array(values), np.array(gsm8k), [str(v) for v in values]):
        assert math_reward(right, answer=golds) == [1.0] * len(values)
        assert math_reward(wrong, answer=golds) == [0.0] * len(values)
    assert compute_score("openai/gsm8k", right[0], gsm8k[0]) == 1.0
    assert compute_score("openai/gsm8k", right[0], np.int64(values[0])) == 1.0


def test_math_and_code_rewards_read_the_same_answer_text() -> None:
    """One rule for both (the card grader's): the text after the first </think>, up to a second one."""
    box, block = "\\boxed{5}", f"```python\n{ADD}\n```"
    cases = [{"input": "2 3", "output": "5"}]
    layouts = {  # where the answer sits -> read?
        "<think>t</think> {a}": 1.0,
        "<think>t</think> {a} </think> tail": 1.0,  # before a second tag: read
        "<think>t</think> nothing </think> {a}": 0.0,  # after a second tag: not the answer
        "{a} </think> nothing": 0.0,  # inside the thinking
        "{a}": 0.0,  # no tag
    }
    for layout, want in layouts.items():
        assert math_reward([layout.format(a=box)], solution=["5"]) == [want], layout
        assert code_reward([layout.format(a=block)], tests=[cases]) == [want], layout
