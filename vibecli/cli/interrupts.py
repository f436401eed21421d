"""Ctrl-C for commands that generate: escalate from wrapping up, to cancelling, to aborting."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any


class InterruptHandler:
    """Ctrl-C, escalating: the first wraps up (forces the answer now; during the answer it
    cancels), the second cancels cleanly, a third aborts at once."""

    def __init__(self, *, exiting: bool = True, sigterm: bool = False) -> None:
        self.wrap_up = threading.Event()
        self.cancel = threading.Event()
        self.terminated = False  # SIGTERM arrived (with `sigterm`): it cancels like a second Ctrl-C
        self._exiting = exiting  # the command ends after this block (False in the REPL)
        self._sigterm = sigterm
        self._previous: signal.Handlers | None = None
        self._previous_term: Any = None

    def __enter__(self) -> InterruptHandler:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._on_signal)  # type: ignore[assignment]
            if self._sigterm:
                self._previous_term = signal.signal(signal.SIGTERM, self._on_term)
        return self

    @property
    def exit_code(self) -> int:
        """128 + the signal: 143 after SIGTERM, 130 after Ctrl-C."""
        return 128 + (signal.SIGTERM if self.terminated else signal.SIGINT)

    def __exit__(self, *exc: object) -> None:
        if self._previous is None:
            return
        if self._sigterm:
            signal.signal(signal.SIGTERM, self._previous_term)
        # After an interrupt the command is on its way out: a further press must not turn
        # the clean exit (130) into a traceback.
        interrupted = self._exiting and (self.wrap_up.is_set() or self.cancel.is_set())
        signal.signal(signal.SIGINT, signal.SIG_IGN if interrupted else self._previous)

    def _on_term(self, signum: int, frame: FrameType | None) -> None:
        self.terminated = True
        self.wrap_up.set()
        self.cancel.set()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.cancel.is_set():
            raise KeyboardInterrupt
        if self.wrap_up.is_set():
            self.cancel.set()
        self.wrap_up.set()
