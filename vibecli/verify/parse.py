"""Turn an answer string into a typed mathematical value.

LaTeX goes through latex2sympy2_extended. Plain text goes through SymPy's parser, and only
after a token whitelist has shown it to be arithmetic (numbers, known names, operators), so
that nothing a model writes is ever run as Python. Decimals keep the number of digits the
writer gave, because comparing against them depends on it.
"""

from __future__ import annotations

import functools
import io
import keyword
import re
import tokenize
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

Kind = Literal["choice", "text", "scalar", "tuple", "set", "interval", "relation", "equation", "matrix"]


class ParseFailure(ValueError):
    """The answer could not be read as mathematics."""


@dataclass(frozen=True)
class Decimal:
    """A decimal as written: its exact value and its significant digits."""

    value: Fraction
    digits: int
    places: int  # digits after the decimal point (negative for `1.2e5`-style magnitudes)


@dataclass(frozen=True)
class Answer:
    """A parsed answer. `value` is a SymPy object, a tuple of Answers, or a string."""

    kind: Kind
    value: Any
    source: str
    percent: bool = False
    decimal: Decimal | None = None  # set when the whole answer is one decimal literal
    bracket: str = ""  # "()", "[]", "[)", "(]" for two-element collections that may be intervals

    def show(self) -> str:
        if self.kind in ("tuple", "set"):
            inner = ", ".join(item.show() for item in self.value)
            return f"({inner})" if self.kind == "tuple" else f"{{{inner}}}"
        if self.decimal is not None:
            return clean(self.source)
        return str(self.value) + ("%" if self.percent else "")


_CHOICE = re.compile(r"^\(?([A-J])\)?[.:]?$")
_TEXTUAL = re.compile(r"^[A-Za-z][A-Za-z' -]*$")
_DECIMAL = re.compile(r"^([+-]?)(\d+(?:,\d{3})*)?(?:\.(\d+))?(?:\s*(?:e|E|\\times\s*10\^|\*\s*10\^)\{?([+-]?\d+)\}?)?$")
_ASSIGNMENT = re.compile(r"^\s*([A-Za-z](?:_\{?\w+\}?)?)\s*=(?!=)\s*(.+)$", re.DOTALL)
_WRAPPERS = [
    (re.compile(r"^\\boxed\s*\{(.*)\}$", re.DOTALL), r"\1"),
    (re.compile(r"^\\text\{(.*)\}$", re.DOTALL), r"\1"),
    (re.compile(r"^\$+(.*?)\$+$", re.DOTALL), r"\1"),
    (re.compile(r"^\\\((.*)\\\)$", re.DOTALL), r"\1"),
    (re.compile(r"^\\\[(.*)\\\]$", re.DOTALL), r"\1"),
]
_CLEANUPS = [
    (re.compile(r"\\mathrm\{e\}|\\text\{e\}|\\operatorname\{e\}"), "e"),
    (re.compile(r"\\(?:mathrm|mathbf|textbf|mathit|operatorname)\{([^{}]*)\}"), r"\1"),
    (re.compile(r"\\[,;!: ]|~"), " "),
    (re.compile(r"\\left|\\right|\\big|\\Big|\\bigg|\\Bigg"), ""),
    (re.compile(r"\\dfrac|\\tfrac"), r"\\frac"),
    (re.compile(r"\^\s*\{?\\circ\}?|°|\\degree"), ""),
    (re.compile(r"\\\$|(?<![\\\w])\$(?=\d)|€|£"), ""),
]
_SET_BRACES = re.compile(r"^\\\{(.*)\\\}$", re.DOTALL)
_OPEN_CLOSE = {"(": ")", "[": "]", "\\{": "\\}"}


def clean(text: str) -> str:
    """Strip wrappers (`\\boxed`, `$`, `\\text`), spacing macros, degrees and currency."""
    text = text.strip().rstrip(".").strip()
    changed = True
    while changed:
        changed = False
        for pattern, repl in _WRAPPERS:
            new = pattern.sub(repl, text).strip()
            if new != text:
                text, changed = new, True
    for pattern, repl in _CLEANUPS:
        text = pattern.sub(repl, text)
    return text.strip().rstrip(".").strip()


def split_top_level(text: str, separator: str = ",") -> list[str]:
    """Split on `separator` outside any brackets."""
    parts: list[str] = []
    current: list[str] = []
    depth = i = 0
    while i < len(text):
        ch = text[i]
        if text.startswith("\\{", i) or ch in "([{":
            depth += 1
        elif text.startswith("\\}", i) or ch in ")]}":
            depth -= 1
        if ch == separator and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        if text.startswith("\\{", i) or text.startswith("\\}", i):
            current.append(text[i + 1])
            i += 1
        i += 1
    parts.append("".join(current))
    return [p.strip() for p in parts]


def _enclosed(text: str) -> tuple[str, str, str] | None:
    """(`open`, inner, `close`) when one bracket pair encloses the whole text."""
    braces = _SET_BRACES.match(text)
    if braces and _balanced(braces.group(1)):
        return "{", braces.group(1), "}"
    if len(text) >= 2 and text[0] in "([" and text[-1] in ")]" and _balanced(text[1:-1]):
        return text[0], text[1:-1], text[-1]
    return None


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += ch in "([{"
        depth -= ch in ")]}"
        if depth < 0:
            return False
    return depth == 0


def parse_decimal(text: str) -> Decimal | None:
    """`3.14`, `-0.0025`, `1,234.5`, `6.02e23`, `6.02 \\times 10^{23}` as written."""
    match = _DECIMAL.match(text.replace(" ", "") if "times" not in text else text)
    if not match or not (match.group(2) or match.group(3)):
        return None
    sign, whole, fraction, exponent = match.groups()
    whole = (whole or "0").replace(",", "")
    fraction = fraction or ""
    if not fraction and exponent is None:
        return None  # an integer: exact, not a decimal
    digits_text = (whole + fraction).lstrip("0") or "0"
    value = Fraction(int(whole + fraction), 10 ** len(fraction)) * Fraction(10) ** int(exponent or 0)
    return Decimal(
        value=-value if sign == "-" else value,
        digits=len(digits_text),
        places=len(fraction) - int(exponent or 0),
    )


@functools.lru_cache(maxsize=8192)
def parse_answer(text: str) -> Answer:
    """Parse one answer (cached). Raises ParseFailure when it is not readable mathematics."""
    source = text
    text = clean(text)
    if not text:
        raise ParseFailure("empty answer")
    choice = _CHOICE.match(text)
    if choice:
        return Answer("choice", choice.group(1), source)
    percent = bool(re.search(r"\\?%$", text))
    if percent:
        text = re.sub(r"\s*\\?%$", "", text)
    enclosed = _enclosed(text)
    if re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?", text):
        text = text.replace(",", "")  # thousands separators
    items = split_top_level(enclosed[1] if enclosed else text)
    if len(items) > 1:
        return _collection(items, enclosed, source)
    if enclosed and enclosed[0] == "{":
        return Answer("set", (parse_answer(enclosed[1]),), source)
    decimal = parse_decimal(text)
    if decimal is not None:
        from sympy import Rational

        value = Rational(decimal.value.numerator, decimal.value.denominator)
        return Answer("scalar", value, source, percent=percent, decimal=decimal)
    if _TEXTUAL.match(text) and len(text) > 1 and text not in FUNCTIONS + CONSTANTS:
        return Answer("text", " ".join(text.lower().split()), source)
    return _classify(to_sympy(text), source, percent)


def _collection(items: list[str], enclosed: tuple[str, str, str] | None, source: str) -> Answer:
    parsed = tuple(parse_answer(item) for item in items)
    if enclosed is None or enclosed[0] == "{":
        return Answer("set", parsed, source)  # "1, 2, 3" lists all solutions: order does not matter
    bracket = enclosed[0] + enclosed[2] if len(parsed) == 2 else ""
    return Answer("tuple", parsed, source, bracket=bracket)


def _classify(value: Any, source: str, percent: bool) -> Answer:
    from sympy import And, Eq, FiniteSet, MatrixBase, Or, Set
    from sympy.core.relational import Relational

    if isinstance(value, MatrixBase):
        return Answer("matrix", value, source)
    if isinstance(value, FiniteSet) and all(isinstance(v, Relational) for v in value):
        return Answer("relation", tuple(value), source)  # "x < 2 or x > 5"
    if isinstance(value, FiniteSet):
        return Answer("set", tuple(_classify(v, str(v), False) for v in value), source)
    if isinstance(value, Set):
        return Answer("interval", value, source)
    if isinstance(value, Eq):
        return Answer("equation", value, source)
    if isinstance(value, Relational | And | Or):
        return Answer("relation", (value,), source)  # `1 \le x < 3` is And(...)
    if hasattr(value, "free_symbols"):
        return Answer("scalar", _constants(value), source, percent=percent)
    raise ParseFailure(f"unsupported answer form: {type(value).__name__}")


def imaginary_unit(expr: Any) -> Any:
    """Public alias: `i` read as the imaginary unit when it is the only symbol."""
    return _constants(expr)


def _constants(expr: Any) -> Any:
    """`i` is the imaginary unit when nothing else in the expression is a variable."""
    from sympy import I, Symbol

    names = {s.name for s in expr.free_symbols}
    return expr.subs(Symbol("i"), I) if names == {"i"} else expr


def to_sympy(text: str) -> Any:
    """LaTeX (anything with a backslash or braces) via latex2sympy2_extended; plain text through
    the guarded SymPy parser, falling back to LaTeX for forms only LaTeX reads."""
    if re.search(r"[\\{}]", text):
        return _latex(text)
    try:
        return plain_to_sympy(text)
    except ParseFailure:
        return _latex(text)


def _latex(text: str) -> Any:
    from latex2sympy2_extended import NormalizationConfig, latex2sympy

    config = NormalizationConfig(
        basic_latex=True, units=True, malformed_operators=True, nits=True, boxed="all", equations=False
    )
    try:
        return latex2sympy(text, normalization_config=config)
    except Exception as exc:  # the ANTLR parser raises many types; any of them means "not readable"
        raise ParseFailure(f"cannot parse LaTeX: {str(exc).splitlines()[0][:120]}") from None


# Names plain-text answers may use, mapped to SymPy by `_plain_namespace`.
FUNCTIONS = ("sqrt", "sin", "cos", "tan", "cot", "sec", "csc", "asin", "acos", "atan", "sinh", "cosh", "tanh",
             "exp", "log", "ln", "abs", "factorial", "binomial", "floor", "ceiling", "gcd", "lcm")  # fmt: skip
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
    from sympy import Eq, Ge, Gt, Le, Lt
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
    relations = [("<=", Le), (">=", Ge), ("==", Eq), ("=", Eq), ("<", Lt), (">", Gt)]
    for symbol, relation in relations:
        if symbol in text:
            left, _, right = text.partition(symbol)
            return relation(plain_to_sympy(left), plain_to_sympy(right))
    import sympy

    # The whitelist above already excludes builtins; an empty __builtins__ makes sure.
    global_dict: dict[str, Any] = {"__builtins__": {}}
    for name in ("Integer", "Float", "Rational", "Symbol", "Function", "Mul", "Add", "Pow", "factorial"):
        global_dict[name] = getattr(sympy, name)
    try:
        return parse_expr(text, local_dict=_plain_namespace(), global_dict=global_dict, transformations=transformations)
    except Exception as exc:  # SymPy's parser raises assorted types on malformed input
        raise ParseFailure(f"cannot parse: {str(exc).splitlines()[0][:120]}") from None


def assignment_value(text: str) -> str | None:
    """The right side of `x = 5` (a single variable on the left), else None."""
    match = _ASSIGNMENT.match(clean(text))
    if match and "=" not in match.group(2) and not re.search(r"[<>]", match.group(2)):
        return match.group(2).strip()
    return None
