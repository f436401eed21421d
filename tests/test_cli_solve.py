"""`vibe solve` end to end: the demo model through CliRunner and a real subprocess."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vibecli.cli.app import app

runner = CliRunner()
ANSI = "\x1b["


def vibe(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


def test_json_output_has_the_documented_schema() -> None:
    code, out, _ = vibe("solve", "What is 48 + 37?", "--model", "demo", "-t", "0", "--json")
    assert code == 0
    data = json.loads(out)
    fields = (
        "problem mode model backend thinking answer final_answer finish_reason tokens timings controls verification"
    )
    assert set(data) == set(fields.split())
    assert data["final_answer"] == "85"
    assert (data["mode"], data["model"], data["backend"], data["finish_reason"]) == (
        "math",
        "demo",
        "transformers",
        "stop",
    )
    assert "8+7+0=15" in data["thinking"]
    assert data["tokens"]["thinking"] > data["tokens"]["answer"] > 0
    assert set(data["timings"]) == {"ttft_s", "total_s", "tokens_per_s"}
    assert data["controls"]["trigger"] is None and data["verification"] is None


@pytest.mark.parametrize(
    ("problem", "answer"),
    [("Compute 123 * 45.", "5535"), ("What is 905 - 387?", "518"), ("Solve for x: 3x + 7 = 22.", "5")],
)
def test_demo_model_solves_its_kind_of_problem(problem: str, answer: str) -> None:
    code, out, _ = vibe("solve", problem, "--model", "demo", "-t", "0", "--json")
    assert code == 0
    assert json.loads(out)["final_answer"] == answer


def test_piped_output_is_plain_answer_without_thinking() -> None:
    code, out, err = vibe("solve", "What is 48 + 37?", "--model", "demo", "-t", "0")
    assert code == 0
    assert out.strip() == "\\boxed{85}"
    assert ANSI not in out and ANSI not in err
    assert "8+7" not in out + err


def test_think_show_streams_thinking_to_stderr_only() -> None:
    code, out, err = vibe("solve", "What is 48 + 37?", "--model", "demo", "-t", "0", "--think", "show", "--stats")
    assert code == 0
    assert "8+7+0=15" in err and "8+7" not in out
    assert "tok/s" in err and "finish stop" in err


def test_default_model_is_the_demo_with_one_notice() -> None:
    code, out, err = vibe("solve", "What is 2 + 2?", "-t", "0")
    assert code == 0 and "4" in out
    assert err.count("vibe models pull") == 1


def test_problem_from_file_and_stdin(tmp_path: Path) -> None:
    problem = tmp_path / "p.md"
    problem.write_text("What is 48 + 37?\n")
    assert vibe("solve", "-f", str(problem), "--model", "demo", "-t", "0")[1].strip() == "\\boxed{85}"
    assert vibe("solve", "-", "--model", "demo", "-t", "0", input="What is 48 + 37?")[1].strip() == "\\boxed{85}"
    assert vibe("solve", "--model", "demo", "-t", "0", input="What is 48 + 37?")[1].strip() == "\\boxed{85}"


def test_config_file_and_environment_choose_the_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vibecli.paths import config_file, demo_model_dir

    config_file().parent.mkdir(parents=True, exist_ok=True)
    config_file().write_text(f"models:\n  mine: {demo_model_dir()}\nmodel: mine\n")
    code, out, err = vibe("solve", "What is 48 + 37?", "-t", "0", "--json")
    assert code == 0 and json.loads(out)["model"] == "mine" and "vibe models pull" not in err
    monkeypatch.setenv("VIBE_MODEL", "/does/not/exist")
    code, _, err = vibe("solve", "What is 1 + 1?")
    assert code == 3 and "/does/not/exist" in err


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["solve", "-f", "/no/such/file.md"], 2, "does not exist"),
        (["solve", "   "], 2, "the problem is empty"),
        (["solve", "x", "--think", "loud"], 2, "--think must be one of"),
        (["solve", "x", "--mode", "poetry", "--model", "demo"], 2, "unknown mode 'poetry'"),
        (["solve", "x", "--model", "/no/such/model"], 3, "neither a directory nor a known name"),
        (["solve", "x", "--backend", "exl2", "--model", "demo"], 3, "exl2 backend is not installed"),
        (["solve", "x", "--temperature", "-1", "--model", "demo"], 2, "--temperature must be in [0, 5] (got -1)"),
        (["solve", "x", "--model", "demo", "--tests", "/no/such/tests.jsonl"], 2, "does not exist"),
    ],
)
def test_bad_input_is_one_line_and_documented_exit_code(args: list[str], code: int, message: str) -> None:
    exit_code, out, err = vibe(*args)
    assert exit_code == code
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert out == ""


def test_no_final_answer_exits_1(tiny_model_dir: Path) -> None:
    code, _, err = vibe("solve", "x", "--model", str(tiny_model_dir), "-t", "0", "--max-tokens", "8")
    assert code == 1
    assert "token cap near" in err and "finish reason: budget" in err


def test_config_commands(tmp_path: Path) -> None:
    from vibecli.paths import config_file

    assert vibe("config", "path")[1].strip() == str(config_file())
    assert vibe("config", "init")[0] == 0 and config_file().is_file()
    assert vibe("config", "init")[0] == 2
    code, out, _ = vibe("config", "show")
    assert code == 0 and "max_tokens: 40960" in out


def test_real_subprocess_json() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "vibecli", "solve", "What is 48 + 37?", "--model", "demo", "-t", "0", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["final_answer"] == "85"


def start_streaming(cmd: list[str]) -> tuple[subprocess.Popen[bytes], bytes]:
    """Start `vibe solve` and return once it has streamed its first bytes."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    deadline = time.monotonic() + 60
    produced = b""
    while b"<think>" not in produced and b"\n" not in produced and time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout, proc.stderr], [], [], 1)
        for stream in ready:
            produced += os.read(stream.fileno(), 4096)
    assert produced, "the model should stream before the interrupt"
    return proc, produced


def test_first_ctrl_c_wraps_up_with_a_forced_answer() -> None:
    cmd = [sys.executable, "-m", "vibecli", "solve", "Compute 987 * 65.", "--model", "demo", "-t", "0"]
    proc, _ = start_streaming([*cmd, "--think", "show", "--json"])
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    data = json.loads(out)
    assert data["controls"]["trigger"] == "interrupt"
    assert data["finish_reason"] == "budget" and data["final_answer"] is not None


def test_second_ctrl_c_cancels_and_exits_130_with_partial_output(tiny_model_dir: Path) -> None:
    """The random tiny model never stops on its own, so generation is still running when SIGINT lands."""
    cmd = [sys.executable, "-m", "vibecli", "solve", "x", "--model", str(tiny_model_dir), "-t", "0"]
    proc, produced = start_streaming([*cmd, "--max-tokens", "100000", "--think", "show", "--loop-guard", "off"])
    proc.send_signal(signal.SIGINT)
    time.sleep(0.05)  # a quick double press: cancel, whichever phase the first one landed in
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert b"interrupted" in err
    assert b"Traceback" not in err
    assert len(produced + out + err) > len(produced)
