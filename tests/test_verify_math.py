"""Math equivalence against cases labelled by mathematical truth: vibe's own
(bench/cases/math_truth.jsonl) and math-verify's 149 default-configuration test cases
(bench/cases/math_verify_suite.jsonl, relabelled where its expectation is wrong)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vibecli.reasoning.extract import response_answer
from vibecli.verify.compare import check_equal
from vibecli.verify.plain import ParseFailure, plain_to_sympy
from vibecli.verify.worker import Failed, TimedOut, WorkerPool

BENCH = Path(__file__).parents[1] / "bench" / "cases"
CASES = [json.loads(line) for line in (BENCH / "math_truth.jsonl").open(encoding="utf-8")]
PEER = [json.loads(line) for line in (BENCH / "math_verify_suite.jsonl").open(encoding="utf-8")]
# Cases from other graders' test suites (NeMo-Skills, Qwen2.5-Math, AReaL), labelled by truth.
GRADERS = [json.loads(line) for line in (BENCH / "peer_graders.jsonl").open(encoding="utf-8")]
# `-[0,1)` (a negated interval) means nothing: vibe says so rather than guess.
PEER_UNDECIDED = {7}


@pytest.mark.parametrize("case", CASES, ids=[f"{c['class']}:{c['gold']}|{c['pred']}"[:120] for c in CASES])
def test_labelled_case(case: dict[str, object]) -> None:
    verdict = check_equal(str(case["gold"]), str(case["pred"]))
    # `"undecided": true` marks a case vibe leaves open on purpose (`5 km` against `5 m`).
    assert verdict.equal is (None if case.get("undecided") else case["equal"]), verdict.reason


@pytest.mark.parametrize("case", PEER, ids=[f"{c['id']}" for c in PEER])
def test_math_verify_case(case: dict[str, object]) -> None:
    verdict = check_equal(str(case["gold"]), str(case["pred"]))
    assert not verdict.reason.startswith("checker error"), verdict.reason
    expected = None if case["id"] in PEER_UNDECIDED else case["equal"]
    assert verdict.equal is expected, verdict.reason


def test_math_verify_suite_agreement_and_no_false_positive() -> None:
    outcomes = [(check_equal(str(c["gold"]), str(c["pred"])).equal, c["equal"]) for c in PEER]
    assert len(PEER) == 149
    assert not [o for o in outcomes if o[0] is True and o[1] is False]
    assert sum(got is truth for got, truth in outcomes) >= 0.9 * len(PEER)


def test_other_graders_cases_no_false_positive_and_nine_in_ten_right() -> None:
    outcomes = [(check_equal(str(c["gold"]), str(c["pred"])).equal, c["equal"], c["id"]) for c in GRADERS]
    sources = {str(c["source"]).split("@")[0] for c in GRADERS}
    assert len(sources) >= 3, sources
    assert not [case for got, truth, case in outcomes if got is True and truth is False]
    assert sum(got is truth for got, truth, _ in outcomes) >= 0.9 * len(GRADERS)


def test_every_failure_class_is_covered() -> None:
    classes = {c["class"] for c in CASES}
    assert classes >= {"exact", "magnitude", "decimal", "constant", "no_fallback", "find_all", "tuple", "interval",
                       "equation", "matrix", "percent", "units", "choice", "symbolic", "plain", "infinity",
                       "numbers", "plus_minus", "ratio", "labelled", "text", "extraction", "big"}  # fmt: skip
    for name in classes:
        assert {c["equal"] for c in CASES if c["class"] == name} == {True, False}, name


def test_an_integer_power_too_large_to_write_out_is_undecided_not_equal() -> None:
    verdict = check_equal("10^{10^{10}}", "10^{10^{10}}+1")
    assert verdict.verdict == "undecided" and "too large" in verdict.reason


def test_parse_failure_is_undecided_never_a_guess() -> None:
    verdict = check_equal("\\frac{1}{2}", "\\frac{1}{")
    assert verdict.verdict == "undecided" and "prediction" in verdict.reason


def test_an_identity_proven_for_positive_variables_needs_the_same_real_domain() -> None:
    verdict = check_equal("\\sqrt{\\frac{1}{n}}", "\\frac{1}{\\sqrt{n}}")
    assert verdict.verdict == "equal" and "wherever both are real" in verdict.reason
    verdict = check_equal("\\log(x^2)", "2\\log x")  # log(x^2) is real at x = -1, 2 log x is not
    assert verdict.verdict == "undecided" and "x > 0" in verdict.reason


HOSTILE = [
    "__import__('os').system('touch {canary}')",
    "().__class__.__bases__[0].__subclasses__()",
    "open('{canary}', 'w').write('x')",
    "exec(\"open('{canary}', 'w')\")",
    "eval('1+1')",
    "lambda: open('{canary}', 'w')",
    "[c for c in ().__class__.__base__.__subclasses__()]",
    "globals()['__builtins__']",
    "getattr(1, 'real')",
]


@pytest.mark.parametrize("template", HOSTILE)
def test_hostile_strings_are_never_executed(template: str, tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    text = template.format(canary=canary)
    for gold, pred in ((text, "1"), ("1", text), (text, text)):
        verdict = check_equal(gold, pred)
        assert verdict.verdict in ("undecided", "not_equal", "equal")
    with pytest.raises(ParseFailure):
        plain_to_sympy(text)
    assert not canary.exists()


@pytest.mark.parametrize(
    ("response", "answer"),
    [
        ("<think>maybe \\boxed{3}</think>\nSo \\boxed{\\frac{1}{2}}.", "\\frac{1}{2}"),
        ("<think>maybe \\boxed{3}, still thinking", ""),  # the thinking never ended: no answer
        ("so \\boxed{1}, \\boxed{2}", "1, 2"),
        ("so \\boxed{1} and \\boxed{2}.", "1, 2"),
        ("\\boxed{1} no no no no no \\boxed{2}", "2"),
        ("First \\boxed{255}. Final Answer: The final answer is $10,455$. I hope it is correct.", "10,455"),
        ("Final Answer: The largest $n$ is 34.", "34"),
        ("Thus there are 12 sequences in all. I hope it is correct.<|im_start|>user", "12"),
        ("So the ordered pair is $(7, 6)$.\n", "(7, 6)"),
        ("$1$ and $2$ and $3$", "1 and 2 and 3"),
        ("\\boxed{x = 1", "x = 1"),  # a box never closed at the very end
        ("The area is $12\\pi$.", "12\\pi"),
        ("We get \\(x = 4\\) in the end", "x = 4"),
        ("Work...\nFinal answer: 42", "42"),
        ("so the total is **17**", "17"),
        ("7", "7"),
    ],
)
def test_answer_extraction_from_a_full_response(response: str, answer: str) -> None:
    assert response_answer(response) == answer


def test_worker_pool_kills_a_runaway_check_and_keeps_working() -> None:
    with WorkerPool(workers=1, timeout_s=0.5) as pool:
        assert isinstance(pool.call("time:sleep", 30), TimedOut)
        assert pool.call("math:factorial", 5) == 120
        assert isinstance(pool.call("math:sqrt", -1), Failed)
        results = list(pool.map("math:factorial", [(n,) for n in range(6)]))
    assert results == [1, 1, 2, 6, 24, 120]


def test_worker_pool_keeps_order_with_several_workers() -> None:
    with WorkerPool(workers=3, timeout_s=5) as pool:
        results = list(pool.map("time:sleep", [(0.2 - i * 0.05,) for i in range(4)]))
    assert results == [None] * 4
