"""Parity: everything a single solve does, `--samples K` does the same way (one row runner).

One table over every option that shapes or checks a solve: each row runs once alone and once
with `--samples 2`, and the two must agree on the exit code, on whether a verdict was given
(and which), on `--stats`, and the samples JSON must hold every key of the single solve's.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from vibecli.cli.app import app

runner = CliRunner()
MATH = "What is 2 + 3?"
CODE = "Write a program that reads two integers and prints their sum."

Setup = Callable[[Path, str], list[str]]  # (tmp_path, a fake OpenAI-compatible server's URL) -> options


def _io_tests(tmp: Path) -> list[str]:
    path = tmp / "tests.jsonl"
    path.write_text('{"input": "2 3", "output": "5"}\n')
    return ["--tests", str(path)]


def _problem_file(tmp: Path) -> Path:
    path = tmp / "problem.md"
    path.write_text(MATH + "\n")
    return path


def _starter(tmp: Path) -> list[str]:
    path = tmp / "starter.py"
    path.write_text("def main():\n    pass\n")
    return ["--starter-code", str(path)]


# (id, problem, options, or a function of tmp_path giving them)
OPTIONS: list[tuple[str, str, list[str] | Setup]] = [
    ("plain", MATH, []),
    ("expected-equal", MATH, ["--expected", "5"]),
    ("expected-not-equal", MATH, ["--expected", "6"]),
    ("expected-undecided", MATH, ["--expected", "\\frac{"]),
    ("tests-math-mode", MATH, lambda tmp, _: _io_tests(tmp)),
    ("tests-code-mode", CODE, lambda tmp, _: ["--mode", "code", *_io_tests(tmp)]),
    ("starter-code", CODE, lambda tmp, _: ["--mode", "code", *_starter(tmp)]),
    ("problem-file", "", lambda tmp, _: ["-f", str(_problem_file(tmp))]),
    ("stats", MATH, ["--stats"]),
    ("think-budget-0", MATH, ["--think-budget", "0"]),
    ("think-budget-3", MATH, ["--think-budget", "3", "--budget-message", "Time is up."]),
    ("loop-guard-off", MATH, ["--loop-guard", "off"]),
    ("top-k", MATH, ["--top-k", "5"]),
    ("top-p", MATH, ["--top-p", "0.9"]),
    ("temperature-0", MATH, ["-t", "0"]),
    ("seed", MATH, ["--seed", "7"]),
    ("max-tokens-tiny", MATH, ["--max-tokens", "4"]),
    ("mode-math", MATH, ["--mode", "math"]),
    ("think-hide", MATH, ["--think", "hide"]),
    ("think-show", MATH, ["--think", "show"]),
    ("device-cpu", MATH, ["--device", "cpu"]),
    ("backend-transformers", MATH, ["--backend", "transformers"]),
    ("exl2-only-ctx-and-cache", MATH, ["--ctx", "512", "--cache", "q8"]),
    ("openai-backend", MATH, lambda _, url: ["--base-url", url, "--api-key", "k", "--model", "vibe-test"]),
]


@pytest.fixture(scope="module")
def remote() -> Iterator[str]:
    from fake_openai import FakeServer

    with FakeServer() as server:
        yield server.url


def _solve(args: list[str]) -> tuple[int, dict[str, Any] | None, str]:
    model = [] if "--model" in args else ["--model", "demo"]
    result = runner.invoke(app, ["solve", *model, *args])
    assert "Traceback" not in result.stderr, result.stderr
    data = json.loads(result.stdout) if "--json" in args and result.stdout.strip() else None
    return result.exit_code, data, result.stderr


@pytest.mark.parametrize(("problem", "options"), [row[1:] for row in OPTIONS], ids=[row[0] for row in OPTIONS])
def test_samples_behave_as_a_single_solve(
    problem: str, options: list[str] | Setup, tmp_path: Path, remote: str
) -> None:
    extra = options(tmp_path, remote) if callable(options) else options
    greedy = [] if any(o in ("-t", "--temperature") for o in extra) else ["-t", "0"]  # the same answer every sample
    words = [problem] if problem else []
    code, single, single_err = _solve([*words, *greedy, *extra, "--json"])
    voted_code, voted, voted_err = _solve([*words, *greedy, *extra, "--json", "--samples", "2"])
    assert voted_code == code, (single_err, voted_err)
    assert single is not None and voted is not None
    assert set(single) <= set(voted) and {"samples", "vote"} <= set(voted)
    for key in ("tokens", "timings", "controls"):
        assert type(voted[key]) is type(single[key]), key
    assert set(voted["tokens"]) == set(single["tokens"]) and set(voted["timings"]) == set(single["timings"])
    for sample in voted["samples"]:
        assert set(sample["tokens"]) == set(single["tokens"])
        assert sample["tokens"]["thinking"] + sample["tokens"]["answer"] == sample["generated_tokens"]
    assert voted["tokens"]["answer"] == sum(s["tokens"]["answer"] for s in voted["samples"])
    verdict = (single["verification"] or {}).get("verdict")
    assert (voted["verification"] or {}).get("verdict") == verdict
    assert ("tok/s" in voted_err) == ("tok/s" in single_err) == ("--stats" in extra)
    if single["controls"]["trigger"] is not None:  # greedy: every sample meets the same control
        trigger = single["controls"]["trigger"]
        assert all(s["controls"]["trigger"] == trigger for s in voted["samples"]), trigger
        assert all(s["finish_reason"] == single["finish_reason"] for s in voted["samples"])


@pytest.mark.parametrize(("problem", "options"), [row[1:] for row in OPTIONS], ids=[row[0] for row in OPTIONS])
def test_samples_say_and_print_what_a_single_solve_does(
    problem: str, options: list[str] | Setup, tmp_path: Path, remote: str
) -> None:
    extra = options(tmp_path, remote) if callable(options) else options
    greedy = [] if any(o in ("-t", "--temperature") for o in extra) else ["-t", "0"]
    words = [problem] if problem else []
    model = [] if "--model" in extra else ["--model", "demo"]
    single = runner.invoke(app, ["solve", *model, *words, *greedy, *extra])
    voted = runner.invoke(app, ["solve", *model, *words, *greedy, *extra, "--samples", "2"])
    assert voted.exit_code == single.exit_code, (single.stderr, voted.stderr)
    assert bool(voted.stdout.strip()) == bool(single.stdout.strip()), (single.stdout, voted.stdout)
    assert ("answer forced" in voted.stderr) == ("answer forced" in single.stderr), (single.stderr, voted.stderr)
    if "--stats" in extra:
        assert "2 samples" in voted.stderr


def test_the_exit_code_without_json_is_the_same(tmp_path: Path) -> None:
    for extra in (["--expected", "6"], ["--expected", "5"], _io_tests(tmp_path)):  # the exit code of each
        single = runner.invoke(app, ["solve", "--model", "demo", MATH, "-t", "0", *extra])
        voted = runner.invoke(app, ["solve", "--model", "demo", MATH, "-t", "0", "--samples", "3", *extra])
        assert voted.exit_code == single.exit_code, (extra, voted.stderr)
        assert "verified:" in voted.stderr and "verified:" in single.stderr


def test_code_mode_samples_never_show_zero_of_zero(tmp_path: Path) -> None:
    result = runner.invoke(app, ["solve", "--model", "demo", "--mode", "code", "print the sum of two numbers",
                                 "--samples", "2", *_io_tests(tmp_path)])  # fmt: skip
    assert "0/0" not in result.stderr


def test_repl_commands_read_the_last_result_whatever_made_it(demo_backend: Any, tmp_path: Path) -> None:
    from test_repl import drive

    status, out, _ = drive(
        demo_backend,
        ["/verify 15", "What is 2 + 3?", "/samples 2 What is 7 + 8?", "/verify 15", "/trace", "/stats",
         "/samples 1 What is 4 + 4?", "/verify 8"],
        tmp_path,
    )  # fmt: skip
    assert status == 0
    assert "no final answer to check" in out  # before anything was solved
    verdicts = [line for line in out.splitlines() if line.startswith(("equal", "not equal", "undecided"))]
    assert len(verdicts) == 2 and all(v.startswith("equal") for v in verdicts), out
    assert "7+8" in out.replace(" ", "")  # /trace shows the vote's thinking, not the earlier problem's
    assert "tok/s" in out and "finish stop" in out  # /stats of the vote
    assert "8 (8 ×1)" in out  # /samples 1 works, as --samples 1 does
