"""One expression (a leaf of an answer's structure) to SymPy.

LaTeX (anything with a backslash or braces) goes through latex2sympy2_extended; plain text
through the guarded SymPy parser (vibecli.verify.plain), falling back to LaTeX for forms only
LaTeX reads. Words are refused, never read as products of one-letter symbols; a name written
against a function (`Bsin(\\pi)`, `90x\\sin(5x+1)`) is a product. Decimals become exact
fractions. Degrees inside trigonometric functions are radians times π/180.
"""

from __future__ import annotations

import re
from typing import Any

from vibecli.verify.plain import CONSTANTS, FUNCTIONS, ParseFailure, plain_to_sympy

KNOWN_NAMES = frozenset(FUNCTIONS + CONSTANTS + ("arcsin", "arccos", "arctan", "lg", "max", "min", "mod", "det",
                                                  "sgn", "ceil", "deg", "Abs"))  # fmt: skip
_WORD = re.compile(r"(?<![\\A-Za-z])(?:[A-Za-z]*[a-z][A-Za-z]{2,}|[A-Z][a-z]+)(?![A-Za-z])")
TEXT_MACRO = re.compile(r"\\(?:text|textbf|textit|textnormal|mbox|textrm)\{([^{}]*)\}")
_TRIG = ("arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "sin", "cos", "tan", "cot", "sec", "csc")
TRIG_CALL = re.compile(rf"\\?(?:{'|'.join(_TRIG)})(?![a-z])")
# One or two one-letter names written against a function: `Bsin(`, `xsin(`, `90xsin(`.
_NAME_BEFORE_FUNCTION = re.compile(
    rf"(?<![A-Za-z\\])([A-Za-z]{{1,2}})({'|'.join(sorted(FUNCTIONS, key=len, reverse=True))})(?=\s*\()"
)
_LONE_GAMMA = re.compile(r"\\Gamma(?![A-Za-z])(?!\s*(?:\(|\\left\())")
_DECIMAL_IN_TEXT = re.compile(r"(?<![\w.])(\d*)\.(\d+)(?![\w.])")  # `0.5`, `.5`


def _split_name_from_function(match: re.Match[str]) -> str:
    whole = match.group(1) + match.group(2)
    return whole if whole in KNOWN_NAMES else f"{match.group(1)}*{match.group(2)}"


def words(text: str) -> list[str]:
    """Words (not names of functions or constants, not LaTeX commands) in `text`."""
    text = re.sub(r"\\(?:begin|end|operatorname)\{[^{}]*\}", " ", text)
    text = _NAME_BEFORE_FUNCTION.sub(lambda m: f"{m.group(1)} {m.group(2)}", text)
    plain = TEXT_MACRO.sub(lambda m: f" {m.group(1)} " if len(m.group(1).strip()) > 1 else "", text)
    return [w for w in _WORD.findall(plain) if w not in KNOWN_NAMES and w.lower() not in KNOWN_NAMES] + [
        m.group(1) for m in TEXT_MACRO.finditer(text) if re.search(r"[A-Za-z]{2,}", m.group(1))
    ]


def imaginary_unit(expr: Any) -> Any:
    """`i` is the imaginary unit when nothing else in the expression is a variable."""
    from sympy import I, Symbol

    names = {s.name for s in getattr(expr, "free_symbols", ())}
    return expr.subs(Symbol("i"), I) if names == {"i"} else expr


def _exact_decimal(match: re.Match[str], latex: bool) -> str:
    """`0.5` as the exact fraction 5/10 (a leading zero would read as `0 5`, the product 0·5)."""
    numerator, denominator = int(match.group(1) + match.group(2)), 10 ** len(match.group(2))
    return f"{{\\frac{{{numerator}}}{{{denominator}}}}}" if latex else f"({numerator}/{denominator})"


def to_sympy(text: str) -> Any:
    """LaTeX via latex2sympy2_extended; plain text through the guarded SymPy parser, falling
    back to LaTeX for forms only LaTeX reads. Words are refused."""
    found = words(text)
    if found:
        raise ParseFailure(f"'{found[0]}' is a word, not mathematics")
    latex = bool(re.search(r"[\\{}]", text))
    # Decimals inside expressions become exact fractions: `10\sqrt{10.5}` is 10·√(21/2).
    exact = _DECIMAL_IN_TEXT.sub(lambda m: _exact_decimal(m, latex), text)
    if latex or re.search(r"[<>]", text):  # LaTeX reads chains and f(x) in relations better
        return _latex(exact)
    exact = _NAME_BEFORE_FUNCTION.sub(_split_name_from_function, exact)
    try:
        return plain_to_sympy(exact)
    except ParseFailure:
        return _latex(text)


def _latex(text: str) -> Any:
    from latex2sympy2_extended import NormalizationConfig, latex2sympy
    from latex2sympy2_extended.latex2sympy2 import ConversionConfig

    config = NormalizationConfig(
        basic_latex=True, units=True, malformed_operators=True, nits=True, boxed="all", equations=False
    )
    if _LONE_GAMMA.search(text):  # the parser reads it as Euler's constant, the same as `\\gamma`
        raise ParseFailure("a capital Gamma that is not the gamma function")
    degrees = "\\circ" in text and TRIG_CALL.search(text) is not None
    try:
        # Case is kept: `\\Theta` is not `\\theta`, nor `X` `x`.
        return latex2sympy(
            text,
            convert_degrees=degrees,
            normalization_config=config,
            conversion_config=ConversionConfig(lowercase_symbols=False),
        )
    except Exception as exc:  # the ANTLR parser raises many types; any of them means "not readable"
        raise ParseFailure(f"cannot parse LaTeX: {str(exc).splitlines()[0][:120]}") from None
