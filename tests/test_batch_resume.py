"""A results file remembers its settings: the printed resume command, run as printed, finishes
with them; `--resume` with other settings is refused with one line naming the difference."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from test_batch_cli import problem_set, results
from typer.testing import CliRunner

from vibecli.cli.app import app

runner = CliRunner()
SETTINGS = ["--model", "demo", "-t", "0.3", "--max-tokens", "300", "--seed", "5", "--top-k", "4", "--mode", "math"]


def test_the_printed_resume_command_finishes_with_the_original_settings(tmp_path: Path) -> None:
    problems = problem_set(tmp_path / "set.jsonl", 16, seed=21)
    out = tmp_path / "out.jsonl"
    command = [sys.executable, "-m", "vibecli", "batch", "set.jsonl", "-o", "out.jsonl", "--concurrency", "1",
               *SETTINGS]  # fmt: skip
    proc = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (out.exists() and out.read_text().count("\n") >= 2):
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    printed = err.split("continue with: ", 1)[1].splitlines()[0]
    argv = shlex.split(printed)
    assert argv[:2] == ["vibe", "batch"] and argv[-1] == "--resume"
    first = results(out)
    assert 2 <= len(first) < 16
    # Run exactly as printed, from the same folder, with settings that differ in the config file
    # and the environment: the file's settings win.
    env = {**os.environ, "VIBE_TEMPERATURE": "0.9", "VIBE_MAX_TOKENS": "200"}
    final = subprocess.run([sys.executable, "-m", "vibecli", *argv[1:]], cwd=tmp_path, capture_output=True,
                           text=True, timeout=300, env=env)  # fmt: skip
    assert final.returncode == 0, final.stderr
    done = results(out)
    assert len(done) == len(problems) == len({r["id"] for r in done})
    settings = [r["settings"] for r in done]
    assert all(s == settings[0] for s in settings)
    assert settings[0]["temperature"] == 0.3 and settings[0]["max_tokens"] == 300 and settings[0]["seed"] == 5
    assert settings[0]["top_k"] == 4 and settings[0]["mode"] == "math" and settings[0]["model"] == "demo"


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory, module_user_dirs: None) -> tuple[str, list[str]]:
    """One finished run of a 3-problem set with SETTINGS: the problem file and its result lines, which
    each test copies into its own folder (a run's results do not name the folder it ran in)."""
    folder = tmp_path_factory.mktemp("finished")
    problem_set(folder / "set.jsonl", 3, seed=22)
    out = folder / "out.jsonl"
    first = runner.invoke(app, ["batch", str(folder / "set.jsonl"), "-o", str(out), *SETTINGS])
    assert first.exit_code == 0, first.stderr
    return (folder / "set.jsonl").read_text(), out.read_text().splitlines()


@pytest.fixture
def started(finished: tuple[str, list[str]], tmp_path: Path) -> Callable[..., Path]:
    """started(kept=1): the finished run in tmp_path, as if interrupted after `kept` results."""

    def start(kept: int = 1) -> Path:
        problems, lines = finished
        (tmp_path / "set.jsonl").write_text(problems)
        out = tmp_path / "out.jsonl"
        out.write_text("\n".join(lines[:kept]) + "\n")
        return out

    return start


def test_resume_with_no_options_reuses_the_files_settings(tmp_path: Path, started: Callable[..., Path]) -> None:
    out = started()
    resumed = runner.invoke(app, ["batch", str(tmp_path / "set.jsonl"), "-o", str(out), "--resume"])
    assert resumed.exit_code == 0, resumed.stderr
    settings = [r["settings"] for r in results(out)]
    assert len(settings) == 3 and all(s == settings[0] for s in settings)


@pytest.mark.parametrize(
    ("flag", "value", "named"),
    [("-t", "0.6", "--temperature"), ("--max-tokens", "100", "--max-tokens"), ("--seed", "1", "--seed"),
     ("--model", "other", "--model"), ("--mode", "code", "--mode"), ("--samples", "2", "--samples"),
     ("--top-k", "0", "--top-k"), ("--think-budget", "5", "--think-budget"), ("--loop-guard", "off", "--loop-guard")],
)  # fmt: skip
def test_resume_with_other_settings_is_refused_naming_the_difference(
    tmp_path: Path, started: Callable[..., Path], flag: str, value: str, named: str
) -> None:
    out = started()
    kept = out.read_text()
    resumed = runner.invoke(app, ["batch", str(tmp_path / "set.jsonl"), "-o", str(out), "--resume", flag, value])
    assert resumed.exit_code == 2
    lines = resumed.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0] and "Traceback" not in resumed.stderr, lines
    assert out.read_text() == kept


def test_resume_with_the_same_settings_given_again_is_fine(tmp_path: Path, started: Callable[..., Path]) -> None:
    out = started()
    resumed = runner.invoke(app, ["batch", str(tmp_path / "set.jsonl"), "-o", str(out), "--resume", *SETTINGS])
    assert resumed.exit_code == 0, resumed.stderr
    assert len(results(out)) == 3
    assert json.loads(out.read_text().splitlines()[-1])["settings"]["temperature"] == 0.3


def test_batch_takes_the_thinking_controls_and_a_line_its_own_budget(tmp_path: Path) -> None:
    problems = tmp_path / "set.jsonl"
    problems.write_text('{"id": "own", "problem": "What is 48 + 37?", "think_budget": 0}\n'
                        '{"id": "flag", "problem": "What is 12 * 3?"}\n')  # fmt: skip
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["batch", str(problems), "-o", str(out), "--model", "demo", "-t", "0",
                                 "--think-budget", "4", "--budget-message", "Time is up.", "--loop-guard", "off",
                                 "--top-k", "3", "--seed", "2"])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    records = {r["id"]: r for r in results(out)}
    assert records["own"]["controls"]["budget"] == 0 and records["own"]["finish_reason"] == "budget"
    assert records["own"]["tokens"]["thinking"] == 0 and records["own"]["final_answer"] is not None
    assert records["flag"]["controls"]["budget"] == 4 and records["flag"]["finish_reason"] == "budget"
    assert records["flag"]["tokens"]["thinking"] == 4 and records["flag"]["controls"]["loop_guard"] is False
    assert records["flag"]["settings"]["top_k"] == 3 and records["flag"]["settings"]["budget_message"] == "Time is up."


def test_batch_samples_have_the_same_token_object_as_a_solve(tmp_path: Path) -> None:
    problems = tmp_path / "set.jsonl"
    problems.write_text('{"id": "a", "problem": "What is 48 + 37?", "answer": "85"}\n')
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["batch", str(problems), "-o", str(out), "--model", "demo", "-k", "3"])
    assert result.exit_code == 0, result.stderr
    (record,) = results(out)
    assert [s["seed"] for s in record["samples"]] == [0, 1, 2]
    for sample in record["samples"]:
        assert set(sample["tokens"]) == set(record["tokens"]) == {"prompt", "thinking", "answer"}
        assert sample["tokens"]["thinking"] + sample["tokens"]["answer"] == sample["generated_tokens"]
    assert record["generated_tokens"] == sum(s["generated_tokens"] for s in record["samples"])


def _legacy(out: Path, drop: str) -> None:
    """Rewrite a results file as an older vibe (no settings) or a mixed run would have left it."""
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    for number, record in enumerate(lines):
        if drop == "all" or (drop == "last" and number == len(lines) - 1):
            record.pop("settings")
        elif drop == "mixed" and number == len(lines) - 1:
            record["settings"]["temperature"] = 0.9
    out.write_text("".join(json.dumps(r) + "\n" for r in lines))


@pytest.mark.parametrize("drop", ["all", "last", "mixed"])
@pytest.mark.parametrize("extra", [[], ["-t", "0.9", "--max-tokens", "60"]])
def test_resume_refuses_a_file_whose_settings_are_unknown_or_mixed(
    tmp_path: Path, started: Callable[..., Path], drop: str, extra: list[str]
) -> None:
    out = started(kept=2)
    _legacy(out, drop)
    kept = out.read_text()
    argv = ["batch", str(tmp_path / "set.jsonl"), "-o", str(out), "--resume", *extra]
    resumed = runner.invoke(app, argv)
    lines = resumed.stderr.strip().splitlines()
    assert resumed.exit_code == 2 and len(lines) == 1 and "--allow-mixed-settings" in lines[0], resumed.stderr
    assert out.read_text() == kept
    allowed = runner.invoke(app, [*argv, "--allow-mixed-settings", "--model", "demo"])
    assert allowed.exit_code == 0, allowed.stderr
    assert len(results(out)) == 3


def test_include_thinking_is_part_of_the_settings(tmp_path: Path, started: Callable[..., Path]) -> None:
    out = started()
    assert all(r["settings"]["include_thinking"] is False for r in results(out))
    kept = out.read_text()
    resumed = runner.invoke(
        app, ["batch", str(tmp_path / "set.jsonl"), "-o", str(out), "--resume", "--include-thinking"]
    )
    assert resumed.exit_code == 2 and "--include-thinking" in resumed.stderr and out.read_text() == kept


def test_a_refusal_names_the_options_as_written(tmp_path: Path, started: Callable[..., Path]) -> None:
    out = started()
    _legacy(out, "none")
    resumed = runner.invoke(app, ["batch", str(tmp_path / "set.jsonl"), "-o", str(out), "--resume", "-t", "0.5"])
    assert "--temperature 0.3, not --temperature 0.5" in resumed.stderr, resumed.stderr


@pytest.mark.parametrize(
    ("sent", "code", "word"), [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")]
)
def test_the_stop_line_names_the_signal(tmp_path: Path, sent: signal.Signals, code: int, word: str) -> None:
    problem_set(tmp_path / "set.jsonl", 16, seed=23)
    out = tmp_path / "out.jsonl"
    command = [sys.executable, "-m", "vibecli", "batch", "set.jsonl", "-o", "out.jsonl", "--concurrency", "1",
               *SETTINGS]  # fmt: skip
    proc = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (out.exists() and out.read_text().count("\n") >= 1):
        time.sleep(0.02)
    proc.send_signal(sent)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert f"vibe: {word} after " in err and "continue with: " in err, err
