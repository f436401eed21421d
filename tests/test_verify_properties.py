"""Properties of the math checker over generated answers (hypothesis).

Every parseable answer equals itself, the verdict does not depend on which side is the gold,
a perturbed number is never equal, and nothing a model writes makes the checker raise.
"""

from __future__ import annotations

from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vibecli.verify.compare import check_equal

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

integers = st.integers(min_value=-(10**30), max_value=10**30).map(str)
fractions = st.tuples(st.integers(-999, 999), st.integers(1, 999)).map(lambda t: f"\\frac{{{t[0]}}}{{{t[1]}}}")
decimals = st.decimals(min_value=-(10**6), max_value=10**6, places=4, allow_nan=False, allow_infinity=False).map(
    lambda d: format(d, "f")
)
constants = st.sampled_from(["\\pi", "e", "\\sqrt{2}", "\\sqrt{3}", "\\infty", "-\\infty", "i", "\\ln 2"])
numbers = st.one_of(integers, fractions, decimals, constants)


@st.composite
def expressions(draw: st.DrawFn) -> str:
    terms = draw(
        st.lists(st.tuples(numbers, st.sampled_from(["", "x", "y", "x^{2}", "\\sqrt{x}"])), min_size=1, max_size=3)
    )
    text = " + ".join(f"{n}{v}" if v and not n.startswith("-") else (f"({n}){v}" if v else n) for n, v in terms)
    return text.replace("\\infty" + "x", "\\infty")


finite = st.one_of(integers, fractions, decimals)
tuples = st.lists(finite, min_size=2, max_size=4).map(lambda xs: "(" + ", ".join(xs) + ")")
sets = st.lists(finite, min_size=1, max_size=4).map(lambda xs: "\\{" + ", ".join(xs) + "\\}")


@st.composite
def intervals(draw: st.DrawFn) -> str:
    low, high = sorted(draw(st.lists(st.integers(-50, 50), min_size=2, max_size=2, unique=True)))
    return f"{draw(st.sampled_from('[('))}{low}, {high}{draw(st.sampled_from('])'))}"


answers = st.one_of(numbers, expressions(), tuples, sets, intervals())


@SETTINGS
@given(answers)
def test_every_parseable_answer_equals_itself(answer: str) -> None:
    verdict = check_equal(answer, answer)
    assert not verdict.reason.startswith("checker error"), verdict.reason
    assert verdict.verdict == "equal", (answer, verdict.reason)


@SETTINGS
@given(answers, answers)
def test_the_verdict_is_symmetric(a: str, b: str) -> None:
    forward, backward = check_equal(a, b), check_equal(b, a)
    assert forward.verdict == backward.verdict, (a, b, forward.reason, backward.reason)


@SETTINGS
@given(st.fractions(min_value=-(10**9), max_value=10**9, max_denominator=10**6), st.integers(1, 10**6))
def test_a_perturbed_number_is_never_equal(value: Fraction, step: int) -> None:
    perturbed = value + Fraction(1, step * 10**12)
    for a, b in ((value, perturbed), (perturbed, value)):
        verdict = check_equal(f"\\frac{{{a.numerator}}}{{{a.denominator}}}", f"{b.numerator}/{b.denominator}")
        assert verdict.verdict == "not_equal", (a, b, verdict.reason)


@SETTINGS
@given(decimals, st.integers(1, 9))
def test_a_perturbed_decimal_is_never_equal(text: str, digit: int) -> None:
    perturbed = text + "000" + str(digit) if "." in text else text + ".000" + str(digit)
    assert check_equal(text, perturbed).verdict == "not_equal"
    assert check_equal(perturbed, text).verdict == "not_equal"


@SETTINGS
@given(st.lists(finite, min_size=2, max_size=4, unique=True))
def test_pairs_keep_their_order_and_sets_do_not(values: list[str]) -> None:
    swapped = [values[1], values[0], *values[2:]]
    ordered = check_equal("(" + ", ".join(values) + ")", "(" + ", ".join(swapped) + ")")
    unordered = check_equal("\\{" + ", ".join(values) + "\\}", "\\{" + ", ".join(swapped) + "\\}")
    assert unordered.verdict == "equal", unordered.reason
    if check_equal(values[0], values[1]).verdict == "not_equal":
        assert ordered.verdict == "not_equal", ordered.reason


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=60), st.text(max_size=60))
def test_no_text_makes_the_checker_raise(a: str, b: str) -> None:
    verdict = check_equal(a, b)
    assert verdict.verdict in ("equal", "not_equal", "undecided")


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["\\frac{", "}", "{", "(", ")", "[", "]", ",", "\\pm", "=", "<", "\\le", ":", "x",
                                 "2", "\\infty", "\\cup", "\\{", "\\}", "\\boxed{", ";", "and", "%", ".", "-", "^"]),
                max_size=12).map("".join))  # fmt: skip
def test_no_latex_fragment_makes_the_checker_raise(text: str) -> None:
    for gold, pred in ((text, "1"), ("1", text), (text, text)):
        assert check_equal(gold, pred).verdict in ("equal", "not_equal", "undecided")
