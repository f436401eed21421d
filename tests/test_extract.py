from __future__ import annotations

import pytest

from vibecli.reasoning.extract import choice_letter, extract_answer, final_answer_line, last_boxed, last_code_block


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("so \\boxed{42}.", "42"),
        ("first \\boxed{1} then \\boxed{2}", "2"),
        ("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),
        ("\\boxed{\\{1, 2\\}}", "\\{1, 2\\}"),
        ("\\boxed{x^{2}+\\sqrt{y_{1}}}", "x^{2}+\\sqrt{y_{1}}"),
        ("\\fbox{7}", "7"),
        ("\\boxed 5$", "5"),
        ("\\boxed{unclosed", None),
        ("nothing here", None),
    ],
)
def test_last_boxed(text: str, expected: str | None) -> None:
    assert last_boxed(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Working...\n**Final Answer:** 42.", "42"),
        ("The answer is $3$.", "3"),
        ("Final answer: x = 5", "x = 5"),
        ("no statement", None),
    ],
)
def test_final_answer_line(text: str, expected: str | None) -> None:
    assert final_answer_line(text) == expected


def test_last_code_block_takes_the_last_fence() -> None:
    text = "```python\nprint(1)\n```\nbetter:\n```py\nprint(2)\n```"
    assert last_code_block(text) == "print(2)\n"


@pytest.mark.parametrize(
    ("text", "expected"), [("\\boxed{C}", "C"), ("Answer: (B)", "B"), ("D", "D"), ("\\boxed{\\text{A}}", "A")]
)
def test_choice_letter(text: str, expected: str) -> None:
    assert choice_letter(text) == expected


def test_extract_answer_by_format() -> None:
    assert extract_answer("\n\\boxed{12}", "boxed") == "12"
    assert extract_answer("no box", "boxed") is None
    assert extract_answer("plain words", "text") == "plain words"
    assert extract_answer("```python\nx=1\n```", "code") == "x=1\n"
    assert extract_answer("\\boxed{B}", "choice") == "B"
