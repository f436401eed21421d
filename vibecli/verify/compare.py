"""Mathematical equivalence of a predicted answer and a gold answer.

Exact values are compared exactly. A decimal is compared to the precision its writer gave: a
gold `0.33` accepts `1/3`, while a predicted `3.14` is an approximation of a gold `\\pi`, not the
answer. "Find all" answers are compared as whole sets, tuples in order, inequalities by the
sets they describe, and equations by proportionality. A symbolic identity that holds only for
positive or real variables is reported with that assumption. When nothing decides, the
verdict is `undecided` with its reason, never a guess.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

from vibecli.verify.parse import Answer, ParseFailure, assignment_value, parse_answer

VerdictKind = Literal["equal", "not_equal", "undecided"]


@dataclass(frozen=True)
class Verdict:
    verdict: VerdictKind
    reason: str
    gold: str = ""
    pred: str = ""

    @property
    def equal(self) -> bool | None:
        return {"equal": True, "not_equal": False, "undecided": None}[self.verdict]


def _yes(reason: str) -> Verdict:
    return Verdict("equal", reason)


def _no(reason: str) -> Verdict:
    return Verdict("not_equal", reason)


def check_equal(gold: str, pred: str) -> Verdict:
    """Compare two answer strings; parse failures give `undecided`."""
    try:
        gold_answer = parse_answer(gold)
    except ParseFailure as exc:
        return Verdict("undecided", f"gold: {exc}")
    try:
        pred_answer = parse_answer(pred)
    except ParseFailure as exc:
        return Verdict("undecided", f"prediction: {exc}")
    verdict = compare(gold_answer, pred_answer)
    if verdict.verdict == "not_equal" and (gold_answer.kind == "equation") != (pred_answer.kind == "equation"):
        # `x = 5` against `5`: compare the assigned value.
        gold_value, pred_value = assignment_value(gold) or gold, assignment_value(pred) or pred
        if (gold_value, pred_value) != (gold, pred):
            retry = check_equal(gold_value, pred_value)
            if retry.verdict == "equal":
                verdict = retry
    return Verdict(verdict.verdict, verdict.reason, gold_answer.show(), pred_answer.show())


def compare(gold: Answer, pred: Answer) -> Verdict:
    kinds = {gold.kind, pred.kind}
    if "choice" in kinds or "text" in kinds:
        if gold.kind != pred.kind:
            return _no(f"a {gold.kind} against a {pred.kind}")
        same = gold.value == pred.value
        return _yes("same text") if same else _no("different text")
    if gold.kind == "set" or pred.kind == "set":
        return _compare_sets(gold, pred)
    if kinds & {"interval", "relation"} or gold.bracket or pred.bracket:
        as_sets = _compare_as_sets(gold, pred)
        if as_sets is not None:
            return as_sets
    if gold.kind == "tuple" or pred.kind == "tuple":
        return _compare_tuples(gold, pred)
    if gold.kind == "equation" and pred.kind == "equation":
        return _compare_equations(gold.value, pred.value)
    if "equation" in kinds:
        return _no("an equation against a value")
    if gold.kind == "matrix" or pred.kind == "matrix":
        return _compare_matrices(gold, pred)
    return compare_scalars(gold, pred)


def _compare_sets(gold: Answer, pred: Answer) -> Verdict:
    gold_items = gold.value if gold.kind == "set" else (gold,)
    pred_items = pred.value if pred.kind == "set" else (pred,)
    if len(gold_items) != len(pred_items):
        return _no(f"{len(gold_items)} values expected, {len(pred_items)} given")
    unmatched = list(pred_items)
    for item in gold_items:
        match = next((p for p in unmatched if compare(item, p).verdict == "equal"), None)
        if match is None:
            return _no(f"{item.show()} is missing")
        unmatched.remove(match)
    return _yes("same set of values")


def _compare_tuples(gold: Answer, pred: Answer) -> Verdict:
    if gold.kind != pred.kind or len(gold.value) != len(pred.value):
        return _no("different shapes")
    for index, (g, p) in enumerate(zip(gold.value, pred.value, strict=True)):
        verdict = compare(g, p)
        if verdict.verdict != "equal":
            return Verdict(verdict.verdict, f"element {index + 1}: {verdict.reason}")
    return _yes("same tuple")


def _as_set(answer: Answer) -> Any:
    """The real set an interval, a union, an inequality or a two-bracket pair describes."""
    from sympy import Interval, Set, Union

    if answer.kind == "interval":
        return answer.value
    if answer.kind == "relation":
        if any(len(relation.free_symbols) != 1 for relation in answer.value):
            return None
        return Union(*(relation.as_set() for relation in answer.value))
    if answer.kind == "tuple" and answer.bracket:
        low, high = (item.value for item in answer.value)
        return Interval(low, high, left_open=answer.bracket[0] == "(", right_open=answer.bracket[1] == ")")
    if answer.kind == "equation" and isinstance(answer.value.rhs, Set):
        return answer.value.rhs  # `x \in (0, 1)` parses as Eq(x, Interval)
    return None


def _compare_as_sets(gold: Answer, pred: Answer) -> Verdict | None:
    gold_set, pred_set = _as_set(gold), _as_set(pred)
    if gold_set is None or pred_set is None:
        return None
    difference = gold_set.symmetric_difference(pred_set)
    if difference.is_empty:
        return _yes("same set of real numbers")
    if difference.is_empty is False:
        return _no("different sets of real numbers")
    return Verdict("undecided", "could not compare the sets")


def _compare_equations(gold: Any, pred: Any) -> Verdict:
    """Equivalent when `lhs - rhs` of one is a nonzero constant multiple of the other's."""
    from sympy import simplify

    g, p = gold.lhs - gold.rhs, pred.lhs - pred.rhs
    if p == 0 or g == 0:
        return _yes("identical") if g == p else _no("one side is trivial")
    ratio = simplify(g / p)
    if ratio.is_number and ratio != 0:
        return _yes("proportional equations")
    return _no("the equations describe different solution sets")


def _compare_matrices(gold: Answer, pred: Answer) -> Verdict:
    if gold.kind != pred.kind or gold.value.shape != pred.value.shape:
        return _no("different shapes")
    for g, p in zip(gold.value, pred.value, strict=True):
        verdict = compare_scalars(Answer("scalar", g, str(g)), Answer("scalar", p, str(p)))
        if verdict.verdict != "equal":
            return verdict
    return _yes("same matrix")


def _is_terminating(value: Fraction) -> bool:
    denominator = value.denominator
    for prime in (2, 5):
        while denominator % prime == 0:
            denominator //= prime
    return denominator == 1


def _exact_fraction(expr: Any) -> Fraction | None:
    if getattr(expr, "is_Rational", False):
        return Fraction(int(expr.p), int(expr.q))
    return None


def compare_scalars(gold: Answer, pred: Answer) -> Verdict:
    """Numbers and expressions, with decimals judged at the precision they were written to."""
    g, p = _percent_variants(gold), _percent_variants(pred)
    verdicts = [_compare_values(gv, pv, gold, pred, gs, ps) for gv, gs in g for pv, ps in p]
    for verdict in verdicts:
        if verdict.verdict == "equal":
            return verdict
    return next((v for v in verdicts if v.verdict == "undecided"), verdicts[0])


def _percent_variants(answer: Answer) -> list[tuple[Any, int]]:
    """`50%` may be meant as 50 or as 0.5; a bare number is only itself. Each reading comes
    with how many decimal places it gains (12.5% read as 0.125 has three, not one)."""
    from sympy import Rational

    if not answer.percent:
        return [(answer.value, 0)]
    return [(answer.value, 0), (answer.value * Rational(1, 100), 2)]


def _compare_values(g: Any, p: Any, gold: Answer, pred: Answer, gold_shift: int, pred_shift: int) -> Verdict:
    if gold.decimal is not None:
        return _against_decimal(g, p, gold.decimal.places + gold_shift, "gold")
    if pred.decimal is not None:
        exact = _exact_fraction(g)
        if exact is not None and _is_terminating(exact):
            return _yes("same value") if _exact_fraction(p) == exact else _no("different value")
        if g.free_symbols or not g.is_number:
            return _no("a decimal against an expression")
        within = _against_decimal(p, g, pred.decimal.places + pred_shift, "prediction")
        if within.verdict == "equal":
            return _no(f"a {pred.decimal.digits}-digit decimal approximation of an exact value")
        return within
    return _exact_compare(g, p)


def _against_decimal(reference: Any, other: Any, places: int, who: str) -> Verdict:
    """Is `other` within half a unit of the last decimal place written in `reference`?"""
    from sympy import Abs, N, Rational

    if not other.is_number:
        return _no("an expression against a decimal")
    half_unit = Rational(1, 2) * Rational(10) ** (-places)
    difference = N(Abs(reference - other), 50)
    if difference.is_real is not True:
        return _no("not a real number")
    return (
        _yes(f"equal to the {who}'s precision")
        if difference <= half_unit * (1 + Rational(1, 10**9))
        else _no("different value")
    )


def _exact_compare(g: Any, p: Any) -> Verdict:
    from sympy import simplify

    difference = g - p
    if difference == 0 or simplify(difference) == 0:
        return _yes("identical" if difference == 0 else "symbolically equal")
    symbols = difference.free_symbols
    if not symbols:
        value = difference.evalf(60)
        scale = max(abs(g.evalf(60)), abs(p.evalf(60)))
        if value.is_number and scale != 0 and abs(value) > scale * 10**-45:
            return _no("different value")
        return _yes("numerically equal to 45 digits") if value.is_number else Verdict("undecided", "not a number")
    return _identity(difference, symbols)


def _identity(difference: Any, symbols: set[Any]) -> Verdict:
    """Symbolic equality, retried under positive assumptions; random points settle the rest."""
    from sympy import Symbol, simplify

    if difference.equals(0):
        return _yes("symbolically equal")
    positive = {s: Symbol(s.name, positive=True) for s in symbols}
    if simplify(difference.subs(positive)) == 0:
        return _yes(f"equal assuming {', '.join(sorted(s.name for s in symbols))} > 0")
    rng = random.Random(0)
    for _ in range(6):
        point = {s: rng.uniform(0.2, 3.0) for s in positive.values()}
        value = difference.subs(positive).evalf(30, subs=point)
        if value.is_number and abs(value) > 1e-20:
            shown = ", ".join(f"{s.name}={v:.3g}" for s, v in point.items())
            return _no(f"differ at {shown}")
    return Verdict("undecided", "equal at random points but not proven")
