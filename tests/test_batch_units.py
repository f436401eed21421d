"""Batch building blocks: input formats and ids, the results store, voting, pass@k."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vibecli.batch.inputs import BatchProblem, Malformed, load_problems
from vibecli.batch.report import pass_at_k, summarize
from vibecli.batch.store import read_results, repair
from vibecli.batch.vote import vote


def load(name: str, text: str) -> tuple[list[BatchProblem], list[Malformed]]:
    bad: list[Malformed] = []
    return list(load_problems([(name, text)], on_malformed=bad.append)), bad


def test_jsonl_aliases_and_malformed_lines() -> None:
    text = '{"id": 7, "question": "q1", "gold": 3}\nnot json\n{"answer": 1}\n{"prompt": "q2", "expected": "x=1"}\n'
    problems, bad = load("set.jsonl", text)
    first, second = problems
    assert (first.id, first.problem, first.expected) == ("7", "q1", "3")
    assert second.expected == "x=1"
    assert [(m.line, m.reason.split(" (")[0]) for m in bad] == [(2, "not JSON"), (3, "no problem text")]


def test_yaml_list_and_plain_text() -> None:
    problems, bad = load("set.yaml", "- problem: What is 1 + 1?\n  answer: 2\n- What is 2 + 2?\n")
    assert [p.problem for p in problems] == ["What is 1 + 1?"]  # an item is a record, as a JSONL line is
    assert len(bad) == 1 and "mapping" in str(bad[0])
    lines, _ = load("set.txt", "What is 1 + 1?\nWhat is 2 + 2?\n")
    assert len(lines) == 2
    blocks, _ = load("set.txt", "A long problem\nover two lines.\n\nAnother one.\n")
    assert [p.problem for p in blocks] == ["A long problem\nover two lines.", "Another one."]


def test_missing_ids_are_content_hashes_stable_under_reordering() -> None:
    a, _ = load("a.txt", "What is 1 + 1?\nWhat is 2 + 2?\nWhat is 1 + 1?\n")
    b, _ = load("b.txt", "What is 2 + 2?\nWhat is 1 + 1?\n")
    ids_a = [p.id for p in a]
    assert ids_a[0].startswith("p-") and ids_a[2] == ids_a[0] + "-2"
    assert {p.id for p in b} == set(ids_a[:2])


def test_store_repairs_a_partial_last_line(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    lines = [json.dumps({"id": pid, "final_answer": "1", "finish_reason": "stop"}) + "\n" for pid in "ab"]
    path.write_text("".join(lines) + '{"id": "c", "fin')
    assert [r["id"] for r in read_results(path)] == ["a", "b"]
    assert repair(path) > 0
    assert path.read_text().endswith("\n") and [r["id"] for r in read_results(path)] == ["a", "b"]
    assert repair(path) == 0


def test_vote_clusters_by_equivalence_and_breaks_ties_by_first_sample() -> None:
    same = {frozenset({"1/2", "0.5"}), frozenset({"2", "2.0"})}

    def equivalent(a: str, b: str) -> bool:
        return frozenset({a, b}) in same

    result = vote(["3", "1/2", None, "0.5", "3"], equivalent)
    assert result.clusters[:2] in (((0, 4), (1, 3)),)  # sizes tie at 2: sample 0's cluster wins
    assert (result.answer, result.size) == ("3", 2)
    assert vote(["1/2", "0.5", "3"], equivalent).answer == "1/2"
    assert vote([None, None], equivalent).answer is None


@pytest.mark.parametrize(("n", "c", "k", "expected"), [(4, 0, 1, 0.0), (4, 4, 1, 1.0), (4, 1, 1, 0.25),
                                                         (4, 1, 4, 1.0), (5, 2, 2, 0.7)])  # fmt: skip
def test_pass_at_k_unbiased_estimator(n: int, c: int, k: int, expected: float) -> None:
    assert pass_at_k(n, c, k) == pytest.approx(expected)


def test_summary_counts() -> None:
    records = [
        {"id": "a", "final_answer": "1", "correct": True, "n_samples": 4, "n_correct": 3, "finish_reason": "stop",
         "tokens": {"prompt": 5, "thinking": 10, "answer": 2}, "generated_tokens": 48,
         "timings": {"run": "r1", "elapsed_s": 2.0}},
        {"id": "b", "final_answer": None, "correct": False, "n_samples": 4, "n_correct": 0, "finish_reason": "length",
         "tokens": {"prompt": 5, "thinking": 30, "answer": 0}, "generated_tokens": 120,
         "timings": {"run": "r2", "elapsed_s": 2.0}},
    ]  # fmt: skip
    summary = summarize(records)
    assert (summary["count"], summary["answered"], summary["correct"], summary["accuracy"]) == (2, 1, 1, 0.5)
    assert summary["pass@1"] == pytest.approx((3 / 4 + 0) / 2)
    assert summary["pass@4"] == pytest.approx(0.5) and summary["maj@4"] == 0.5
    assert summary["mean_thinking_tokens"] == 20 and summary["finish_reasons"] == {"stop": 1, "length": 1}
    assert summary["total_s"] == 4.0 and summary["tokens_per_s"] == 42.0
