"""vibe's public Python API: `from vibecli import load, verify_math, …`. See the README's
"Use from Python". Only the names in `__all__` here (and `vibecli.rewards`) are public."""

from __future__ import annotations

from vibecli.api._solving import AnswerDelta, Notice, SamplesResult, SolveResult, ThinkingDelta
from vibecli.api.checking import CodeVerdict, MathVerdict, verify_code, verify_math, verify_math_many
from vibecli.api.model import Model, load
from vibecli.errors import VibeError

__all__ = [
    "AnswerDelta",
    "CodeVerdict",
    "MathVerdict",
    "Model",
    "Notice",
    "SamplesResult",
    "SolveResult",
    "ThinkingDelta",
    "VibeError",
    "load",
    "verify_code",
    "verify_math",
    "verify_math_many",
]
