"""The reading guard (vibecli.verify.guard) catches a lossy reading on its own, whatever step
lost the information: each check is given the bad reading that an earlier version of the
checker produced for one of issue 21's examples."""

from __future__ import annotations

import re
from typing import Any

import pytest

from vibecli.verify.compare import check_equal
from vibecli.verify.guard import (
    extraction_loss,
    ignored_literal,
    looks_like_code,
    normalization_loss,
    structure_loss,
)
from vibecli.verify.parse import Answer


def _constant(value: int) -> Any:
    from sympy import Integer

    return lambda _text: Integer(value)


@pytest.mark.parametrize(
    ("text", "bad_value"),
    [("0.5*x", 0), ("x**0.5", 1), ("(v/g)**(0.2)", 1), ("\\dfrac{1}{2} +\\frac{1}{72}", 0)],
)
def test_a_number_the_parser_ignored_is_named(text: str, bad_value: int) -> None:
    reason = ignored_literal(text, _constant(bad_value)(text), _constant(bad_value))
    assert reason is not None and "ignores the number" in reason


def test_a_dropped_leading_minus_sign_is_named() -> None:
    from sympy import sqrt

    def reparse(text: str) -> Any:  # reads the number, never the sign
        return sqrt(int(re.search(r"\d+", text).group()))  # type: ignore[union-attr]

    reason = ignored_literal("-\\sqrt{2}", sqrt(2), reparse)
    assert reason is not None and "minus sign" in reason


def test_an_expression_with_a_zero_is_not_probed_for_numbers() -> None:
    from sympy import Integer

    assert ignored_literal("\\frac{0}{7}", Integer(0), _constant(0)) is None


def test_a_degree_sign_the_parser_ignored_is_named() -> None:
    from sympy import Symbol, sin

    x = Symbol("x")
    dropped = sin(90 - x)  # the reading before degrees were read: `90` taken as radians

    def reparse(text: str) -> Any:  # reads the number, never the degree sign
        return sin(int(re.search(r"\d+", text).group()) - x)  # type: ignore[union-attr]

    reason = ignored_literal("\\sin(90^{\\circ}-x)", dropped, reparse)
    assert reason is not None and "degree sign" in reason


def test_a_reading_that_uses_every_number_passes() -> None:
    from sympy import Rational, Symbol

    x = Symbol("x")

    def reparse(text: str) -> Any:
        return Rational(text.split("*")[0]) * x

    assert ignored_literal("0.5*x", Rational(1, 2) * x, reparse) is None


def test_a_matrix_read_with_the_wrong_shape_is_named() -> None:
    from sympy import Matrix

    for source, bad in (
        ("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", Matrix([[3]])),
        ("\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", Matrix([[1, 2, 3, 4]])),
    ):
        reason = structure_loss(Answer("matrix", bad, source))
        assert reason is not None and "matrix is written" in reason


def test_a_tuple_that_lost_an_element_is_named() -> None:
    from sympy import Integer

    pair = (Answer("scalar", Integer(1), "1"), Answer("scalar", Integer(2), "2"))
    assert structure_loss(Answer("tuple", pair, "(1, 2)")) is None
    assert "3 elements" in str(structure_loss(Answer("tuple", pair, "(1, 2, 3)")))


def test_extraction_and_normalization_that_drop_digits_are_named() -> None:
    assert extraction_loss("11,\\! 111,\\! 111,\\! 100", "100") is not None
    assert extraction_loss("11,\\! 111,\\! 111,\\! 100", "11,\\! 111,\\! 111,\\! 100") is None
    assert normalization_loss("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "\\begin{pmatrix} 1 \\ \\end{pmatrix}")
    assert normalization_loss("11,\\!111", "11111") is None
    # `\\[2pt]` once lost its `\\` to the rule that drops `\[`: a row break gone, digits kept.
    assert "rows or columns" in str(normalization_loss("1 \\\\[2pt] 2", "1 \\2pt] 2"))


@pytest.mark.parametrize(
    "text", ['__import__("os").system("touch f") or 1', "lambda: 1", 'exec("x=1") or 1', "os.system('ls') and 1"]
)
def test_code_is_never_searched_for_a_number(text: str) -> None:
    assert looks_like_code(text)
    verdict = check_equal("1", text)
    assert verdict.verdict == "undecided" and "program code" in verdict.reason


def test_a_response_that_shows_code_before_its_boxed_answer_is_read() -> None:
    response = "Let me compute it.\n```python\nprint(2 + 2)\n```\nSo the answer is $\\boxed{4}$."
    assert check_equal("4", response).verdict == "equal"
    assert check_equal("5", response).verdict == "not_equal"
    ending_in_code = "We are nearly done.\n__import__('os').getcwd() or 4"
    assert check_equal("4", ending_in_code).verdict == "undecided"


@pytest.mark.parametrize(
    ("gold", "pred", "expected"),
    [
        ("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "\\begin{pmatrix} 2 \\\\ 1 \\end{pmatrix}", "not_equal"),
        (
            "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}",
            "\\begin{pmatrix} 1 & 3 \\\\ 2 & 4 \\end{pmatrix}",
            "not_equal",
        ),
        ("\\begin{pmatrix}1\\\\2\\end{pmatrix}", "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "equal"),
        ("0", "0.5*x", "not_equal"),
        ("1", "x**0.5", "not_equal"),
        ("\\sqrt{x}", "x**0.5", "equal"),
        ("1", "(v/g)**(0.2)", "not_equal"),
        ("11111111100", "11,\\! 111,\\! 111,\\! 100", "equal"),
        ("100", "11,\\! 111,\\! 111,\\! 100", "not_equal"),
        ("\\frac{1}{72}", "\\dfrac{1}{2} +\\frac{1}{72}", "not_equal"),
        ("\\cos x", "\\sin(90^{\\circ}-x)", "equal"),
        ("\\cos x", "\\sin(90^\\circ - x)", "equal"),
        ("\\frac{1}{2}", "\\sin 30^\\circ", "equal"),
        ("30", "30^\\circ", "equal"),
        ("3+4i", "3-4i", "not_equal"),
        ("1+2i", "i(2-i)", "equal"),
        ("\\frac{3}{2}", "1\\frac{1}{2}", "equal"),
        ("\\frac{3}{2}", "1 1/2", "equal"),
        ("125\\textnormal{ miles}", "$125$ miles", "equal"),
        ("10", "10\\%", "equal"),
        ("10", "\\$10", "equal"),
        ("|x|", "Abs(x)", "equal"),
        ("20922789888000", "factorial(16)", "equal"),
        ("\\sqrt{2}x^2", "sqrt(2)*x**2", "equal"),
        ("B\\sin(\\pi)", "Bsin(pi)", "equal"),
        ("90x\\sin(5x+1)", "90xsin(5x+1)", "equal"),
        ("20:34", "20:34:00", "equal"),
        ("20:34", "20:35:00", "not_equal"),
        ("2x+4y=6", "x+2y=3", "equal"),
        ("f(x) = 2x+3", "y = 2x+3", "equal"),
        ("f(x) = 2x+3", "y = 2x+4", "not_equal"),
    ],
)
def test_the_issue_examples(gold: str, pred: str, expected: str) -> None:
    for a, b in ((gold, pred), (pred, gold)):
        verdict = check_equal(a, b)
        assert verdict.verdict == expected, (a, b, verdict.reason)
