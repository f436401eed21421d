"""Decimals as written: the exact value and the digits given, which decide whether a decimal
approximation may stand for an exact value (vibecli.verify.scalars)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

_DECIMAL = re.compile(r"^([+-]?)(\d*)(?:\.(\d+))?(?:\s*(?:e|E|\\(?:times|cdot)\s*10\^|\*\s*10\^)\{?([+-]?\d+)\}?)?$")


@dataclass(frozen=True)
class DecimalLiteral:
    """A decimal as written: its exact value and its significant digits."""

    value: Fraction
    digits: int
    places: int  # digits after the decimal point (negative for `1.2e5`-style magnitudes)


def parse_decimal(text: str) -> DecimalLiteral | None:
    """`3.14`, `-0.0025`, `.4`, `6.02e23`, `6.02 \\times 10^{23}` as written; None for integers."""
    match = _DECIMAL.match(re.sub(r"\s+(?![a-z])", "", text))
    if not match or not (match.group(2) or match.group(3)):
        return None
    sign, whole, fraction, exponent = match.groups()
    whole, fraction = whole or "0", fraction or ""
    if not fraction and exponent is None:
        return None  # an integer: exact, not a decimal
    digits_text = (whole + fraction).lstrip("0") or "0"
    value = Fraction(int(whole + fraction), 10 ** len(fraction)) * Fraction(10) ** int(exponent or 0)
    return DecimalLiteral(-value if sign == "-" else value, len(digits_text), len(fraction) - int(exponent or 0))
