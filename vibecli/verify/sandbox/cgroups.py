"""A control group for each check: one memory and process budget for the whole program tree.

rlimits bind each process on its own, so four processes under a 1 GB limit could hold 4 GB. A
cgroup bounds them together. vibe makes one below its own cgroup, for the memory and pids
controllers, in cgroup v2 (one directory) or v1 (one per controller), where it may: as root, or
where the service manager delegated the subtree. Where it may not, `available()` is False and
the sandbox falls back to dividing the memory budget across the process limit.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

CONTROLLERS = ("memory", "pids")


def _mounts() -> dict[str, Path]:
    """Mount point of each controller's hierarchy ("" for cgroup v2's unified one)."""
    found: dict[str, Path] = {}
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        before, _, after = line.partition(" - ")
        fstype, _, options = after.split(" ", 2) if after.count(" ") >= 2 else (after, "", "")
        point = Path(before.split()[4].encode().decode("unicode_escape"))
        if fstype == "cgroup2":
            found.setdefault("", point)
        elif fstype == "cgroup":
            for option in options.split(","):
                if option in CONTROLLERS:
                    found.setdefault(option, point)
    return found


def _own_directories() -> dict[str, Path]:
    """This process's cgroup directory for each controller it can put a limit in."""
    mounts = _mounts()
    found: dict[str, Path] = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, names, path = line.split(":", 2)
        for name in names.split(",") if names else [""]:
            if name in mounts:
                found[name] = mounts[name] / path.lstrip("/")
    if "" in found and not set(CONTROLLERS) - set(found):
        found.pop("")  # v1 has both controllers: use them
    if "" in found:
        unified = found.pop("")
        enabled = (unified / "cgroup.subtree_control").read_text().split() if unified.is_dir() else []
        found.update({name: unified for name in CONTROLLERS if name in enabled})
    return {name: path for name, path in found.items() if name in CONTROLLERS}


@dataclass
class CheckGroup:
    """The cgroup(s) of one check; `join` runs in the sandbox's first process before it execs."""

    directories: dict[str, Path]  # controller -> its directory for this check

    def join(self) -> None:
        pid = str(os.getpid()).encode()
        for directory in set(self.directories.values()):
            fd = os.open(directory / "cgroup.procs", os.O_WRONLY)
            try:
                os.write(fd, pid)
            finally:
                os.close(fd)

    def out_of_memory(self) -> bool:
        """Did the kernel's OOM killer act in this group (v2: memory.events; v1: failcnt)?"""
        directory = self.directories["memory"]
        events = directory / "memory.events"
        if events.exists():
            counts = dict(line.split() for line in events.read_text().splitlines() if line.count(" ") == 1)
            return int(counts.get("oom_kill", 0)) > 0 or int(counts.get("oom", 0)) > 0
        control = directory / "memory.oom_control"
        if control.exists():
            counts = dict(line.split() for line in control.read_text().splitlines() if line.count(" ") == 1)
            if int(counts.get("oom_kill", 0)) > 0:
                return True
        return int((directory / "memory.failcnt").read_text() or 0) > 0

    def remove(self) -> None:
        """Kill whatever is left in the group, then remove it (within 2 s: dying processes must be
        reaped before the kernel lets the directory go)."""
        for directory in set(self.directories.values()):
            deadline = time.monotonic() + 2.0
            while directory.exists() and time.monotonic() < deadline:
                with contextlib.suppress(OSError):
                    for pid in (directory / "cgroup.procs").read_text().split():
                        with contextlib.suppress(OSError):
                            os.kill(int(pid), signal.SIGKILL)
                    directory.rmdir()
                    break
                time.sleep(0.002)


def make_group(memory_bytes: int, processes: int) -> CheckGroup | None:
    """A new group with these limits, or None where this process may not make one."""
    own = _own_directories() if available() else {}
    if set(own) != set(CONTROLLERS):
        return None
    name = f"vibe-sandbox-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    group = CheckGroup({controller: own[controller] / name for controller in CONTROLLERS})
    try:
        for directory in set(group.directories.values()):
            directory.mkdir()
        memory = group.directories["memory"]
        if (memory / "memory.max").exists():
            (memory / "memory.max").write_text(str(memory_bytes))
            with contextlib.suppress(OSError):
                (memory / "memory.swap.max").write_text("0")
        else:
            (memory / "memory.limit_in_bytes").write_text(str(memory_bytes))
            with contextlib.suppress(OSError):  # absent without swap accounting
                (memory / "memory.memsw.limit_in_bytes").write_text(str(memory_bytes))
        (group.directories["pids"] / "pids.max").write_text(str(processes))
    except OSError:
        group.remove()
        return None
    return group


@functools.cache
def available() -> bool:
    """Whether a check's cgroup can be made here (probed once)."""
    try:
        own = _own_directories()
    except (OSError, ValueError):
        return False
    if set(own) != set(CONTROLLERS) or not all(os.access(path, os.W_OK) for path in own.values()):
        return False
    probe = CheckGroup({})
    try:
        probe.directories = {c: own[c] / f"vibe-probe-{os.getpid()}-{uuid.uuid4().hex[:8]}" for c in CONTROLLERS}
        for directory in set(probe.directories.values()):
            directory.mkdir()
        return (probe.directories["pids"] / "pids.max").exists()
    except OSError:
        return False
    finally:
        probe.remove()
