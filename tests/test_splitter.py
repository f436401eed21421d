"""The thinking/answer splitter: real output shapes, and any split of the same text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vibecli.reasoning.splitter import UNTAGGED_WINDOW, ThinkSplitter, split_text


def split_in_pieces(text: str, cuts: list[int]) -> tuple[str, str, bool]:
    splitter = ThinkSplitter()
    segments = []
    previous = 0
    for cut in [*sorted(set(cuts)), len(text)]:
        segments += splitter.feed(text[previous:cut])
        previous = cut
    segments += splitter.finish()
    thinking = "".join(s.text for s in segments if s.kind == "thinking")
    answer = "".join(s.text for s in segments if s.kind == "answer")
    return thinking, answer, splitter.thinking_closed


@pytest.mark.parametrize(
    ("text", "thinking", "answer", "closed"),
    [
        ("<think>\n2+2=4\n</think>\n\\boxed{4}", "\n2+2=4\n", "\n\\boxed{4}", True),
        ("Okay.<think>work</think>answer", "Okay.work", "answer", True),  # chatty preamble
        ("work only</think>answer", "work only", "answer", True),  # template pre-filled <think>
        ("<think>cut off by the token lim", "cut off by the token lim", "", False),
        ("no tags at all, just \\boxed{3}", "", "no tags at all, just \\boxed{3}", False),
        ("<think>a</think>b<think>c</think>", "a", "b<think>c</think>", True),  # tags in the answer are text
        ("", "", "", False),
    ],
)
def test_real_output_shapes(text: str, thinking: str, answer: str, closed: bool) -> None:
    assert split_text(text) == (thinking, answer, closed)


def test_tag_split_across_deltas_is_held_not_leaked() -> None:
    splitter = ThinkSplitter()
    out = splitter.feed("<thi") + splitter.feed("nk>abc</th")
    assert "".join(s.text for s in out) == "abc"
    out = splitter.feed("ink>ans")
    assert [(s.kind, s.text) for s in out] == [("answer", "ans")]


def test_long_untagged_output_streams_as_answer_before_the_end() -> None:
    splitter = ThinkSplitter()
    out = splitter.feed("x" * (UNTAGGED_WINDOW + 1))
    assert out and all(s.kind == "answer" for s in out)


pieces = st.lists(st.sampled_from(["<think>", "</think>", "<", "/", "think", ">", "a", "é", "\n", "\\boxed{1}", " "]))


@settings(max_examples=300, deadline=None)
@given(parts=pieces, cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=12))
def test_any_split_gives_the_same_result(parts: list[str], cuts: list[int]) -> None:
    text = "".join(parts)
    cuts = [c for c in cuts if c <= len(text)]
    assert split_in_pieces(text, cuts) == split_text(text)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=300), cuts=st.lists(st.integers(min_value=0, max_value=300), max_size=8))
def test_never_raises_and_loses_nothing_outside_tags(text: str, cuts: list[int]) -> None:
    thinking, answer, _ = split_in_pieces(text, [c for c in cuts if c <= len(text)])
    # Only the two tags themselves may disappear.
    assert len(thinking) + len(answer) <= len(text)
    stripped = text.replace("<think>", "", 1).replace("</think>", "", 1)
    assert len(thinking) + len(answer) >= len(stripped) - len("</think>")
