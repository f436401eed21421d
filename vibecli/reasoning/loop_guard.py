"""Detecting a trace stuck in a loop ("but but we we but but we we …").

Two signs of degenerate repetition, checked on the tail of the thinking text:

1. the tail is one unit (up to `max_period` characters) repeated `min_repeats` times in a
   row, covering at least `min_span` characters;
2. the last `window_lines` non-empty lines hold at most `max_distinct_lines` distinct lines.

Legitimate repetitive work (an arithmetic table, a long case check) changes its numbers from
line to line, so neither sign fires on it. Working on text, not token ids, keeps the guard
the same on every backend.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True)
class LoopGuardSettings:
    """Thresholds; the defaults fire only on long, exact repetition."""

    min_repeats: int = 12
    min_span: int = 240
    max_period: int = 200
    window_lines: int = 40
    max_distinct_lines: int = 3
    check_every: int = 32  # characters of new text between checks, to bound the cost


@dataclass(frozen=True)
class LoopDetection:
    unit: str
    repeats: int


class LoopGuard:
    """Feed thinking text as it arrives; `feed` returns a detection once the trace loops."""

    def __init__(self, settings: LoopGuardSettings | None = None) -> None:
        self.settings = settings or LoopGuardSettings()
        keep = max(self.settings.max_period * self.settings.min_repeats, 4 * self.settings.min_span, 8192)
        self._keep = keep
        self._tail = ""
        self._since_check = 0

    def feed(self, text: str) -> LoopDetection | None:
        self._tail = (self._tail + text)[-self._keep :]
        self._since_check += len(text)
        if self._since_check < self.settings.check_every:
            return None
        self._since_check = 0
        return self._periodic_tail() or self._few_distinct_lines()

    def _periodic_tail(self) -> LoopDetection | None:
        s, tail = self.settings, self._tail
        for period in range(1, min(s.max_period, len(tail) // s.min_repeats) + 1):
            unit = tail[-period:]
            repeats = max(s.min_repeats, -(-s.min_span // period))  # enough repeats to cover min_span
            if len(tail) >= period * repeats and tail.endswith(unit * repeats):
                return LoopDetection(unit=unit, repeats=repeats)
        return None

    def _few_distinct_lines(self) -> LoopDetection | None:
        s = self.settings
        lines = [line.strip() for line in self._tail.splitlines()[:-1] if line.strip()]
        window = lines[-s.window_lines :]
        if len(window) < s.window_lines or sum(len(line) for line in window) < s.min_span:
            return None
        counts = Counter(window)
        if len(counts) <= s.max_distinct_lines:
            unit, repeats = counts.most_common(1)[0]
            return LoopDetection(unit=unit, repeats=repeats)
        return None
