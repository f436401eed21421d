"""`vibe solve --samples K` and the REPL's `/samples K`: K samples, a live view, the vote."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from vibecli.cli.interrupts import InterruptHandler
from vibecli.config import Config, check_seed_and_samples
from vibecli.engine.backend import Backend
from vibecli.errors import ExitCode
from vibecli.prompting.templates import PromptTemplate
from vibecli.reasoning.samples import SamplesResult, solve_samples
from vibecli.reasoning.solve import build_request, controls_for, sampling_for, select_template
from vibecli.ui.console import Terminal, error_line
from vibecli.ui.samples_view import SamplesView

if TYPE_CHECKING:
    from vibecli.repl.session import ReplSession


def run_samples(
    engine: Backend, config: Config, template: PromptTemplate, text: str, terminal: Terminal, *, k: int,
    json_output: bool = False, expected: str | None = None, tests: Path | None = None,
    starter_code: str | None = None, exiting: bool = True, stats: bool = False,
) -> SamplesResult | None:  # fmt: skip
    """Solve `text` K times in one batch and show the vote; returns None when interrupted hard.

    As a single solve: `--expected` checks the voted answer, `--tests` runs it (in code mode
    every sample runs and the first that passes all wins), `--stats` prints the run's line.
    """
    from vibecli.verify.math import check_many, math_pool
    from vibecli.verify.solution import check_against_expected, check_against_tests

    request = build_request(template, text, sampling=sampling_for(template, config), max_tokens=config.max_tokens,
                            starter_code=starter_code)  # fmt: skip
    view = SamplesView(terminal, k, json_output=json_output)
    result: SamplesResult | None = None
    with InterruptHandler(exiting=exiting) as interrupt, math_pool(workers=1) as pool:

        def same(a: str, b: str) -> bool:
            return next(check_many(pool, [(a, b)])).verdict == "equal"

        code_tests = tests if template.answer_format == "code" and tests is not None else None
        try:
            events = solve_samples(
                engine, template, text, request=request, k=k, controls=controls_for(template, config), same=same,
                check_code=(lambda code: check_against_tests(code, code_tests)) if code_tests else None,
                cancel=interrupt.cancel, wrap_up=interrupt.wrap_up,
            )  # fmt: skip
            result = view.consume(events)
            if result is not None and not result.cancelled:
                if expected is not None:
                    result = dataclasses.replace(result, check=check_against_expected(result.final_answer, expected))
                elif code_tests is not None and result.winner is not None:
                    result = dataclasses.replace(result, check=result.samples[result.winner].check)
                elif tests is not None:  # tests outside code mode: the voted answer runs, as a single solve's
                    result = dataclasses.replace(result, check=check_against_tests(result.final_answer, tests))
        except KeyboardInterrupt:
            if exiting:
                raise
        finally:
            view.close(result, stats=stats)
    return result


def samples_exit_code(result: SamplesResult | None, terminal: Terminal) -> ExitCode:
    """As a single solve's: 0 answered · 1 no sample gave a final answer · 3 generation failed ·
    4 the vote failed --expected or --tests · 130 interrupted."""
    if result is None or result.cancelled:
        return ExitCode.INTERRUPTED
    errors = [s for s in result.samples if s.finish_reason == "error"]
    if errors and len(errors) == len(result.samples):
        error_line(terminal, "generation failed for every sample")
        return ExitCode.ENVIRONMENT
    if result.final_answer is None:
        error_line(terminal, f"none of the {len(result.samples)} samples gave a final answer")
        return ExitCode.NO_ANSWER
    if result.check is not None and result.check.verdict not in ("equal", "passed"):
        return ExitCode.CHECK_FAILED  # the verdict line (or the JSON's `verification`) says why
    return ExitCode.OK


def repl_samples(
    engine: Backend, session: ReplSession, config: Config, templates: dict[str, PromptTemplate], terminal: Terminal
) -> Callable[[str, int], str]:
    """The REPL's `/samples K`: K samples with the session's settings and a live view; the reply is the vote."""

    def samples(text: str, k: int) -> str:
        turn = session.settings.apply(config)
        check_seed_and_samples(turn.seed, k)  # seeds SEED..SEED+K-1 must all be valid
        template = select_template(turn.mode, text, templates)
        result = run_samples(engine, turn, template, text, terminal, k=k, exiting=False)
        if result is None or result.cancelled:
            return "samples cancelled"
        shown = result.shown
        session.record_aside(text, shown.answer if shown else "", shown.thinking if shown else "",
                             result.final_answer, result.to_json())  # fmt: skip
        return f"{result.final_answer if result.final_answer is not None else 'no answer'} ({result.tally()})"

    return samples
