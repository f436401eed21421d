"""A checker's answer: equal, not equal, or undecided, always with the reason."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

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

    def to_json(self) -> dict[str, Any]:
        """The `vibe verify math --json` record."""
        return {"verdict": self.verdict, "equal": self.equal, "reason": self.reason, "gold": self.gold,
                "pred": self.pred}  # fmt: skip


def yes(reason: str) -> Verdict:
    return Verdict("equal", reason)


def no(reason: str) -> Verdict:
    return Verdict("not_equal", reason)


def undecided(reason: str) -> Verdict:
    return Verdict("undecided", reason)
