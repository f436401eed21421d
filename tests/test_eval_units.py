"""`vibe eval`'s parts without a model: metrics against brute force, the card's grader on
hand-made responses, each benchmark's file layout, LiveCodeBench tests and their grading."""

from __future__ import annotations

import functools
import itertools
import math
import operator
import random
import statistics
from pathlib import Path

import pytest
from fake_hub_datasets import ARITHMETIC, build_datasets

from vibecli.batch.report import pass_at_k
from vibecli.eval import card_grader
from vibecli.eval.datasets import CodeTest, EvalProblem, benchmark_problems, decode_tests
from vibecli.eval.grading import grade_code, grade_math
from vibecli.eval.metrics import mean_and_stderr, summarize
from vibecli.eval.registry import BENCHMARKS, card_for, lcb_files, windowed
from vibecli.eval.runner import loop_cut
from vibecli.verify.math import math_pool


def brute_pass_at_k(outcomes: list[bool], k: int) -> float:
    """The share of all k-subsets of the samples that hold at least one correct sample."""
    subsets = list(itertools.combinations(outcomes, k))
    return sum(any(s) for s in subsets) / len(subsets)


def test_pass_at_k_matches_brute_force() -> None:
    rng = random.Random(3)
    for _ in range(40):
        n = rng.randint(1, 9)
        outcomes = [rng.random() < 0.4 for _ in range(n)]
        k = rng.randint(1, n)
        assert pass_at_k(n, sum(outcomes), k) == pytest.approx(brute_pass_at_k(outcomes, k))


def test_summary_pass1_stderr_and_cons_against_a_recount() -> None:
    rng = random.Random(7)
    k, problems = 4, [f"p{i}" for i in range(6)]
    samples, grades, truth = [], {}, {}
    for p in problems:
        marks = [rng.random() < 0.5 for _ in range(k)]
        truth[p] = marks
        for j, ok in enumerate(marks):
            sid = f"{p}#{j}#off"
            samples.append(
                {
                    "id": sid,
                    "problem": p,
                    "sample": j,
                    "budget": None,
                    "tokens": 10 + j,
                    "finish_reason": "length" if j == 3 else "stop",
                    "run": "r",
                    "elapsed_s": 2.0,
                }
            )
            grades[f"{sid}@vibe"] = {"correct": ok}
        grades[f"vote:{p}#off#{k}"] = {"clusters": [[2, 0], [1]]}
    manifest = {"benchmark": "b", "model": "m", "problems": 6, "settings": {"k": k}}
    summary = summarize(manifest, samples, grades, grader="vibe", budget=None)
    per_problem = [sum(m) / k for m in truth.values()]
    assert summary["pass@1"] == pytest.approx(statistics.mean(per_problem))
    assert summary["pass@1_stderr"] == pytest.approx(statistics.stdev(per_problem) / math.sqrt(6))
    assert summary["pass@k"] == pytest.approx(statistics.mean(brute_pass_at_k(m, k) for m in truth.values()))
    assert summary["cons@k"] == pytest.approx(statistics.mean(float(m[2]) for m in truth.values()))
    assert summary["cutoff_ratio"] == pytest.approx(0.25) and summary["mean_response_tokens"] == pytest.approx(11.5)
    assert summary["tokens_per_s"] == pytest.approx(6 * 46 / 2.0)
    assert mean_and_stderr([0.5]) == (0.5, None)


@pytest.mark.parametrize(
    ("response", "gold", "answer", "correct"),
    [
        ("no thinking close \\boxed{85}", "85", None, False),  # no </think> scores 0
        ("<think>\\boxed{84}</think> first \\boxed{84} then \\boxed{85}", "85", "85", True),  # the last box
        ("<think>I guess \\boxed{85}</think> so it is 84, \\boxed{84}", "85", "84", False),  # boxes in the thinking
        ("<think>x</think> The answer is 85.", "85", None, False),  # no box
        ("<think>x</think> \\boxed{\\dfrac{1}{2}}", "0.5", "\\dfrac{1}{2}", True),  # Hendrycks normalisation
        ("<think>x</think> \\boxed{1/2}", "\\frac{1}{2}", "1/2", True),
        ("<think>x</think> \\boxed{2/4}", "\\frac{1}{2}", "2/4", False),  # an unreduced fraction is refused
        ("<think>x</think> \\boxed{\\sqrt{8}}", "2\\sqrt{2}", "\\sqrt{8}", True),  # SymPy equality
        ("<think>x</think> \\boxed{10^{3}}", "1000", "10^{3}", False),  # an integer must match as an integer
        ("<think>x</think> \\boxed{B}", "B", "B", True),  # GPQA: the boxed letter
        ("<think>x</think> \\boxed{(1, 2)}", "(1,2)", "(1, 2)", True),
        ("<think>x</think> \\boxed{__import__('os')}", "1", "__import__('os')", False),  # never evaluated
        ("<think>a</think>b</think> \\boxed{85}", "85", None, False),  # only the text after the first </think>
        # rllm anchors `\\text{…}` to the whole answer: a unit after it is not dropped
        ("<think>x</think> \\boxed{\\text{5} apples}", "5", "\\text{5} apples", False),
        ("<think>x</think> \\boxed{\\text{5}}", "5", "\\text{5}", True),
        # letters of any script reach SymPy, as rllm's str.isalpha count lets them
        ("<think>x</think> \\boxed{2α}", "α*2", "2α", True),
        ("<think>x</think> \\boxed{2β+α}", "α+2β", "2β+α", True),
        # inf and nan are floats that are not integers: compared, never a crash
        ("<think>x</think> \\boxed{inf}", "\\infty", "inf", True),
        ("<think>x</think> \\boxed{nan}", "1", "nan", False),
        ("<think>x</think> \\boxed{1e400}", "\\infty", "1e400", False),  # "inf" and "1e400": 4 letters, no SymPy
    ],
)
def test_card_grader_on_hand_made_responses(response: str, gold: str, answer: str | None, correct: bool) -> None:
    assert card_grader.grade(response, gold) == (answer, correct)


def test_both_graders_through_the_worker_pool() -> None:
    items = [("<think>x</think>\\boxed{0.5}", "\\frac{1}{2}", "boxed"), ("<think>x", "3", "boxed"),
             ("<think>x</think>\\boxed{\\pi}", "3.14", "boxed")]  # fmt: skip
    with math_pool() as pool:
        vibe = list(grade_math(pool, "vibe", items))
        card = list(grade_math(pool, "card", items))
    # A 3-digit decimal gold is not an exact value: vibe's grader wants 6 significant digits (README).
    assert [g.correct for g in vibe] == [True, False, False] and vibe[1].verdict == "no_answer"
    assert [g.correct for g in card] == [True, False, False]


def test_every_registered_layout_reads(tmp_path: Path) -> None:
    repos = build_datasets(tmp_path)
    for name in ("aime24", "aime25", "hmmt25", "math500"):
        benchmark = BENCHMARKS[name]
        problems = benchmark_problems(benchmark, repos[benchmark.repo])
        assert [(p.problem, p.expected) for p in problems] == ARITHMETIC, name
    gpqa = benchmark_problems(BENCHMARKS["gpqa-diamond"], repos["Idavidrein/gpqa"])
    assert len(gpqa) == len(ARITHMETIC) and all(p.mode == "gpqa" for p in gpqa)
    for problem, (_, answer) in zip(gpqa, ARITHMETIC, strict=True):
        line = next(line for line in problem.problem.splitlines() if line.startswith(f"{problem.expected}. "))
        assert line == f"{problem.expected}. {answer}"  # the gold letter names the correct option
    lcb = repos["livecodebench/code_generation_lite"]
    v5 = benchmark_problems(BENCHMARKS["livecodebench-v5"], lcb)
    v6 = benchmark_problems(BENCHMARKS["livecodebench-v6"], lcb)
    # lcb_runner's release_v5 is test … test5: v5d (January 2025, in test6) is not in it
    assert [p.id for p in v5] == ["v5a", "v5b", "v5c"] and [p.id for p in v6] == ["v6a", "v6b"]
    custom = benchmark_problems(windowed(BENCHMARKS["livecodebench-v6"], "2024-01-01", "2024-12-31"), lcb)
    assert [p.id for p in custom] == ["test2.jsonl", "test3.jsonl", "v5a", "v5b"]
    functional = v6[0]
    assert functional.fn_name == "addTwo" and functional.starter_code and len(functional.tests) == 2
    assert functional.tests[1] == CodeTest("10\n-4", "6", functional=True)  # the private test, decoded


def test_lcb_windows_download_only_the_files_they_need() -> None:
    assert BENCHMARKS["livecodebench-v5"].files == ("test4.jsonl", "test5.jsonl")  # release_v5 from 2024-08-01
    assert BENCHMARKS["livecodebench-v6"].files == ("test6.jsonl",)  # release_v6 from 2025-02-01
    assert lcb_files("2025-02-01", "2025-05-01") == ("test6.jsonl",)
    assert lcb_files("2024-08-01", "2025-02-01") == ("test4.jsonl", "test5.jsonl", "test6.jsonl")
    assert "test[7-9].jsonl" in lcb_files("2025-06-01", "2025-09-01")


def test_private_tests_that_pickle_anything_but_a_string_are_refused() -> None:
    import base64
    import pickle
    import zlib

    evil = base64.b64encode(zlib.compress(pickle.dumps(Path("/etc/passwd")))).decode()
    with pytest.raises(pickle.UnpicklingError):
        decode_tests(evil)


def test_code_is_graded_by_running_every_test() -> None:
    stdin = EvalProblem("s", "sum", None, "code", tests=(CodeTest("2 3\n", "5\n"), CodeTest("10 -4\n", "6\n")))
    right = "<think>easy</think>\n```python\na, b = map(int, input().split())\nprint(a + b)\n```"
    wrong = "<think>easy</think>\n```python\na, b = map(int, input().split())\nprint(a - b if a > 5 else a + b)\n```"
    assert grade_code(stdin, right).correct
    failed = grade_code(stdin, wrong)
    assert not failed.correct and "test 2/2: wrong_answer" in failed.detail
    calls = (CodeTest("2\n3", "5", True), CodeTest("[1]\n[2]", "[1, 2]", True))
    functional = EvalProblem("f", "sum", None, "code", tests=calls, fn_name="addTwo")
    method = "class Solution:\n    def addTwo(self, a: Any, b: Any) -> Any:\n        return a + b\n"
    method = f"<think>x</think>```python\n{method}```"
    assert grade_code(functional, method).correct  # `Any` comes from LiveCodeBench's import header
    assert grade_code(functional, "<think>never closed").verdict == "no_answer"


@pytest.mark.parametrize(
    "cheat",
    [
        "class Solution:\n    def addTwo(self, a, b):\n        return a - b\nimport sys\nsys.exit(0)\n",
        "class Yes:\n    def __eq__(self, other):\n        return True\n"
        "class Solution:\n    def addTwo(self, a, b):\n        return Yes()\n",
        "import os\nclass Solution:\n    def addTwo(self, a, b):\n        os._exit(0)\n",
    ],
)
def test_a_livecodebench_solution_cannot_fake_its_grade(cheat: str) -> None:
    calls = (CodeTest("2\n3", "5", True), CodeTest("[1]\n[2]", "[1, 2]", True))
    functional = EvalProblem("f", "sum", None, "code", tests=calls, fn_name="addTwo")
    assert not grade_code(functional, f"<think>x</think>```python\n{cheat}```").correct


def test_loop_guard_reads_a_finished_trace() -> None:
    looping = "<think>Let me add. " + "but but we we " * 60 + "</think>\\boxed{1}"
    cut = loop_cut(looping)
    assert cut is not None and cut[0] < len(looping) - len("</think>\\boxed{1}") and "but" in cut[1]
    assert loop_cut("<think>" + " ".join(f"{i}+1={i + 1}" for i in range(200)) + "</think>") is None


def test_card_numbers_follow_the_checkpoint_name() -> None:
    assert card_for("VibeThinker-1.5B-exl2-4bpw", "aime25").pass_at_1 == pytest.approx(0.744)  # type: ignore[union-attr]
    assert card_for("WeiboAI/VibeThinker-3B", "livecodebench-v6").pass_at_1 == pytest.approx(0.802)  # type: ignore[union-attr]
    assert card_for("demo", "aime25") is None and card_for("VibeThinker-3B", "math500") is None


def test_card_cons_at_k_is_a_normalised_string_vote_with_shared_ties() -> None:
    from vibecli.eval.metrics import card_consensus

    def marks(*pairs: tuple[str | None, bool]) -> list[dict[str, object]]:
        return [{"answer": a, "correct": c} for a, c in pairs]

    assert card_consensus(marks(("\\frac{1}{2}", True), ("\\dfrac{1}{2}", True), ("3", False))) == 1.0
    assert card_consensus(marks(("1/2", True), ("3", False), ("3", False), (None, False))) == 0.0
    assert card_consensus(marks(("5", True), ("4", False))) == 0.5  # a tie: each answer its share
    assert card_consensus(marks(("5", True), ("4", False), ("6", False))) == pytest.approx(1 / 3)
    assert card_consensus(marks((None, False), (None, False))) == 0.0


def test_gpqa_in_the_cards_order_or_shuffled_by_seed(tmp_path: Path) -> None:
    repos = build_datasets(tmp_path)
    gpqa = BENCHMARKS["gpqa-diamond"]
    card = benchmark_problems(gpqa, repos[gpqa.repo])
    assert {p.expected for p in card} == {"A"}  # WeiboAI's gpqa.parquet: the correct option is A in every row
    for problem, (_, answer) in zip(card, ARITHMETIC, strict=True):
        assert f"A. {answer}\nB. {int(answer) + 1}\nC. {int(answer) + 2}\nD. {int(answer) - 1}" in problem.problem
    orders = {seed: [p.expected for p in benchmark_problems(gpqa, repos[gpqa.repo], choices="shuffled", seed=seed)]
              for seed in range(6)}  # fmt: skip
    assert orders[3] == [p.expected for p in benchmark_problems(gpqa, repos[gpqa.repo], choices="shuffled", seed=3)]
    assert len({tuple(o) for o in orders.values()}) > 1 and {"A"} != set(
        functools.reduce(operator.iadd, orders.values(), [])
    )


def test_protocols_by_name_from_the_model_and_what_replaces_them() -> None:
    from vibecli.errors import UsageError
    from vibecli.eval.protocol import choose_protocol, sampling_overrides

    assert choose_protocol(None, "WeiboAI/VibeThinker-3B-exl2-4bpw")[0].name == "vibethinker-3b"
    assert choose_protocol(None, "/models/vibethinker-1.5b")[1] == "model name"
    assert choose_protocol(None, "demo")[0].name == "vibethinker-1.5b"
    three, _ = choose_protocol("vibethinker-3b", None)
    assert set(three.temperature.values()) == {1.0} and three.max_tokens is None
    with pytest.raises(UsageError):
        choose_protocol("vibethinker-3b", "VibeThinker-1.5B")
    found = sampling_overrides({"top_p": None}, {"temperature": 0.7, "max_tokens": 40960}, {"top_k": 20}, three)
    assert [(o.key, o.value, o.origin) for o in found] == [("temperature", 0.7, "config file"),
                                                           ("top_k", 20, "environment"),
                                                           ("max_tokens", 40960, "config file")]  # fmt: skip
    one, _ = choose_protocol("vibethinker-1.5b", None)
    assert sampling_overrides({}, {"max_tokens": 40960}, {}, one) == []  # the protocol's own value
    assert sampling_overrides({}, {"temperature": 1.0}, {}, three) == []  # 1.0 is the 3B's everywhere
    assert len(sampling_overrides({}, {"temperature": 1.0}, {}, one)) == 1  # the 1.5B samples code at 0.6


def test_the_3b_protocol_samples_at_1_0_with_the_contexts_room() -> None:
    from vibecli.eval.protocol import PROTOCOLS
    from vibecli.eval.runner import EvalRunner, EvalSettings, Job
    from vibecli.prompting.templates import load_templates

    class Backend:
        class info:
            context_length = 1000

        def chat_prompt(self, messages: object) -> str:
            return "x" * 120

        def count_tokens(self, text: str) -> int:
            return len(text)

    three = PROTOCOLS["vibethinker-3b"]
    settings = EvalSettings(k=1, temperature=None, top_p=three.top_p, top_k=0, max_tokens=three.max_tokens, seed=0,
                            loop_guard=False, temperatures=dict(three.temperature), protocol=three.name)  # fmt: skip
    templates = load_templates()
    runner = EvalRunner(Backend(), templates, settings, None)  # type: ignore[arg-type]
    code = EvalProblem("c", "Print 1.", None, "code")
    request = runner.request(Job(code, 0, None))
    assert request.sampling.temperature == 1.0 and request.max_new_tokens == 1000 - 120
    one = PROTOCOLS["vibethinker-1.5b"]
    runner.settings = EvalSettings(k=1, temperature=None, top_p=0.95, top_k=0, max_tokens=one.max_tokens, seed=0,
                                   loop_guard=False, temperatures=dict(one.temperature))  # fmt: skip
    request = runner.request(Job(code, 0, None))
    assert request.sampling.temperature == 0.6 and request.max_new_tokens == 40960


def test_the_report_says_what_stands_behind_each_number() -> None:
    from vibecli.eval.report import report_lines

    card = {"checkpoint": "VibeThinker-1.5B", "pass@1": 0.467, "source": "report"}
    row = {"benchmark": "gpqa-diamond", "budget": None, "grader": "vibe", "protocol": "vibethinker-1.5b",
           "choices": "shuffled, seed 3", "overrides": [{"key": "top_p", "value": 0.9, "from": "config file"}],
           "samples": 30, "samples_asked": 32, "samples_per_problem": [15, 16], "k": 16, "problems_ungraded": 1,
           "card": card}  # fmt: skip
    first, second = list(report_lines([row]))
    assert "protocol vibethinker-1.5b" in first and "grader vibe" in first and "choices shuffled, seed 3" in first
    assert "top_p 0.9 (config file)" in first and "samples 30 of 32 (15-16 per problem, k 16)" in first
    assert "1 problems ungraded" in first
    assert "a different grader" in second  # the card's number came from rllm's grader
    assert len(list(report_lines([{**row, "grader": "card"}]))) == 1
