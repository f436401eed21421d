"""Rendering: LaTeX to Unicode, and what a terminal user sees from `vibe solve`."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from vibecli.reasoning.solve import AnswerDelta, SolveResult, ThinkingDelta
from vibecli.ui.console import THEME, Terminal
from vibecli.ui.latex import latex_to_unicode, render_math_spans
from vibecli.ui.solve_view import SolveView


@pytest.mark.parametrize(
    ("latex", "text"),
    [
        ("\\frac{1}{2}", "1/2"),
        ("\\dfrac{a+b}{c}", "(a+b)/c"),
        ("x^{10} + y^2 = 4", "x¹⁰ + y² = 4"),
        ("\\sqrt{3}\\pi", "√(3)π"),
        ("\\binom{5}{2}", "C(5, 2)"),
        ("\\boxed{42}", "42"),
        ("\\frac{", "\\frac{"),  # malformed: shown raw, never an exception
    ],
)
def test_latex_to_unicode(latex: str, text: str) -> None:
    assert latex_to_unicode(latex) == text


def test_math_spans_in_markdown() -> None:
    assert render_math_spans("So \\(x = \\frac{1}{2}\\) and $$y^2=4$$.") == "So x = 1/2 and y²=4."


def result(**overrides: object) -> SolveResult:
    fields: dict[str, object] = dict(
        problem="p", mode="math", model="demo", backend="transformers", thinking="step 1\nstep 2",
        answer="\n\\boxed{\\frac{1}{2}}", final_answer="\\frac{1}{2}", finish_reason="stop", prompt_tokens=10,
        thinking_tokens=50, answer_tokens=5, ttft_s=0.1, total_s=1.0, tokens_per_s=55.0,
    )  # fmt: skip
    fields.update(overrides)
    return SolveResult(**fields)  # type: ignore[arg-type]


def terminal(tty: bool) -> tuple[Terminal, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()

    def console(file: io.StringIO) -> Console:
        return Console(
            file=file,
            theme=THEME,
            force_terminal=tty,
            width=80,
            highlight=False,
            color_system="standard" if tty else None,
        )

    return Terminal(out=console(out), err=console(err)), out, err


def test_terminal_collapse_shows_summary_and_highlighted_answer() -> None:
    term, out, err = terminal(tty=True)
    view = SolveView(term, think="collapse", json_output=False)
    for i in range(200):
        view.handle(ThinkingDelta(f"line {i}\n", i))
    view.handle(AnswerDelta("\n\\boxed{\\frac{1}{2}}", 205))
    view.close(result(), stats=True)
    assert "Answer:" in out.getvalue() and "1/2" in out.getvalue()
    assert "\x1b[" in out.getvalue()  # styled on a terminal
    # The view's own clock: the thinking above took no time, whatever the result's total (1.0 s).
    assert re.search(r"thought for 0\.\ds · 50 thinking tokens", err.getvalue())
    assert "55.0 tok/s" in err.getvalue()


def test_piped_output_streams_plain_answer() -> None:
    term, out, err = terminal(tty=False)
    view = SolveView(term, think="collapse", json_output=False)
    view.handle(ThinkingDelta("secret working", 3))
    view.handle(AnswerDelta("\nThe answer is \\boxed{7}", 9))
    view.close(result(answer="\nThe answer is \\boxed{7}", final_answer="7"), stats=False)
    assert out.getvalue() == "The answer is \\boxed{7}\n"
    assert err.getvalue() == ""


def test_collapse_window_renders_only_a_bounded_tail() -> None:
    """Each refresh draws the header and a few lines, however long the trace grows."""
    from vibecli.ui.solve_view import TAIL_LINES, _TailWindow

    window = _TailWindow(show_text=True)
    for i in range(20000):
        window.add(f"step {i}\n", i)
    console = Console(file=io.StringIO(), width=80, force_terminal=False)
    console.print(window)
    lines = console.file.getvalue().splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 1 + TAIL_LINES
    assert lines[-1] == "step 19999" and len(window.tail) <= 4000
