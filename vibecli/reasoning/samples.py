"""Self-consistency for one problem: K samples in one batch, then a vote (`vibe solve --samples K`).

The K requests differ only in their seed (SEED, SEED+1, …) and run together through the
backend's batched stream, through the same row runner as a single solve (`reasoning.rows`,
which fits every row to the context first). Each row has its own thinking controls: when
its budget, the token-cap reserve or the loop guard fires, that row alone stops and its
answer is forced in a second batch. Answers are then clustered by mathematical equivalence
and the largest cluster wins (ties: the cluster whose first sample came first). In code mode
with tests, the first sample that passes every test wins instead.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from vibecli.batch.vote import Vote, vote
from vibecli.engine.backend import Backend
from vibecli.engine.types import FinishReason, GenerationRequest
from vibecli.prompting.templates import PromptTemplate
from vibecli.reasoning.controls import ControlRecord, ThinkingControls, Trigger, controlled_finish_reason
from vibecli.reasoning.extract import extract_answer
from vibecli.reasoning.results import Notice, SolveResult
from vibecli.reasoning.rows import Row, RowNotice, RowTick, run_rows

Phase = Literal["thinking", "answering", "done"]


@dataclass(frozen=True)
class SampleUpdate:
    """Progress of one sample, for a live view."""

    index: int
    tokens: int
    phase: Phase
    final_answer: str | None = None
    finish_reason: FinishReason | None = None


@dataclass(frozen=True)
class Sample:
    """One finished sample."""

    index: int
    seed: int | None
    thinking: str
    answer: str
    final_answer: str | None
    finish_reason: FinishReason
    tokens: int
    thinking_tokens: int
    trigger: Trigger | None = None
    check: Any = None  # a verify.solution.SolutionCheck in code mode with tests
    prompt_tokens: int = 0
    controls: ControlRecord | None = None
    ttft_s: float = 0.0
    total_s: float = 0.0

    @property
    def answer_tokens(self) -> int:
        return self.tokens - self.thinking_tokens

    @classmethod
    def of(cls, index: int, result: SolveResult) -> Sample:
        """The sample that one row's `SolveResult` makes."""
        return cls(index=index, seed=result.seed, thinking=result.thinking, answer=result.answer,
                   final_answer=result.final_answer, finish_reason=result.finish_reason,
                   tokens=result.thinking_tokens + result.answer_tokens, thinking_tokens=result.thinking_tokens,
                   trigger=result.controls.trigger if result.controls else None, prompt_tokens=result.prompt_tokens,
                   controls=result.controls, ttft_s=result.ttft_s, total_s=result.total_s)  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        """As a single solve's record has them: `tokens` is the same object, `controls` the same record."""
        record: dict[str, Any] = {
            "index": self.index,
            "seed": self.seed,
            "final_answer": self.final_answer,
            "finish_reason": self.finish_reason,
            "tokens": {"prompt": self.prompt_tokens, "thinking": self.thinking_tokens, "answer": self.answer_tokens},
            "generated_tokens": self.tokens,
            "thinking_tokens": self.thinking_tokens,
            "timings": {"ttft_s": round(self.ttft_s, 4), "total_s": round(self.total_s, 4)},
            "controls": self.controls.to_json() if self.controls else None,
        }
        if self.check is not None:
            record["tests"] = {"passed": self.check.record.get("passed"), "total": self.check.record.get("total")}
        return record


@dataclass(frozen=True)
class SamplesResult:
    """K samples of one problem and the answer they settle on; `to_json` is the `--json` schema."""

    problem: str
    mode: str
    model: str
    backend: str
    samples: tuple[Sample, ...]
    vote: Vote
    winner: int | None  # index of the sample whose answer is shown
    chosen_by: Literal["vote", "tests"]
    total_s: float
    check: Any = None  # the verdict of --expected / --tests on the chosen answer
    ttft_s: float = 0.0  # the first token of any sample

    @property
    def final_answer(self) -> str | None:
        return self.samples[self.winner].final_answer if self.winner is not None else None

    @property
    def cancelled(self) -> bool:
        return any(s.finish_reason == "cancelled" for s in self.samples)

    def tally(self) -> str:
        """`85 ×6 · 84 ×1 · no answer ×1`, or each sample's tests in code mode."""
        if self.chosen_by == "tests":
            return " · ".join(f"#{s.index + 1} {_passed(s)}" for s in self.samples)
        parts = [f"{_short(self.samples[c[0]].final_answer)} ×{len(c)}" for c in self.vote.clusters]
        missing = sum(s.final_answer is None for s in self.samples)
        return " · ".join([*parts, *([f"no answer ×{missing}"] if missing else [])])

    @property
    def shown(self) -> Sample | None:
        """The sample whose text is shown: the winner, else the first (none gave an answer)."""
        if self.winner is not None:
            return self.samples[self.winner]
        return self.samples[0] if self.samples else None

    def to_json(self) -> dict[str, Any]:
        """A superset of the single solve's record: the same keys, then `samples` and `vote`.

        `thinking`, `answer`, `finish_reason` and `controls` are the shown sample's; `tokens`
        holds the prompt's tokens once and the thinking and answer tokens summed over every
        sample (what the run generated); `timings` are the whole run's.
        """
        shown = self.shown
        generated = sum(s.tokens for s in self.samples)
        busy = self.total_s - self.ttft_s
        return {
            "problem": self.problem,
            "mode": self.mode,
            "model": self.model,
            "backend": self.backend,
            "thinking": shown.thinking if shown else "",
            "answer": shown.answer if shown else "",
            "final_answer": self.final_answer,
            "finish_reason": shown.finish_reason if shown else "stop",
            "tokens": {
                "prompt": shown.prompt_tokens if shown else 0,
                "thinking": sum(s.thinking_tokens for s in self.samples),
                "answer": sum(s.answer_tokens for s in self.samples),
            },
            "timings": {
                "ttft_s": round(self.ttft_s, 4),
                "total_s": round(self.total_s, 4),
                "tokens_per_s": round((generated - 1) / busy, 2) if generated > 1 and busy > 0 else 0.0,
            },
            "controls": shown.controls.to_json() if shown and shown.controls else None,
            "samples": [s.to_json() for s in self.samples],
            "vote": {
                "answer": self.final_answer,
                "size": self.vote.size,
                "k": len(self.samples),
                "chosen_by": self.chosen_by,
                "winner": self.winner,
                "clusters": [
                    {"answer": self.samples[c[0]].final_answer, "samples": list(c)} for c in self.vote.clusters
                ],
                "tally": self.tally(),
            },
            "verification": self.check.record if self.check is not None else None,
        }


def _short(answer: str | None) -> str:
    text = " ".join((answer or "").split())
    return text if len(text) <= 40 else text[:39] + "…"


def _passed(sample: Sample) -> str:
    if sample.check is None or sample.final_answer is None:
        return "no code"
    return f"{sample.check.record.get('passed', 0)}/{sample.check.record.get('total', 0)}"


def sample_requests(request: GenerationRequest, k: int, seed: int | None) -> list[GenerationRequest]:
    """`k` copies of `request` with seeds SEED, SEED+1, … (SEED defaults to 0, as in `vibe batch`)."""
    base = seed or 0
    return [
        dataclasses.replace(request, sampling=dataclasses.replace(request.sampling, seed=base + i), request_id=str(i))
        for i in range(k)
    ]


def generate_samples(
    backend: Backend,
    template: PromptTemplate,
    requests: Sequence[GenerationRequest],
    *,
    controls: ThinkingControls,
    cancel: threading.Event | None = None,
    wrap_up: threading.Event | None = None,
    problem: str = "",
) -> Iterator[SampleUpdate | Notice | list[Sample]]:
    """Run `requests` as one batch of rows (`reasoning.rows`, as a single solve runs its one);
    yield a notice when `max_tokens` was capped, progress, then the samples."""
    cancel, wrap_up = cancel or threading.Event(), wrap_up or threading.Event()
    rows = [Row(request, controls) for request in requests]
    for event in run_rows(backend, rows, cancel=cancel, wrap_up=wrap_up):
        if isinstance(event, RowNotice):
            yield Notice(event.text)
        elif isinstance(event, RowTick):
            if event.phase == "done":
                row = rows[event.index]
                answer = extract_answer("".join(row.answer), template.answer_format)
                reason = controlled_finish_reason(row.phases[-1] if row.phases else None, row.trigger,
                                                  cancelled=cancel.is_set())  # fmt: skip
                yield SampleUpdate(event.index, event.tokens, "done", answer, reason)
            else:
                yield SampleUpdate(event.index, event.tokens, event.phase)
    yield [Sample.of(i, row.result(problem, template, backend, cancelled=cancel.is_set()))
           for i, row in enumerate(rows)]  # fmt: skip


def choose(
    samples: list[Sample], *, same: Callable[[str, str], bool], check_code: Callable[[str | None], Any] | None = None
) -> tuple[list[Sample], Vote, int | None, Literal["vote", "tests"]]:
    """The vote over `samples`; with `check_code` (code mode with tests), the first sample that
    passes every test wins, else the one that passes most."""
    if check_code is not None:
        checked = [dataclasses.replace(s, check=check_code(s.final_answer)) for s in samples]
        passed = [s.check.record.get("passed", 0) for s in checked]
        full = [s.index for s in checked if s.check.verdict == "passed"]
        winner = full[0] if full else max(range(len(checked)), key=lambda i: (passed[i], -i))
        return checked, vote([], same), winner, "tests"
    chosen = vote([s.final_answer for s in samples], same)
    return samples, chosen, chosen.clusters[0][0] if chosen.clusters else None, "vote"


def solve_samples(
    backend: Backend,
    template: PromptTemplate,
    problem: str,
    *,
    request: GenerationRequest,
    k: int,
    controls: ThinkingControls,
    same: Callable[[str, str], bool],
    check_code: Callable[[str | None], Any] | None = None,
    cancel: threading.Event | None = None,
    wrap_up: threading.Event | None = None,
) -> Iterator[SampleUpdate | Notice | SamplesResult]:
    """K samples of `problem` (seeds from `request.sampling.seed`), then the `SamplesResult`.

    Args:
        same: whether two final answers are equivalent (vibe's math checker), for clustering.
        check_code: runs one sample's code against the tests (code mode with `--tests`).
    """
    started = time.perf_counter()
    samples: list[Sample] = []
    how: Literal["vote", "tests"]
    requests = sample_requests(request, k, request.sampling.seed)
    events = generate_samples(backend, template, requests, controls=controls, cancel=cancel, wrap_up=wrap_up,
                              problem=problem)  # fmt: skip
    for event in events:
        if isinstance(event, list):
            samples = event
        else:
            yield event
    if any(s.finish_reason == "cancelled" for s in samples):
        samples_out, chosen, winner, how = samples, vote([], same), None, "vote"  # no vote over partial samples
    else:
        samples_out, chosen, winner, how = choose(samples, same=same, check_code=check_code)
    info = backend.info
    yield SamplesResult(problem=problem, mode=template.name, model=info.name, backend=info.backend,
                        samples=tuple(samples_out), vote=chosen, winner=winner, chosen_by=how,
                        total_s=time.perf_counter() - started,
                        ttft_s=min((s.ttft_s for s in samples), default=0.0))  # fmt: skip
