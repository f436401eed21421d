"""`--backend openai` against a real server: Hugging Face's `transformers serve` holding the demo
model on CPU (two of them, for batch), besides the fake server of test_openai_backend."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vibecli.cli.app import app
from vibecli.demo.problems import unseen_problems
from vibecli.paths import demo_model_dir

pytest.importorskip("fastapi", reason="transformers serve needs fastapi (the dev extra has it)")
pytestmark = pytest.mark.slow
runner = CliRunner()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _up(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/models", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def servers() -> Iterator[list[str]]:
    cli = Path(sys.executable).with_name("transformers")
    command = [str(cli)] if cli.exists() else [sys.executable, "-m", "transformers.cli.transformers"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs, urls = [], []
    for _ in range(2):
        port = _free_port()
        procs.append(subprocess.Popen([*command, "serve", str(demo_model_dir()), "--port", str(port), "--host",
                                       "127.0.0.1", "--device", "cpu"], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, env=env, start_new_session=True))  # fmt: skip
        urls.append(f"http://127.0.0.1:{port}/v1")
    try:
        deadline = time.monotonic() + 120
        while not all(_up(url) for url in urls):
            assert time.monotonic() < deadline and all(p.poll() is None for p in procs), "transformers serve failed"
            time.sleep(0.5)
        yield urls
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _solve(*args: str) -> dict[str, object]:
    result = runner.invoke(app, ["solve", "-t", "0", "--json", *args])
    assert result.exit_code in (0, 1), result.stderr
    return dict(json.loads(result.stdout))


def test_solve_through_transformers_serve_matches_the_local_backend(servers: list[str]) -> None:
    remote = _solve("--backend", "openai", "--base-url", servers[0], "What is 48 + 37?")
    local = _solve("--model", "demo", "What is 48 + 37?")
    assert remote["backend"] == "openai" and remote["final_answer"] == local["final_answer"] == "85"
    assert remote["finish_reason"] == "stop"
    assert str(remote["thinking"]).strip() == str(local["thinking"]).strip()


def test_a_thinking_budget_continues_through_v1_completions(servers: list[str]) -> None:
    result = _solve("--base-url", servers[0], "--think-budget", "8", "What is 48 + 37?")
    controls = result["controls"]
    assert isinstance(controls, dict) and controls["trigger"] == "budget"
    assert result["finish_reason"] == "budget" and result["final_answer"] is not None
    assert str(result["thinking"]).endswith("Time to commit to my final answer.\n")


def test_batch_over_two_transformers_servers(servers: list[str], tmp_path: Path) -> None:
    problems = tmp_path / "set.jsonl"
    records = [{"question": p.question, "answer": str(p.answer)} for p in unseen_problems(6, seed=13)]
    problems.write_text("".join(json.dumps(r) + "\n" for r in records))
    out = tmp_path / "out.jsonl"
    flags = [arg for url in servers for arg in ("--base-url", url)]
    result = runner.invoke(app, ["batch", str(problems), "-o", str(out), "-t", "0", "-c", "2", *flags])
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 6 and sum(bool(r["correct"]) for r in lines) >= 4
