"""Mathematical equivalence of a predicted answer and a gold answer.

Structure first, then values:
- lists ("find all" answers, `\\{…\\}` sets, several boxes) compare as sets: duplicates
  ignored, order free; a list of tuples is a set of tuples;
- `(a, b)` is an ordered pair compared element by element, unless the other side is an
  interval or an inequality; `[a, b)`, `(a, \\infty)` and unions are intervals; an interval
  with reversed endpoints is an error, never an empty set;
- inequalities and chains compare as the sets they describe, in either direction;
- matrices compare entry by entry in position, vectors in order;
- ratios `a:b:c` compare as proportions; equations by proportionality of `lhs - rhs`;
- a label on one side only (`(p,q) = (3,2)` against `(3,2)`) compares by value; labels on
  both sides must name the same thing;
- numbers and expressions: vibecli.verify.scalars.

Nothing here raises: a checker error becomes `undecided` with its reason.
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from vibecli.reasoning.extract import response_answer
from vibecli.verify.guard import extraction_loss
from vibecli.verify.normalize import normalize
from vibecli.verify.parse import Answer, ParseFailure, interval, parse_answer, to_sympy
from vibecli.verify.scalars import compare_scalars
from vibecli.verify.structure import clock, is_single_symbol
from vibecli.verify.verdict import Verdict, VerdictKind, no, undecided, yes

__all__ = ["Verdict", "VerdictKind", "check_equal", "compare"]


@contextlib.contextmanager
def _long_integers(digits: int = 200_000) -> Iterator[None]:
    """Python refuses to read integers of over 4,300 digits by default; answers may have more."""
    get = getattr(sys, "get_int_max_str_digits", None)
    if get is None:
        yield
        return
    before = get()
    sys.set_int_max_str_digits(max(before, digits) if before else 0)
    try:
        yield
    finally:
        sys.set_int_max_str_digits(before)


def check_equal(gold: str, pred: str) -> Verdict:
    """Compare two answers. Either may be a whole response or worked solution: the answer it
    commits to is taken, the same way for both. Never raises: unreadable answers and checker
    errors give `undecided` with the reason."""
    try:
        with _long_integers():
            taken = []
            for who, text in (("gold", gold), ("prediction", pred)):
                answer = response_answer(text)
                loss = extraction_loss(text, answer)
                if loss:
                    return Verdict("undecided", f"{who}: {loss}")
                taken.append(answer)
            return _check(*taken)
    except RecursionError:
        return Verdict("undecided", "checker error: the expression is nested too deeply")
    except Exception as exc:  # a grader must not crash on what a model writes
        return Verdict("undecided", f"checker error: {type(exc).__name__}: {str(exc)[:160]}")


def _check(gold: str, pred: str) -> Verdict:
    failures = []
    answers = []
    for who, text in (("gold", gold), ("prediction", pred)):
        try:
            answers.append(parse_answer(text))
        except ParseFailure as exc:
            failures.append(f"{who}: {exc}")
    if failures:
        gold_text, pred_text = normalize(gold), normalize(pred)
        if gold_text and not pred_text:
            return Verdict("not_equal", "the prediction gives no answer", gold, pred)
        if len(failures) == 2 and gold_text == pred_text and gold_text:
            return Verdict("equal", "identical text", gold, pred)
        return Verdict("undecided", failures[0])
    gold_answer, pred_answer = answers
    verdict = compare(gold_answer, pred_answer)
    return Verdict(verdict.verdict, verdict.reason, gold_answer.show(), pred_answer.show())


def compare(gold: Answer, pred: Answer) -> Verdict:
    """The verdict on two parsed answers."""
    if gold.label or pred.label:
        return _compare_labelled(gold, pred)
    kinds = {gold.kind, pred.kind}
    if kinds & {"choice", "text"}:
        times = clock(gold.source), clock(pred.source)
        if times[0] and times[1]:
            return yes("the same time of day") if times[0] == times[1] else no("different times of day")
        if gold.kind != pred.kind:
            return no(f"a {gold.kind} against a {pred.kind}")
        return yes("the same text") if gold.value == pred.value else no("different text")
    if "list" in kinds:
        return _compare_lists(gold, pred)
    if kinds & {"interval", "relation"}:
        return _compare_as_sets(gold, pred)
    if "tuple" in kinds:
        return _compare_tuples(gold, pred)
    if "equation" in kinds:
        if gold.kind != pred.kind:
            return no("an equation against a value")
        return compare_equations(gold.value, pred.value)
    if "matrix" in kinds:
        return _compare_matrices(gold, pred)
    if "ratio" in kinds:
        return _compare_ratios(gold, pred)
    return compare_scalars(gold, pred)


def _unlabelled(answer: Answer) -> Answer:
    return replace(answer, label="", label_source="")


def _as_equation(answer: Answer) -> Any:
    """`y = 2x + 1` as the equation it also is; None when the label is no single variable."""
    if answer.kind != "scalar" or not is_single_symbol(answer.label_source):
        return None
    from sympy import Eq

    return Eq(to_sympy(answer.label_source), answer.value)


def _function_of_one_variable(answer: Answer) -> bool:
    return answer.kind == "scalar" and re.fullmatch(r"[A-Za-z]\(·\)", answer.label) is not None


def _dependent_variable(answer: Answer) -> bool:
    """`y` in `y = 2x + 3`: a single name that the value does not mention."""
    names = {s.name for s in getattr(answer.value, "free_symbols", ())}
    return answer.kind == "scalar" and is_single_symbol(answer.label_source) and answer.label not in names


def _compare_labelled(gold: Answer, pred: Answer) -> Verdict:
    if gold.label and pred.label and gold.label != pred.label:
        if {_function_of_one_variable(gold), _function_of_one_variable(pred)} == {True, False} and any(
            map(_dependent_variable, (gold, pred))
        ):
            return compare(_unlabelled(gold), _unlabelled(pred))  # `f(x) = 2x + 3` is `y = 2x + 3`
        equations = _as_equation(gold), _as_equation(pred)
        if equations[0] is not None and equations[1] is not None:
            return compare_equations(*equations)
        return no(f"values for different names: {gold.label} and {pred.label}")
    if gold.label and pred.label:
        return compare(_unlabelled(gold), _unlabelled(pred))
    if gold.kind == "equation" or pred.kind == "equation":
        gold_eq = gold.value if gold.kind == "equation" else _as_equation(gold)
        pred_eq = pred.value if pred.kind == "equation" else _as_equation(pred)
        if gold_eq is None or pred_eq is None:
            return no("an equation against a value")
        return compare_equations(gold_eq, pred_eq)
    return compare(_unlabelled(gold), _unlabelled(pred))


def _compare_lists(gold: Answer, pred: Answer) -> Verdict:
    if gold.kind != "list" or pred.kind != "list":
        listed, other = (gold, pred) if gold.kind == "list" else (pred, gold)
        ordered = other.kind == "tuple" and not listed.braces and len(listed.value) == len(other.value)
        if ordered and not any(item.kind in ("tuple", "list") for item in listed.value):
            # `1, 3` written for the pair `(1, 3)`: the same values in the same order.
            return _compare_tuples(gold, pred)
    return compare_sets(_items(gold), _items(pred))


def _items(answer: Answer) -> tuple[Answer, ...]:
    return tuple(answer.value) if answer.kind == "list" else (answer,)


def _distinct(items: tuple[Answer, ...]) -> list[Answer]:
    kept: list[Answer] = []
    for item in items:
        if not any(compare(item, seen).verdict == "equal" for seen in kept):
            kept.append(item)
    return kept


def _unique_text(items: tuple[Answer, ...]) -> list[Answer]:
    return list({(item.label, item.show()): item for item in reversed(items)}.values())[::-1]


def compare_sets(gold_items: tuple[Answer, ...], pred_items: tuple[Answer, ...]) -> Verdict:
    """Equal when every value of each side equals one of the other, duplicates aside."""
    gold_list, pred_list = _unique_text(gold_items), _unique_text(pred_items)
    if len(gold_list) != len(pred_list):
        gold_list, pred_list = _distinct(tuple(gold_list)), _distinct(tuple(pred_list))
    if len(gold_list) != len(pred_list):
        return no(f"{len(gold_list)} values expected, {len(pred_list)} given")
    unmatched = list(pred_list)
    for item in gold_list:
        doubt = None
        for candidate in unmatched:
            verdict = compare(item, candidate)
            if verdict.verdict == "equal":
                unmatched.remove(candidate)
                break
            if verdict.verdict == "undecided":
                doubt = verdict
        else:
            if doubt is not None:
                return undecided(f"{item.show()}: {doubt.reason}")
            return no(f"{item.show()} is missing")
    return yes("the same set of values" if len(gold_list) > 1 else "the same value")


def _compare_tuples(gold: Answer, pred: Answer) -> Verdict:
    vector = {gold.kind, pred.kind} == {"tuple", "matrix"}
    if vector:
        return _compare_vector(gold, pred)
    if len(_items_in_order(gold)) != len(_items_in_order(pred)):
        return no("different numbers of elements")
    if "tuple" not in (gold.kind, pred.kind) or {gold.kind, pred.kind} - {"tuple", "list"}:
        return no(f"a {gold.kind} against a {pred.kind}")
    for index, (g, p) in enumerate(zip(_items_in_order(gold), _items_in_order(pred), strict=True)):
        verdict = compare(g, p)
        if verdict.verdict != "equal":
            return Verdict(verdict.verdict, f"element {index + 1}: {verdict.reason}")
    return yes("the same tuple")


def _items_in_order(answer: Answer) -> tuple[Answer, ...]:
    return tuple(answer.value) if answer.kind in ("tuple", "list") else (answer,)


def _compare_vector(gold: Answer, pred: Answer) -> Verdict:
    matrix, other = (gold, pred) if gold.kind == "matrix" else (pred, gold)
    if 1 not in matrix.value.shape or len(matrix.value) != len(other.value):
        return no("a matrix against a tuple")
    entries = tuple(Answer("scalar", v, str(v)) for v in matrix.value)
    pairs = zip(entries, other.value, strict=True) if matrix is gold else zip(other.value, entries, strict=True)
    for g, p in pairs:
        verdict = compare(g, p)
        if verdict.verdict != "equal":
            return verdict
    return yes("the same vector")


def _as_set(answer: Answer) -> Any:
    """The real set an interval, an inequality or an open pair describes; None for other forms."""
    if answer.kind == "interval":
        return answer.value
    if answer.kind == "relation":
        return _relation_set(answer.value)
    if answer.kind == "tuple" and answer.bracket == "()":
        return interval(*answer.value)  # raises ParseFailure when the endpoints are reversed
    return None


def _relation_set(relations: tuple[Any, ...]) -> Any:
    """`x < 2 or x > 5`, `-1 < x \\le 4`, `0 < f(x) < 1`, `1 \\le |z| \\le 2` as sets of reals."""
    from sympy import Dummy, Union
    from sympy.core.function import AppliedUndef

    sets = []
    for relation in relations:
        relation = relation.xreplace({f: Dummy() for f in relation.atoms(AppliedUndef)})
        if len(relation.free_symbols) != 1:
            return None
        (variable,) = relation.free_symbols
        try:
            sets.append(relation.xreplace({variable: Dummy(real=True)}).as_set())
        except (NotImplementedError, TypeError, ValueError):
            return None
    return Union(*sets)


def _compare_as_sets(gold: Answer, pred: Answer) -> Verdict:
    try:
        gold_set, pred_set = _as_set(gold), _as_set(pred)
    except ParseFailure as exc:
        return no(f"a pair, not an interval ({exc})")
    if gold_set is None or pred_set is None:
        return no(f"a {gold.kind} against a {pred.kind}")
    difference = gold_set.symmetric_difference(pred_set)
    if difference.is_empty:
        return yes("the same set of real numbers")
    if difference.is_empty is False:
        return no("different sets of real numbers")
    return undecided("could not compare the sets")


def compare_equations(gold: Any, pred: Any) -> Verdict:
    """Equivalent when `lhs - rhs` of one is a nonzero constant multiple of the other's."""
    from sympy import Eq, simplify

    if not isinstance(gold, Eq) or not isinstance(pred, Eq):
        return undecided("a chain of equations")
    g, p = gold.lhs - gold.rhs, pred.lhs - pred.rhs
    if p == 0 or g == 0:
        return yes("identical") if g == p else no("one side is trivial")
    ratio = simplify(g / p)
    if ratio.is_number and ratio != 0:
        return yes("proportional equations")
    return no("the equations describe different solution sets")


def _compare_matrices(gold: Answer, pred: Answer) -> Verdict:
    if gold.kind != pred.kind:
        return no(f"a {gold.kind} against a {pred.kind}")
    if gold.value.shape != pred.value.shape:
        return no(f"a {gold.value.shape} matrix against a {pred.value.shape} one")
    for index, (g, p) in enumerate(zip(gold.value, pred.value, strict=True)):
        verdict = compare_scalars(Answer("scalar", g, str(g)), Answer("scalar", p, str(p)))
        if verdict.verdict != "equal":
            row, column = divmod(index, gold.value.shape[1])
            return Verdict(verdict.verdict, f"entry ({row + 1}, {column + 1}): {verdict.reason}")
    return yes("the same matrix")


def _compare_ratios(gold: Answer, pred: Answer) -> Verdict:
    """`2:4:6` equals `1:2:3`; a two-part ratio `a:b` is also the number a/b."""
    if gold.kind == pred.kind:
        if len(gold.value) != len(pred.value):
            return no("ratios of different lengths")
        g = tuple(v / gold.value[0] for v in gold.value)
        p = tuple(v / pred.value[0] for v in pred.value)
    else:
        ratio, other = (gold, pred) if gold.kind == "ratio" else (pred, gold)
        if len(ratio.value) != 2 or other.kind != "scalar":
            return no(f"a {gold.kind} against a {pred.kind}")
        quotient = ratio.value[0] / ratio.value[1]
        g, p = ((quotient,), (other.value,)) if ratio is gold else ((other.value,), (quotient,))
    for a, b in zip(g, p, strict=True):
        verdict = compare_scalars(Answer("scalar", a, str(a)), Answer("scalar", b, str(b)))
        if verdict.verdict != "equal":
            return verdict
    return yes("proportional ratios")
