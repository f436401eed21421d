"""Running a problem set: every sample a row of the one thinking-controlled runner, results as they finish.

Every prompt is checked against the model's context before anything is generated (one that
does not fit stops the run with a usage error), and `max_tokens` is capped to what fits.

Each problem gets `samples` rows with seeds SEED, SEED+1, … (SEED is `--seed`, default 0),
placed next to each other so problems complete early. The rows run in the backend's continuous
batch through `reasoning.rows`, the runner of `vibe solve`, so each has the same thinking
controls: the budget (`--think-budget`, or the problem's own `think_budget`), the token-cap
reserve and the loop guard, with its answer forced at once when one fires. When a problem's
last sample finishes, its answers are voted on, graded against the expected answer, and its
line is written at once. A problem with a cancelled or failed sample is not written, so
`--resume` runs it again.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from vibecli.batch.inputs import BatchProblem
from vibecli.batch.store import ResultWriter
from vibecli.batch.vote import vote
from vibecli.config import Config
from vibecli.engine.backend import Backend
from vibecli.engine.context import fit_request
from vibecli.prompting.templates import PromptTemplate
from vibecli.reasoning.results import SolveResult
from vibecli.reasoning.rows import Row, RowTick, run_rows
from vibecli.reasoning.solve import build_request, controls_for, sampling_for, select_template
from vibecli.verify.math import check_many
from vibecli.verify.worker import WorkerPool


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    generated_tokens: int
    elapsed_s: float
    graded: int
    correct: int


@dataclass
class _Pending:
    problem: BatchProblem
    template: PromptTemplate
    capped_to: int | None = None  # max_tokens, when the context could not hold the one asked for
    samples: dict[int, SolveResult] = field(default_factory=dict)
    raw: dict[int, str] = field(default_factory=dict)  # each sample's full response


def _rows(
    backend: Backend,
    problems: Sequence[BatchProblem],
    templates: dict[str, PromptTemplate],
    config: Config,
    samples: int,
) -> tuple[list[Row], list[tuple[int, int]], list[_Pending]]:
    """Every sample's row, each problem fitted to the context once (`ContextExceeded` for a prompt
    that does not fit, before any generation); which (problem, sample) each row is."""
    rows, owners, pending = [], [], []
    for index, problem in enumerate(problems):
        template = select_template(problem.mode or config.mode, problem.problem, templates)
        base = sampling_for(template, config)
        controls = controls_for(template, config)
        if problem.think_budget is not None:
            controls = dataclasses.replace(controls, budget=problem.think_budget)
        request = build_request(template, problem.problem, sampling=base, max_tokens=config.max_tokens,
                                starter_code=problem.starter_code)  # fmt: skip
        fit = fit_request(backend, request, what=f"problem {problem.id}: the prompt")
        pending.append(_Pending(problem, template, fit.request.max_new_tokens if fit.capped else None))
        for k in range(samples):
            sampling = dataclasses.replace(base, seed=(config.seed or 0) + k)
            row_request = dataclasses.replace(fit.request, sampling=sampling, request_id=f"{index}#{k}")
            rows.append(Row(row_request, controls, fitted=fit))
            owners.append((index, k))
    return rows, owners, pending


def _cap_notice(pending: list[_Pending], config: Config, backend: Backend) -> str | None:
    capped = [p.capped_to for p in pending if p.capped_to is not None]
    if not capped:
        return None
    return (
        f"max tokens {config.max_tokens:,} capped to what fits the model's {backend.info.context_length:,}-token "
        f"context for {len(capped)} of {len(pending)} problems (as low as {min(capped):,})"
    )


def _correct(graded: list[bool | None] | None, answer: str | None, winner: int) -> bool | None:
    """The voted answer's grade: None without an expected answer, False without any answer."""
    if graded is None:
        return None
    return False if answer is None else bool(graded[winner])


class BatchRun:
    """One `vibe batch` run over `problems`, writing each result as it completes."""

    def __init__(
        self,
        backend: Backend,
        pool: WorkerPool,
        writer: ResultWriter,
        *,
        samples: int = 1,
        concurrency: int = 8,
        include_thinking: bool = False,
        on_progress: Callable[[Progress], None] | None = None,
        on_problem_error: Callable[[str, str], None] | None = None,
        on_notice: Callable[[str], None] | None = None,
    ) -> None:
        self.backend, self.pool, self.writer = backend, pool, writer
        self.samples, self.concurrency, self.include_thinking = samples, concurrency, include_thinking
        self.on_progress = on_progress or (lambda progress: None)
        self.on_problem_error = on_problem_error or (lambda problem_id, message: None)
        self.on_notice = on_notice or (lambda message: None)
        self.written: list[dict[str, Any]] = []
        self._run_id = time.strftime("%Y%m%dT%H%M%S")  # ties a result line to the run that wrote it
        self._started = time.monotonic()
        self._graded = self._correct = 0
        self._settings: dict[str, Any] = {}

    def run(
        self,
        problems: Sequence[BatchProblem],
        templates: dict[str, PromptTemplate],
        config: Config,
        cancel: threading.Event | None = None,
    ) -> None:
        from vibecli.batch.settings import run_settings

        self._settings = run_settings(config, self.samples, self.include_thinking)
        rows, owners, pending = _rows(self.backend, problems, templates, config, self.samples)
        notice = _cap_notice(pending, config, self.backend)
        if notice:
            self.on_notice(notice)  # one line for the set, not one per problem
        self._started = time.monotonic()
        tokens = 0
        cancel = cancel or threading.Event()
        events = run_rows(self.backend, rows, cancel=cancel, wrap_up=threading.Event(), max_rows=self.concurrency)
        for event in events:
            if not isinstance(event, RowTick) or event.phase != "done":
                continue
            row = rows[event.index]
            index, k = owners[event.index]
            item = pending[index]
            cancelled = row.ended_cancelled(cancel)  # a cancelled sample is unfinished, not written
            item.samples[k] = row.result(item.problem.problem, item.template, self.backend, cancelled=cancelled)
            item.raw[k] = "".join(row.raw)
            tokens += row.tokens
            if len(item.samples) < self.samples:
                continue
            reasons = {f.finish_reason for f in item.samples.values()}
            if "cancelled" in reasons:
                continue
            if "error" in reasons:
                error = next(f.error for f in item.samples.values() if f.error)
                self.on_problem_error(item.problem.id, error or "generation failed")
                continue
            record = self._record(item)
            self.writer.write(record)
            self.written.append(record)
            if record["correct"] is not None:
                self._graded += 1
                self._correct += bool(record["correct"])
            self.on_progress(Progress(len(self.written), len(problems), tokens, time.monotonic() - self._started,
                                      self._graded, self._correct))  # fmt: skip

    def _record(self, item: _Pending) -> dict[str, Any]:
        problem, template = item.problem, item.template
        done = [item.samples[k] for k in range(self.samples)]
        answers = [r.final_answer for r in done]
        chosen = vote(answers, self._same)
        graded = self._grade(problem.expected, answers, template) if problem.expected is not None else None
        winner = chosen.clusters[0][0] if chosen.clusters else 0
        shown = done[winner]
        record: dict[str, Any] = {
            "id": problem.id,
            "problem": problem.problem,
            "mode": template.name,
            "final_answer": chosen.answer,
            "expected": problem.expected,
            "correct": _correct(graded, chosen.answer, winner),
            "finish_reason": shown.finish_reason,
            "tokens": {"prompt": shown.prompt_tokens, "thinking": shown.thinking_tokens,
                       "answer": shown.answer_tokens},
            "generated_tokens": sum(r.thinking_tokens + r.answer_tokens for r in done),
            # `run` and `elapsed_s` let a report over a resumed file add up each run's wall time.
            "timings": {"total_s": round(sum(r.total_s for r in done), 4),
                        "run": self._run_id, "elapsed_s": round(time.monotonic() - self._started, 3)},
            "controls": shown.controls.to_json() if shown.controls else None,
            "n_samples": self.samples,
            "n_correct": sum(bool(g) for g in graded) if graded is not None else None,
            "settings": self._settings,  # what `--resume` continues with
        }  # fmt: skip
        if item.capped_to is not None:
            record["max_tokens"] = item.capped_to  # what fitted the context, below --max-tokens
        if self.samples > 1:
            record["samples"] = [
                {"answer": a, "correct": None if graded is None else graded[k], "finish_reason": r.finish_reason,
                 "tokens": {"prompt": r.prompt_tokens, "thinking": r.thinking_tokens, "answer": r.answer_tokens},
                 "generated_tokens": r.thinking_tokens + r.answer_tokens, "seed": r.seed,
                 "controls": r.controls.to_json() if r.controls else None}
                for k, (a, r) in enumerate(zip(answers, done, strict=True))
            ]  # fmt: skip
            record["vote"] = {
                "answer": chosen.answer,
                "size": chosen.size,
                "clusters": [list(c) for c in chosen.clusters],
            }
        if self.include_thinking:
            record["thinking"] = [r.thinking for r in done] if self.samples > 1 else shown.thinking
            responses = [item.raw[k] for k in range(self.samples)]
            record["response"] = responses if self.samples > 1 else responses[0]
        return record

    def _same(self, a: str, b: str) -> bool:
        return next(check_many(self.pool, [(a, b)])).verdict == "equal"

    def _grade(self, expected: str, answers: list[str | None], template: PromptTemplate) -> list[bool | None]:
        if template.answer_format == "code":
            return [None] * len(answers)  # code is graded by tests, not by an expected string
        pairs = [(expected, a) for a in answers if a is not None]
        verdicts = iter(check_many(self.pool, pairs))
        return [next(verdicts).equal is True if a is not None else False for a in answers]
