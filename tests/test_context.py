"""The model's context, known and respected: measured cheaply, refused early, capped once."""

from __future__ import annotations

import json
import types
from pathlib import Path

import pytest
from fake_openai import FakeServer
from typer.testing import CliRunner

from vibecli.cli.app import app
from vibecli.config import Server
from vibecli.engine.backend import drain
from vibecli.engine.context import ContextExceeded, TokenCount, count_within
from vibecli.engine.openai_backend import RemoteOptions, connect
from vibecli.engine.server_pool import RetryPolicy
from vibecli.engine.transformers_backend import context_length
from vibecli.engine.types import Finished, GenerationRequest, Message, TextDelta
from vibecli.errors import ExitCode, UsageError

runner = CliRunner()


def test_count_within_is_exact_when_the_text_fits_and_stops_early_when_it_cannot() -> None:
    seen: list[int] = []

    def count(text: str) -> int:  # about four characters a token
        seen.append(len(text))
        return (len(text) + 3) // 4

    assert count_within(count, "a" * 100_000, 40_960) == TokenCount(25_000)
    seen.clear()
    over = count_within(count, "a" * 5_000_000, 1024)
    assert not over.exact and over.tokens > 1024
    assert max(seen) <= 16 * 1024, "a 5 MB text costs a few prefixes, never the whole"
    assert count_within(count, "a" * 5000, 1024) == TokenCount(1250)  # just over: counted whole


def test_a_prompt_that_does_not_fit_is_a_usage_error() -> None:
    error = ContextExceeded(TokenCount(5000, exact=False), 1024)
    assert isinstance(error, UsageError) and error.exit_code == ExitCode.USAGE
    assert str(error) == "the prompt is over 5,000 tokens: it does not fit the model's context of 1,024 tokens"


@pytest.mark.parametrize(
    ("positions", "tokenizer_limit", "ctx", "expected"),
    [(1024, 1024, None, 1024), (32768, 4096, None, 4096), (32768, int(1e30), None, 32768),
     (32768, int(1e30), 8192, 8192), (None, int(1e30), None, None)],
)  # fmt: skip
def test_transformers_context_is_the_smallest_known_limit(
    positions: int | None, tokenizer_limit: int, ctx: int | None, expected: int | None
) -> None:
    model = types.SimpleNamespace(config=types.SimpleNamespace(max_position_embeddings=positions))
    tokenizer = types.SimpleNamespace(model_max_length=tokenizer_limit)
    assert context_length(model, tokenizer, ctx) == expected


def test_solve_refuses_a_huge_prompt_with_one_line_and_exit_2(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_text("What is 1 + 1? " * 350_000)  # 5 MB
    result = runner.invoke(app, ["solve", "--model", "demo", "-f", str(big)])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "vibe: the prompt is over 4,053 tokens: it does not fit the model's context of 1,024 tokens"
    ]


def test_solve_caps_max_tokens_to_what_fits_says_so_once_and_records_it() -> None:
    result = runner.invoke(app, ["solve", "--model", "demo", "-t", "0", "--json", "What is 48 + 37?"])
    assert result.exit_code == 0, result.stderr
    controls = json.loads(result.stdout)["controls"]
    assert (controls["context_length"], controls["max_tokens_requested"]) == (1024, 40960)
    assert controls["max_tokens"] < 1024 and controls["answer_reserve"] == controls["max_tokens"] // 4
    notices = [line for line in result.stderr.splitlines() if "capped" in line]
    assert notices == [f"max tokens 40,960 capped to {controls['max_tokens']:,}: the prompt is "
                       f"{1024 - controls['max_tokens']} tokens of the model's 1,024-token context"]  # fmt: skip
    fits = runner.invoke(app, ["solve", "--model", "demo", "-t", "0", "--json", "--max-tokens", "200", "1 + 2?"])
    assert "capped" not in fits.stderr and json.loads(fits.stdout)["controls"]["max_tokens_requested"] is None


def test_a_forced_answer_stays_inside_the_context() -> None:
    result = runner.invoke(app, ["solve", "--model", "demo", "-t", "0", "--json", "--think-budget", "8",
                                 "What is 48 + 37?"])  # fmt: skip
    data = json.loads(result.stdout)
    assert data["finish_reason"] == "budget" and data["controls"]["trigger"] == "budget"
    assert data["tokens"]["prompt"] + data["tokens"]["thinking"] + data["tokens"]["answer"] <= 1024


def test_batch_refuses_a_problem_over_the_context_before_generating(tmp_path: Path) -> None:
    problems = tmp_path / "set.jsonl"
    lines = [{"id": "ok", "question": "What is 1 + 2?"}, {"id": "huge", "question": "What is 1 + 2? " * 200}]
    problems.write_text("".join(json.dumps(line) + "\n" for line in lines))
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["batch", str(problems), "-o", str(out), "--model", "demo", "-t", "0"])
    assert result.exit_code == 2
    assert "problem huge: the prompt is" in result.stderr and "context of 1,024 tokens" in result.stderr
    assert not out.exists() or out.read_text() == ""


def test_batch_caps_max_tokens_once_and_records_the_cap(tmp_path: Path) -> None:
    problems = tmp_path / "set.jsonl"
    problems.write_text('{"id": "a", "question": "What is 1 + 2?"}\n{"id": "b", "question": "What is 3 + 4?"}\n')
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["batch", str(problems), "-o", str(out), "--model", "demo", "-t", "0"])
    assert result.exit_code == 0, result.stderr
    assert len([line for line in result.stderr.splitlines() if "capped" in line]) == 1
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert all(r["max_tokens"] + r["tokens"]["prompt"] == 1024 for r in records)


def test_a_remote_server_reports_its_context_and_prompts_are_held_to_it() -> None:
    with FakeServer(max_model_len=64) as server:
        options = RemoteOptions(servers=(Server(server.url, None),), policy=RetryPolicy(0.01, 0.05, 2))
        backend = connect(options)
        assert backend.info.context_length == 64
        result = runner.invoke(app, ["solve", "--base-url", server.url, "What is 1 + 2? " * 40])
    assert result.exit_code == 2 and "context of 64 tokens" in result.stderr
    assert server.requests == [], "nothing was sent to generate"
    with FakeServer() as server:
        assert connect(RemoteOptions(servers=(Server(server.url, None),))).info.context_length is None


def test_the_remote_batch_runs_requests_up_to_its_capacity() -> None:
    with FakeServer(default="slow_short") as server:
        backend = connect(RemoteOptions(servers=(Server(server.url, None),)))
        session = backend.open_batch(2)
        requests = [GenerationRequest(messages=(Message("user", f"{n} + 1?"),), max_new_tokens=50) for n in range(5)]
        handles = [session.add(r) for r in requests]
        finished: dict[int, Finished] = {}
        deltas = 0
        for handle, item in drain(session):
            deltas += isinstance(item, TextDelta)
            if isinstance(item, Finished):
                finished[handle] = item
        session.close()
    assert server.most_streaming == 2
    assert sorted(finished) == handles and {f.reason for f in finished.values()} == {"stop"} and deltas > 0


def test_the_repl_refuses_a_turn_over_the_context_and_goes_on(demo_backend: object, tmp_path: Path) -> None:
    from test_repl import drive

    status, out, err = drive(demo_backend, ["What is 1 + 2? " * 100, "What is 48 + 37?"], tmp_path)
    assert status == 0
    assert "does not fit the model's context of 1,024 tokens" in err
    assert "\\boxed{85}" in out
