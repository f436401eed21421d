"""The real loop: `vibe serve --model demo` in a subprocess, `vibe solve` and `vibe batch`
with `--backend openai` against it, compared with the local backend under greedy decoding."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_openai import FakeServer
from typer.testing import CliRunner

from vibecli.cli.app import app
from vibecli.demo.problems import unseen_problems

runner = CliRunner()
VIBE = [sys.executable, "-m", "vibecli"]


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    process = subprocess.Popen(
        [*VIBE, "serve", "--model", "demo", "--port", "0"], stderr=subprocess.PIPE, text=True, env=os.environ.copy()
    )
    assert process.stderr is not None
    banner = process.stderr.readline()
    match = re.search(r"on (http://127\.0\.0\.1:\d+/v1)", banner)
    assert match, banner
    yield match.group(1)
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=20)
    finally:
        process.kill()


def _solve(*args: str) -> dict[str, object]:
    result = runner.invoke(app, ["solve", "-t", "0", "--json", *args])
    assert result.exit_code == 0, result.stderr
    return dict(json.loads(result.stdout))


@pytest.mark.slow
def test_solve_through_vibe_serve_matches_the_local_backend(served: str) -> None:
    for problem in ("What is 48 + 37?", "What is 12 * 11?"):
        remote = _solve("--backend", "openai", "--base-url", served, problem)
        local = _solve("--model", "demo", problem)
        assert remote["backend"] == "openai" and local["backend"] == "transformers"
        for key in ("thinking", "answer", "final_answer", "finish_reason"):
            assert remote[key] == local[key], key


@pytest.mark.slow
def test_batch_through_vibe_serve_matches_the_local_backend(served: str, tmp_path: Path) -> None:
    problems = tmp_path / "set.jsonl"
    records = [{"question": p.question, "answer": str(p.answer)} for p in unseen_problems(6, seed=11)]
    problems.write_text("".join(json.dumps(r) + "\n" for r in records))
    answers = {}
    for name, flags in (("remote", ["--base-url", served]), ("local", ["--model", "demo"])):
        out = tmp_path / f"{name}.jsonl"
        result = runner.invoke(app, ["batch", str(problems), "-o", str(out), "-t", "0", "-c", "3", *flags])
        assert result.exit_code == 0, result.stderr
        lines = [json.loads(line) for line in out.read_text().splitlines()]
        answers[name] = {r["id"]: (r["final_answer"], r["correct"]) for r in lines}
    assert answers["remote"] == answers["local"] and len(answers["local"]) == 6


def test_batch_keeps_unanswered_problems_for_resume_when_the_server_fails(tmp_path: Path) -> None:
    problems = tmp_path / "set.jsonl"
    problems.write_text('{"id": "a", "question": "1+1?"}\n{"id": "b", "question": "2+2?"}\n')
    out = tmp_path / "out.jsonl"
    # "context" refuses the first request outright; the second is answered.
    with FakeServer(["context"]) as server:
        result = runner.invoke(app, ["batch", str(problems), "-o", str(out), "-c", "1", "--base-url", server.url])
        assert result.exit_code == 0, result.stderr
        assert "not written; --resume retries" in result.stderr
        assert len(out.read_text().splitlines()) == 1
        resumed = runner.invoke(app, ["batch", str(problems), "-o", str(out), "--resume", "--base-url", server.url])
    assert resumed.exit_code == 0, resumed.stderr
    assert sorted(json.loads(line)["id"] for line in out.read_text().splitlines()) == ["a", "b"]


def test_remote_errors_are_one_line_and_exit_3(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    result = runner.invoke(app, ["solve", "--backend", "openai", "--base-url", dead, "1+1?"])
    assert result.exit_code == 3 and "no server answered" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    with FakeServer() as server:
        result = runner.invoke(app, ["solve", "--base-url", server.url, "--model", "nope", "1+1?"])
    assert result.exit_code == 3 and "does not serve model 'nope'" in result.stderr
    result = runner.invoke(app, ["solve", "--backend", "openai", "1+1?"])
    assert result.exit_code == 2 and "needs --base-url" in result.stderr  # a usage error (issue 16)
    result = runner.invoke(app, ["solve", "--base-url", "localhost:8000", "1+1?"])
    assert result.exit_code == 2 and "not an http(s) URL" in result.stderr


def test_serve_refuses_to_open_beyond_loopback_without_a_key() -> None:
    result = runner.invoke(app, ["serve", "--model", "demo", "--host", "0.0.0.0"])
    assert result.exit_code == 2 and "--api-key" in result.stderr


def test_serve_on_a_taken_port_is_one_line_and_exit_3() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = runner.invoke(app, ["serve", "--model", "demo", "--port", str(taken.getsockname()[1])])
    assert result.exit_code == 3 and "cannot listen on 127.0.0.1" in result.stderr
