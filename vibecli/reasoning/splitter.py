"""Split a streamed response into thinking and answer, incrementally.

VibeThinker writes `<think>…</think>` and then the answer, but real outputs vary: a chatty
line before `<think>`, a `</think>` with no opening tag (templates that pre-fill it), a
trace cut off by the token limit, tags split across deltas. Whatever the deltas, the same
text gives the same thinking and answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

OPEN_TAG = "<think>"
CLOSE_TAG = "</think>"
# Without any tag this far in, the output is taken to be a plain answer.
UNTAGGED_WINDOW = 1024

SegmentKind = Literal["thinking", "answer"]


@dataclass(frozen=True)
class Segment:
    kind: SegmentKind
    text: str


def _partial_tag_length(text: str, tag: str) -> int:
    """Length of the longest tail of `text` that is a proper prefix of `tag`."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:size]):
            return size
    return 0


class ThinkSplitter:
    """Feed text deltas with `feed`, then call `finish`; both return the new segments."""

    def __init__(self) -> None:
        self._state: Literal["pre", "thinking", "answer"] = "pre"
        self._buffer = ""
        self.thinking_closed = False  # saw `</think>`

    @property
    def in_answer(self) -> bool:
        return self._state == "answer"

    def feed(self, text: str) -> list[Segment]:
        self._buffer += text
        out: list[Segment] = []
        while True:
            if self._state == "pre":
                if not self._scan_pre(out):
                    break
            elif self._state == "thinking":
                if not self._scan_thinking(out):
                    break
            else:
                self._emit(out, "answer", self._buffer)
                self._buffer = ""
                break
        return out

    def finish(self) -> list[Segment]:
        """Flush what is held: undecided text before any tag is an answer."""
        out: list[Segment] = []
        kind: SegmentKind = "thinking" if self._state == "thinking" else "answer"
        self._emit(out, kind, self._buffer)
        self._buffer = ""
        return out

    def _scan_pre(self, out: list[Segment]) -> bool:
        """Before any tag; returns True when the state changed and scanning should go on."""
        open_at, close_at = self._buffer.find(OPEN_TAG), self._buffer.find(CLOSE_TAG)
        if close_at >= 0 and (open_at < 0 or close_at < open_at):
            # A closing tag with no opening one: everything before it was thinking.
            self._emit(out, "thinking", self._buffer[:close_at])
            self._buffer = self._buffer[close_at + len(CLOSE_TAG) :]
            self._state, self.thinking_closed = "answer", True
            return True
        if open_at >= 0:
            # A preamble before <think> belongs to the reasoning, not the answer.
            self._emit(out, "thinking", self._buffer[:open_at])
            self._buffer = self._buffer[open_at + len(OPEN_TAG) :]
            self._state = "thinking"
            return True
        if len(self._buffer) > UNTAGGED_WINDOW:
            self._state = "answer"
            return True
        return False

    def _scan_thinking(self, out: list[Segment]) -> bool:
        close_at = self._buffer.find(CLOSE_TAG)
        if close_at >= 0:
            self._emit(out, "thinking", self._buffer[:close_at])
            self._buffer = self._buffer[close_at + len(CLOSE_TAG) :]
            self._state, self.thinking_closed = "answer", True
            return True
        keep = _partial_tag_length(self._buffer, CLOSE_TAG)
        self._emit(out, "thinking", self._buffer[: len(self._buffer) - keep])
        self._buffer = self._buffer[len(self._buffer) - keep :]
        return False

    @staticmethod
    def _emit(out: list[Segment], kind: SegmentKind, text: str) -> None:
        if text:
            out.append(Segment(kind, text))


def split_text(text: str) -> tuple[str, str, bool]:
    """Split a whole response: `(thinking, answer, thinking_closed)`."""
    splitter = ThinkSplitter()
    segments = splitter.feed(text) + splitter.finish()
    thinking = "".join(s.text for s in segments if s.kind == "thinking")
    answer = "".join(s.text for s in segments if s.kind == "answer")
    return thinking, answer, splitter.thinking_closed
