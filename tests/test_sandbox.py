"""Hostile solutions are contained and reported, and the tool keeps working.

Every limit here is small (a few seconds, 256 MB, 64 processes) so that a failure of the
sandbox cannot endanger the machine running the tests.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from vibecli.verify.sandbox import NOBODY, Limits, isolation, run_python

LIMITS = Limits(wall_s=3, cpu_s=2, memory_mb=256, processes=32)
needs_fs_isolation = pytest.mark.skipif(not isolation().filesystem, reason="bubblewrap is not installed here")
needs_net_isolation = pytest.mark.skipif(not isolation().network, reason="no network namespace available here")


def test_runs_a_normal_program() -> None:
    result = run_python("print(input()[::-1])", "abc\n", limits=LIMITS)
    assert (result.status, result.stdout) == ("ok", "cba\n")


def test_empty_environment() -> None:
    result = run_python("import os; print(sorted(os.environ))", limits=LIMITS)
    assert result.status == "ok"
    assert "HOME" not in result.stdout and "VIBE" not in result.stdout


@needs_fs_isolation
def test_cannot_write_outside_its_directory(tmp_path: Path) -> None:
    target = tmp_path / "pwned"
    result = run_python(f"open({str(target)!r}, 'w').write('x')", limits=LIMITS)
    assert result.status == "runtime_error"
    assert not target.exists()


@needs_fs_isolation
def test_cannot_read_the_users_files(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("TOPSECRET")
    result = run_python(f"print(open({str(secret)!r}).read())", limits=LIMITS)
    assert "TOPSECRET" not in result.stdout
    listing = run_python("import os; print(os.listdir(os.path.expanduser('~')) if os.path.isdir('/root') else [])")
    assert ".bashrc" not in listing.stdout


def test_fork_bomb_is_contained() -> None:
    result = run_python("import os\nwhile True:\n    try: os.fork()\n    except OSError: pass", limits=LIMITS)
    assert result.status in ("time_limit", "runtime_error")
    if os.geteuid() == 0:
        assert _nothing_left_running(), "a fork-bomb process outlived the sandbox"


def _nothing_left_running(grace_s: float = 5.0) -> bool:
    """No live process of the sandbox user; killed ones may linger as zombies until reaped."""
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        states = subprocess.run(["ps", "-u", str(NOBODY), "-o", "stat="], capture_output=True, text=True).stdout
        if all(state.startswith("Z") for state in states.split()):
            return True
        time.sleep(0.2)
    return False


def test_memory_bomb_is_reported() -> None:
    assert run_python("x = bytearray(10**10)", limits=LIMITS).status == "memory_limit"


def test_infinite_loop_is_killed() -> None:
    result = run_python("while True: pass", limits=LIMITS)
    assert result.status == "time_limit" and result.wall_s < 10


@needs_net_isolation
def test_no_network() -> None:
    source = "import socket\nsocket.create_connection(('127.0.0.1', 22), timeout=2)\nprint('connected')"
    result = run_python(source, limits=LIMITS)
    assert "connected" not in result.stdout and result.status == "runtime_error"


def test_cannot_kill_the_parent() -> None:
    result = run_python("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nprint('alive')", limits=LIMITS)
    assert result.status in ("runtime_error", "ok")
    assert run_python("print('still working')", limits=LIMITS).stdout == "still working\n"


def test_stdout_flood_is_capped() -> None:
    result = run_python("import sys\nwhile True: sys.stdout.write('x' * 65536)", limits=LIMITS)
    assert result.status == "output_limit"
    assert len(result.stdout) <= LIMITS.output_bytes


def test_isolation_report_names_what_is_missing() -> None:
    how = isolation()
    if not how.filesystem:
        assert any("filesystem" in note for note in how.notes)
    if not how.network:
        assert any("network" in note for note in how.notes)
