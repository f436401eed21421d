"""The shape of an answer's text, found before any of it is parsed as mathematics.

Splitting happens only at bracket depth 0, so `(1, 2), (3, 4)` is two pairs and
`\\frac{1}{2}, 3` two values. A label is the name in front of a value (`x = 5`,
`(p, q) = (3, 2)`, `AB = 4`, `f(x) = 1`, `V_1 : V_2 = 11 : 21`); labels are normalized so that
`a_{3}` and `a_3`, `f(x)` and `f(y)`, `|AB|` and `AB` read the same.
"""

from __future__ import annotations

import re

_OPENERS = "([{"
_CLOSERS = ")]}"
# List separators: commas, and "and"/"or" as words, as \text{and}, or glued as in `(1,2)or(2,1)`.
_ITEM_SEPARATOR = re.compile(
    r",\s*(?:\\text\{\s*(?:and|or)\s*\}|(?:and|or)\b)?|\\text\{\s*(?:and|or)\s*\}|\b(?:and|or)\b"
    r"|(?<=[\d)\]}])or(?=[\w(\[{\\-])"
)
_ASSIGN = re.compile(r"(?<![<>!=:\\])=(?!=)")
_RELATION = re.compile(r"<=?|>=?|\\(?:le|ge|lt|gt|ne)(?![A-Za-z])|\\not=|!=")
_GREEK = ("alpha|beta|gamma|delta|epsilon|varepsilon|zeta|eta|theta|vartheta|iota|kappa|lambda|mu|nu|xi|rho|sigma"
          "|tau|phi|varphi|chi|psi|omega|Gamma|Delta|Theta|Lambda|Sigma|Phi|Psi|Omega")  # fmt: skip
_SYMBOL = rf"(?:[A-Za-z]|\\(?:{_GREEK})(?![A-Za-z]))'*(?:_(?:\{{[^{{}}]*\}}|[A-Za-z0-9]))?"
_ONE_LABEL = (
    rf"{_SYMBOL}"  # x, a_3, a_{{37}}, \theta
    rf"|\(\s*{_SYMBOL}(?:\s*,\s*{_SYMBOL})+\s*\)"  # (p, q)
    rf"|{_SYMBOL}\s*\((?:[^()]*)\)"  # f(x), W(n), P(A)
    r"|\|\s*[A-Z]{2,}\s*\||[A-Z]{2,}|\\overline\{[A-Z]{2,}\}"  # AB, |AB|
    r"|(?:m\s*)?\\angle\s*[A-Z]{1,3}"
)
_LABEL = re.compile(rf"(?:{_ONE_LABEL})(?:\s*:\s*(?:{_ONE_LABEL}))*|\\frac\{{(?:{_ONE_LABEL})\}}\{{(?:{_ONE_LABEL})\}}")
_SINGLE_SYMBOL = re.compile(_SYMBOL)
_TIME = re.compile(r"\d{1,2}(?::\d{2})+")


def depths(text: str) -> list[int]:
    """The bracket depth before each character (`\\{`, `\\begin…\\end` count as brackets)."""
    result = []
    depth = 0
    i = 0
    while i < len(text):
        result.append(depth)
        char = text[i]
        if char == "\\" and i + 1 < len(text) and text[i + 1] in "{}":
            depth += 1 if text[i + 1] == "{" else -1
            result.append(depth)
            i += 2
            continue
        if text.startswith("\\begin", i):
            depth += 1
        elif text.startswith("\\end", i):
            depth -= 1
        elif char in _OPENERS:
            depth += 1
        elif char in _CLOSERS:
            depth -= 1
        i += 1
    return result


def top_level(text: str, pattern: re.Pattern[str]) -> list[re.Match[str]]:
    """Matches of `pattern` that lie outside every bracket."""
    level = depths(text)
    return [m for m in pattern.finditer(text) if m.group() and level[m.start()] == 0]


def split_at(text: str, pattern: re.Pattern[str]) -> list[str]:
    """`text` cut at the top-level matches of `pattern`, pieces stripped."""
    pieces, start = [], 0
    for match in top_level(text, pattern):
        pieces.append(text[start : match.start()])
        start = match.end()
    pieces.append(text[start:])
    return [piece.strip() for piece in pieces]


def split_top_level(text: str, separator: str = ",") -> list[str]:
    """Split on `separator` outside any brackets."""
    return split_at(text, re.compile(re.escape(separator)))


def split_items(text: str) -> list[str]:
    """The items of a list answer: `1, 2, and 3`, `6 \\text{ and } 8`, `(11,7)or(7,11)`."""
    return [item for item in split_at(text, _ITEM_SEPARATOR) if item]


def assignments(text: str) -> list[str]:
    """`x = 5 + 5 + 1 = 11` → ['x', '5 + 5 + 1', '11']."""
    return split_at(text, _ASSIGN)


def has_relation(text: str) -> bool:
    return bool(top_level(text, _RELATION))


def enclosed(text: str) -> tuple[str, str, str] | None:
    """(`open`, inner, `close`) when one bracket pair encloses the whole text."""
    if text.startswith("\\{") and text.endswith("\\}"):
        inner, opener, closer = text[2:-2], "\\{", "\\}"
    elif len(text) >= 2 and text[0] in "([{" and text[-1] in ")]}":
        inner, opener, closer = text[1:-1], text[0], text[-1]
    else:
        return None
    level = depths(inner + " ")  # the extra character shows the depth after the last one
    return (opener, inner.strip(), closer) if min(level) >= 0 and level[-1] == 0 else None


def is_label(text: str) -> bool:
    """Is `text` a name a value is given for (`x`, `(p,q)`, `f(x)`, `AB`, `A:B`, `\\frac{NO}{BO}`)?"""
    return _LABEL.fullmatch(text.strip()) is not None


def is_single_symbol(text: str) -> bool:
    return _SINGLE_SYMBOL.fullmatch(text.strip()) is not None


def normalize_label(text: str) -> str:
    """One spelling per label: no spaces, `a_{3}` → `a_3`, `f(x)` → `f(·)`, `|AB|` → `AB`."""
    text = re.sub(r"\s+", "", text)
    text = re.sub(r"_\{(\w+)\}", r"_\1", text)
    text = re.sub(r"\\overline\{([A-Z]+)\}|\|([A-Z]+)\|", lambda m: m.group(1) or m.group(2), text)
    # A function of variables names the function, whatever its variable is called.
    return re.sub(r"\(([a-z](?:,[a-z])*)\)", lambda m: "(" + ",".join("·" * len(m.group(1).split(","))) + ")", text)


def expand_plus_minus(text: str) -> list[str]:
    """`a \\pm b` → [`a + b`, `a - b`] (`\\mp` takes the other sign); text without ± → [text]."""
    if not re.search(r"\\(?:pm|mp)(?![A-Za-z])", text):
        return [text]
    plus = re.sub(r"\\mp(?![A-Za-z])", "-", re.sub(r"\\pm(?![A-Za-z])", "+", text))
    minus = re.sub(r"\\mp(?![A-Za-z])", "+", re.sub(r"\\pm(?![A-Za-z])", "-", text))
    return [plus, minus]


def clock(text: str) -> str | None:
    """`20:34` or `20:34:00` as the time `20:34:00`; None when it is no time of day."""
    text = re.sub(r"\s*:\s*", ":", text.strip())  # `12 : 00` is `12:00`
    if not _TIME.fullmatch(text):
        return None
    parts = [int(p) for p in text.split(":")]
    if len(parts) > 3 or parts[0] > 24 or any(p >= 60 for p in parts[1:]):
        return None
    return ":".join(f"{p:02d}" for p in [*parts, 0, 0][:3])
