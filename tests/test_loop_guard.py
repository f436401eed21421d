"""The loop guard fires on degenerate repetition and stays quiet on repetitive real work."""

from __future__ import annotations

import random

import pytest

from vibecli.reasoning.loop_guard import LoopGuard, LoopGuardSettings


def feed_in_chunks(guard: LoopGuard, text: str, seed: int = 0) -> int | None:
    """Feed `text` in random-sized chunks; return the offset where the guard fired."""
    rng = random.Random(seed)
    position = 0
    while position < len(text):
        size = rng.randint(1, 12)
        if guard.feed(text[position : position + size]):
            return position + size
        position += size
    return None


DEGENERATE = {
    "word stutter": "Let me check the parity. " + "but but we we " * 60,
    "single token": "So the answer is " + "9" * 600,
    "repeated sentence": "Wait, let me recompute. " * 40,
    "cycle of lines": "Try x = 3.\n" + "So x = 3 works.\nBut check x = 3 again.\nHmm.\n" * 30,
}

LEGITIMATE = {
    "times table": "\n".join(f"{n} * 7 = {n * 7}" for n in range(1, 200)),
    "long addition": " ".join(
        f"{a}+{b}+{c}={a + b + c}" for a, b, c in zip(range(300), range(7, 307), [0, 1] * 150, strict=True)
    ),
    "case analysis": "\n".join(f"Case n = {n}: n^2 mod 5 = {n * n % 5}, not a solution." for n in range(120)),
    "binary listing": "\n".join(format(n, "010b") for n in range(300)),
    "digit run in a number": "The product is 1" + "0" * 100 + ", a googol.",
    "markdown table": "| n | f(n) |\n|---|---|\n" + "\n".join(f"| {n} | {n * n + 1} |" for n in range(150)),
}


@pytest.mark.parametrize("name", DEGENERATE)
def test_fires_on_degenerate_repetition(name: str) -> None:
    assert feed_in_chunks(LoopGuard(), DEGENERATE[name]) is not None


@pytest.mark.parametrize("name", LEGITIMATE)
def test_quiet_on_legitimate_repetitive_work(name: str) -> None:
    assert feed_in_chunks(LoopGuard(), LEGITIMATE[name]) is None


def test_fires_soon_after_the_loop_starts() -> None:
    prefix = "Some honest reasoning about the problem. " * 3
    fired_at = feed_in_chunks(LoopGuard(), prefix + "we we " * 200)
    assert fired_at is not None and fired_at - len(prefix) < 400


def test_thresholds_are_tunable() -> None:
    text = "ab " * 30  # 90 characters of repetition
    assert feed_in_chunks(LoopGuard(), text) is None
    assert feed_in_chunks(LoopGuard(LoopGuardSettings(min_repeats=5, min_span=30, check_every=1)), text) is not None
