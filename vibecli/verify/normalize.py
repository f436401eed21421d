"""Answer text as people write it, rewritten into one plain LaTeX form before parsing.

Wrappers go (`\\boxed`, `$`, a whole `\\text{…}`), Unicode math becomes LaTeX (`½`, `√2`,
`x²`, `∞`, full-width digits), thousands separators are dropped (`11,\\!111`, `14{,}916`,
`1\\,000`, `12 000`, `7,425,000`), `percent`/`pct`/`percentage` become `%`, and degree signs
and currency symbols are removed. Nothing here decides what the answer means.
"""

from __future__ import annotations

import re
import unicodedata

_VULGAR = {"½": "1/2", "⅓": "1/3", "⅔": "2/3", "¼": "1/4", "¾": "3/4", "⅕": "1/5", "⅖": "2/5", "⅗": "3/5",
           "⅘": "4/5", "⅙": "1/6", "⅚": "5/6", "⅛": "1/8", "⅜": "3/8", "⅝": "5/8", "⅞": "7/8"}  # fmt: skip
_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁽⁾ⁿ", "0123456789+-()n")
_SYMBOLS = {"π": "\\pi ", "∞": "\\infty ", "≤": "\\le ", "≥": "\\ge ", "≠": "\\ne ", "×": "\\times ", "·": "\\cdot ",
            "⋅": "\\cdot ", "−": "-", "–": "-", "÷": "\\div ", "±": "\\pm ", "∓": "\\mp ", "∪": "\\cup ",
            "∩": "\\cap ", "∈": "\\in ", "∅": "\\emptyset ", "θ": "\\theta ", "α": "\\alpha ", "β": "\\beta ",
            "°": "^{\\circ}", "′": "'", "⁄": "/"}  # fmt: skip
_SQRT = re.compile(r"√\s*(\([^()]*\)|\{[^{}]*\}|\d+(?:\.\d+)?|\\?[A-Za-z]\w*)")

# Commands written with a doubled backslash (an escaping slip): `\\frac` means `\frac`.
_DOUBLED = re.compile(
    r"(?<!\\)\\\\(?=(?:boxed|fbox|text|textbf|mathrm|mathbf|frac|dfrac|tfrac|cfrac|sqrt|left|right|quad|qquad|cdot"
    r"|times|pi|infty|le|ge|leq|geq|ne|neq|in|cup|pm|mp|circ|dots|ldots|angle)(?![A-Za-z]))"
)
_WRAPPERS = [
    re.compile(r"^\\(?:boxed|fbox)\s*\{(.*)\}$", re.DOTALL),
    re.compile(r"^\\(?:text|textbf|mbox|textrm)\{(.*)\}$", re.DOTALL),
    re.compile(r"^\$+(.*?)\$+$", re.DOTALL),
    re.compile(r"^\\\((.*)\\\)$", re.DOTALL),
    re.compile(r"^\\\[(.*)\\\]$", re.DOTALL),
    re.compile(r"^\\displaystyle(.*)$", re.DOTALL),
]
_CLEANUPS = [
    (re.compile(r"\\mathrm\{e\}|\\text\{e\}|\\operatorname\{e\}"), "e"),
    (re.compile(r"\\(?:mathrm|mathbf|textbf|mathit|textrm|mathsf|boldsymbol|mbox)\{([^{}]*)\}"), r"\1"),
    (re.compile(r"\\[dtc]frac\b"), r"\\frac"),
    (re.compile(r"\\leqslant\b|\\leq\b"), r"\\le "),
    (re.compile(r"\\geqslant\b|\\geq\b"), r"\\ge "),
    (re.compile(r"\\neq\b"), r"\\ne "),
    (re.compile(r"\\\$|\$|€|£|¥|(?<!\\)\\[()\[\]]"), ""),  # never the `\\` of a row break `\\[2pt]`
    (re.compile(r"\\%"), "%"),
    (re.compile(r"\\text\{\s*(?:percent|pct|percentage)\s*\}|(?<=[\d}\s])(?:percent|pct|percentage)\b"), "%"),
    (re.compile(r"\s+%"), "%"),
]
DEGREES = re.compile(r"\^\s*\{?\\circ\}?|\\degree\b|\^\s*\{\s*\\text\{\s*o\s*\}\s*\}")
# Fallback when the text is not well-formed LaTeX: spacing macros, never the row break `\\\\`.
_SPACING = re.compile(r"(?<!\\)\\(?:[,;!: ]|q?quad\b)|~")
_SIZING = re.compile(r"\\left\b|\\right\b|\\[Bb]igg?[lr]?\b|\\displaystyle\b")
# Separators inside a number: `11,\!111`, `14{,}916`, `1\,000` (spaces are handled in `_group_digits`).
_GROUPED = re.compile(
    r"(?<=\d)(?:\{,\}|(?:\s|\\[,;: ]|~)*,(?:\s|\\[,;: ]|~)*\\!(?:\s|\\[,;: ]|~)*|\s*\\[,!;: ]\s*)(?=\d{3}(?!\d))"
)
# Whitespace that LaTeX ignores: between a macro and its argument (`\frac {1}`), just inside
# braces (`{ 1 }`), and around `_` and `^` (`x _ { 1 }`, `10 ^ { 23 }`).
_IGNORED_SPACE = [
    (re.compile(r"(\\[A-Za-z]+)\s+(?=[{\[])"), r"\1"),
    (re.compile(r"(?<!\\)\{\s+"), "{"),
    (re.compile(r"(?<=\})\s+(?=\{)"), ""),
    (re.compile(r"\s+\}"), "}"),
    (re.compile(r"\s*([_^])\s*"), r"\1"),
]
_TRAILING_BREAK = re.compile(r"(?:\s*\\\\)+\s*$")  # `185\\`: a line break after an answer is no part of it
_PLAIN_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_SPACED_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?: \d{3})+(?:\.\d+)?")


def unicode_math(text: str) -> str:
    """`½`, `√2`, `x²`, `∞`, `π`, `≤` and full-width characters as plain LaTeX."""
    if text.isascii():
        return text
    for char, latex in _VULGAR.items():
        text = text.replace(char, f"({latex})")
    text = re.sub(r"[⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁽⁾ⁿ]+", lambda m: "^{" + m.group().translate(_SUPERSCRIPTS) + "}", text)
    text = _SQRT.sub(lambda m: "\\sqrt{" + m.group(1).strip("(){}") + "}", text)
    for char, latex in _SYMBOLS.items():
        text = text.replace(char, latex)
    return unicodedata.normalize("NFKC", text)


def strip_wrappers(text: str) -> str:
    """Remove `\\boxed{}`, `$…$`, `\\(…\\)`, `\\[…\\]` and a whole-answer `\\text{}`, repeatedly."""
    text = text.strip()
    changed = True
    while changed:
        changed = False
        for pattern in _WRAPPERS:
            match = pattern.match(text)
            if match and _balanced(match.group(1)):
                text, changed = match.group(1).strip(), True
        stripped = text.rstrip(".").strip()
        if stripped != text:
            text, changed = stripped, True
    return text


def escaped(text: str, index: int) -> bool:
    """Is `text[index]` escaped: after an odd number of backslashes (`\\}` is, `\\\\}` is not)?"""
    start = index
    while start > 0 and text[start - 1] == "\\":
        start -= 1
    return (index - start) % 2 == 1


def _balanced(text: str) -> bool:
    depth = 0
    for index, char in enumerate(text):
        if char in "{}" and escaped(text, index):
            continue
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def group_digits(text: str) -> str:
    """Drop plain thousands separators (commas, spaces) when the whole answer is one grouped
    number: `1,234` alone is a number, `(1,234)` a pair. LaTeX separators go earlier."""
    if _PLAIN_THOUSANDS.fullmatch(text):
        return text.replace(",", "")
    if _SPACED_THOUSANDS.fullmatch(text):
        return text.replace(" ", "")
    return text


def unbox(text: str) -> str:
    """`a = \\boxed{5}` → `a = 5`: every box inside the answer, braces balanced."""
    text = re.sub(r"\}\s*(?=\\(?:boxed|fbox)\s*\{)", "}, ", text)  # `\\boxed{1}\\boxed{2}` is a list
    while True:
        match = re.search(r"\\(?:boxed|fbox)\s*\{", text)
        if match is None:
            return text
        depth, end = 1, match.end()
        while end < len(text) and depth:
            depth += 0 if escaped(text, end) else {"{": 1, "}": -1}.get(text[end], 0)
            end += 1
        inner = text[match.end() : end - 1] if depth == 0 else text[match.end() :]
        text = text[: match.start()] + inner + text[end:]


def ignore_spaces(text: str) -> str:
    """Spaces LaTeX ignores, gone: `\\frac {1} {2}`, `{ 1 }`, `x _ { 1 }`, `10 ^ { 23 }`."""
    for pattern, replacement in _IGNORED_SPACE:
        text = pattern.sub(replacement, text)
    return text


def degrees(text: str) -> str:
    """Degree signs go, except inside a trigonometric function (`\\sin(90^\\circ - x)`), where
    the parser reads them as π/180."""
    from vibecli.verify.expressions import TRIG_CALL

    if TRIG_CALL.search(text):
        return DEGREES.sub(lambda _: "^{\\circ}", text)
    return DEGREES.sub("", text)


def despaced(text: str) -> str:
    """Spacing, sizing, formatting and colour macros read with the LaTeX tokenizer (a regex for
    spacing only, when the text is broken LaTeX)."""
    from vibecli.verify.latex_read import despace, unformat

    read = despace(text)
    return unformat(read) if read is not None else _SIZING.sub("", _SPACING.sub(" ", text))


def normalize(text: str) -> str:
    """The answer in one canonical written form (still text; parsing comes after)."""
    text = unicode_math(text)
    text = _DOUBLED.sub(lambda _: "\\", text)
    text = ignore_spaces(text)
    # Spacing macros become spaces, which may then stand where LaTeX ignores them: `^\:{\circ}`.
    text = degrees(ignore_spaces(despaced(_GROUPED.sub("", unbox(strip_wrappers(text))))))
    for pattern, replacement in _CLEANUPS:
        text = pattern.sub(replacement, text)
    text = strip_wrappers(_TRAILING_BREAK.sub("", " ".join(text.split())))
    return group_digits(text)
