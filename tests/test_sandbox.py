"""Hostile solutions are contained and reported, and the tool keeps working, with bubblewrap
and without it (bwrap hidden from PATH, so that the kernel's namespaces are used directly).

Every limit here is small (a few seconds, 256 MB, 32 processes) so that a failure of the
sandbox cannot endanger the machine running the tests.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from procfs import descendants, stat

from vibecli.verify import sandbox
from vibecli.verify.sandbox import Isolation, Limits, SandboxUnavailable, isolation, run_python

LIMITS = Limits(wall_s=3, cpu_s=2, memory_mb=256, processes=32)
REPO = Path(__file__).resolve().parents[1]


def path_without(tmp_path: Path, hidden: tuple[str, ...]) -> str:
    """A PATH with every program of the current one except `hidden` (bwrap, unshare)."""
    folder = tmp_path / f"path-without-{'-'.join(hidden)}"
    folder.mkdir()
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        for program in Path(directory).glob("*") if Path(directory).is_dir() else ():
            link = folder / program.name
            if program.name not in hidden and not link.exists() and not link.is_symlink():
                link.symlink_to(program)
    return str(folder)


@pytest.fixture(scope="session")
def path_without_bwrap(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Made once: a PATH of links to every program (over a thousand) takes a while to build."""
    return path_without(tmp_path_factory.mktemp("path"), ("bwrap",))


_PROBED: dict[Isolation, bool] = {}


@pytest.fixture(params=["bubblewrap", "namespaces"])
def method(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, path_without_bwrap: str) -> Iterator[str]:
    if request.param == "namespaces":
        monkeypatch.setenv("PATH", path_without_bwrap)
    # isolation() still picks the method from what PATH holds, but each way is probed (a sandbox run)
    # once per test process rather than once per test: the answer does not change while the tests run.
    probe = sandbox._probe
    monkeypatch.setattr(
        sandbox, "_probe", lambda how: _PROBED[how] if how in _PROBED else _PROBED.setdefault(how, probe(how))
    )
    isolation.cache_clear()
    if isolation().method != request.param:
        isolation.cache_clear()
        pytest.skip(f"{request.param} cannot be used on this machine")
    yield request.param
    isolation.cache_clear()


def test_runs_a_normal_program(method: str) -> None:
    result = run_python("print(input()[::-1])", "abc\n", limits=LIMITS)
    assert (result.status, result.stdout) == ("ok", "cba\n")


def test_empty_environment(method: str) -> None:
    result = run_python("import os; print(sorted(os.environ))", limits=LIMITS)
    assert result.status == "ok"
    assert "HOME" not in result.stdout and "VIBE" not in result.stdout


def test_cannot_write_outside_its_directory(method: str, tmp_path: Path) -> None:
    targets = [tmp_path / "pwned", REPO / f"pwned-{uuid.uuid4().hex}", Path.home() / f"pwned-{uuid.uuid4().hex}"]
    source = "\n".join(f"try:\n    open({str(t)!r}, 'w').write('x')\nexcept OSError:\n    pass" for t in targets)
    assert run_python(source, limits=LIMITS).status == "ok"
    assert not any(target.exists() for target in targets)


def test_cannot_read_the_users_files(method: str, tmp_path: Path) -> None:
    secrets = [tmp_path / "secret", Path.home() / f".vibe-sandbox-secret-{uuid.uuid4().hex}"]
    try:
        for secret in secrets:
            secret.write_text("TOPSECRET")
        source = "\n".join(f"try:\n    print(open({str(s)!r}).read())\nexcept OSError:\n    pass" for s in secrets)
        result = run_python(source, limits=LIMITS)
    finally:
        for secret in secrets:
            secret.unlink(missing_ok=True)
    assert "TOPSECRET" not in result.stdout
    listing = run_python("import os; print(os.listdir(os.path.expanduser('~')))", limits=LIMITS)
    assert ".bashrc" not in listing.stdout and ".vibe-sandbox-secret" not in listing.stdout


def test_cannot_undo_its_mounts(method: str) -> None:
    source = "import ctypes\nlibc = ctypes.CDLL('libc.so.6', use_errno=True)\nprint(libc.umount2(b'/tmp', 2))"
    assert run_python(source, limits=LIMITS).stdout.strip() == "-1"


def test_fork_bomb_is_contained(method: str) -> None:
    result = run_python("import os\nwhile True:\n    try: os.fork()\n    except OSError: pass", limits=LIMITS)
    assert result.status in ("time_limit", "runtime_error")
    if os.geteuid() == 0:
        assert _nothing_left_running(), "a fork-bomb process outlived the sandbox"
    assert run_python("print('still working')", limits=LIMITS).stdout == "still working\n"


def _nothing_left_running(grace_s: float = 5.0) -> bool:
    """No live process of this test process's sandboxes (other pytest workers run their own);
    killed ones may linger as zombies until reaped."""
    from test_sandbox_redteam import _nothing_left

    return _nothing_left(grace_s)


def test_memory_bomb_is_reported(method: str) -> None:
    assert run_python("x = bytearray(10**10)", limits=LIMITS).status == "memory_limit"


def test_infinite_loop_is_killed(method: str) -> None:
    result = run_python("while True: pass", limits=LIMITS)
    assert result.status == "time_limit" and result.wall_s < 10


def test_no_network(method: str) -> None:
    source = "import socket\nsocket.create_connection(('127.0.0.1', 22), timeout=2)\nprint('connected')"
    result = run_python(source, limits=LIMITS)
    assert "connected" not in result.stdout and result.status == "runtime_error"


def test_cannot_kill_the_parent(method: str) -> None:
    source = (
        "import os, signal\n"
        "for pid in (os.getppid(), -1):\n    try: os.kill(pid, signal.SIGKILL)\n    except OSError: pass\n"
        "print('alive')"
    )
    result = run_python(source, limits=LIMITS)
    assert result.status in ("runtime_error", "ok", "time_limit")
    assert run_python("print('still working')", limits=LIMITS).stdout == "still working\n"


def test_stdout_flood_is_capped(method: str) -> None:
    result = run_python("import sys\nwhile True: sys.stdout.write('x' * 65536)", limits=LIMITS)
    assert result.status == "output_limit"
    assert len(result.stdout) <= LIMITS.output_bytes


def _identity(pid: int) -> tuple[int, str] | None:
    """The pid with its start time, so a pid reused by another process (a busy machine) is not taken for it."""
    fields = stat(pid)
    return (pid, fields[19]) if fields is not None else None


def _alive(process: tuple[int, str] | None) -> bool:
    if process is None:
        return False
    fields = stat(process[0])
    return fields is not None and fields[0] != "Z" and fields[19] == process[1]


def test_sandboxed_processes_die_with_their_parent(method: str) -> None:
    runner = (
        "from vibecli.verify.sandbox import Limits, run_python\n"
        "run_python('import time\\ntime.sleep(60)', limits=Limits(wall_s=60, cpu_s=60))"
    )
    parent = subprocess.Popen([sys.executable, "-c", runner], env=os.environ.copy())
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any("sleep" in _cmdline(p) or "main.py" in _cmdline(p)
                                                      for p in descendants(parent.pid)):  # fmt: skip
            time.sleep(0.1)
        started = [_identity(p) for p in descendants(parent.pid)]
        assert started, "the sandbox never started"
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(p) for p in started):
            time.sleep(0.1)
        assert not any(_alive(p) for p in started), "a sandboxed process outlived its parent"
    finally:
        parent.kill()


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""


def test_without_any_namespace_code_is_refused_unless_allowed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", path_without(tmp_path, ("bwrap", "unshare")))
    isolation.cache_clear()
    try:
        how = isolation()
        assert how.method == "none" and not how.network and not how.filesystem
        with pytest.raises(SandboxUnavailable, match="install bubblewrap"):
            run_python("print(1)", limits=LIMITS)
        allowed = Limits(wall_s=3, cpu_s=2, memory_mb=256, processes=32, require_isolation=False)
        assert run_python("print(1)", limits=allowed).stdout == "1\n"
    finally:
        isolation.cache_clear()
