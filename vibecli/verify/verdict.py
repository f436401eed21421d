"""A checker's answer: equal, not equal, or undecided, always with the reason."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

VerdictKind = Literal["equal", "not_equal", "undecided"]


@dataclass(frozen=True)
class Verdict:
    verdict: VerdictKind
    reason: str
    gold: str = ""
    pred: str = ""

    @property
    def equal(self) -> bool | None:
        return {"equal": True, "not_equal": False, "undecided": None}[self.verdict]


def yes(reason: str) -> Verdict:
    return Verdict("equal", reason)


def no(reason: str) -> Verdict:
    return Verdict("not_equal", reason)


def undecided(reason: str) -> Verdict:
    return Verdict("undecided", reason)
