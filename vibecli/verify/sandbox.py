"""Run untrusted Python (model-written solutions) in a contained process.

Isolation, strongest available first:
- bubblewrap: read-only root, private /tmp, hidden home directories, no network, its own PID
  namespace, killed with its parent;
- without bubblewrap, the kernel's namespaces through `unshare` (as root; as a normal user in
  a user namespace, `unshare -r`): the same read-only root, private /tmp, hidden homes, no
  network and own PID namespace, set up by `sandbox_boot.py`, which also drops every
  capability;
- as root, the program then runs as uid 65534 (nobody), because RLIMIT_NPROC does not bind
  root: that limit is what stops a fork bomb;
- always: a fresh temporary directory, an empty environment, rlimits on CPU, memory, file
  size and open files, a wall-clock limit that kills the whole process group, capped output,
  and death with the parent (vibecli/lifetime.py).

Where no namespace can be made, code is not run at all unless the caller allows it
(`--no-sandbox`); `isolation()` says which layer is in force.
"""

from __future__ import annotations

import functools
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

from vibecli.errors import VibeError
from vibecli.lifetime import die_with_parent

NOBODY = 65534
RunStatus = Literal["ok", "runtime_error", "time_limit", "memory_limit", "output_limit"]
BOOT = Path(__file__).with_name("sandbox_boot.py")
SETUP_FAILED = 125  # sandbox_boot.py's exit status when it could not build the sandbox
NO_SANDBOX = (
    "no sandbox can be made here: install bubblewrap (e.g. apt install bubblewrap), or allow user "
    "namespaces (sysctl kernel.unprivileged_userns_clone=1)"
)


class SandboxUnavailable(VibeError):
    """No isolation is possible on this machine and running without it was not allowed."""


@dataclass(frozen=True)
class Limits:
    wall_s: float = 10.0
    cpu_s: float = 10.0
    memory_mb: int = 1024
    processes: int = 64
    open_files: int = 64
    file_size_mb: int = 16
    output_bytes: int = 1 << 20
    require_isolation: bool = True  # refuse to run when no namespace can be made


@dataclass(frozen=True)
class RunResult:
    status: RunStatus
    exit_code: int | None
    stdout: str
    stderr: str
    wall_s: float


@dataclass(frozen=True)
class Isolation:
    method: Literal["bubblewrap", "namespaces", "none"]
    network: bool
    filesystem: bool
    drops_privileges: bool
    notes: tuple[str, ...] = field(default=())


def _works(command: list[str]) -> bool:
    try:
        return subprocess.run(command, capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@functools.cache
def isolation() -> Isolation:
    """Probe once which isolation this machine allows (bubblewrap and unshare are looked up on PATH)."""
    root = os.geteuid() == 0
    setpriv = root and shutil.which("setpriv") is not None
    if shutil.which("bwrap") and _works(["bwrap", *_bwrap_mounts(Path("/"), probe=True), "true"]):
        return Isolation("bubblewrap", network=True, filesystem=True, drops_privileges=setpriv)
    if shutil.which("unshare") and _namespaces_work():
        return Isolation("namespaces", network=True, filesystem=True, drops_privileges=root)
    notes = (NO_SANDBOX,) + (
        ("running as root without setpriv: process limits do not bind",) if root and not setpriv else ()
    )
    return Isolation("none", network=False, filesystem=False, drops_privileges=setpriv, notes=notes)


def _namespaces_work() -> bool:
    work = Path(tempfile.mkdtemp(prefix="vibe-sandbox-probe-"))
    try:
        (work / "main.py").write_text("pass\n", encoding="utf-8")
        return _works(_namespace_command(work))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _interpreter() -> Path:
    """The base Python (not this tool's virtual environment)."""
    return Path(getattr(sys, "_base_executable", sys.executable)).resolve()


def _bwrap_mounts(work: Path, *, probe: bool = False) -> list[str]:
    prefix = Path(sys.base_prefix)
    mounts = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    for private in ("/tmp", "/var/tmp", "/dev/shm", "/root", "/home", "/run"):
        if Path(private).is_dir():
            mounts += ["--tmpfs", private]
    mounts += ["--ro-bind", str(prefix), str(prefix)]  # the interpreter may live under a hidden home
    if not probe:
        mounts += ["--bind", str(work), "/tmp/work", "--chdir", "/tmp/work"]
    mounts += ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent"]
    return [*mounts, "--new-session", "--clearenv", "--setenv", "PATH", "/usr/bin:/bin"]


def _namespace_command(work: Path) -> list[str]:
    """unshare's fresh namespaces around sandbox_boot.py, which builds the filesystem view."""
    root = os.geteuid() == 0
    spaces = ["--mount", "--net", "--pid", "--ipc", "--uts", "--fork", "--kill-child", "--mount-proc"]
    user = [] if root else ["--map-root-user"]
    boot = [str(_interpreter()), "-I", str(BOOT), str(work), str(NOBODY if root else -1)]
    return [shutil.which("unshare") or "unshare", *spaces, *user, "--", *boot]


def _command(work: Path, script: str, how: Isolation) -> list[str]:
    python = [str(_interpreter()), "-I", script]
    if how.method == "namespaces":
        return _namespace_command(work)
    drop = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--inh-caps=-all"]
    user = drop if how.drops_privileges else []
    if how.method == "bubblewrap":
        bwrap = shutil.which("bwrap") or "bwrap"
        return [bwrap, *_bwrap_mounts(work), "--setenv", "PYTHONIOENCODING", "utf-8", "--", *user, *python]
    return [*user, *python]


def _own_processes() -> int:
    uid = os.getuid()
    count = 0
    for entry in Path("/proc").iterdir():
        try:
            count += entry.name.isdigit() and entry.stat().st_uid == uid
        except OSError:
            continue
    return count


def _limit_setter(limits: Limits, how: Isolation) -> Callable[[], None]:
    # Without a uid of its own, the child shares this user's process count.
    processes = limits.processes if how.drops_privileges else _own_processes() + limits.processes

    def apply() -> None:
        die_with_parent()  # a SIGKILLed vibe leaves no sandboxed program running
        memory = limits.memory_mb * 1024 * 1024
        cpu = int(limits.cpu_s) + 1
        for kind, value in (
            (resource.RLIMIT_CPU, cpu),
            (resource.RLIMIT_AS, memory),
            (resource.RLIMIT_FSIZE, limits.file_size_mb * 1024 * 1024),
            (resource.RLIMIT_NOFILE, limits.open_files),
            (resource.RLIMIT_NPROC, processes),
            (resource.RLIMIT_CORE, 0),
        ):
            resource.setrlimit(kind, (value, value))
        os.umask(0o077)

    return apply


def _drain(stream: IO[bytes], cap: int, sink: bytearray, overflow: threading.Event) -> None:
    while True:
        chunk = stream.read(65536)
        if not chunk:
            return
        room = cap - len(sink)
        sink.extend(chunk[: max(0, room)])
        if len(chunk) > room:
            overflow.set()
            return


def run_python(source: str, stdin: str = "", *, limits: Limits | None = None) -> RunResult:
    """Run `source` as a Python program in the sandbox, feeding `stdin`."""
    limits = limits or Limits()
    how = isolation()
    if how.method == "none" and limits.require_isolation:
        raise SandboxUnavailable(f"{NO_SANDBOX}; --no-sandbox runs the code without isolation")
    work = Path(tempfile.mkdtemp(prefix="vibe-sandbox-"))
    try:
        (work / "main.py").write_text(source, encoding="utf-8")
        if how.drops_privileges and how.method != "namespaces":  # setpriv runs it as nobody
            os.chmod(work, 0o700)
            for path in (work, work / "main.py"):
                os.chown(path, NOBODY, NOBODY)
        return _run(_command(work, "main.py", how), work, stdin, limits, how)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(command: list[str], work: Path, stdin: str, limits: Limits, how: Isolation) -> RunResult:
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        cwd=work,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={"PATH": "/usr/bin:/bin", "PYTHONIOENCODING": "utf-8"},
        start_new_session=True,
        preexec_fn=_limit_setter(limits, how),
    )
    out, err, overflow = bytearray(), bytearray(), threading.Event()
    readers = [
        threading.Thread(target=_drain, args=(process.stdout, limits.output_bytes, out, overflow), daemon=True),
        threading.Thread(target=_drain, args=(process.stderr, 65536, err, threading.Event()), daemon=True),
    ]
    for reader in readers:
        reader.start()
    threading.Thread(target=_feed, args=(process.stdin, stdin.encode()), daemon=True).start()
    deadline = started + limits.wall_s
    timed_out = False
    while process.poll() is None:
        if overflow.is_set() or time.monotonic() > deadline:
            timed_out = not overflow.is_set()
            _kill_group(process)
            break
        time.sleep(0.01)
    process.wait()
    for reader in readers:
        reader.join(timeout=2)
    stdout, stderr = out.decode(errors="replace"), err.decode(errors="replace")
    if process.returncode == SETUP_FAILED and stderr.startswith("sandbox setup failed"):
        raise OSError(stderr.strip())
    return RunResult(_status(process.returncode, stderr, timed_out, overflow.is_set()), process.returncode,
                     stdout, stderr, time.monotonic() - started)  # fmt: skip


def _feed(pipe: IO[bytes] | None, data: bytes) -> None:
    if pipe is None:
        return
    try:
        pipe.write(data)
        pipe.close()
    except (BrokenPipeError, OSError):
        pass  # the program exited without reading all its input


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()


def _status(code: int | None, stderr: str, timed_out: bool, overflow: bool) -> RunStatus:
    if overflow:
        return "output_limit"
    if timed_out or code in (-signal.SIGXCPU, 128 + signal.SIGXCPU) or (code == -signal.SIGKILL and not stderr):
        return "time_limit"
    if "MemoryError" in stderr or "Cannot allocate memory" in stderr:
        return "memory_limit"
    return "ok" if code == 0 else "runtime_error"
