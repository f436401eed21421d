"""Run untrusted Python (model-written solutions) in a contained process tree.

Two ways to build the sandbox, the same line held in both:
- bubblewrap, where it is installed and works;
- else the kernel's namespaces through `unshare` (as root, or as a normal user in a user
  namespace), with `boot.py` building the same filesystem by hand.
Where neither works, code is not run at all unless the caller allows it (`--no-sandbox`);
`isolation()` says which is in force.

What the program sees: a root holding only the system directories and the interpreter,
read-only; a fresh read-only /proc with only its own processes; a read-only /dev with null,
zero, full, random and urandom; no /sys; a sized tmpfs /tmp (its only writable place besides an
8 MB /dev/shm) with the work directory; no network, an empty environment, no capabilities and,
when vibe runs as root, uid 65534. The namespace's PID 1 is `boot.py`, which vibe trusts: the
whole tree dies when the program ends, at the time limit, and when vibe dies (even by SIGKILL).

Limits: CPU time, open files and file size per process; memory and processes per check, in a
cgroup of its own where one can be made (`cgroups.available()`), else the memory budget
divided across a smaller process limit; disk by the size of /tmp.

How a run ended is read from vibe's own timer, the kernel (the wait status boot.py reports on
a private descriptor, the cgroup's OOM count) and, for assert tests, the harness's verdict
(harness.py); never from the exit status, stdout or stderr alone.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from vibecli.errors import VibeError
from vibecli.verify.sandbox import cgroups
from vibecli.verify.sandbox.launch import Outcome, launch

NOBODY = 65534
RunStatus = Literal["ok", "runtime_error", "time_limit", "memory_limit", "output_limit"]
HERE = Path(__file__).resolve().parent
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime", "/etc/passwd",
       "/etc/group", "/etc/nsswitch.conf", "/etc/alternatives")  # fmt: skip
SHM_MB = 8
NO_SANDBOX = (
    "no sandbox can be made here: install bubblewrap (e.g. apt install bubblewrap), or allow user "
    "namespaces (sysctl kernel.unprivileged_userns_clone=1)"
)


class SandboxUnavailable(VibeError):
    """No isolation is possible on this machine and running without it was not allowed."""


class CheckCancelled(VibeError):
    """The caller cancelled the check: its sandbox was killed, and no verdict was reached."""


class SandboxFailure(OSError):
    """The sandbox itself could not be built or run: the machine's fault, never the program's."""


@dataclass(frozen=True)
class Limits:
    wall_s: float = 10.0
    cpu_s: float = 10.0
    memory_mb: int = 1024  # for the whole check
    processes: int = 64  # for the whole check
    open_files: int = 64
    file_size_mb: int = 16
    disk_mb: int = 64  # the size of the program's /tmp
    output_bytes: int = 1 << 20
    require_isolation: bool = True  # refuse to run when no namespace can be made


@dataclass(frozen=True)
class RunResult:
    status: RunStatus
    exit_code: int | None
    stdout: str
    stderr: str
    wall_s: float
    detail: str = ""
    verdict: dict[str, Any] | None = None  # the harness's record, for assert tests


@dataclass(frozen=True)
class Isolation:
    method: Literal["bubblewrap", "namespaces", "none"]
    network: bool
    filesystem: bool
    drops_privileges: bool
    memory: Literal["cgroup", "per-process"] = "per-process"
    notes: tuple[str, ...] = field(default=())


@functools.cache
def isolation() -> Isolation:
    """Probe once which isolation this machine allows (bubblewrap and unshare are looked up on PATH)."""
    root = os.geteuid() == 0
    memory: Literal["cgroup", "per-process"] = "cgroup" if cgroups.available() else "per-process"
    for method in ("bubblewrap", "namespaces"):
        how = Isolation(method, network=True, filesystem=True, drops_privileges=root, memory=memory)
        if _launcher(method) is not None and _probe(how):
            return how
    return Isolation("none", network=False, filesystem=False, drops_privileges=False, memory=memory,
                     notes=(NO_SANDBOX,))  # fmt: skip


def _launcher(method: str) -> str | None:
    return shutil.which("bwrap" if method == "bubblewrap" else "unshare")


def _probe(how: Isolation) -> bool:
    try:
        result = _run(how, {"kind": "program", "source": "print('ok')"}, None, b"", Limits(wall_s=20, cpu_s=5))
    except OSError:
        return False
    return result.status == "ok" and result.stdout == "ok\n"


def run_python(
    source: str, stdin: str = "", *, limits: Limits | None = None, cancel: threading.Event | None = None
) -> RunResult:
    """Run `source` as a Python program in the sandbox, feeding `stdin`. Setting `cancel` kills
    the run and raises `CheckCancelled`."""
    limits = limits or Limits()
    how = _checked_isolation(limits)
    return _run(how, {"kind": "program", "source": source}, None, stdin.encode(), limits, cancel)


def run_tests(
    source: str, tests: str, *, check_with: str | None = None, entry: str | None = None,
    limits: Limits | None = None, cancel: threading.Event | None = None,
) -> RunResult:  # fmt: skip
    """Run assert `tests` against the solution `source` (see harness.py); `check_with` names the
    function to pass to the tests' `check(candidate)`, `entry` the one solution function the tests
    may see even where it shares a builtin's name. `RunResult.verdict` is the harness's."""
    limits = limits or Limits()
    job = json.dumps({"tests": tests, "check_with": check_with, "entry": entry or check_with}).encode()
    return _run(_checked_isolation(limits), {"kind": "tests", "source": source}, job, None, limits, cancel)


def _checked_isolation(limits: Limits) -> Isolation:
    how = isolation()
    if how.method == "none" and limits.require_isolation:
        raise SandboxUnavailable(f"{NO_SANDBOX}; --no-sandbox runs the code without isolation")
    return how


def _interpreter() -> Path:
    """The base Python (not this tool's virtual environment)."""
    return Path(getattr(sys, "_base_executable", sys.executable)).resolve()


@functools.cache
def _system_view() -> tuple[dict[str, str], tuple[str, ...]]:
    """The host paths the sandbox sees: links to recreate and directories to bind read-only
    (looked up once: they do not change while vibe runs, and every check needs them)."""
    links = {path: os.readlink(path) for path in (*SYSTEM, *ETC) if os.path.islink(path)}
    read_only = [path for path in (*SYSTEM, *ETC) if os.path.exists(path) and path not in links]
    for extra in (Path(sys.base_prefix).resolve(), _interpreter().parent):
        if not any(extra.is_relative_to(Path(path).resolve()) for path in read_only):
            read_only.append(str(extra))
    return links, tuple(read_only)


def _share(limits: Limits) -> int:
    """Without a cgroup: how many processes the memory budget is divided across."""
    return max(2, min(limits.processes, limits.memory_mb // 128))


def _run(
    how: Isolation, job: dict[str, Any], tests: bytes | None, stdin: bytes | None, limits: Limits,
    cancel: threading.Event | None = None,
) -> RunResult:  # fmt: skip
    if cancel is not None and cancel.is_set():
        raise CheckCancelled("the check was cancelled")
    group = cgroups.make_group(limits.memory_mb << 20, limits.processes) if how.method != "none" else None
    share = 1 if group is not None else _share(limits)
    links, read_only = _system_view()
    job |= {
        "symlinks": links, "read_only": read_only, "disk_mb": limits.disk_mb,
        "rlimits": {"cpu": int(limits.cpu_s) + 1, "as": (limits.memory_mb << 20) // share,
                    "fsize": limits.file_size_mb << 20, "nofile": limits.open_files,
                    "nproc": None if group is not None else share, "core": 0},
    }  # fmt: skip
    # As root the program runs as nobody; without namespaces (--no-sandbox) it runs as vibe's user.
    drop = NOBODY if os.geteuid() == 0 and how.method != "none" else -1
    work = tempfile.mkdtemp(prefix="vibe-sandbox-")
    try:

        def command(payload: int, status: int, verdict: int) -> list[str]:
            boot = [str(_interpreter()), "-I", "-S"]
            arguments = [str(payload), str(status), str(verdict), str(drop)]
            if how.method == "bubblewrap":
                return [*_bwrap(links, read_only, limits), *boot, "/.vibe/boot.py", "bubblewrap", *arguments, "-"]
            if how.method == "namespaces":
                unshare = [_launcher("namespaces") or "unshare", "--mount", "--net", "--pid", "--ipc", "--uts",
                           "--fork", "--kill-child", *([] if drop >= 0 else ["--map-root-user"]), "--"]  # fmt: skip
                return [*unshare, *boot, str(HERE / "boot.py"), "namespaces", *arguments, work]
            return [*boot, str(HERE / "boot.py"), "none", *arguments, work]

        messages = [json.dumps(job).encode(), *([tests] if tests is not None else [])]
        outcome = launch(command, messages, stdin, wall_s=limits.wall_s, output_bytes=limits.output_bytes,
                         stop_at_output_cap=job["kind"] == "program", group=group, cwd=work,
                         cancel=cancel)  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if group is not None:
            group.remove()  # launch removed it already, unless it failed before the program ran
    if cancel is not None and cancel.is_set():
        raise CheckCancelled("the check was cancelled")
    if outcome.setup_error is not None:
        raise SandboxFailure(f"the sandbox could not be set up: {outcome.setup_error}")
    ended = outcome.timed_out or outcome.output_overflow or outcome.out_of_memory  # vibe saw why itself
    if outcome.exit_code is None and outcome.signal is None and not ended:
        raise SandboxFailure(f"the sandbox ended without a report: {outcome.stderr.strip()[-200:] or 'no output'}")
    status, detail = _status(outcome)
    return RunResult(status, outcome.exit_code, outcome.stdout, outcome.stderr, outcome.wall_s, detail,
                     outcome.verdict)  # fmt: skip


def _bwrap(links: dict[str, str], read_only: tuple[str, ...], limits: Limits) -> list[str]:
    command = [_launcher("bubblewrap") or "bwrap", "--unshare-net", "--unshare-pid", "--unshare-ipc",
               "--unshare-uts", "--unshare-cgroup-try", "--die-with-parent", "--as-pid-1", "--new-session",
               "--clearenv"]  # fmt: skip
    for link, target in links.items():
        command += ["--symlink", target, link]
    for path in read_only:
        for parent in reversed(Path(path).parents[:-1]):  # bubblewrap would make them 0700
            command += ["--dir", str(parent)]
        command += ["--ro-bind", path, path]
    command += ["--ro-bind", str(HERE), "/.vibe", "--proc", "/proc", "--remount-ro", "/proc", "--dev", "/dev",
                "--perms", "1777", "--size", str(SHM_MB << 20), "--tmpfs", "/dev/shm", "--remount-ro", "/dev",
                "--perms", "1777", "--size", str(limits.disk_mb << 20), "--tmpfs", "/tmp", "--remount-ro", "/",
                "--chdir", "/", "--"]  # fmt: skip
    return command


def _status(outcome: Outcome) -> tuple[RunStatus, str]:
    """From causes vibe saw itself: its timer, the output cap, the kernel's signals and OOM count."""
    if outcome.output_overflow:
        return "output_limit", "output limit exceeded"
    if outcome.timed_out:
        return "time_limit", f"killed after {outcome.wall_s:.1f}s"
    if outcome.signal == signal.SIGXCPU:
        return "time_limit", "CPU time limit"
    if outcome.out_of_memory:  # somewhere in the tree: the check went over its budget
        return "memory_limit", "killed by the kernel: out of memory"
    if outcome.exit_code == 0:
        return "ok", ""
    if outcome.signal is not None:
        return "runtime_error", f"killed by signal {outcome.signal}"
    # Python's own MemoryError under the per-process limit: the program's word, but it only ever
    # names one failure rather than another.
    last = outcome.stderr.strip().rsplit("\n", 1)[-1]
    if last.startswith("MemoryError"):
        return "memory_limit", "MemoryError"
    return "runtime_error", f"exit code {outcome.exit_code}"
