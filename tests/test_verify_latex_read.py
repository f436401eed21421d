"""The LaTeX tokenizer's reading of structure (vibecli.verify.latex_read): spacing macros never
change a value, and a matrix has the shape its `\\\\` and `&` give, whatever the spacing."""

from __future__ import annotations

import pytest

from vibecli.verify.latex_read import despace, matrix_cells, unformat


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\\left( \\frac{1}{2}\\,,\\; 3\\right)", "( \\frac{1}{2} ,  3)"),
        ("a\\ b~c\\quad d", "a b c d"),
        ("\\sqrt{2\\,x}", "\\sqrt{2 x}"),
        ("x_{1}=1,\\quadx_{2}=2", "x_{1}=1, x_{2}=2"),  # `\quadx`: a missing space
        ("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}"),  # `\\` is no `\ `
        ("1+1", "1+1"),
    ],
)
def test_despace_removes_spacing_and_sizing_only(text: str, expected: str) -> None:
    assert despace(text) == expected


def test_despace_refuses_broken_latex() -> None:
    assert despace("\\frac{1}{") is None


@pytest.mark.parametrize(
    ("text", "rows"),
    [
        ("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", [["1"], ["2"]]),
        ("\\begin{pmatrix}1\\\\2\\end{pmatrix}", [["1"], ["2"]]),
        ("\\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\\\ \\end{bmatrix}", [["1", "2"], ["3", "4"]]),
        ("\\begin{pmatrix} 1 \\\\[2pt] 2 \\end{pmatrix}", [["1"], ["2"]]),
        ("\\begin{array}{cc} 1 & 2 \\\\ 3 & 4 \\end{array}", [["1", "2"], ["3", "4"]]),
        ("\\begin{pmatrix} \\frac{1}{2} & \\begin{matrix}1&2\\end{matrix} \\end{pmatrix}",
         [["\\frac{1}{2}", "\\begin{matrix}1&2\\end{matrix}"]]),
    ],
)  # fmt: skip
def test_matrix_cells_follow_the_row_breaks_and_ampersands(text: str, rows: list[list[str]]) -> None:
    assert matrix_cells(text) == rows


@pytest.mark.parametrize("text", ["(1, 2)", "\\begin{cases} 1 \\end{cases}", "\\begin{pmatrix}1\\end{pmatrix} + 1"])
def test_matrix_cells_only_for_a_whole_matrix(text: str) -> None:
    assert matrix_cells(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\\mathbf{\\frac{1}{2}}", "\\frac{1}{2}"),
        ("\\boldsymbol{x^{2}}", "x^{2}"),
        ("\\mathbf{\\mathrm{x}}", "x"),
        ("\\textcolor{red}{3}", "3"),
        ("\\color{red} 3", " 3"),
        ("\\mathbb{R}", "\\mathbb{R}"),  # the reals, not a font
        ("\\text{ cm}", "\\text{ cm}"),
    ],
)
def test_unformat_keeps_what_formatting_macros_show(text: str, expected: str) -> None:
    assert unformat(text) == expected
