"""The grader behind VibeThinker's card (`--grader card`), rebuilt so numbers compare with it.

WeiboAI graded math with rllm's `RewardMathFn` (the `deepcoder` branch, `use_math_orm=False`):
1. a response without `</think>` scores 0 (a format error);
2. the answer is the last `\\boxed{…}` in the text after the first `</think>`;
3. it is right when Hendrycks-MATH string normalisation makes it equal to the gold answer, or
   when the PRM800K-style normalisation plus SymPy `simplify` shows the difference is 0.
GPQA used the same grader on the boxed letter.

The original parses the normalised text with SymPy's `parse_expr`, which runs `eval`. Here that
step only sees text made of digits, operators and at most two unknown letters (the original's
own limit) with no underscores or quotes, and it runs in vibe's worker pool under a hard time
limit (the original used a 2 s SIGALRM).
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

CLOSE_TAG = "</think>"
_SAFE = re.compile(r"^[0-9+\-*/^().,\s\[\]]*$")
_UNITS = ("degree", "cm", "centimeter", "meter", "mile", "second", "minute", "hour", "day", "week", "month",
          "year", "foot", "feet", "inch", "yard")  # fmt: skip


def card_answer(response: str) -> str | None:
    """The answer the card's grader reads: None without `</think>` or without a closed box."""
    if CLOSE_TAG not in response:
        return None
    return boxed_content(response.split(CLOSE_TAG)[1])


def boxed_content(text: str) -> str | None:
    """The last `\\boxed{…}` (else `\\fbox{…}`), braces balanced; None when it never closes or
    is not a braced `\\boxed{`, as in Hendrycks' `last_boxed_only_string` + `remove_boxed`."""
    start = text.rfind("\\boxed")
    if start < 0:
        start = text.rfind("\\fbox")
        if start < 0:
            return None
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                whole = text[start : i + 1]
                return whole[len("\\boxed{") : -1] if whole.startswith("\\boxed{") else None
    return None


def grade(response: str, gold: str) -> tuple[str | None, bool]:
    """(the answer read, whether the card's grader calls it right)."""
    answer = card_answer(response)
    if answer is None:
        return None, False
    truth = boxed_content(gold) if "\\boxed" in gold else gold
    if truth is None:
        return answer, False
    return answer, same_mathd(answer, truth) or same_sympy(answer, truth)


# Hendrycks MATH normalisation ------------------------------------------------------------


def _fix_fracs(text: str) -> str:
    parts = text.split("\\frac")
    out = parts[0]
    for part in parts[1:]:
        out += "\\frac"
        if part.startswith("{"):
            out += part
            continue
        if len(part) < 2:
            return text
        a, b, rest = part[0], part[1], part[2:]
        out += f"{{{a}}}{{{b}}}{rest}" if b != "{" else f"{{{a}}}{b}{rest}"
    return out


def _fix_a_slash_b(text: str) -> str:
    pieces = text.split("/")
    if len(pieces) != 2:
        return text
    try:
        a, b = int(pieces[0]), int(pieces[1])
    except ValueError:
        return text
    return f"\\frac{{{a}}}{{{b}}}" if text == f"{a}/{b}" else text


def _fix_sqrt(text: str) -> str:
    parts = text.split("\\sqrt")
    out = parts[0]
    for part in parts[1:]:
        out += "\\sqrt" + (part if part.startswith("{") or not part else f"{{{part[0]}}}{part[1:]}")
    return out


def _strip_string(text: str) -> str:
    text = text.replace("\n", "").replace("\\!", "").replace("\\\\", "\\")
    text = text.replace("tfrac", "frac").replace("dfrac", "frac").replace("\\left", "").replace("\\right", "")
    text = text.replace("^{\\circ}", "").replace("^\\circ", "").replace("\\$", "")
    if "\\text{ " in text:  # units on the right
        pieces = text.split("\\text{ ")
        if len(pieces) != 2:
            raise ValueError("units")
        text = pieces[0]
    text = text.replace("\\%", "").replace(" .", " 0.").replace("{.", "{0.")
    if not text:
        return text
    if text[0] == ".":
        text = "0" + text
    sides = text.split("=")
    if len(sides) == 2 and len(sides[0]) <= 2:
        text = sides[1]
    text = _fix_fracs(_fix_sqrt(text).replace(" ", ""))
    if text == "0.5":
        text = "\\frac{1}{2}"
    return _fix_a_slash_b(text)


def mathd_normalize(answer: str) -> str:
    answer = answer.strip()
    try:
        match = re.search(r"^\\text\{(?P<text>.+?)\}$", answer)  # the whole answer, as rllm anchors it
        if match is not None:
            answer = match.group("text").strip()
        return _strip_string(answer)
    except (ValueError, IndexError):
        return answer


def same_mathd(given: str, truth: str) -> bool:
    return mathd_normalize(truth) == mathd_normalize(given)


# PRM800K-style normalisation and SymPy -----------------------------------------------------


def _is_int_text(text: str) -> bool:
    try:
        value = float(_strip_thousands(text))
        return abs(value - round(value)) <= 1e-7
    except (ValueError, OverflowError):  # inf and nan are numbers but not integers, as in rllm
        return False


def _strip_thousands(text: str) -> str:
    while True:
        changed = re.sub(r"(\d)(,)(\d\d\d)($|\D)", r"\1\3\4", text)
        if changed == text:
            return text
        text = changed


def _latex_to_text(text: str) -> str:
    from pylatexenc import latex2text

    text = text.replace("\\tfrac", "\\frac").replace("\\dfrac", "\\frac").replace("\\frac", " \\frac")
    text = latex2text.LatexNodes2Text().latex_to_text(text)
    for old, new in (("√", "sqrt"), ("π", "pi"), ("∞", "inf"), ("∪", "U"), ("·", "*"), ("×", "*")):
        text = text.replace(old, new)
    return text.strip()


def normalize(expr: str) -> str:
    match = re.search(r"^\\text\{(?P<text>.+?)\}$", expr)
    if match is not None:
        expr = match.group("text")
    expr = expr.replace("\\%", "%").replace("\\$", "$").replace("$", "").replace("%", "")
    expr = expr.replace(" or ", " , ").replace(" and ", " , ")
    expr = expr.replace("million", "*10^6").replace("billion", "*10^9").replace("trillion", "*10^12")
    for unit in _UNITS:
        expr = re.sub(rf"{unit}(es)?(s)? *(\^[0-9]+)?", "", expr)
    expr = re.sub(r"\^ *\\circ", "", expr)
    if expr[:1] == "{" and expr[-1:] == "}":
        expr = expr[1:-1]
    expr = re.sub(",\\\\! *", "", expr)
    try:
        if abs(float(expr) - round(float(expr))) <= 1e-7:
            expr = str(round(float(expr)))
    except (ValueError, OverflowError):
        pass
    if "\\" in expr:
        with contextlib.suppress(Exception):  # pylatexenc gives up on some inputs; the original keeps the text
            expr = _latex_to_text(expr)
    expr = re.sub("- *", "-", expr)
    expr = re.sub("([0-9]) +([0-9])", "\\1+\\2", expr)  # mixed numbers: 7 3/4 is 7+3/4
    expr = expr.replace(" ", "").replace("{", "").replace("}", "").lower()
    if _is_int_text(expr):
        expr = str(int(float(expr.replace(",", ""))))
    return expr


def _may_evaluate(expr: str) -> bool:
    letters = {c for c in expr.replace("sqrt", "").replace("frac", "") if c.isalpha()}
    if len(letters) > 2 or "^{" in expr or "^(" in expr:
        return False
    if re.search(r"\^[0-9]+\^", expr) or re.search(r"\^[0-9][0-9]+", expr):
        return False
    # Letters of any script, as rllm's count (str.isalpha) lets them through; never "_" or quotes.
    return bool(_SAFE.match("".join(c for c in expr if not c.isalpha())))


def _equal_under_sympy(truth: str, given: str) -> bool:
    import sympy
    from sympy.parsing import sympy_parser

    expr = f"({truth})-({given})"
    if not _may_evaluate(expr):
        return False
    transformations: Any = (*sympy_parser.standard_transformations, sympy_parser.implicit_multiplication_application)
    try:
        difference = sympy_parser.parse_expr(expr.replace("^", "**"), transformations=transformations)
        return bool(sympy.simplify(difference) == 0)
    except Exception:  # anything SymPy raises on malformed text means "not shown equal"
        return False


def _split_tuple(expr: str) -> list[str]:
    expr = _strip_thousands(expr)
    if not expr:
        return []
    brackets = "()[]"
    if len(expr) > 2 and expr[0] in brackets and expr[-1] in brackets and not any(c in expr[1:-1] for c in brackets):
        return [item.strip() for item in expr[1:-1].split(",")]
    return [expr]


def _is_fraction(expr: str) -> bool:
    return bool(re.search(r"^-?[0-9]+.?/0*[1-9][0-9]*.?$", expr))


def same_sympy(given: str, truth: str) -> bool:
    truth_n, given_n = normalize(truth), normalize(given)
    if truth_n == given_n:
        return True
    if not given_n:
        return False
    truth_items, given_items = _split_tuple(truth_n), _split_tuple(given_n)
    if len(truth_items) > 1 and (truth_n[0] != given_n[0] or truth_n[-1] != given_n[-1]):
        return False
    if len(truth_items) != len(given_items):
        return False
    for t, g in zip(truth_items, given_items, strict=True):
        if _is_fraction(t) and _is_fraction(g):
            ok = t == g  # an unreduced fraction is not accepted
        elif _is_int_text(t) != _is_int_text(g):
            ok = False  # an integer answer must match as an integer
        else:
            ok = _equal_under_sympy(t, g)
        if not ok:
            return False
    return True
