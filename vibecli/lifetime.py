"""Child processes that die with their parent.

A process group alone does not help when the parent is SIGKILLed: nobody is left to kill the
group. On Linux the kernel can send a signal to a child when its parent dies
(`PR_SET_PDEATHSIG`); elsewhere a child can watch a pipe whose only writer is the parent.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading

_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """Ask the kernel to send `sig` to this process when its parent dies (Linux; a no-op elsewhere).

    Call it in the child: as `preexec_fn` of `subprocess.Popen`, or first thing in a
    multiprocessing target. The signal follows the parent *thread* that started the child, so
    start long-lived children from a thread that lives as long as they should.
    """
    if not sys.platform.startswith("linux"):
        return
    # The process's own symbols hold libc's prctl; find_library would spawn ldconfig, which a
    # preexec_fn (a forked child of a threaded parent) must not do.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)
    if os.getppid() == 1:  # the parent died before prctl took effect
        os.kill(os.getpid(), sig)


def exit_when_closed(read_fd: int) -> None:
    """Exit this process once `read_fd` reports end of file (its writer, the parent, is gone).

    The portable alternative to `die_with_parent`: the parent keeps the write end of a pipe
    open and passes the read end to the child, which calls this.
    """

    def watch() -> None:
        try:
            while os.read(read_fd, 1):
                pass
        except OSError:
            pass
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="vibe-parent-watch").start()
