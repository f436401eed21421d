"""`vibe solve --samples K` and `/samples K`: seeds, the vote, the tally, code mode with tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vibecli.batch.vote import Vote
from vibecli.cli.app import app
from vibecli.reasoning.samples import Sample, SamplesResult, choose

runner = CliRunner()


def sample(index: int, answer: str | None, reason: str = "stop") -> Sample:
    return Sample(index, index, "t", f"\\boxed{{{answer}}}" if answer else "", answer, reason, 10, 5)  # type: ignore[arg-type]


@pytest.mark.slow
def test_solve_samples_json_reports_the_vote() -> None:
    result = runner.invoke(app, ["solve", "--samples", "5", "What is 48 + 37?", "--model", "demo", "--json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["final_answer"] == "85" and data["vote"]["answer"] == "85" and data["vote"]["k"] == 5
    assert [s["seed"] for s in data["samples"]] == [0, 1, 2, 3, 4]
    assert data["vote"]["size"] == sum(s["final_answer"] == "85" for s in data["samples"]) >= 3
    assert "85 ×" in result.stderr  # the tally


@pytest.mark.slow
def test_solve_samples_with_a_budget_forces_every_answer() -> None:
    result = runner.invoke(app, ["solve", "--samples", "3", "What is 48 + 37?", "--model", "demo", "--json",
                                 "--think-budget", "0", "-t", "0"])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert {s["finish_reason"] for s in data["samples"]} == {"budget"} and data["final_answer"] is not None


def test_vote_tally_and_ties() -> None:
    samples = [sample(0, "84"), sample(1, "85"), sample(2, None, "length"), sample(3, "85"), sample(4, "84")]
    out, chosen, winner, how = choose(samples, same=lambda a, b: a == b)
    assert (chosen.answer, winner, how) == ("84", 0, "vote")  # a tie goes to the cluster seen first
    result = SamplesResult("p", "math", "demo", "transformers", tuple(out), chosen, winner, how, 1.0)
    assert result.tally() == "84 ×2 · 85 ×2 · no answer ×1"
    assert result.to_json()["vote"]["clusters"] == [{"answer": "84", "samples": [0, 4]},
                                                    {"answer": "85", "samples": [1, 3]}]  # fmt: skip


def test_code_mode_with_tests_takes_the_first_sample_that_passes_all(tmp_path: Path) -> None:
    from vibecli.verify.solution import check_against_tests

    tests = tmp_path / "tests.jsonl"
    tests.write_text('{"input": "2 3", "output": "5"}\n{"input": "4 4", "output": "8"}\n')
    programs = ["print(5)", "a, b = map(int, input().split())\nprint(a * b - 1)",
                "a, b = map(int, input().split())\nprint(a + b)", "print(sum(map(int, input().split())))"]  # fmt: skip
    samples = [sample(i, p) for i, p in enumerate(programs)]
    out, _, winner, how = choose(samples, same=lambda a, b: False, check_code=lambda c: check_against_tests(c, tests))
    assert (winner, how) == (2, "tests")
    result = SamplesResult("p", "code", "demo", "transformers", tuple(out), Vote(None, 0, ()), winner, how, 1.0)
    assert result.tally() == "#1 1/2 · #2 1/2 · #3 2/2 · #4 2/2"
    assert [s["tests"]["passed"] for s in result.to_json()["samples"]] == [1, 1, 2, 2]


def test_repl_samples_votes_on_the_last_problem(demo_backend: object, tmp_path: Path) -> None:
    from test_repl import drive

    status, out, _ = drive(demo_backend, ["/samples 3", "What is 48 + 37?", "/samples 3", "/samples 2 Compute 12 * 3."],
                           tmp_path)  # fmt: skip
    assert status == 0
    assert "/samples K [PROBLEM]" in out  # no problem yet
    assert "85 (85 ×" in out and "36 (36 ×" in out
