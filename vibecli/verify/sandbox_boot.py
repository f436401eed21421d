"""Sets up the sandbox's filesystem inside fresh namespaces, then runs the untrusted program.

vibe starts this script as `unshare --mount --net --pid --ipc --uts --fork --kill-child
--mount-proc [--map-root-user] -- PYTHON -I sandbox_boot.py WORK DROP_UID`, when bubblewrap is
not installed. Inside the new mount namespace it is root (really, or mapped), so it can:
make every mount read-only, put empty tmpfs over /tmp, /var/tmp, /dev/shm, /run and the home
directories, bring back the interpreter's own directory read-only, copy the program into a
private /tmp/work, drop to DROP_UID when it is real root, and exec the program.

It runs under the base interpreter in isolated mode, so it imports nothing from vibe.
Exit status 125 means the sandbox itself could not be set up.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_REC = 32, 1024, 2048, 4096, 16384
MS_PRIVATE, MS_RELATIME, MS_STRICTATIME = 1 << 18, 1 << 21, 1 << 24
PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 24, 38
_OPTION_FLAGS = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC, "noatime": MS_NOATIME,
                 "nodiratime": MS_NODIRATIME, "relatime": MS_RELATIME, "strictatime": MS_STRICTATIME}  # fmt: skip
HIDDEN = ("/tmp", "/var/tmp", "/dev/shm", "/run", "/root", "/home")
# Kernel filesystems that stay as they are: /proc is replaced, the rest are not writable to the program.
SPECIAL = ("/proc", "/sys", "/dev")

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def fail(message: str) -> None:
    sys.stderr.write(f"sandbox setup failed: {message}\n")
    os._exit(125)


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> int:
    def encode(text: str | None) -> bytes | None:
        return text.encode() if text is not None else None

    if _libc.mount(encode(source), encode(target), encode(fstype), flags, encode(data)) != 0:
        return ctypes.get_errno()
    return 0


def mount_points() -> list[tuple[str, int]]:
    """Every mount point with the flags its read-only remount must keep, parents first."""
    found = []
    with open("/proc/self/mountinfo") as info:
        for line in info:
            fields = line.split()
            point = fields[4].encode().decode("unicode_escape")  # `\040` is a space
            flags = 0
            for option in fields[5].split(","):
                flags |= _OPTION_FLAGS.get(option, 0)
            found.append((point, flags))
    return sorted(found, key=lambda item: item[0].count("/") if item[0] != "/" else 0)


def under(path: str, roots: tuple[str, ...]) -> bool:
    return any(path == root or path.startswith(root + "/") for root in roots)


def read_only_root() -> None:
    if mount(None, "/", None, MS_REC | MS_PRIVATE) != 0:
        fail("cannot make the mounts private")
    for point, flags in mount_points():
        if under(point, SPECIAL) or under(point, HIDDEN):
            continue
        error = mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | flags)
        if error and os.path.exists(point):
            fail(f"cannot make {point} read-only ({os.strerror(error)})")


def hide(private: tuple[str, ...], keep: str) -> None:
    """Empty tmpfs over each private directory; `keep` (the interpreter) is bound back read-only."""
    kept = os.open(keep, os.O_RDONLY | os.O_DIRECTORY)
    for path in private:
        real_directory = os.path.isdir(path) and not os.path.islink(path)
        if real_directory and mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64m") != 0:
            fail(f"cannot hide {path}")
    if under(keep, private):
        os.makedirs(keep, exist_ok=True)
        if mount(f"/proc/self/fd/{kept}", keep, None, MS_BIND | MS_REC) != 0:
            fail(f"cannot bind {keep}")
        mount(None, keep, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    os.close(kept)


def drop_privileges(uid: int) -> None:
    """Become `uid` (real root only), and keep no capability and no way to regain one, so that
    the program cannot undo the mounts (in a user namespace it stays uid 0, without powers)."""
    for capability in range(64):  # the bounding set first: emptying it needs a capability
        _libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0)  # fails harmlessly past the last one
    if uid >= 0:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        fail("cannot set no_new_privs")


def main() -> None:
    work, drop_uid = sys.argv[1], int(sys.argv[2])
    os.umask(0o022)  # directories made for mount points must be traversable by the program
    with open(os.path.join(work, "main.py"), "rb") as handle:
        program = handle.read()
    read_only_root()
    hide(HIDDEN, sys.base_prefix)
    os.makedirs("/tmp/work", mode=0o700)
    with open("/tmp/work/main.py", "wb") as handle:
        handle.write(program)
    os.chdir("/tmp/work")
    if drop_uid >= 0:
        for path in ("/tmp/work", "/tmp/work/main.py"):
            os.chown(path, drop_uid, drop_uid)
    os.umask(0o077)
    drop_privileges(drop_uid)
    python = sys.executable
    os.execve(python, [python, "-I", "main.py"], {"PATH": "/usr/bin:/bin", "PYTHONIOENCODING": "utf-8"})


if __name__ == "__main__":
    main()
