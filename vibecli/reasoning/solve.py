"""Solving one problem: template, generate, split the stream, extract the final answer.

`solve_stream` checks the request against the model's context first (a prompt that does not
fit raises `ContextExceeded` before any model work; a `max_tokens` that does not fit is capped,
with one `Notice`), then yields `ThinkingDelta` and `AnswerDelta` events as the model writes,
then one `SolveResult`. It knows nothing about terminals; the UI consumes its events.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

from vibecli.config import Config
from vibecli.engine.backend import Backend
from vibecli.engine.types import GenerationRequest, Message, Sampling
from vibecli.errors import UsageError
from vibecli.prompting.routing import route
from vibecli.prompting.templates import PromptTemplate
from vibecli.reasoning.controls import DEFAULT_BUDGET_MESSAGE, ThinkingControls
from vibecli.reasoning.loop_guard import LoopGuardSettings
from vibecli.reasoning.results import AnswerDelta, Notice, SolveResult, ThinkingDelta
from vibecli.reasoning.rows import Row, RowNotice, RowText, run_rows

__all__ = [
    "AnswerDelta",
    "Notice",
    "SolveEvent",
    "SolveResult",
    "ThinkingDelta",
    "build_request",
    "controls_for",
    "sampling_for",
    "select_template",
    "solve_stream",
]

ROUTE_CHARS = 16_000


SolveEvent = ThinkingDelta | AnswerDelta | Notice | SolveResult


def select_template(mode: str, problem: str, templates: dict[str, PromptTemplate]) -> PromptTemplate:
    """The template for `mode`; `auto` routes by the problem's content (its head and tail, so a
    huge input costs no more than a long problem)."""
    sample = problem if len(problem) <= 2 * ROUTE_CHARS else problem[:ROUTE_CHARS] + "\n" + problem[-ROUTE_CHARS:]
    name = route(sample) if mode == "auto" else mode
    if name not in templates:
        raise UsageError(f"unknown mode '{name}' (available: auto, {', '.join(sorted(templates))})")
    return templates[name]


def sampling_for(template: PromptTemplate, config: Config) -> Sampling:
    """The template's defaults, overridden by whatever the user set."""
    defaults = template.sampling
    temperature = config.temperature if config.temperature is not None else defaults.get("temperature", 1.0)
    top_p = config.top_p if config.top_p is not None else defaults.get("top_p", 0.95)
    top_k = config.top_k if config.top_k is not None else int(defaults.get("top_k", 0))
    return Sampling(temperature=temperature, top_p=top_p, top_k=top_k, seed=config.seed)


def controls_for(template: PromptTemplate, config: Config) -> ThinkingControls:
    """Thinking controls: the user's budget, else the template's; loop guard as configured."""
    budget = config.think_budget if config.think_budget is not None else template.think_budget
    return ThinkingControls(
        budget=budget,
        budget_message=config.budget_message or DEFAULT_BUDGET_MESSAGE,
        loop_guard=LoopGuardSettings() if config.loop_guard else None,
    )


def build_request(
    template: PromptTemplate,
    problem: str,
    *,
    sampling: Sampling,
    max_tokens: int,
    starter_code: str | None = None,
    history: tuple[Message, ...] = (),
) -> GenerationRequest:
    """The request for `problem`, after earlier turns of a conversation (`history`)."""
    messages = [*history, Message("user", template.render(problem, starter_code=starter_code))]
    if template.system:
        messages.insert(0, Message("system", template.system))
    return GenerationRequest(messages=tuple(messages), sampling=sampling, max_new_tokens=max_tokens)


def solve_stream(
    backend: Backend,
    template: PromptTemplate,
    problem: str,
    *,
    request: GenerationRequest,
    controls: ThinkingControls | None = None,
    cancel: threading.Event | None = None,
    wrap_up: threading.Event | None = None,
) -> Iterator[SolveEvent]:
    """Run `request` and yield thinking and answer deltas, then the `SolveResult`: a batch of one
    row through `reasoning.rows`, the runner `--samples`, the REPL and serve share.

    Raises `ContextExceeded` (a usage error) when the prompt does not fit the model's context.

    Args:
        controls: thinking budget, loop guard and wrap-up message (default: loop guard on, no budget).
        cancel: set to stop generating altogether (finish reason `cancelled`).
        wrap_up: set to end the thinking now and force the answer; set during the answer, it cancels.
    """
    cancel, wrap_up = cancel or threading.Event(), wrap_up or threading.Event()
    row = Row(request, controls or ThinkingControls())
    for event in run_rows(backend, [row], cancel=cancel, wrap_up=wrap_up):
        if isinstance(event, RowNotice):
            yield Notice(event.text)
        elif isinstance(event, RowText):
            yield (ThinkingDelta if event.kind == "thinking" else AnswerDelta)(event.text, event.tokens)
    yield row.result(problem, template, backend, cancelled=cancel.is_set())
