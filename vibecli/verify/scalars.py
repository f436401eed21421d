"""Numbers and expressions.

- Exact values compare exactly; a difference that is not provably zero is at most
  "numerically equal to 150 digits".
- The decimals rule: a decimal that is exactly the other value is equal (`0.25` and `\\frac14`).
  A decimal approximation of an exact value is equal only when it gives at least 6
  significant digits and agrees with the value to all of them (within one unit of its last
  digit), so `0.0833333333333333` is `\\frac{1}{12}` but `3.14` is not `\\pi`. Two decimals
  compare exactly.
- `\\infty` equals only `\\infty` of the same sign; `1/0`, `0/0` and NaN equal nothing.
- An exact integer needs its exact value: `1234567` is not `1.23457e6` (nor `1.23457\\times10^6`).
- `50%` reads as 50 or as 0.5 when the other side has no percent sign; with a percent sign on
  both sides, the numbers before them are compared (`50%` is not `0.5%`).
- An identity in variables is proven symbolically and refuted at random points, positive ones
  and then ones of either sign where both sides are real (`|x|` is not `x`: they differ at
  x = -1). Proven only for positive variables is `equal` when the two sides are real at the
  same sample points (`\\sqrt{1/n}` and `1/\\sqrt{n}`), otherwise `undecided` (`\\log(x^2)` is
  real at x = -1, `2\\log x` is not). Equal only if `i` is the imaginary unit, or at random
  points but unproven, is `undecided`.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass, replace
from typing import Any

from vibecli.verify.parse import Answer, DecimalLiteral
from vibecli.verify.verdict import Verdict, no, undecided, yes

SIGNIFICANT_DIGITS = 6  # the fewest significant digits a decimal approximation may give
_MAX_EXACT_DIGITS = 100_000  # beyond this an integer power is compared through its logarithm


def compare_scalars(gold: Answer, pred: Answer) -> Verdict:
    """Numbers and expressions, by the rules in this module's docstring."""
    unit = _unit_clash(gold, pred)
    if unit is not None:
        return unit
    if gold.percent and pred.percent:
        return _compare_values(gold, pred)
    verdicts = [_compare_values(g, p) for g in _readings(gold) for p in _readings(pred)]
    for verdict in verdicts:
        if verdict.verdict == "equal":
            return verdict
    return next((v for v in verdicts if v.verdict == "undecided"), verdicts[0])


def _unit_clash(gold: Answer, pred: Answer) -> Verdict | None:
    """Units on both sides must be the same unit (`5 km` is not `5 m`); a unit on one side only
    is ignored (`5 cm` against `5`). Different spellings of one unit (`km`, `kilometres`) are not
    converted, so they give `undecided`."""
    if gold.unit and pred.unit and gold.unit != pred.unit:
        return undecided(f"different units: {gold.unit} and {pred.unit}")
    return None


def _readings(answer: Answer) -> list[Answer]:
    """`50%` may be meant as 50 or as 0.5; a bare number is only itself."""
    if not answer.percent:
        return [answer]
    from sympy import Rational

    decimal = answer.decimal
    if decimal is not None:
        decimal = DecimalLiteral(decimal.value / 100, decimal.digits, decimal.places + 2)
    return [answer, replace(answer, value=answer.value * Rational(1, 100), decimal=decimal, percent=False)]


def _compare_values(gold: Answer, pred: Answer) -> Verdict:
    from sympy import S

    g, p = gold.value, pred.value
    for who, value in (("the gold answer", g), ("the prediction", p)):
        if value.has(S.NaN, S.ComplexInfinity):
            return no(f"{who} is undefined (a division by zero or 0/0)")
    g, p = _summed(g), _summed(p)
    if _infinite(g) or _infinite(p):
        return yes("the same infinity") if g == p else no("infinity equals only the same infinity")
    if gold.decimal is not None and pred.decimal is not None:
        return yes("the same value") if gold.decimal.value == pred.decimal.value else no("different values")
    if gold.decimal is not None:
        return _against_decimal(gold.decimal, p)
    if pred.decimal is not None:
        return _against_decimal(pred.decimal, g)
    return exact_compare(g, p)


def _summed(value: Any) -> Any:
    """A series, product, integral or limit (whose bounds may be `\\infty`) worked out."""
    return value.doit() if _has_limiting(value) else value


def _has_limiting(value: Any) -> bool:
    from sympy import Integral, Limit, Product, Sum

    return bool(value.has(Sum, Product, Integral, Limit))


def _infinite(value: Any) -> bool:
    """An infinite value, not a convergent series up to `\\infty` left unevaluated."""
    from sympy import S

    return bool(value.has(S.Infinity, S.NegativeInfinity)) and not _has_limiting(value)


def _against_decimal(decimal: DecimalLiteral, exact: Any) -> Verdict:
    from sympy import Abs, Rational

    written = Rational(decimal.value.numerator, decimal.value.denominator)
    if exact.free_symbols:
        return no("a decimal against an expression in variables")
    if _too_large(exact):
        return no("a decimal against a number too large to have been written out")
    difference = exact - written
    if difference == 0:
        return yes("the same value")
    if exact.is_integer is True:  # `1234567` (or `2^{100}`) is not `1.23457e6`: an exact integer needs its exact value
        close = abs(difference) < Rational(10) ** (-decimal.places)
        return no("a rounded decimal against an exact integer" if close else "different values")
    if difference.is_Rational:
        return _approximation(decimal, abs(difference))
    gap = Abs(difference).evalf(decimal.digits + 20)
    if not gap.is_number or gap.is_real is not True:
        return no("not a real number") if gap.is_number else undecided("could not evaluate the exact value")
    return _approximation(decimal, gap)


def _approximation(decimal: DecimalLiteral, gap: Any) -> Verdict:
    from sympy import Rational

    unit = Rational(10) ** (-decimal.places)
    if gap >= unit:
        return no("different values")
    if decimal.digits < SIGNIFICANT_DIGITS:
        return no(
            f"a {decimal.digits}-digit decimal approximation of an exact value "
            f"(at least {SIGNIFICANT_DIGITS} significant digits are needed)"
        )
    return yes(f"a {decimal.digits}-digit decimal that agrees with the exact value")


def _too_large(expr: Any) -> bool:
    """An integer power with more digits than is sensible to compute exactly (`10^{10^{10}}`)."""
    from sympy import Pow

    for power in expr.atoms(Pow):
        base, exponent = power.as_base_exp()
        if base.is_number and exponent.is_number and abs(base) > 1:
            size = _estimate(exponent) * math.log10(max(2.0, float(abs(base.evalf(10)))))
            if size > _MAX_EXACT_DIGITS:
                return True
    return False


def _estimate(exponent: Any) -> float:
    try:
        return abs(float(exponent.evalf(15)))
    except (TypeError, ValueError, OverflowError):
        return math.inf


def exact_compare(g: Any, p: Any) -> Verdict:
    """Exact values: identical, provably equal, numerically equal to 150 digits, or not."""
    if g == p:
        return yes("identical")
    if _too_large(g) or _too_large(p):
        return _compare_huge(g, p)
    g, p = g.doit(), p.doit()  # parsed expressions may be unevaluated: `15 + 2\sqrt{33}`
    if g == p:
        return yes("identical")
    difference = g - p
    if difference == 0:
        return yes("identical")
    symbols = difference.free_symbols
    if symbols:
        return _identity(g, p, symbols)
    if difference.is_Rational:
        return no("different values")
    scale = max(_magnitude(g), _magnitude(p), 1.0)
    rough = abs(difference.evalf(30))  # the size of a complex difference is real: `3+4i` vs `3-4i`
    if rough.is_number and rough.is_comparable and rough > scale * 1e-20:
        return no("different values")
    if difference.expand() == 0:
        return yes("symbolically equal")
    fine = abs(difference.evalf(200 + int(math.log10(scale))))
    if not fine.is_number or not fine.is_comparable:
        return undecided("could not evaluate the difference")
    return yes("numerically equal to 150 digits") if fine <= scale * 1e-150 else no("different values")


def _magnitude(value: Any) -> float:
    try:
        return float(abs(value.evalf(15)))
    except (TypeError, ValueError, OverflowError):
        return 1.0


def _compare_huge(g: Any, p: Any) -> Verdict:
    a, b = g.evalf(60), p.evalf(60)
    comparable = a.is_number and b.is_number and a.is_comparable and b.is_comparable
    if comparable and abs(a - b) > max(abs(a), abs(b)) * 1e-40:
        return no("different values")
    return undecided("too large to compare exactly, and equal to 40 digits")


def _identity(g: Any, p: Any, symbols: set[Any]) -> Verdict:
    """Symbolic equality, refuted at sample points (positive ones, then one for each pattern
    of signs), proven. Equal when proven only for positive variables is `equal` only when no
    sample point has one side real and the other not (the two have the same real domain);
    otherwise `undecided`, since no problem statement is at hand to say the variables are
    positive."""
    from sympy import I, Symbol, simplify
    from sympy.core.function import AppliedUndef

    difference = g - p
    if any(s.name == "i" for s in symbols) and simplify(difference.subs(Symbol("i"), I)) == 0:
        return undecided("equal if i is the imaginary unit")
    samples = _refute(g, p, symbols)
    if samples.counterexample is not None:
        return samples.counterexample
    if simplify(difference) == 0:
        return yes("symbolically equal")
    names = ", ".join(sorted(s.name for s in symbols))
    positive = {s: Symbol(s.name, positive=True) for s in symbols}
    if simplify(difference.subs(positive)) == 0:
        if samples.domains_differ or not samples.evaluated:
            return undecided(f"equal only if {names} > 0, which is not stated")
        return yes(f"equal wherever both are real (proven for {names} > 0)")
    if difference.atoms(AppliedUndef):
        return no("different expressions of an unknown function")
    if not samples.evaluated:
        return undecided("could not evaluate the expressions")
    return undecided("equal at random points but not proven")


@dataclass(frozen=True)
class _Samples:
    counterexample: Verdict | None  # a point where both sides are real and differ
    evaluated: int  # points where the difference was a number
    domains_differ: bool  # a point where one side is real and the other is not


def _refute(g: Any, p: Any, symbols: set[Any]) -> _Samples:
    """Both sides at 6 random positive points, then at one point for each pattern of signs
    (random ones beyond 4 variables). A point with a negative coordinate refutes only where
    both sides are real there: `\\log x` has no real value at -1, `|x|` and `x` have."""
    from sympy import Float, Symbol

    real = {s: Symbol(s.name, real=True) for s in symbols}
    ordered = sorted(real.values(), key=lambda s: s.name)
    rng = random.Random(0)
    signs = list(itertools.product((1, -1), repeat=len(ordered)))[1:] if len(ordered) <= 4 else []
    signs += [tuple(rng.choice((1, -1)) for _ in ordered) for _ in range(12 - len(signs))] if not signs else []
    patterns = [tuple(1 for _ in ordered)] * 6 + signs
    evaluated, domains_differ = 0, False
    for index, pattern in enumerate(patterns):
        # SymPy numbers, not floats: `floor` evaluates only those.
        point = {s: Float(sign * rng.uniform(0.2, 3.0), 30) for s, sign in zip(ordered, pattern, strict=True)}
        try:
            sides = [side.subs(real).evalf(30, subs=point) for side in (g, p)]
            value = sides[0] - sides[1]
        except (TypeError, ValueError, ZeroDivisionError, AttributeError):
            continue
        real_sides = [_real_throughout(side.subs(real), point) for side in (g, p)] if index >= 6 else [True, True]
        if index >= 6 and real_sides[0] != real_sides[1]:
            domains_differ = True
        if not (value.is_number and value.is_comparable) or (index >= 6 and not all(real_sides)):
            continue
        evaluated += 1
        if abs(value) > 1e-20:
            shown = ", ".join(f"{s.name}={float(v):.3g}" for s, v in point.items())
            return _Samples(no(f"they differ at {shown}"), evaluated, domains_differ)
    return _Samples(None, evaluated, domains_differ)


def _real_throughout(expr: Any, point: dict[Any, Any]) -> bool:
    """Is every part of `expr` real at `point`? `\\sqrt{x}\\sqrt{y}` at x = y = -1 is a real
    -1, but by way of imaginary numbers: it has no real value there."""
    from sympy import preorder_traversal

    for node in preorder_traversal(expr):
        if node.free_symbols:
            value = node.evalf(15, subs=point)
            if not (value.is_number and value.is_comparable):
                return False
    return True
