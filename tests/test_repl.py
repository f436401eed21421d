"""`vibe repl`: driven with prompt-toolkit's pipe input, and once in a real pseudo-terminal."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from vibecli.config import Config
from vibecli.prompting.templates import load_templates
from vibecli.repl.app import run_repl
from vibecli.ui.console import THEME, Terminal


def drive(backend: Any, lines: list[str], tmp_path: Path, config: Config | None = None) -> tuple[int, str, str]:
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    out, err = io.StringIO(), io.StringIO()
    terminal = Terminal(Console(file=out, theme=THEME, width=120), Console(file=err, theme=THEME, width=120))
    with create_pipe_input() as pipe:
        pipe.send_text("".join(line + "\n" for line in lines))
        pipe.close()  # end of input is Ctrl-D
        status = run_repl(backend, config or Config(temperature=0.0), load_templates(), terminal,
                          history_path=tmp_path / "history", input=pipe, output=DummyOutput())  # fmt: skip
    return status, out.getvalue(), err.getvalue()


def test_a_problem_gets_an_answer_and_ctrl_d_exits_0(demo_backend: Any, tmp_path: Path) -> None:
    status, out, err = drive(demo_backend, ["What is 48 + 37?"], tmp_path)
    assert status == 0
    assert "\\boxed{85}" in out
    assert "demo" in err and "/help" in err  # the banner
    assert "What is 48 + 37?" in (tmp_path / "history").read_text()  # persistent history


def test_slash_commands_change_settings(demo_backend: Any, tmp_path: Path) -> None:
    status, out, _ = drive(demo_backend, ["/mode math", "/temp 0.5", "/top-p 0.9", "/max-tokens 300", "/budget 50",
                                          "/think hide", "/mode poetry", "/think loud"], tmp_path)  # fmt: skip
    assert status == 0
    replies = ["mode: math", "temperature: 0.5", "top-p: 0.9", "max tokens: 300", "thinking budget: 50 tokens",
               "thinking display: hide", "unknown mode 'poetry'", "/think takes show | collapse | hide"]  # fmt: skip
    for expected in replies:
        assert expected in out


def test_verify_judges_the_last_answer(demo_backend: Any, tmp_path: Path) -> None:
    _, out, _ = drive(demo_backend, ["/verify 85", "What is 48 + 37?", "/verify 85", "/verify 86"], tmp_path)
    assert "no final answer to check" in out
    assert "equal: identical" in out and "not equal" in out


def test_save_then_load_round_trips(demo_backend: Any, tmp_path: Path) -> None:
    saved = tmp_path / "session.json"
    _, out, _ = drive(demo_backend, ["/budget 70", "What is 48 + 37?", f"/save {saved}"], tmp_path)
    data = json.loads(saved.read_text())
    assert data["settings"]["budget"] == 70 and data["turns"][0]["final_answer"] == "85"
    _, out, _ = drive(demo_backend, [f"/load {saved}", "/budget", "/trace", "/stats"], tmp_path)
    assert "loaded 1 turn(s)" in out and "thinking budget: 70 tokens" in out
    assert "8+7+0=15" in out and "tok/s" in out


def test_follow_ups_keep_the_conversation_without_thinking(demo_backend: Any, tmp_path: Path) -> None:
    from vibecli.repl.session import ReplSession, ReplSettings

    session = ReplSession(ReplSettings())
    from vibecli.repl.app import run_turn

    terminal = Terminal(Console(file=io.StringIO(), theme=THEME), Console(file=io.StringIO(), theme=THEME))
    config = Config(temperature=0.0)
    run_turn(demo_backend, session, config, load_templates(), terminal, "What is 48 + 37?")
    history = session.history()
    assert [m.role for m in history] == ["user", "assistant"]
    assert "<think>" not in history[1].content and "8+7+0" not in history[1].content
    assert "\\boxed{85}" in history[1].content
    session.clear()
    assert session.history() == ()


def test_unknown_command_suggests_the_closest_and_errors_do_not_end_the_session(
    demo_backend: Any, tmp_path: Path
) -> None:
    status, out, _ = drive(demo_backend, ["/verfy 3", "/save /no/such/dir/x.json", "/load /no/such.json",
                                          "/nonsense", "What is 2 + 2?"], tmp_path)  # fmt: skip
    assert status == 0
    assert "did you mean /verify?" in out and "cannot write" in out and "cannot read" in out
    assert "\\boxed{4}" in out


def test_long_paste_block(demo_backend: Any, tmp_path: Path) -> None:
    _, out, _ = drive(demo_backend, ['"""What is', "48 + 37?", '"""'], tmp_path)
    assert "\\boxed{85}" in out


def test_slash_completion() -> None:
    from prompt_toolkit.document import Document

    from vibecli.engine.types import ModelInfo
    from vibecli.repl.app import _completer
    from vibecli.repl.commands import Context

    completer = _completer(Context(ModelInfo("m", "p", "b", "cpu", "fp32", "fp32"), ("code", "math")))

    def complete(text: str) -> list[str]:
        return [c.text for c in completer.get_completions(Document(text), None)]

    assert complete("/ve") == ["verify"]
    assert complete("/think c") == ["collapse"]
    assert complete("/mode ") == ["auto", "code", "math"]
    assert complete("plain text") == []


# pexpect's terminal never answers prompt-toolkit's cursor-position requests, as a real one does at once:
# without this, prompt-toolkit waits a second for the answer at every prompt and at the exit.
NO_CPR = {"PROMPT_TOOLKIT_NO_CPR": "1"}


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_real_terminal_answer_cancel_continue_exit(tiny_model_dir: Path, tmp_path: Path) -> None:
    """vibe repl under a pseudo-terminal: an answer, Ctrl-C cancels a runaway one, the session goes on,
    Ctrl-D exits 0. The random tiny model never stops by itself, so the cancel is real."""
    import pexpect

    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path), "TERM": "xterm", "NO_COLOR": "1", **NO_CPR}
    args = ["-m", "vibecli", "repl", "--model", str(tiny_model_dir), "--think", "hide", "--loop-guard", "off"]
    child = pexpect.spawn(sys.executable, args, env=env, encoding="utf-8", timeout=60, dimensions=(40, 120))
    child.expect(">>>")  # input typed before prompt-toolkit takes the terminal would be garbled
    # Each later step waits for its own reply: prompt-toolkit redraws `>>>` unpredictably.
    child.sendline("/temp 0")  # greedy: the random model's output is then deterministic
    child.expect("temperature: 0.0")
    child.sendline("/max-tokens 30")
    child.expect("max tokens: 30")
    child.sendline("first question")
    child.sendline("/stats")  # typed ahead: read once the answer is done
    child.expect(r"finish (budget|length|stop)")
    child.sendline("/max-tokens 100000")
    child.expect("max tokens: 100,000")
    child.sendline("/budget off")
    child.expect("thinking budget: off")
    child.sendline("/clear")
    child.expect("conversation cleared")
    child.sendline("x")  # with no history, the random model answers "x" with newlines forever
    child.expect(r"(thinking|answering) [\d,]+ tokens")  # the live window is counting
    child.sendintr()
    child.expect("interrupted", timeout=30)
    child.sendline("/max-tokens 20")
    child.expect("max tokens: 20")
    child.sendline("third question")
    child.sendline("/stats")
    child.expect(r"finish (budget|length|stop)")
    child.expect(">>>")
    time.sleep(0.3)  # let prompt-toolkit take the terminal, so Ctrl-D reaches it as a key
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_the_demo_answers_a_follow_up_question(tmp_path: Path) -> None:
    """A newcomer's first session: the second question is answered, not the first one again."""
    import pexpect

    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path), "TERM": "xterm", "NO_COLOR": "1", **NO_CPR}
    args = ["-m", "vibecli", "repl", "--model", "demo", "--think", "hide"]
    child = pexpect.spawn(sys.executable, args, env=env, encoding="utf-8", timeout=60, dimensions=(40, 120))
    child.expect(">>>")
    child.sendline("/temp 0")
    child.expect("temperature: 0.0")
    answer = r"Answer: (?:\x1b\[[\d;]*m)*(-?\d+)"  # bold stays on under NO_COLOR
    child.sendline("What is 48 + 37?")
    child.expect(answer)
    first = child.match.group(1)
    child.sendline("What is 20 + 22?")
    child.expect(answer)
    second = child.match.group(1)
    child.expect(">>>")
    time.sleep(0.3)
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert (first, second, child.exitstatus) == ("85", "42", 0)


def test_piped_input_is_one_problem_per_line_in_plain_text(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path), "TERM": "xterm"}
    lines = '/temp 0\nWhat is 2 + 3?\n\nWhat is 4 + 5?\n/verify 9\n"""What is\n-3 + 8?'
    result = subprocess.run([sys.executable, "-m", "vibecli", "repl", "--model", "demo"], input=lines,
                            capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "temperature: 0.0", "\\boxed{5}", "\\boxed{9}", "equal: identical", "\\boxed{5}"
    ]  # fmt: skip
    assert "\x1b" not in result.stdout + result.stderr and "terminal" not in result.stderr
    assert not (tmp_path / "vibe" / "history").exists()  # piped lines stay out of the prompt's history


def test_samples_with_a_seed_too_large_for_k_is_one_line_and_the_session_goes_on(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path), "TERM": "xterm"}
    lines = "/samples 2 What is 2 + 3?\n/samples 257 What is 2 + 3?\nWhat is 4 + 5?\n"
    result = subprocess.run([sys.executable, "-m", "vibecli", "repl", "--model", "demo", "-t", "0",
                             "--seed", str(2**63 - 1)], input=lines, capture_output=True, text=True, env=env,
                            timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    said = result.stdout + result.stderr
    assert "failed" not in said and "ValueError" not in said, said
    refusals = [line for line in said.splitlines() if "seed" in line or "/samples must" in line]
    assert len(refusals) == 2 and "256" in refusals[1], said  # one line for each refused /samples
    assert result.stdout.splitlines()[-1] == "\\boxed{9}"


@pytest.mark.parametrize(("line", "bound"), [("/budget 99999999", "10,000,000"), ("/budget -1", "10,000,000"),
                                             ("/samples 300", "256"), ("/temp 9", "5")])  # fmt: skip
def test_a_bound_is_written_as_people_write_it(line: str, bound: str) -> None:
    from vibecli.engine.types import ModelInfo
    from vibecli.repl.commands import Context, dispatch
    from vibecli.repl.session import ReplSession, ReplSettings

    session = ReplSession(ReplSettings.from_config(Config()))
    ctx = Context(
        ModelInfo(name="m", path="", backend="b", device="cpu", dtype="f32", format="hf"),
        ("math",),
        samples=lambda p, k: "",
    )
    reply = dispatch(session, line + " What is 1 + 1?" if line.startswith("/samples") else line, ctx)
    assert reply.text.endswith(f" and {bound}") and "e+" not in reply.text, reply.text


def test_stats_after_samples_says_how_many(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path), "TERM": "xterm"}
    lines = "/samples 2 What is 2 + 3?\n/stats\nWhat is 1 + 1?\n/stats\n"
    result = subprocess.run([sys.executable, "-m", "vibecli", "repl", "--model", "demo", "-t", "0"], input=lines,
                            capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    stats = [line for line in result.stdout.splitlines() if "tok/s" in line]
    assert len(stats) == 2 and stats[0].startswith("2 samples · ") and "samples" not in stats[1], result.stdout
