"""Turn an answer string into a typed mathematical value.

The text is first normalized (vibecli.verify.normalize) and cut into its structure
(vibecli.verify.structure): lists, labels, tuples and intervals, unions, relations, ratios.
The leaves go through latex2sympy2_extended (LaTeX) or the guarded plain-text parser
(vibecli.verify.plain), never through Python's eval. Words stay words. Decimals keep the
digits the writer gave, because comparing against them depends on it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace
from typing import Any, Literal

from vibecli.verify.decimals import DecimalLiteral, parse_decimal
from vibecli.verify.expressions import KNOWN_NAMES, TEXT_MACRO, imaginary_unit, to_sympy, words
from vibecli.verify.guard import ignored_literal, normalization_loss, structure_loss
from vibecli.verify.latex_read import matrix_cells
from vibecli.verify.normalize import normalize, unicode_math
from vibecli.verify.plain import ParseFailure
from vibecli.verify.structure import (
    assignments,
    clock,
    enclosed,
    expand_plus_minus,
    has_relation,
    is_label,
    is_single_symbol,
    normalize_label,
    split_at,
    split_items,
    split_top_level,
    top_level,
)
from vibecli.verify.units import stripped_unit, unit_spelling

__all__ = [
    "Answer",
    "DecimalLiteral",
    "ParseFailure",
    "imaginary_unit",
    "parse_answer",
    "parse_decimal",
    "split_top_level",
    "to_sympy",
]

Kind = Literal["choice", "text", "scalar", "tuple", "list", "interval", "relation", "equation", "matrix", "ratio"]


@dataclass(frozen=True)
class Answer:
    """A parsed answer. `value` is a SymPy object, a tuple of Answers, or a string."""

    kind: Kind
    value: Any
    source: str
    percent: bool = False
    decimal: DecimalLiteral | None = None  # set when the whole answer is one decimal literal
    bracket: str = ""  # "()" on a pair that an interval context may read as an open interval
    label: str = ""  # the normalized name in `x = 5`, `(p, q) = (3, 2)`, `AB = 4`
    label_source: str = ""  # the name as written, to read `y = 2x + 1` back as an equation
    braces: bool = False  # a list written as a set: `\{1, 2\}`
    unit: str = ""  # the unit written after a value (`km`, `m^2`, `°`, `$`), one spelling per unit

    def show(self) -> str:
        prefix = f"{self.label} = " if self.label else ""
        if self.kind in ("tuple", "list"):
            inner = ", ".join(item.show() for item in self.value)
            return prefix + (f"({inner})" if self.kind == "tuple" else f"{{{inner}}}")
        if self.kind == "ratio":
            return prefix + ":".join(str(v) for v in self.value)
        if self.decimal is not None:
            return prefix + self.source.strip()
        return prefix + str(self.value) + ("%" if self.percent else "")


_CHOICE = re.compile(r"^\(?\s*([A-J])\s*\)?[.:]?$|^\(?([A-J])[.:)]\s+\S")  # `C`, `(C)`, `C. x = 42`
_CHOICE_NAMED = re.compile(r"\(([A-J])\)|(?<![\w\\])([A-J])[.:)](?=\s|$)|(?<=\sor\s)([A-J])$")
_APPROX = re.compile(r"\\approx(?![A-Za-z])")
_EMPTY = re.compile(r"\\emptyset|\\varnothing|\\\{\s*\\\}|no (?:real )?solutions?|none", re.IGNORECASE)
_INTEGER = re.compile(r"[+-]?\d+")
_REPEATING = re.compile(r"([+-]?)(\d*)\.(\d*)\\overline\{(\d+)\}")
_BASE = re.compile(r"(\d+)_\{?(\d{1,2})\}?")
_MIXED = re.compile(r"([+-]?)(\d+)\s+(\d+)/(\d+)")  # `1 1/2`, a mixed number (`1\frac{1}{2}` is LaTeX's)
_RATIO = re.compile(r"(?<![\\:]):(?!=)")
_UNION = re.compile(r"\\cup(?![A-Za-z])")
_IN = re.compile(r"\\in(?![A-Za-z])")
_GROUP = re.compile(r";")
_LIST_SEPARATOR = re.compile(r"[,;]")
# A unit after a value: `10 \text{ cm}`, `35 cm^2`, `3 hours`.
_UNIT = re.compile(
    r"^(.*?[\d}).a-zA-Z])\s*(?:\\(?:text|textnormal|mathrm|textrm|mbox)\{\s*[A-Za-z][A-Za-z .]*\}"
    r"|\s[A-Za-z]{2,}(?:\s+[A-Za-z]+)*)"
    r"(?:\^\{?\d\}?)?$"
)


@functools.lru_cache(maxsize=8192)
def parse_answer(text: str) -> Answer:
    """Parse one answer (cached). Raises ParseFailure when it is not readable mathematics, or
    when the reading lost something the text says (vibecli.verify.guard)."""
    normalized = normalize(text)
    loss = normalization_loss(unicode_math(text), normalized)
    if loss:
        raise ParseFailure(loss)
    answer = _parse(normalized)
    loss = structure_loss(answer)
    if loss:
        raise ParseFailure(loss)
    return stripped_unit(answer, unicode_math(text))


def _parse(text: str) -> Answer:
    text = text.strip()
    if not text:
        raise ParseFailure("empty answer")
    if _EMPTY.fullmatch(text):
        return Answer("list", (), text, braces=True)
    if text.lower() in ("yes", "no"):
        return Answer("text", text.lower(), text)  # `no` is the word, not the product n·o
    choice = _CHOICE.match(text)
    if choice:
        letters = dict.fromkeys([choice.group(1) or choice.group(2), *_choices_named(text[choice.end() - 1 :])])
        if len(letters) > 1:  # `(A) or (B)`, `(A) (B) (C) (D)`: a hedge names every choice it gives
            return Answer("list", tuple(Answer("choice", letter, letter) for letter in letters), text)
        return Answer("choice", choice.group(1) or choice.group(2), text)
    approximately = split_at(text, _APPROX)
    if len(approximately) == 2 and (decimal := parse_decimal(approximately[1])) is not None:
        return _approximated(_parse(approximately[0]), decimal, text)  # `\\frac{\\sqrt{3}}{3} \\approx 0.577`
    groups = [g for g in split_at(text, _GROUP) if g]
    if len(groups) > 1:
        return _list([_group(g) for g in groups], text)
    items = split_items(text)
    if len(items) > 1:
        return _list([_parse(item) for item in items], text)
    return _labelled(text) or _single(text)


def _choices_named(text: str) -> list[str]:
    """The choice letters named after the first one: `(B)` in `(A) or (B)`."""
    return [next(g for g in m.groups() if g) for m in _CHOICE_NAMED.finditer(text)]


def _approximated(exact: Answer, decimal: DecimalLiteral, source: str) -> Answer:
    """The exact value, when the decimal after `\\approx` agrees with it to its last digit."""
    if exact.kind != "scalar" or getattr(exact.value, "free_symbols", True):
        raise ParseFailure(f"'{source[:60]}' approximates something that is not a number")
    from sympy import Rational

    written = Rational(decimal.value.numerator, decimal.value.denominator)
    gap = abs((exact.value - written).evalf(30))
    if not (gap.is_comparable and gap < Rational(10) ** (-decimal.places)):
        raise ParseFailure(f"'{source[:60]}' states a value and a different approximation")
    return exact


def _list(items: list[Answer], source: str) -> Answer:
    """Items of a list; a nested bare list (from `\\pm`) is spread into it."""
    flat: list[Answer] = []
    for item in items:
        if item.kind == "list" and not item.braces and item.value:
            flat.extend(item.value)
        else:
            flat.append(item)
    if flat and all(item.kind == "relation" and not item.label for item in flat):
        return Answer("relation", tuple(r for item in flat for r in item.value), source)  # `x < 2 or x > 5`
    return Answer("list", tuple(flat), source)


def _group(text: str) -> Answer:
    """A `;`-separated group: `p=5, q=2` is the point (p, q) = (5, 2)."""
    answer = _parse(text)
    if answer.kind == "list" and all(i.label and is_single_symbol(i.label_source) for i in answer.value):
        labels = [i.label for i in answer.value]
        if len(set(labels)) == len(labels) > 1:
            values = tuple(replace(i, label="", label_source="") for i in answer.value)
            return Answer("tuple", values, text, label=f"({','.join(labels)})")
    return answer


def _labelled(text: str) -> Answer | None:
    """`x = 5`, `(p,q) = (3,2)`, `x = 5+5+1 = 11` (the last value), `x \\in [1, 2]`; None if
    the text is no labelled value (`x + y = 3` is an equation, read by `_single`)."""
    parts = assignments(text)
    if len(parts) == 1:
        member = split_at(text, _IN)
        if len(member) == 2 and is_single_symbol(member[0]):
            return replace(_parse(member[1]), label=normalize_label(member[0]), label_source=member[0])
        return None
    name, value = parts[0], parts[-1]
    if not name or not value:
        raise ParseFailure(f"'{text}' has an empty side")
    if len(parts) > 2:
        _check_chain(parts[1:] if is_label(name) else parts, text)
    if not is_label(name):
        if len(parts) == 2 and is_single_symbol(value) and not _mentions(name, value):
            return _labelled(f"{value} = {name}")  # `5 = x` is `x = 5`
        return _parse(value) if len(parts) > 2 else _stated_value(name, value)
    if len(parts) == 2 and is_single_symbol(name) and _mentions(value, name):
        return None  # `x = 2x - 5`: an equation in x, not a value for it
    answer = _parse(value)
    label = normalize_label(name)
    if answer.kind == "list" and not answer.braces:  # `x = \pm 3`: each value is an x
        return replace(answer, value=tuple(replace(i, label=label, label_source=name) for i in answer.value))
    return replace(answer, label=label, label_source=name)


def _check_chain(parts: list[str], text: str) -> None:
    """`x = 5 + 5 + 1 = 11` may be read as its last value only when every constant in the chain
    is that value (a decimal to its last digit, as after `\\approx`): `x = 7 = 6` is refused,
    never read as 6."""
    from sympy import Rational

    constants = []
    for part in parts:
        try:
            answer = _parse(part)
        except ParseFailure:
            continue
        if answer.kind == "scalar" and not getattr(answer.value, "free_symbols", True):
            constants.append(answer)
    last = constants[-1] if constants else None
    for answer in constants[:-1]:
        assert last is not None
        difference = answer.value.doit() - last.value.doit()
        if difference.is_Rational:  # exact values compare exactly: `10^{40} + 1` is not `10^{40}`
            if difference != 0:
                raise ParseFailure(f"'{text[:60]}' states two different values")
            continue
        gap = abs(difference.evalf(30))
        places = [a.decimal.places for a in (answer, last) if a.decimal is not None]
        limit = Rational(10) ** (-min(places)) if places else 1e-20 * (1 + abs(last.value.evalf(30)))
        if not (gap.is_number and gap.is_comparable and gap < limit):
            raise ParseFailure(f"'{text[:60]}' states two different values")


def _stated_value(left: str, right: str) -> Answer | None:
    """`\\sqrt{4} = 2`, `\\binom{5}{2} = 10`: a computation and the constant it comes to, read
    as that constant; None for an equation in unknowns (`2x + 3 = 7`). A false statement
    (`\\sqrt{4} = 3`) is refused rather than read either way."""
    try:
        stated = _parse(right)
    except ParseFailure:
        return None
    if stated.kind != "scalar" or getattr(stated.value, "free_symbols", True):
        return None
    try:
        computed = imaginary_unit(to_sympy(left))
    except ParseFailure:
        # Unreadable (`17 \\bmod 5`): only when it names no variable at all.
        return None if re.search(r"[A-Za-z]", re.sub(r"\\[A-Za-z]+", "", left)) else stated
    if not hasattr(computed, "free_symbols") or computed.free_symbols:
        return None
    difference = computed.doit() - stated.value
    gap = abs(difference.evalf(30))
    if difference.is_Rational and difference != 0:
        raise ParseFailure(f"'{left} = {right}' states two different values")
    if not (gap.is_number and gap.is_comparable and gap <= 1e-20 * (1 + abs(stated.value.evalf(30)))):
        raise ParseFailure(f"'{left} = {right}' states two different values")
    return stated


def _mentions(text: str, symbol: str) -> bool:
    return re.search(rf"(?<![A-Za-z\\]){re.escape(symbol.strip())}(?![A-Za-z])", text) is not None


def _single(text: str) -> Answer:
    cells = matrix_cells(text)
    if cells is not None:
        return _matrix(cells, text)
    around = enclosed(text)
    if around is not None:
        return _bracketed(*around, text)
    if top_level(text, _UNION):
        return _union(text)
    if has_relation(text):
        return _relation(text)
    if top_level(text, _RATIO):
        return _ratio(text)
    return _leaf(text)


def _bracketed(opener: str, inner: str, closer: str, source: str) -> Answer:
    if opener == "{":
        return _parse(inner)  # grouping braces: `{1, 2}` is the list 1, 2
    if top_level(source, _UNION):
        return _union(source)
    parts = split_at(inner, _LIST_SEPARATOR) if inner else []
    if opener == "\\{":
        return Answer("list", tuple(_parse(p) for p in parts if p), source, braces=True)
    if len(parts) < 2:
        return _parse(inner) if opener + closer == "()" else _leaf(source)
    items = tuple(_parse(part) for part in parts)
    if opener + closer == "()" and not (len(items) == 2 and any(_infinite(i) for i in items)):
        return Answer("tuple", items, source, bracket="()" if len(items) == 2 else "")
    if len(items) == 2:
        return Answer("interval", interval(items[0], items[1], opener, closer), source)
    if opener + closer == "[]":
        return Answer("tuple", items, source)  # a vector in square brackets
    raise ParseFailure(f"'{source}' is neither a tuple nor an interval")


def _infinite(answer: Answer) -> bool:
    return answer.kind == "scalar" and bool(getattr(answer.value, "is_infinite", False))


def interval(low: Answer, high: Answer, opener: str = "(", closer: str = ")") -> Any:
    """The interval between two parsed endpoints; reversed endpoints are an error, never empty."""
    from sympy import Interval

    if low.kind != "scalar" or high.kind != "scalar":
        raise ParseFailure("interval endpoints must be numbers")
    a, b = low.value, high.value
    if (a - b).is_positive or (a == b and (opener, closer) != ("[", "]")):
        raise ParseFailure(f"the interval from {a} to {b} has its endpoints reversed")
    return Interval(a, b, left_open=opener == "(", right_open=closer == ")")


def _union(text: str) -> Answer:
    from sympy import FiniteSet, Union

    sets = []
    for part in split_at(text, _UNION):
        answer = _parse(part)
        if answer.kind == "tuple" and answer.bracket == "()":
            sets.append(interval(*answer.value))
        elif answer.kind == "interval":
            sets.append(answer.value)
        elif answer.kind == "list" and all(i.kind == "scalar" for i in answer.value):
            sets.append(FiniteSet(*(i.value for i in answer.value)))
        else:
            raise ParseFailure(f"'{part}' in a union is not a set")
    return Answer("interval", Union(*sets), text)


def _matrix(cells: list[list[str]], source: str) -> Answer:
    """A matrix from its cells as the tokenizer found them: the shape is what `\\\\` and `&` say."""
    from sympy import Matrix

    if not cells or len({len(row) for row in cells}) != 1 or not all(all(row) for row in cells):
        raise ParseFailure(f"'{source[:60]}' is not a rectangular matrix")
    entries = [[_parse(cell) for cell in row] for row in cells]
    if any(entry.kind != "scalar" for row in entries for entry in row):
        raise ParseFailure(f"'{source[:60]}' has an entry that is not a number or expression")
    return Answer("matrix", Matrix([[entry.value for entry in row] for row in entries]), source)


def _relation(text: str) -> Answer:
    return Answer("relation", (to_sympy(text),), text)


def _ratio(text: str) -> Answer:
    if clock(text) and (text.count(":") == 2 or re.search(r":\s*0", text)):
        return Answer("text", text, text)  # a time of day, `12:00`, is not the ratio 12:0
    parts = [_parse(part) for part in split_at(text, _RATIO)]
    if any(p.kind != "scalar" or p.value == 0 for p in parts):
        raise ParseFailure(f"'{text}' is not a ratio of nonzero values")
    return Answer("ratio", tuple(p.value for p in parts), text)


def _leaf(text: str) -> Answer:
    percent = text.endswith("%")
    text = text.removesuffix("%").strip()
    if "%" in text:
        raise ParseFailure(f"'{text[:60]}%' has a percent sign that is not after a number")  # `500%%`
    unit_name = ""
    unit = _UNIT.match(text)
    if unit and not words(unit.group(1)) and _is_unit(text[unit.end(1) :]):
        text, unit_name = unit.group(1).strip(), unit_spelling(text[unit.end(1) :])
    variants = expand_plus_minus(text)
    if len(variants) > 1:
        return Answer("list", tuple(_leaf(v + ("%" if percent else "")) for v in variants), text)
    if words(text):
        return Answer("text", " ".join(TEXT_MACRO.sub(r"\1", text).lower().split()).strip(" .,"), text)
    decimal = parse_decimal(text)
    if decimal is not None:
        from sympy import Rational

        value = Rational(decimal.value.numerator, decimal.value.denominator)
        return Answer("scalar", value, text, percent=percent, decimal=decimal, unit=unit_name)
    number = _number(text)
    answer = _classify(number if number is not None else _expression(text), text, percent)
    return replace(answer, unit=unit_name) if unit_name and answer.kind == "scalar" else answer


def _expression(text: str) -> Any:
    """An expression, refused when its reading ignores one of its numbers (the guard)."""
    value = to_sympy(text)
    loss = ignored_literal(text, value, to_sympy)
    if loss:
        raise ParseFailure(loss)
    return value


def _is_unit(tail: str) -> bool:
    """`cm`, `square units`, `\\text{ miles}` after a value are a unit; `ln x`, `pi`, `sin x`
    are mathematics, and a one-letter word is a variable."""
    if tail.strip().startswith("\\"):
        return True
    names = re.findall(r"[A-Za-z]+", tail)
    return all(len(name) >= 2 and name not in KNOWN_NAMES and name.lower() not in KNOWN_NAMES for name in names)


def _number(text: str) -> Any:
    """Integers of any length, and `1112_3` in its base, without the LaTeX parser."""
    from sympy import Integer

    if _INTEGER.fullmatch(text):
        return Integer(int(text))
    mixed = _MIXED.fullmatch(text)
    if mixed and int(mixed.group(3)) < int(mixed.group(4)):
        from sympy import Rational

        value = int(mixed.group(2)) + Rational(int(mixed.group(3)), int(mixed.group(4)))
        return -value if mixed.group(1) == "-" else value
    repeating = _REPEATING.fullmatch(text)
    if repeating:  # `0.\\overline{3}` is exactly 1/3
        from sympy import Rational

        sign, whole, fixed, cycle = repeating.groups()
        value = Rational(int(whole or "0")) + Rational(
            int(fixed + cycle) - int(fixed or "0"), 10 ** len(fixed) * (10 ** len(cycle) - 1)
        )
        return -value if sign == "-" else value
    base = _BASE.fullmatch(text)
    if base and 2 <= int(base.group(2)) <= 36 and all(int(d, 36) < int(base.group(2)) for d in base.group(1)):
        return Integer(int(base.group(1), int(base.group(2))))
    return None


def _classify(value: Any, source: str, percent: bool) -> Answer:
    from sympy import And, Eq, FiniteSet, MatrixBase, Or, Set, Tuple
    from sympy.core.relational import Relational

    if isinstance(value, MatrixBase):
        return Answer("matrix", value, source)
    if isinstance(value, FiniteSet) and all(isinstance(v, Relational) for v in value):
        return Answer("relation", tuple(value), source)
    if isinstance(value, FiniteSet):
        return Answer("list", tuple(_classify(v, str(v), False) for v in value), source, braces=True)
    if isinstance(value, Set):
        return Answer("interval", value, source)
    if isinstance(value, Eq):
        return Answer("equation", value, source)
    if isinstance(value, Relational | And | Or):
        return Answer("relation", (value,), source)
    if isinstance(value, Tuple):
        return Answer("tuple", tuple(_classify(v, str(v), False) for v in value), source)
    if hasattr(value, "free_symbols"):
        return Answer("scalar", imaginary_unit(value), source, percent=percent)
    raise ParseFailure(f"unsupported answer form: {type(value).__name__}")
