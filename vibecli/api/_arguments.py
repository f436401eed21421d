"""Checking the Python API's arguments: a wrong type or value is a `UsageError` that names the
parameter as Python spells it (`max_tokens`), not as the command line does (`--max-tokens`)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from vibecli.errors import UsageError

MAX_SECONDS = 86_400.0  # a day: longer waits overflow the OS's timers and are never meant
MAX_SEED = 2**63 - 1  # what every engine's generator takes

_INTEGERS = ("max_tokens", "think_budget", "seed", "ctx")
_NUMBERS = ("temperature", "top_p")
_STRINGS = ("model", "backend", "device", "cache", "base_url", "api_key", "mode")


def seconds(name: str, value: object) -> float:
    """A positive, finite number of seconds, at most a day."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise UsageError(f"{name} must be a positive number of seconds, not {value!r}")
    if value > MAX_SECONDS:
        raise UsageError(f"{name} must be at most {MAX_SECONDS:g} seconds, not {value!r}")
    return float(value)


def count(name: str, value: object) -> int:
    """A positive whole number (not a bool, not a float)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"{name} must be a positive integer, not {value!r}")
    return value


def text(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise UsageError(f"{name} must be a string, not {type(value).__name__}")
    return value


def answer(name: str, value: object) -> str:
    """A gold answer: a string, or a number taken as written (2 -> "2")."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return text(name, value)


def pairs(value: object) -> list[tuple[str, str]]:
    """(gold, pred) pairs: each a 2-item tuple or list of strings."""
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise UsageError(f"pairs must be an iterable of (gold, pred) pairs, not {type(value).__name__}")
    out = []
    for number, pair in enumerate(value, start=1):
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise UsageError(f"pairs: item {number} must be a (gold, pred) pair, not {pair!r:.60}")
        out.append((text(f"gold of pair {number}", pair[0]), text(f"pred of pair {number}", pair[1])))
    return out


def problems(value: object) -> list[str]:
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise UsageError(f"problems must be an iterable of problem strings, not {type(value).__name__}")
    return list(value)


def settings(given: Mapping[str, Any]) -> dict[str, Any]:
    """The model settings given as arguments, type-checked; config.py then checks their ranges."""
    for name, value in given.items():
        if value is None:
            continue
        if name in _INTEGERS and (isinstance(value, bool) or not isinstance(value, int)):
            raise UsageError(f"{name} must be an integer, not {value!r}")
        if name in _NUMBERS and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise UsageError(f"{name} must be a number, not {value!r}")
        if name in _STRINGS and not isinstance(value, str):
            raise UsageError(f"{name} must be a string, not {value!r}")
    seed = given.get("seed")
    if isinstance(seed, int) and seed > MAX_SEED:
        raise UsageError(f"seed must be at most 2**63 - 1, not {seed}")
    return dict(given)
