"""The API's only coupling to vibe's solving internals (reasoning/, batch/, cli/common).

Everything `vibecli.Model` does to load a model, solve, sample and batch goes through the
functions here, so that when the solve path changes only this module has to follow it:
`settings`, `load_engine`, `solve_events`, `samples_result` and `batch_results`.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from vibecli.config import Config, load_config, with_overrides
from vibecli.errors import ConfigError
from vibecli.reasoning.samples import SamplesResult, solve_samples
from vibecli.reasoning.solve import (
    AnswerDelta,
    Notice,
    SolveResult,
    ThinkingDelta,
    build_request,
    controls_for,
    sampling_for,
    solve_stream,
)

if TYPE_CHECKING:
    from vibecli.engine.backend import Backend
    from vibecli.prompting.templates import PromptTemplate, Templates
    from vibecli.verify.code_tests import ReadTests

SolveEvent = ThinkingDelta | AnswerDelta | Notice | SolveResult

__all__ = ["AnswerDelta", "Notice", "SamplesResult", "SolveEvent", "SolveResult", "ThinkingDelta"]


def settings(base: Config | None = None, **given: Any) -> Config:
    """The user's config (file, then VIBE_* variables) with `given` on top, validated as flags are
    but named as the Python parameters are (`max_tokens must be at least 1`)."""
    from vibecli.api._arguments import settings as checked
    from vibecli.config import flag_name

    try:
        return with_overrides(base if base is not None else load_config(), **checked(given))
    except ConfigError as exc:
        message = str(exc)
        for key in given:
            message = message.replace(flag_name(key), key)
        raise type(exc)(message) from None


def load_engine(config: Config) -> Backend:
    """Resolve the model and load its backend, as every command does (notices go to stderr)."""
    from vibecli.cli.common import load_engine as load
    from vibecli.ui.console import make_terminal

    return load(config, make_terminal())


def _template(config: Config, problem: str, templates: Templates) -> PromptTemplate:
    from vibecli.cli.common import pick_template
    from vibecli.ui.console import make_terminal

    return pick_template(config.mode, problem, templates, make_terminal())


def solve_events(
    engine: Backend, config: Config, templates: Templates, problem: str, *, expected: str | None = None,
    tests: ReadTests | None = None, starter_code: str | None = None, cancel: threading.Event | None = None,
) -> Iterator[SolveEvent]:  # fmt: skip
    """Thinking and answer deltas as the model writes, then the `SolveResult` (checked when asked)."""
    from vibecli.verify.solution import with_check

    template = _template(config, problem, templates)
    request = build_request(template, problem, sampling=sampling_for(template, config), max_tokens=config.max_tokens,
                            starter_code=starter_code)  # fmt: skip
    events = solve_stream(engine, template, problem, request=request, controls=controls_for(template, config),
                          cancel=cancel)  # fmt: skip
    for event in events:
        yield with_check(event, expected, tests) if isinstance(event, SolveResult) else event


def samples_result(
    engine: Backend, config: Config, templates: Templates, problem: str, k: int, *, expected: str | None = None,
    tests: ReadTests | None = None, starter_code: str | None = None,
) -> SamplesResult:  # fmt: skip
    """K samples in one batch and their vote, as `vibe solve --samples K` runs them."""
    from vibecli.verify.math import check_many, math_pool
    from vibecli.verify.solution import check_against_expected, check_against_tests

    template = _template(config, problem, templates)
    request = build_request(template, problem, sampling=sampling_for(template, config), max_tokens=config.max_tokens,
                            starter_code=starter_code)  # fmt: skip
    code_tests = tests if template.answer_format == "code" and tests is not None else None
    with math_pool(workers=1) as pool:

        def same(a: str, b: str) -> bool:
            return next(check_many(pool, [(a, b)])).verdict == "equal"

        events = solve_samples(engine, template, problem, request=request, k=k, controls=controls_for(template, config),
                               same=same, check_code=(lambda code: check_against_tests(code, code_tests))
                               if code_tests else None)  # fmt: skip
        result = next(event for event in events if isinstance(event, SamplesResult))
    if expected is not None:
        return dataclasses.replace(result, check=check_against_expected(result.final_answer, expected))
    if code_tests is not None and result.winner is not None:
        return dataclasses.replace(result, check=result.samples[result.winner].check)
    return result


def batch_results(
    engine: Backend, config: Config, templates: Templates, problems: Sequence[str], *,
    expected: Sequence[str | None] | None = None, concurrency: int = 8,
) -> Iterator[tuple[int, SolveResult]]:  # fmt: skip
    """(index into `problems`, its `SolveResult`) as each finishes: `vibe batch`'s path, the
    thinking-controlled rows in the backend's continuous batch (each prompt fitted first)."""
    from vibecli.reasoning.rows import Row, RowTick, run_rows
    from vibecli.verify.solution import with_check

    rows, chosen = [], []
    for index, problem in enumerate(problems):
        template = _template(config, problem, templates)
        request = build_request(template, problem, sampling=sampling_for(template, config),
                                max_tokens=config.max_tokens)  # fmt: skip
        rows.append(Row(dataclasses.replace(request, request_id=str(index)), controls_for(template, config)))
        chosen.append(template)
    cancel = threading.Event()
    events = run_rows(engine, rows, cancel=cancel, wrap_up=threading.Event(), max_rows=concurrency)
    try:
        for event in events:
            if not isinstance(event, RowTick) or event.phase != "done":
                continue
            row = rows[event.index]
            result = row.result(problems[event.index], chosen[event.index], engine,
                                cancelled=row.ended_cancelled(cancel))  # fmt: skip
            gold = expected[event.index] if expected is not None else None
            yield event.index, with_check(result, gold, None)
    finally:
        cancel.set()  # the caller stopped early: stop generating what is left
        close = getattr(events, "close", None)  # a generator: closing it closes the batch session
        if close is not None:
            close()
