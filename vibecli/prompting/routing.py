"""`--mode auto`: route a problem to a mode by a few clear rules, checked in order.

1. code: programming words, fenced code, or stdin/stdout problem structure;
2. stem: lettered options (A-D), or physics, chemistry and engineering vocabulary;
3. logic: puzzle vocabulary (knights and knaves, truth-tellers, who owns what);
4. math: everything else, VibeThinker's home ground.
"""

from __future__ import annotations

import re

_CODE = re.compile(
    r"```|\bdef \w+\(|\b(python|program|function|implement|algorithm|code|leetcode|codeforces|"
    r"stdin|stdout|input format|output format|time limit|test cases?|array of integers|return the)\b",
    re.IGNORECASE,
)
_OPTIONS = re.compile(r"^\s*\(?[A-D][).:]\s+\S", re.MULTILINE)
_STEM = re.compile(
    r"\b(velocity|acceleration|force|newton|joules?|energy|momentum|mass of|voltage|current|resistance|"
    r"circuit|capacitor|magnetic|electric field|wavelength|frequency|molecules?|molar|reaction|enthalpy|"
    r"entropy|pressure|temperature of|kg|m/s|torque|friction|beam|stress|strain|orbit|photon|electron)\b",
    re.IGNORECASE,
)
_LOGIC = re.compile(
    r"\b(knights?|knaves?|liars?|truth-?tellers?|always lies|always tells the truth|puzzle|riddle|"
    r"who owns|which of them|deduce|syllogism|exactly one of|if and only if)\b",
    re.IGNORECASE,
)


def route(problem: str) -> str:
    """The mode for `problem`: `code`, `stem`, `logic` or `math`."""
    if _CODE.search(problem):
        return "code"
    if len(_OPTIONS.findall(problem)) >= 2 or _STEM.search(problem):
        return "stem"
    if _LOGIC.search(problem):
        return "logic"
    return "math"
