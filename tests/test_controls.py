"""Thinking budget, token-cap reserve, loop guard and wrap-up, through `solve_stream`."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

from vibecli.engine.types import (
    Completion,
    Finished,
    GenerationRequest,
    GenerationStats,
    Message,
    ModelInfo,
    Sampling,
    StreamItem,
    TextDelta,
)
from vibecli.prompting.templates import load_templates
from vibecli.reasoning.controls import DEFAULT_BUDGET_MESSAGE, ThinkingControls, answer_reserve
from vibecli.reasoning.loop_guard import LoopGuardSettings
from vibecli.reasoning.samples import generate_samples, sample_requests
from vibecli.reasoning.solve import SolveResult, build_request, solve_stream

MATH = load_templates()["math"]


def solve(backend: Any, problem: str, *, max_tokens: int = 400, **controls: Any) -> SolveResult:
    request = build_request(MATH, problem, sampling=Sampling(temperature=0), max_tokens=max_tokens)
    *_, result = solve_stream(backend, MATH, problem, request=request, controls=ThinkingControls(**controls))
    assert isinstance(result, SolveResult)
    return result


def greedy(backend: Any, prompt: str, tokens: int) -> Finished:
    *_, finished = backend.stream(GenerationRequest(prompt=prompt, sampling=Sampling(0), max_new_tokens=tokens))
    assert isinstance(finished, Finished)
    return finished


def test_budget_below_the_natural_trace_forces_an_answer(demo_backend: Any) -> None:
    natural = solve(demo_backend, "Compute 987 * 65.")
    assert natural.controls is not None and natural.controls.trigger is None
    assert natural.thinking_tokens > 40
    forced = solve(demo_backend, "Compute 987 * 65.", budget=25)
    assert forced.finish_reason == "budget"
    assert forced.controls is not None and forced.controls.trigger == "budget"
    assert forced.thinking_tokens == 25 == forced.controls.thinking_tokens_at_trigger
    assert forced.thinking.endswith(DEFAULT_BUDGET_MESSAGE)
    assert forced.final_answer is not None and forced.final_answer.lstrip("-").isdigit()


def test_budget_above_the_natural_trace_changes_nothing(demo_backend: Any) -> None:
    natural = solve(demo_backend, "Compute 987 * 65.")
    budgeted = solve(demo_backend, "Compute 987 * 65.", budget=natural.thinking_tokens + 50)
    assert (budgeted.thinking, budgeted.answer, budgeted.finish_reason) == (
        natural.thinking,
        natural.answer,
        natural.finish_reason,
    )
    assert budgeted.thinking_tokens + budgeted.answer_tokens == natural.thinking_tokens + natural.answer_tokens


def test_budget_zero_skips_thinking(demo_backend: Any) -> None:
    result = solve(demo_backend, "What is 48 + 37?", budget=0)
    assert result.finish_reason == "budget" and result.thinking_tokens == 0
    assert result.final_answer is not None


def test_token_cap_keeps_a_reserve_for_the_answer(tiny_backend: Any) -> None:
    """The random tiny model never closes its thinking; the cap must still leave room to answer."""
    result = solve(tiny_backend, "x", max_tokens=40, loop_guard=None)
    assert result.controls is not None and result.controls.trigger == "max_tokens"
    assert result.thinking_tokens == 40 - answer_reserve(40)
    assert result.thinking_tokens + result.answer_tokens <= 40
    assert result.finish_reason == "budget"


def test_forced_answer_continues_from_prompt_plus_partial_trace(tiny_backend: Any) -> None:
    """The forced phase is exactly greedy generation from prompt + partial trace + wrap-up."""
    result = solve(tiny_backend, "x", max_tokens=60, budget=12, loop_guard=None)
    assert result.controls is not None and result.controls.injected is not None
    base = tiny_backend.chat_prompt([Message("user", MATH.render("x"))])
    first = greedy(tiny_backend, base, 12)
    partial = first.text if "<think>" in first.text else "<think>\n" + first.text
    rest = greedy(tiny_backend, base + partial + result.controls.injected, 48)
    assert result.answer.endswith(rest.text)
    assert result.answer_tokens == rest.stats.generated_tokens


def test_wrap_up_event_forces_the_answer_now(demo_backend: Any) -> None:
    wrap_up = threading.Event()
    request = build_request(MATH, "Compute 987 * 65.", sampling=Sampling(temperature=0), max_tokens=400)
    result, pressed = None, False
    for event in solve_stream(demo_backend, MATH, "Compute 987 * 65.", request=request, wrap_up=wrap_up):
        if isinstance(event, SolveResult):
            result = event
        elif event.tokens >= 15 and not pressed:
            wrap_up.set()  # one press, as a user would
            pressed = True
    assert result is not None and result.controls is not None
    assert result.controls.trigger == "interrupt" and result.finish_reason == "budget"
    assert 15 <= result.thinking_tokens < 40
    assert result.final_answer is not None


class ScriptedBackend:
    """A backend whose model output is scripted: a trace, then an answer once `</think>` is forced.
    It follows the `Backend` protocol exactly, so the controller logic runs unchanged."""

    def __init__(self, trace: Sequence[str], forced_answer: str) -> None:
        self.trace, self.forced_answer = trace, forced_answer
        self.prompts: list[str] = []

    @property
    def info(self) -> ModelInfo:
        return ModelInfo("scripted", "-", "scripted", "cpu", "none", "none")

    def chat_prompt(self, messages: Sequence[Message]) -> str:
        return "".join(f"<{m.role}>{m.content}\n" for m in messages) + "<assistant>"

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def stream(self, request: GenerationRequest, *, cancel: threading.Event | None = None) -> Iterator[StreamItem]:
        prompt = request.prompt or self.chat_prompt(request.messages)
        self.prompts.append(prompt)
        pieces = [self.forced_answer] if prompt.endswith("</think>\n\n") else list(self.trace)
        text = ""
        for count, piece in enumerate(pieces[: request.max_new_tokens], start=1):
            if cancel is not None and cancel.is_set():
                yield Finished("cancelled", text, GenerationStats(5, count - 1, 0.01, 0.02))
                return
            text += piece
            yield TextDelta(piece, count)
        yield Finished("stop", text, GenerationStats(5, len(pieces), 0.01, 0.02))

    def run_many(self, requests: Sequence[GenerationRequest], **_: Any) -> Iterator[Completion]:
        raise NotImplementedError

    def close(self) -> None:
        pass


def test_loop_guard_stops_a_looping_trace_and_forces_the_answer() -> None:
    backend = ScriptedBackend(["<think>", "Let me see. ", *(["but ", "but ", "we ", "we "] * 400)], "\\boxed{7}")
    result = solve(backend, "p", max_tokens=5000)
    assert result.finish_reason == "loop"
    assert result.controls is not None and result.controls.loop_unit is not None
    assert result.thinking_tokens < 200, "the guard should fire soon after the loop starts"
    assert result.final_answer == "7"
    assert backend.prompts[-1].endswith(DEFAULT_BUDGET_MESSAGE + "</think>\n\n")


def test_loop_guard_off_lets_the_loop_run() -> None:
    backend = ScriptedBackend(["<think>", *(["but ", "we "] * 300), "</think>", "\\boxed{1}"], "\\boxed{7}")
    result = solve(backend, "p", max_tokens=5000, loop_guard=None)
    assert result.finish_reason == "stop" and result.final_answer == "1"


def test_loop_guard_quiet_on_legitimate_work() -> None:
    table = [f"{n} * 7 = {n * 7}\n" for n in range(1, 300)]
    backend = ScriptedBackend(["<think>", *table, "</think>", "\\boxed{2093}"], "\\boxed{0}")
    result = solve(backend, "p", max_tokens=5000, loop_guard=LoopGuardSettings())
    assert result.finish_reason == "stop" and result.final_answer == "2093"


class LaggingBackend(ScriptedBackend):
    """Like a remote stream: after `cancel` is set, it still delivers the chunks it had buffered."""

    def stream(self, request: GenerationRequest, *, cancel: threading.Event | None = None) -> Iterator[StreamItem]:
        items = list(super().stream(request))  # the whole script, as if it all sat in a buffer
        yield from items


class LaggingBatchBackend(LaggingBackend):
    """A batch whose rows run on past their cancel (a scheduler's step, a remote stream's buffer)."""

    def stream_batch(
        self, requests: Sequence[GenerationRequest], *, cancels: Sequence[threading.Event] | None = None
    ) -> Iterator[tuple[int, StreamItem]]:
        for position, request in enumerate(requests):
            for item in self.stream(request):
                yield position, item


def test_samples_cut_by_the_budget_keep_nothing_a_row_delivers_after_it() -> None:
    backend = LaggingBatchBackend(["<think>", "one ", "two ", "three ", "four ", "</think>", "\\boxed{1}"],
                                  "\\boxed{7}")  # fmt: skip
    request = build_request(MATH, "p", sampling=Sampling(temperature=0), max_tokens=5000)
    *_, samples = generate_samples(backend, MATH, sample_requests(request, 2, 0), controls=ThinkingControls(budget=3))
    assert isinstance(samples, list)
    for sample in samples:
        assert (sample.final_answer, sample.finish_reason) == ("7", "budget")
        assert (sample.thinking_tokens, sample.tokens) == (3, 4)  # the forced answer is one token
    assert backend.prompts[-1].endswith("<think>one two " + DEFAULT_BUDGET_MESSAGE + "</think>\n\n")


def test_text_a_stream_delivers_after_the_budget_fired_is_not_taken() -> None:
    backend = LaggingBackend(["<think>", "one ", "two ", "three ", "four ", "</think>", "\\boxed{1}"], "\\boxed{7}")
    result = solve(backend, "p", max_tokens=5000, budget=3)
    assert result.finish_reason == "budget" and result.final_answer == "7"
    assert result.thinking == "one two " + DEFAULT_BUDGET_MESSAGE
    assert backend.prompts[-1].endswith("<think>one two " + DEFAULT_BUDGET_MESSAGE + "</think>\n\n")
    # The chunks past the trigger count as neither thinking nor answer: the answer is the forced phase's.
    assert (result.thinking_tokens, result.answer_tokens) == (3, 1)
    assert result.controls.answer_tokens_after_trigger == 1
