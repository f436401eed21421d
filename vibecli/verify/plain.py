"""Plain-text math (`sqrt(2)/2`, `3x^2 + 1`, `x = 5`) to SymPy, never running it as code.

SymPy's `parse_expr` evaluates Python, so the text must first pass a token whitelist that
admits only numbers, known names and arithmetic operators; the evaluation then runs with
empty builtins.
"""

from __future__ import annotations

import io
import keyword
import re
import tokenize
from typing import Any


class ParseFailure(ValueError):
    """The answer could not be read as mathematics."""


# Names plain-text answers may use, mapped to SymPy by `_plain_namespace`.
FUNCTIONS = ("sqrt", "sin", "cos", "tan", "cot", "sec", "csc", "asin", "acos", "atan", "sinh", "cosh", "tanh",
             "exp", "log", "ln", "abs", "factorial", "binomial", "floor", "ceiling", "gcd", "lcm", "Abs")  # fmt: skip
CONSTANTS = ("pi", "e", "E", "I", "oo", "inf", "infinity")
_ALLOWED_OPS = {"+", "-", "*", "/", "**", "^", "(", ")", "[", "]", ",", "=", "<", ">", "<=", ">=", "!", "%", "==", "."}


def check_plain_tokens(text: str) -> None:
    """Refuse anything but arithmetic: no attribute access, no dunders, no unknown names."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text.strip()).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError) as exc:
        raise ParseFailure(f"not arithmetic: {exc}") from None
    previous = None
    for token in tokens:
        if token.type in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.INDENT, tokenize.DEDENT):
            continue
        if token.type == tokenize.NAME:
            name = token.string
            # Letters only (split into single-letter symbols later), never a Python keyword.
            if keyword.iskeyword(name) or not re.fullmatch(r"[A-Za-z]+\d*", name):
                raise ParseFailure(f"unknown name '{name}'")
        elif token.type == tokenize.OP:
            if token.string not in _ALLOWED_OPS:
                raise ParseFailure(f"operator '{token.string}' is not arithmetic")
            if token.string == "." and previous is not None and previous.type != tokenize.NUMBER:
                raise ParseFailure("attribute access is not arithmetic")
        elif token.type != tokenize.NUMBER:
            raise ParseFailure(f"'{token.string}' is not arithmetic")
        previous = token


def _plain_namespace() -> dict[str, Any]:
    import sympy

    names: dict[str, Any] = {name: getattr(sympy, name) for name in FUNCTIONS if hasattr(sympy, name)}
    names.update(ln=sympy.log, abs=sympy.Abs, pi=sympy.pi, e=sympy.E, E=sympy.E, I=sympy.I)
    names.update(oo=sympy.oo, inf=sympy.oo, infinity=sympy.oo)
    return names


def plain_to_sympy(text: str) -> Any:
    """Plain-text math (`sqrt(2)/2`, `3x^2 + 1`, `x = 5`) to SymPy, never running it as code."""
    from sympy import And, Eq, Ge, Gt, Le, Lt
    from sympy.parsing.sympy_parser import (
        convert_xor,
        factorial_notation,
        function_exponentiation,
        implicit_application,
        implicit_multiplication,
        parse_expr,
        split_symbols_custom,
        standard_transformations,
    )

    check_plain_tokens(text)

    def splittable(name: str) -> bool:
        # `xy` is x*y, but `C1`, `D2` and function names stay whole.
        return not re.fullmatch(r"[A-Za-z]\d+", name) and name not in FUNCTIONS + CONSTANTS

    transformations = (
        *standard_transformations,
        split_symbols_custom(splittable),
        implicit_multiplication,
        implicit_application,
        function_exponentiation,
        convert_xor,
        factorial_notation,
    )
    relations = {"<=": Le, ">=": Ge, "==": Eq, "=": Eq, "<": Lt, ">": Gt}
    pieces = re.split(r"(<=|>=|==|=|<|>)", text)
    if len(pieces) > 1:
        # `a < b <= c` is a chain: each neighbouring pair is one relation.
        sides = [plain_to_sympy(piece) for piece in pieces[::2]]
        try:
            chain = [relations[op](a, b) for op, a, b in zip(pieces[1::2], sides, sides[1:], strict=False)]
        except TypeError as exc:
            raise ParseFailure(f"not a relation: {exc}") from None
        return chain[0] if len(chain) == 1 else And(*chain)
    import sympy

    # The whitelist above already excludes builtins; an empty __builtins__ makes sure.
    global_dict: dict[str, Any] = {"__builtins__": {}}
    for name in ("Integer", "Float", "Rational", "Symbol", "Function", "Mul", "Add", "Pow", "factorial"):
        global_dict[name] = getattr(sympy, name)
    try:
        return parse_expr(text, local_dict=_plain_namespace(), global_dict=global_dict, transformations=transformations)
    except Exception as exc:  # SymPy's parser raises assorted types on malformed input
        raise ParseFailure(f"cannot parse: {str(exc).splitlines()[0][:120]}") from None
