"""`vibe batch` end to end with the demo model, including SIGKILL and resume in a subprocess."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vibecli.cli.app import app
from vibecli.demo.problems import unseen_problems
from vibecli.verify.compare import check_equal

runner = CliRunner()


def problem_set(path: Path, count: int, seed: int = 5) -> list[dict[str, str]]:
    records = [{"question": p.question, "answer": str(p.answer)} for p in unseen_problems(count, seed=seed)]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return records


def results(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_accuracy_report_matches_an_independent_count(tmp_path: Path) -> None:
    problems = problem_set(tmp_path / "set.jsonl", 16)
    out, summary = tmp_path / "out.jsonl", tmp_path / "summary.json"
    args = ["batch", str(tmp_path / "set.jsonl"), "-o", str(out), "-t", "0", "--summary-json", str(summary)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    lines = results(out)
    assert sorted(r["problem"] for r in lines) == sorted(p["question"] for p in problems)
    expected = {p["question"]: p["answer"] for p in problems}
    independent = sum(check_equal(expected[str(r["problem"])], str(r["final_answer"])).equal is True for r in lines)
    report = json.loads(summary.read_text())
    assert report["correct"] == independent and report["count"] == 16
    assert report["accuracy"] == pytest.approx(independent / 16)
    assert "accuracy" in result.stderr


def test_samples_vote_and_report(tmp_path: Path) -> None:
    problem_set(tmp_path / "set.jsonl", 4)
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["batch", str(tmp_path / "set.jsonl"), "-o", str(out), "--samples", "3"])
    assert result.exit_code == 0, result.stderr
    for line in results(out):
        assert line["n_samples"] == 3 and len(line["samples"]) == 3  # type: ignore[arg-type]
        vote = line["vote"]
        assert isinstance(vote, dict) and vote["answer"] == line["final_answer"]
        assert sum(len(c) for c in vote["clusters"]) <= 3
    report = runner.invoke(app, ["batch", "report", str(out)])
    assert report.exit_code == 0 and "pass@3" in report.stdout and "maj@3" in report.stdout


def test_plain_text_from_stdin_writes_jsonl_to_stdout() -> None:
    result = runner.invoke(app, ["batch", "-t", "0"], input="What is 2 + 2?\nCompute 12 * 3.\n")
    assert result.exit_code == 0, result.stderr
    answers = {line["problem"]: line["final_answer"] for line in map(json.loads, result.stdout.splitlines())}
    assert answers == {"What is 2 + 2?": "4", "Compute 12 * 3.": "36"}


def test_malformed_lines_are_skipped_or_strict(tmp_path: Path) -> None:
    (tmp_path / "set.jsonl").write_text('{"question": "What is 1 + 1?", "answer": "2"}\n{oops\n')
    ok = runner.invoke(app, ["batch", str(tmp_path / "set.jsonl"), "-t", "0"])
    assert ok.exit_code == 0 and "line 2" in ok.stderr and len(ok.stdout.splitlines()) == 1
    strict = runner.invoke(app, ["batch", str(tmp_path / "set.jsonl"), "--strict"])
    assert strict.exit_code == 2 and "line 2" in strict.stderr


def test_existing_results_are_never_overwritten(tmp_path: Path) -> None:
    problem_set(tmp_path / "set.jsonl", 2)
    out = tmp_path / "out.jsonl"
    kept = '{"id": "keep-me", "final_answer": "1", "finish_reason": "stop"}\n'
    out.write_text(kept)
    result = runner.invoke(app, ["batch", str(tmp_path / "set.jsonl"), "-o", str(out)])
    assert result.exit_code == 2 and "--resume" in result.stderr
    assert out.read_text() == kept


def test_sigkill_at_random_moments_then_resume_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    problems = problem_set(tmp_path / "set.jsonl", 40, seed=11)
    out = tmp_path / "out.jsonl"
    command = [sys.executable, "-m", "vibecli", "batch", str(tmp_path / "set.jsonl"), "-o", str(out), "--resume",
               "-t", "0", "--concurrency", "2"]  # fmt: skip
    rng = random.Random(3)
    for _ in range(3):
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        before = len(out.read_text().splitlines()) if out.exists() else 0
        while time.monotonic() < deadline and proc.poll() is None:  # wait until it writes, then kill at random
            if out.exists() and len(out.read_text().splitlines()) > before:
                time.sleep(rng.uniform(0.0, 0.4))
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if rng.random() < 0.7 and out.exists():  # sometimes as if killed mid-write
            with out.open("a") as handle:
                handle.write('{"id": "torn", "final_ans')
    final = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr
    ids = [str(r["id"]) for r in results(out)]
    assert len(ids) == len(set(ids)) == len(problems), "every id exactly once"


def test_ctrl_c_keeps_finished_results_and_says_how_to_resume(tmp_path: Path) -> None:
    problem_set(tmp_path / "set.jsonl", 40, seed=12)
    out = tmp_path / "out.jsonl"
    command = [sys.executable, "-m", "vibecli", "batch", str(tmp_path / "set.jsonl"), "-o", str(out), "-t", "0",
               "--concurrency", "1"]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (out.exists() and out.read_text().count("\n") >= 2):
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert b"--resume" in err and b"Traceback" not in err
    done = results(out)
    assert 2 <= len(done) < 40 and len({r["id"] for r in done}) == len(done)
