"""Units written after a value (`5 \\text{ km}`, `3 hours`, `90^\\circ`, `\\$5`), in one spelling
per unit. A unit on one side only is ignored; units on both sides must be the same one
(vibecli.verify.scalars). Units are never converted into each other (`km` against `m` is
`undecided`, not a factor of 1000).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vibecli.verify.parse import Answer

_UNIT_SYNONYMS = {"degree": "°", "deg": "°", "\\circ": "°", "dollar": "$", "usd": "$"}


def unit_spelling(tail: str) -> str:
    """One spelling per unit: `\\text{ km}`, ` km` → `km`; `hours` → `hour`; `^{2}` → `^2`;
    `degrees` → `°`. Units are not converted into each other."""
    tail = re.sub(r"\\(?:text|textnormal|mathrm|textrm|mbox)\{([^{}]*)\}", r"\1", tail)
    tail = re.sub(r"[{}\s]", "", tail).rstrip(".")
    name, power, exponent = tail.partition("^")
    if len(name) >= 4 and name.endswith("s") and not name.endswith("ss"):
        name = name[:-1]  # `hours`, `minutes`, `cents`, `meters`
    name = _UNIT_SYNONYMS.get(name.lower(), name)
    return name + power + exponent


_CURRENCY = re.compile(r"\\\$|€|£|¥|(?<!\$)\$(?=\s*\d)(?![^$]*\$)")
_CURRENCY_NAMES = {"€": "€", "£": "£", "¥": "¥"}


def stripped_unit(answer: Answer, text: str) -> Answer:
    """A degree sign or a currency symbol, which normalizing removes, as the unit of a single
    value: `90^\\circ` is 90 in `°`, `\\$5` is 5 in `$`."""
    if answer.kind != "scalar" or answer.unit:
        return answer
    from vibecli.verify.expressions import TRIG_CALL
    from vibecli.verify.normalize import DEGREES, strip_wrappers

    text = strip_wrappers(text)
    if DEGREES.search(text) and not TRIG_CALL.search(text):
        return replace(answer, unit="°")
    currency = _CURRENCY.search(text)
    if currency:
        return replace(answer, unit=_CURRENCY_NAMES.get(currency.group(), "$"))
    return answer
