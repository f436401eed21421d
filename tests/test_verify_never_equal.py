"""Classes of answers that must never be `equal` to the gold (the findings of a review of the
math checker), each written many ways: notation, spacing, wrappers, letters and magnitudes.
The metamorphic bench (bench/metamorphic.py) derives the same changes from every truth case."""

from __future__ import annotations

import itertools

import pytest

from vibecli.verify.compare import check_equal

WRAPPERS = ("{}", "${}$", "\\boxed{{{}}}", "The answer is ${}$.", "\\[{}\\]")


def _wrapped(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(gold, wrapper.format(pred)) for (gold, pred), wrapper in itertools.product(pairs, WRAPPERS)]


def _absolute_values() -> list[tuple[str, str]]:
    pairs = []
    for v in ("x", "t", "2a", "-y", "3n"):
        for absolute in (
            f"|{v}|",
            f"\\left|{v}\\right|",
            f"\\left| {v} \\right|",
            f"\\lvert {v} \\rvert",
            f"\\left\\vert {v}\\right\\vert",
            f"abs({v})",
            f"\\sqrt{{({v})^2}}",
            f"\\max({v}, 0)",
        ):
            pairs += [(v, absolute), (absolute, v)]
        pairs += [(f"-{v}", f"-|{v}|"), (f"\\frac{{|{v}|}}{{{v}}}", "1"), ("1", f"\\frac{{{v}}}{{|{v}|}}")]
    return pairs


def _rounded_integers() -> list[tuple[str, str]]:
    pairs = []
    for number in (1234567, 123456789, 1000001, 98765432109, 2**40):
        digits = str(number)
        power = len(digits) - 1
        rounded = str(round(number, -(power - 5)))
        mantissa = f"{rounded[0]}.{rounded[1:6]}"
        for form in (
            f"{mantissa}e{power}",
            f"{mantissa}E{power}",
            f"{mantissa}\\times10^{{{power}}}",
            f"{mantissa} \\times 10^{{{power}}}",
            f"{mantissa}\\cdot10^{{{power}}}",
            f"{mantissa}*10^{power}",
        ):
            pairs += [(digits, form), (form, digits)]
    pairs += [("2^{40}", "1.09951\\times10^{12}")]
    return pairs


def _percents() -> list[tuple[str, str]]:
    pairs = []
    for number in ("50", "12.5", "3"):
        hundredth = f"{float(number) / 100:g}"
        pairs += [
            (f"{number}\\%", f"{hundredth}\\%"),
            (f"{hundredth}\\%", f"{number}\\%"),
            (f"{number}%", f"{hundredth} %"),
            (f"{number} \\%", f"{float(number) * 100:g}\\%"),
            (number, f"{float(number) * 100:g}\\%\\%"),
            (number, f"{number}\\%\\%"),
            (number, f"{number}%%"),
        ]
    return pairs


def _choices() -> list[tuple[str, str]]:
    pairs = []
    for letter, other in (("A", "B"), ("E", "A"), ("C", "D")):
        for hedge in (
            f"({letter}) or ({other})",
            f"({other}) or ({letter})",
            f"({letter}) ({other})",
            "(A) (B) (C) (D) (E)",
            f"({letter})\\quad({other})",
            f"({letter}) \\; ({other})",
            f"{letter} or {other}",
            f"\\text{{({letter})}} or \\text{{({other})}}",
            f"{letter}, {other}",
        ):
            pairs += [(letter, hedge), (f"({letter})", hedge)]
    return pairs


def _letter_cases() -> list[tuple[str, str]]:
    pairs = []
    for name in ("theta", "delta", "lambda", "sigma", "phi", "omega", "psi"):
        upper = name.capitalize()
        pairs += [
            (f"\\{name}", f"\\{upper}"),
            (f"2\\{name}", f"2\\{upper}"),
            (f"\\frac{{\\{name}}}{{2}}", f"\\frac{{\\{upper}}}{{2}}"),
            (f"\\{upper}^2", f"\\{name}^2"),
        ]
    pairs += [("\\frac{X}{2}", "\\frac{x}{2}"), ("\\sqrt{A}", "\\sqrt{a}"), ("X^2", "x^2"), ("\\Gamma", "\\gamma")]
    pairs += [("2\\gamma", "2\\Gamma")]
    return pairs


def _units() -> list[tuple[str, str]]:
    pairs = []
    for n in ("5", "2.5", "90", "1000"):
        pairs += [
            (f"{n}\\text{{ km}}", f"{n}\\text{{ m}}"),
            (f"{n} km", f"{n} m^2"),
            (f"{n}\\text{{ hours}}", f"{n}\\text{{ minutes}}"),
            (f"\\${n}", f"{n}\\text{{ cents}}"),
            (f"{n}\\text{{ m}}^2", f"{n}\\text{{ m}}^3"),
            (f"{n}^\\circ", f"{n}\\text{{ radians}}"),
            (f"{n}^{{\\circ}}", f"{n} \\text{{rad}}"),
            (f"{n} cm", f"{n} mm"),
            (f"{n} \\mathrm{{kg}}", f"{n} \\mathrm{{g}}"),
            (f"{n}\\text{{ km}}", f"{float(n) * 1000:g}\\text{{ m}}"),
        ]
    return pairs


def _chains() -> list[tuple[str, str]]:
    pairs = []
    for n in (6, 0, -3, 12345678901234567890):
        pairs += [
            (str(n), f"x = {n + 1} = {n}"),
            (str(n), f"x={n + 1}={n}"),
            (str(n), f"y = {n} + 1 = {n}"),
            (str(n), f"{n + 1} = {n}"),
            (str(n), f"x = \\frac{{{2 * n + 1}}}{{2}} = {n}"),
        ]
    return pairs


CLASSES = {
    "absolute value against its argument": _absolute_values(),
    "integer against its rounded scientific form": _rounded_integers(),
    "percent on both sides, doubled percent": _percents(),
    "two choices named": _choices(),
    "letter case": _letter_cases(),
    "different units on both sides": _units(),
    "a chain of disagreeing equalities": _chains(),
}
CASES = [(name, gold, pred) for name, pairs in CLASSES.items() for gold, pred in _wrapped(pairs)]


@pytest.mark.parametrize(("name", "gold", "pred"), CASES, ids=[f"{n}:{g}|{p}"[:100] for n, g, p in CASES])
def test_never_equal(name: str, gold: str, pred: str) -> None:
    verdict = check_equal(gold, pred)
    assert verdict.verdict != "equal", (name, verdict.reason)


@pytest.mark.parametrize(
    ("gold", "pred"),
    [
        ("50", "50\\%"),
        ("0.5", "50\\%"),
        ("50\\%", "50 \\%"),
        ("5\\text{ cm}", "5"),
        ("12", "\\$12"),
        ("90^\\circ", "90"),
        ("5\\text{ km}", "5 km"),
        ("2\\text{ hours}", "2 \\text{hour}"),
        ("1000000", "1.00000\\times10^{6}"),
        ("0.5", "5\\cdot10^{-1}"),
        ("x = 5 + 5 + 1 = 11", "11"),
        ("5 = x", "5"),
        ("x = 5", "5 = x"),
        ("A", "(A)"),
        ("C", "C. x = 42"),
        ("|x|", "\\sqrt{x^2}"),
        ("\\Theta + \\Theta", "2\\Theta"),
        ("\\text{No}", "\\text{no}"),
        ("\\sum_{k=1}^{\\infty}\\frac{1}{k^2}", "\\frac{\\pi^2}{6}"),
        ("(x+1)^2", "x^2 + 2x + 1"),
    ],
)
def test_what_stays_equal(gold: str, pred: str) -> None:
    verdict = check_equal(gold, pred)
    assert verdict.verdict == "equal", verdict.reason


@pytest.mark.parametrize(
    ("gold", "pred"),
    [
        ("x^2+1", "(x+i)(x-i)"),
        ("\\log(x^2)", "2\\log x"),
        ("\\sqrt{x}\\sqrt{y}", "\\sqrt{xy}"),
        ("5\\text{ km}", "5000\\text{ m}"),
    ],
)
def test_undecided_rather_than_wrong(gold: str, pred: str) -> None:
    assert check_equal(gold, pred).verdict == "undecided"


def test_floor_of_a_variable_is_compared_not_a_checker_error() -> None:
    verdict = check_equal("\\lfloor x\\rfloor", "x")
    assert verdict.verdict == "not_equal" and "checker error" not in verdict.reason


@pytest.mark.parametrize(
    ("gold", "pred", "expected"),
    [
        ("1/3", "0.\\overline{3}", "equal"),
        ("\\frac{1}{7}", "0.\\overline{142857}", "equal"),
        ("\\frac{137}{110}", "1.2\\overline{45}", "equal"),
        ("-\\frac{1}{3}", "-0.\\overline{3}", "equal"),
        ("1/3", "0.\\overline{34}", "not_equal"),
        ("\\frac{2}{3}", "0.\\overline{3}", "not_equal"),
    ],
)
def test_a_repeating_decimal_is_its_exact_value(gold: str, pred: str, expected: str) -> None:
    assert check_equal(gold, pred).verdict == expected
