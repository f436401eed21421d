"""The sandbox's init: PID 1 of its namespaces, the one process of the sandbox that vibe trusts.

vibe starts it under bubblewrap (`bwrap … --as-pid-1 -- PYTHON -I -S /.vibe/boot.py …`) or,
without bubblewrap, under `unshare --mount --net --pid --ipc --uts --fork --kill-child
[--map-root-user] -- PYTHON -I -S boot.py …`. Its arguments: FS PAYLOAD_FD STATUS_FD
VERDICT_FD DROP_UID ROOT. It uses the standard library only.

1. It reads the job (the program, its limits and the mounts to make) from the payload
   descriptor: a length-prefixed JSON header; for a tests job the tests follow, for the harness.
2. Under `unshare` it builds the filesystem that bubblewrap would: a tmpfs root holding only the
   system directories, read-only; a fresh read-only /proc; a /dev with a few device nodes,
   read-only; a sized tmpfs /tmp holding the work directory; then chroot. Nothing of the user's
   (home, the project, the tests file) is in that root.
3. It forks the program, which drops every capability (and, when vibe runs as root, becomes
   DROP_UID), takes the rlimits and becomes either `python main.py` (stdin/stdout tests) or the
   harness (assert tests, see harness.py).
4. When the program ends it kills every process left in the namespace, whatever they did
   (`setsid`, double fork), and reports the program's exit on the status descriptor.

The program has neither the status nor, in its solution process, the verdict descriptor, and
this process is non-dumpable and PID 1 (signals it does not handle are not delivered from
inside): what vibe reads there cannot be forged. It dies with its parent (`--kill-child`, or
bubblewrap's `--die-with-parent`), and with it the whole namespace.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import resource
import signal
import sys
from typing import Any

try:
    from . import harness
except ImportError:  # run as a script inside the sandbox: the harness lies beside it
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import harness  # type: ignore[no-redef,import-not-found]

    del sys.path[0]

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_REC = 32, 1024, 2048, 4096, 16384
MS_PRIVATE, MS_RELATIME, MS_STRICTATIME = 1 << 18, 1 << 21, 1 << 24
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 4, 24, 38
_OPTION_FLAGS = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC, "noatime": MS_NOATIME,
                 "nodiratime": MS_NODIRATIME, "relatime": MS_RELATIME, "strictatime": MS_STRICTATIME}  # fmt: skip
DEVICES = ("null", "zero", "full", "random", "urandom")
ENVIRONMENT = {"PATH": "/usr/bin:/bin", "PYTHONIOENCODING": "utf-8"}
RLIMITS = {"cpu": resource.RLIMIT_CPU, "as": resource.RLIMIT_AS, "fsize": resource.RLIMIT_FSIZE,
           "nofile": resource.RLIMIT_NOFILE, "nproc": resource.RLIMIT_NPROC, "core": resource.RLIMIT_CORE}  # fmt: skip

_libc = ctypes.CDLL(None, use_errno=True)


class SetupError(Exception):
    """The sandbox could not be built: vibe's fault or the machine's, never the program's."""


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    def encode(text: str | None) -> bytes | None:
        return text.encode() if text is not None else None

    if _libc.mount(encode(source), encode(target), encode(fstype), flags, encode(data)) != 0:
        raise SetupError(f"cannot mount {target} ({os.strerror(ctypes.get_errno())})")


def _locked_flags(point: str) -> int:
    """The flags a read-only remount of `point` must keep (a user namespace may not clear them)."""
    flags = 0
    with open("/proc/self/mountinfo") as info:
        for line in info:
            fields = line.split()
            if fields[4].encode().decode("unicode_escape") == point:  # `\040` is a space
                flags = sum(_OPTION_FLAGS.get(option, 0) for option in fields[5].split(","))
    return flags


def _submounts(point: str) -> list[str]:
    with open("/proc/self/mountinfo") as info:
        points = [line.split()[4].encode().decode("unicode_escape") for line in info]
    return [p for p in points if p == point or p.startswith(point.rstrip("/") + "/")]


def bind_read_only(source: str, target: str) -> None:
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "a").close()
    mount(source, target, None, MS_BIND | MS_REC)
    for point in _submounts(target):
        mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | _locked_flags(point))


def build_root(root: str, job: dict[str, Any]) -> None:
    """bubblewrap's view, made by hand: see the module docstring, step 2."""
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m")
    for link, target in dict(job["symlinks"]).items():
        os.makedirs(os.path.dirname(root + link), exist_ok=True)
        os.symlink(target, root + link)
    for path in list(job["read_only"]):
        if os.path.exists(path):
            bind_read_only(path, root + path)
    os.makedirs(root + "/proc")
    mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY)
    os.makedirs(root + "/dev")
    mount("tmpfs", root + "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k")
    for device in DEVICES:
        open(f"{root}/dev/{device}", "a").close()
        mount(f"/dev/{device}", f"{root}/dev/{device}", None, MS_BIND)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                         ("stderr", "/proc/self/fd/2")):  # fmt: skip
        os.symlink(target, f"{root}/dev/{name}")
    os.makedirs(root + "/dev/shm")
    mount("tmpfs", root + "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=8m")
    for point in (root + "/dev", *(f"{root}/dev/{device}" for device in DEVICES)):
        mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | _locked_flags(point))
    os.makedirs(root + "/tmp")
    disk = f"mode=1777,size={job['disk_mb']}m"
    mount("tmpfs", root + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, disk)
    mount(None, root, None, MS_REMOUNT | MS_BIND | MS_RDONLY | _locked_flags(root))
    os.chroot(root)


def prepare_work(job: dict[str, Any], work: str, drop_uid: int) -> None:
    os.makedirs(work, mode=0o700, exist_ok=True)
    # surrogatepass: a lone surrogate in the source is the program's SyntaxError, not a setup failure
    with open(os.path.join(work, "main.py"), "w", encoding="utf-8", errors="surrogatepass") as handle:
        handle.write(str(job["source"]))
    if drop_uid >= 0:
        for path in (work, os.path.join(work, "main.py")):
            os.chown(path, drop_uid, drop_uid)
    os.chdir(work)


class _CapHeader(ctypes.Structure):
    _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))


def drop_privileges(uid: int) -> None:
    """Become `uid` (real root only); keep no capability and no way to regain one."""
    for capability in range(64):  # the bounding set first: emptying it needs a capability
        _libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0)  # fails harmlessly past the last one
    if uid >= 0:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    header, data = _CapHeader(0x20080522, 0), (ctypes.c_uint32 * 6)()  # _LINUX_CAPABILITY_VERSION_3
    if _libc.capset(ctypes.byref(header), data) != 0:  # a namespace's root keeps none either
        raise SetupError("cannot drop capabilities")
    if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise SetupError("cannot set no_new_privs")


def start_program(job: dict[str, Any], fds: tuple[int, int, int], drop_uid: int) -> int:
    payload_fd, status_fd, verdict_fd = fds
    pid = os.fork()
    if pid:
        return pid
    try:
        os.close(status_fd)
        drop_privileges(drop_uid)
        for name, value in dict(job["rlimits"]).items():
            if value is not None:
                resource.setrlimit(RLIMITS[name], (value, value))
        os.umask(0o077)
        if job["kind"] == "program":
            os.close(payload_fd)
            os.close(verdict_fd)
            python = sys.executable
            os.execve(python, [python, "-I", "main.py"], ENVIRONMENT)
        os.environ.clear()
        os.environ.update(ENVIRONMENT)
        import site

        # The solution may import what the base interpreter has installed. The directories only:
        # running their .pth files (site.main) would cost each check more than all the rest.
        sys.path.extend(path for path in site.getsitepackages() if os.path.isdir(path))
        harness.run(payload_fd, verdict_fd, str(job["source"]))
    except BaseException as error:
        sys.stderr.write(f"vibe sandbox: the program could not start: {error}\n")
    os._exit(127)


def wait_for(pid: int) -> int:
    """Reap every child (PID 1's duty) until `pid` ends; its wait status."""
    while True:
        try:
            reaped, status = os.wait()
        except ChildProcessError:
            return 127 << 8
        if reaped == pid:
            return status


def kill_everyone() -> None:
    """Every process left in this PID namespace: kill(-1) from its PID 1 reaches all of them."""
    if os.getpid() != 1:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(-1, signal.SIGKILL)
    while True:
        try:
            os.wait()
        except ChildProcessError:
            return


def report(status_fd: int, record: dict[str, object]) -> None:
    harness.write_message(status_fd, json.dumps(record).encode())


def main() -> None:
    fs, payload_fd, status_fd, verdict_fd, drop_uid, root = sys.argv[1], *map(int, sys.argv[2:6]), sys.argv[6]
    _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    try:
        job = json.loads(harness.read_message(payload_fd))
        if fs == "namespaces":
            build_root(root, job)
        prepare_work(job, root if fs == "none" else "/tmp/work", drop_uid)
        pid = start_program(job, (payload_fd, status_fd, verdict_fd), drop_uid)
    except (SetupError, OSError, ValueError, EOFError) as error:
        report(status_fd, {"event": "setup_failed", "message": str(error)})
        os._exit(125)
    os.close(verdict_fd)  # the program's copies are the only ones left inside
    os.close(payload_fd)
    status = wait_for(pid)
    kill_everyone()
    exited = os.WIFEXITED(status)
    report(status_fd, {"event": "exited", "code": os.WEXITSTATUS(status) if exited else None,
                       "signal": None if exited else os.WTERMSIG(status)})  # fmt: skip
    os._exit(0)


if __name__ == "__main__":
    main()
