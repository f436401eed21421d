"""The reading guard: a parsed answer must account for what its text says.

Answers pass through extraction, normalization and two parsers; a step that drops, merges or
invents a character silently changes the value. These checks look at the result of each step
against its input, independently of how the step works, and name what was lost:
- extraction: code is not searched for a trailing number, and an answer with no prose keeps
  every digit it had;
- normalization: the digits come out in the same order as they went in;
- a parsed expression: every numeric literal matters (perturbing it changes the value);
- structure: a matrix has the rows and columns its `\\\\` and `&` say, and a bracketed tuple
  or list the elements its top-level commas say.
A failure makes the verdict `undecided` with the reason, never `equal`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from vibecli.verify.latex_read import matrix_cells
from vibecli.verify.structure import depths

# Python that a model may write instead of an answer: never mathematics, whatever it ends in.
_CODE = re.compile(
    r"__\w+__|(?<!\\)\blambda\s*\w*\s*:|\bimport\s+\w|\b(?:exec|eval|open|getattr|globals|print|compile)\("
    r"|\bos\.\w|\bsubprocess\.|\bdef\s+\w+\s*\(|[\w)\]'\"]\.[A-Za-z_]\w*\("
)
# Words that are prose (not LaTeX commands, not names of functions): an answer sentence.
_PROSE = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{2,}(?![A-Za-z])")
# Names that are mathematics written without a backslash (`sin(x)`, `pi`, `ln 2`).
_MATH_NAMES = frozenset(
    ("sin", "cos", "tan", "cot", "sec", "csc", "sinh", "cosh", "tanh", "arcsin", "arccos", "arctan", "log", "ln",
     "exp", "sqrt", "abs", "Abs", "det", "gcd", "lcm", "max", "min", "mod", "deg", "pi", "oo", "inf", "infinity",
     "factorial", "binomial", "floor", "ceiling")
)  # fmt: skip
# A numeric literal as written: digits with at most one decimal point, not part of a name.
_LITERAL = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\d.])")
_DEGREE_SIGN = re.compile(r"\^\s*\{?\s*\\circ\s*\}?")
MAX_PROBED_LITERALS = 12  # each probe is one more parse; answers rarely hold more


def looks_like_code(text: str) -> bool:
    """`__import__("os").system(…)`, `lambda: …`, `exec(…)`: program text, not an answer."""
    return _CODE.search(text) is not None


def digits(text: str) -> str:
    return "".join(re.findall(r"\d", text))


def _has_prose(text: str) -> bool:
    return any(word.lower() not in _MATH_NAMES for word in _PROSE.findall(text))


def extraction_loss(source: str, extracted: str) -> str | None:
    """Why the answer taken from `source` misreads it, or None. A source whose last line is code
    is refused whatever it ends in; a response may show code before its boxed answer."""
    lines = [line for line in source.strip().splitlines() if line.strip()]
    one_line = len(lines) <= 1
    if looks_like_code(extracted) or (lines and looks_like_code(lines[-1])):
        return "the answer is program code, not mathematics"
    if not _has_prose(source) and one_line and digits(extracted) != digits(source):
        return f"extracting the answer from '{source[:60]}' dropped digits"
    return None


def _layout(text: str) -> tuple[int, int]:
    """Row breaks `\\\\` and cell separators `&` (a row break that only closes the answer aside)."""
    text = re.sub(r"(?:\s*\\\\)+(?=(?:\s*(?:\$|\\\]|\\\)|\}))*\s*$)", "", text)  # `$185\\\\$`
    return len(re.findall(r"\\\\(?![A-Za-z])", text)), text.count("&")


def normalization_loss(before: str, after: str) -> str | None:
    """Normalization may drop separators and wrappers, never a digit, a row break or a cell."""
    if digits(before) != digits(after):
        return f"rewriting '{before[:60]}' changed its digits ({digits(before)[:20]} → {digits(after)[:20]})"
    if _layout(before) != _layout(after):
        return f"rewriting '{before[:60]}' changed its rows or columns"
    return None


def _perturbed(literal: str) -> str:
    """The literal with its last digit changed, so its magnitude stays the same."""
    return literal[:-1] + str((int(literal[-1]) + 3) % 10)


def _probes(text: str, negatable: bool) -> list[tuple[str, str]]:
    """(what was changed, the changed text): each number with its last digit changed, the text
    without its degree signs, and without its leading minus sign."""
    literals = list(_LITERAL.finditer(text))
    if any(m.group() == "0" for m in literals):
        literals = []  # `\frac{0}{7}`, `x^0`: a zero can make another number irrelevant
    probes = []
    for match in literals[:MAX_PROBED_LITERALS]:
        if re.search(r"(?<![\d.])1\s*\^\s*\{?\s*$", text[: match.start()]):
            continue  # the exponent in `1^{5}` does not matter
        changed = text[: match.start()] + _perturbed(match.group()) + text[match.end() :]
        probes.append((f"the number {match.group()}", changed))
    if "\\circ" in text:
        probes.append(("the degree sign", _DEGREE_SIGN.sub("", text)))
    if negatable and text.startswith("-") and not text.startswith("--"):
        probes.append(("the leading minus sign", text[1:]))  # `-E` and `E` differ unless E is 0
    return probes


def ignored_literal(text: str, value: Any, reparse: Callable[[str], Any]) -> str | None:
    """The first number (or degree sign) of `text` whose change leaves the parsed value
    unchanged: the parser dropped or misread it. Undefined or infinite values are not probed."""
    from sympy import S

    if not hasattr(value, "has") or value.has(S.NaN, S.ComplexInfinity, S.Infinity, S.NegativeInfinity):
        return None
    for what, probe in _probes(text, negatable=value != 0):
        try:
            changed = reparse(probe)
        except Exception:  # a probe that does not parse says nothing about the reading
            continue
        if changed == value:
            return f"the reading of '{text[:60]}' ignores {what}"
    return None


def structure_loss(answer: Any) -> str | None:
    """A matrix, tuple or list (at any depth) whose parsed size is not what its text says."""
    if answer.kind == "matrix":
        cells = matrix_cells(answer.source)
        if cells is not None:
            shape = (len(cells), max(len(row) for row in cells)) if cells else (0, 0)
            if tuple(answer.value.shape) != shape:
                return f"the matrix is written {shape[0]}×{shape[1]} but was read as {answer.value.shape[0]}×" + str(
                    answer.value.shape[1]
                )
        return None
    if answer.kind not in ("tuple", "list") or not isinstance(answer.value, tuple):
        return None
    written = _bracketed_count(answer.source)
    if written is not None and written != len(answer.value) and "\\pm" not in answer.source:
        return f"'{answer.source[:60]}' has {written} elements but was read as {len(answer.value)}"
    for item in answer.value:
        reason = structure_loss(item)
        if reason:
            return reason
    return None


def _bracketed_count(source: str) -> int | None:
    """Elements of `(a, b, c)`, `[a, b]` or `\\{a, b\\}` by its top-level commas; None otherwise."""
    text = source.strip()
    if text.startswith("\\{") and text.endswith("\\}"):
        inner = text[2:-2]
    elif len(text) >= 2 and text[0] + text[-1] in ("()", "[]"):
        inner = text[1:-1]
    else:
        return None
    if not inner.strip():
        return 0
    level = depths(inner + " ")
    if min(level) < 0:
        return None  # `(1, 2) \cup (3, 4)`: the brackets do not enclose the whole text
    return 1 + sum(1 for i, char in enumerate(inner) if char in ",;" and level[i] == 0)
