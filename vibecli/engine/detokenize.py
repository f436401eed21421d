"""Turning a token stream into text, one token at a time, and stopping on strings.

Shared by local backends: tokens carry byte fragments, and a character split across two
tokens must not come out as a replacement character.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence


class IncrementalDetokenizer:
    """Decode tokens as they arrive, emitting text only once it is complete.

    Decodes a short window (the previous token or so plus the new ones) and emits the part
    past what was already emitted, holding back while the window ends in a partial
    multi-byte character. This is the prefix-offset scheme vLLM and TGI use; the window
    keeps each step O(1) in the length of the output.
    """

    def __init__(self, decode: Callable[[Sequence[int]], str]) -> None:
        self._decode = decode
        self._tokens: list[int] = []
        self._prefix_offset = 0
        self._read_offset = 0

    def push(self, token_id: int) -> str:
        """Add one token; return the text it completes (often all of it, sometimes none)."""
        self._tokens.append(token_id)
        prefix_text = self._decode(self._tokens[self._prefix_offset : self._read_offset])
        new_text = self._decode(self._tokens[self._prefix_offset :])
        if len(new_text) > len(prefix_text) and not new_text.endswith("\ufffd"):
            self._prefix_offset = self._read_offset
            self._read_offset = len(self._tokens)
            return new_text[len(prefix_text) :]
        return ""

    def flush(self) -> str:
        """Whatever is still held back (an incomplete character at the very end)."""
        prefix_text = self._decode(self._tokens[self._prefix_offset : self._read_offset])
        new_text = self._decode(self._tokens[self._prefix_offset :])
        self._prefix_offset = self._read_offset = len(self._tokens)
        return new_text[len(prefix_text) :]


class StopStringMatcher:
    """Hold back text that might be the start of a stop string; report when one completes."""

    def __init__(self, stop_strings: Sequence[str]) -> None:
        self._stops = [s for s in stop_strings if s]
        self._held = ""
        self.stopped = False

    def feed(self, text: str) -> str:
        """Return the text that is safe to emit now; sets `stopped` when a stop string appears."""
        if self.stopped:
            return ""
        self._held += text
        if not self._stops:
            out, self._held = self._held, ""
            return out
        hits = [i for i in (self._held.find(s) for s in self._stops) if i >= 0]
        if hits:
            self.stopped = True
            out, self._held = self._held[: min(hits)], ""
            return out
        keep = max((self._overlap(s) for s in self._stops), default=0)
        out = self._held[: len(self._held) - keep]
        self._held = self._held[len(self._held) - keep :]
        return out

    def flush(self) -> str:
        out, self._held = ("" if self.stopped else self._held), ""
        return out

    def _overlap(self, stop: str) -> int:
        """Length of the longest tail of the held text that is a proper prefix of `stop`."""
        for size in range(min(len(stop) - 1, len(self._held)), 0, -1):
            if self._held.endswith(stop[:size]):
                return size
        return 0
