"""Generating an evaluation's samples through the backend's batched path, one line per sample.

Every (problem, sample, budget) is one request with seed SEED + sample, sent through
`Backend.run_many` (so local batching, continuous batching and several remote servers all
serve it). A sample is written the moment it is final, so Ctrl-C or a crash loses only what
was still running, and `--resume` makes only what is missing.

Thinking controls work on finished text, which every backend gives:
- a budget B caps the first request at B tokens; a trace still open there is continued with
  the budget message and `</think>` (finish reason `budget`), and an answer the cap cut short
  is continued as it was;
- the loop guard (off by default, as in the card's protocol) reads the finished trace, and
  where it would have fired, the trace is cut and the answer forced (finish reason `loop`).
Without a budget a trace that reaches `--max-tokens` stays cut off (finish reason `length`),
as the card counts it.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from vibecli.batch.store import ResultWriter
from vibecli.engine.backend import Backend
from vibecli.engine.types import NO_STATS, Finished, GenerationRequest, Sampling
from vibecli.eval.datasets import EvalProblem
from vibecli.eval.registry import CARD_MAX_TOKENS
from vibecli.prompting.templates import PromptTemplate
from vibecli.reasoning.controls import DEFAULT_BUDGET_MESSAGE, continuation_request
from vibecli.reasoning.loop_guard import LoopGuard
from vibecli.reasoning.solve import build_request
from vibecli.reasoning.splitter import CLOSE_TAG


@dataclass(frozen=True)
class EvalSettings:
    """The protocol of one run; a resumed run must match it (`k` may grow, budgets may be added)."""

    k: int
    temperature: float | None  # None: the protocol's value for the problem's kind
    top_p: float
    top_k: int
    max_tokens: int | None  # None: the model's context minus the prompt (the 3B's protocol)
    seed: int
    loop_guard: bool
    budget_message: str = DEFAULT_BUDGET_MESSAGE
    temperatures: dict[str, float] | None = None  # the protocol's per kind: math, choice, code
    protocol: str | None = None

    def temperature_for(self, answer_format: str, template_default: float) -> float:
        if self.temperature is not None:
            return self.temperature
        kind = "code" if answer_format == "code" else "choice" if answer_format == "choice" else "math"
        return (self.temperatures or {}).get(kind, template_default)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Job:
    problem: EvalProblem
    sample: int
    budget: int | None

    @property
    def id(self) -> str:
        return sample_id(self.problem.id, self.sample, self.budget)


def sample_id(problem_id: str, sample: int, budget: int | None) -> str:
    return f"{problem_id}#{sample}#{'off' if budget is None else budget}"


@dataclass(frozen=True)
class EvalProgress:
    done: int
    total: int
    generated_tokens: int
    elapsed_s: float
    budget: int | None


def loop_cut(text: str) -> tuple[int, str] | None:
    """Where vibe's loop guard would have stopped this trace: (characters kept, the repeated unit)."""
    end = text.find(CLOSE_TAG)
    trace = text if end < 0 else text[:end]
    guard = LoopGuard()
    step = guard.settings.check_every
    for start in range(0, len(trace), step):
        found = guard.feed(trace[start : start + step])
        if found is not None:
            return min(start + step, len(trace)), found.unit
    return None


@dataclass
class _Partial:
    """A first-phase result whose answer is still to come."""

    job: Job
    first: Finished
    kept: str
    injected: str
    trigger: str | None
    used_tokens: int


class EvalRunner:
    """Makes the missing samples of one run and appends each to the samples file as it is final."""

    def __init__(
        self,
        backend: Backend,
        templates: dict[str, PromptTemplate],
        settings: EvalSettings,
        writer: ResultWriter,
        *,
        concurrency: int = 8,
        on_progress: Callable[[EvalProgress], None] | None = None,
        on_error: Callable[[str, str], None] | None = None,
    ) -> None:
        self.backend, self.templates, self.settings, self.writer = backend, templates, settings, writer
        self.concurrency = concurrency
        self.on_progress = on_progress or (lambda progress: None)
        self.on_error = on_error or (lambda sample, why: None)
        self.written = 0
        self._run_id = time.strftime("%Y%m%dT%H%M%S")

    def request(self, job: Job) -> GenerationRequest:
        template = self.templates[job.problem.mode]
        s = self.settings
        temperature = s.temperature_for(template.answer_format, float(template.sampling.get("temperature", 1.0)))
        sampling = Sampling(temperature=temperature, top_p=s.top_p, top_k=s.top_k, seed=s.seed + job.sample)
        request = build_request(template, job.problem.problem, sampling=sampling, max_tokens=1,
                                starter_code=job.problem.starter_code)  # fmt: skip
        limit = self.max_tokens(request)
        cap = limit if job.budget is None else max(1, min(job.budget, limit))
        return dataclasses.replace(request, request_id=job.id, max_new_tokens=cap)

    def max_tokens(self, request: GenerationRequest) -> int:
        """The protocol's cap, or (None) the room the model's context leaves after the prompt."""
        if self.settings.max_tokens is not None:
            return self.settings.max_tokens
        context = self.backend.info.context_length
        if context is None:
            return CARD_MAX_TOKENS
        prompt = self.backend.count_tokens(self.backend.chat_prompt(request.messages))
        return max(1, context - prompt)

    def run(self, jobs: Sequence[Job], budget: int | None, cancel: threading.Event | None = None) -> None:
        """Generate `jobs` (all of one budget); what is cancelled is not written."""
        started, tokens, done = time.monotonic(), 0, 0
        by_id = {job.id: job for job in jobs}
        run_id = f"{self._run_id}:{'off' if budget is None else budget}"
        partials: list[_Partial] = []

        def progress() -> None:
            self.on_progress(EvalProgress(done, len(jobs), tokens, time.monotonic() - started, budget))

        first_requests = [self.request(job) for job in jobs if job.budget != 0]
        forced_now = [job for job in jobs if job.budget == 0]
        partials += [_Partial(job, Finished("stop", "", NO_STATS), "", self._injected(), "budget", 0)
                     for job in forced_now]  # fmt: skip
        for completion in self.backend.run_many(first_requests, cancel=cancel, max_batch=self.concurrency):
            job, finished = by_id[completion.request_id], completion.finished
            tokens += finished.stats.generated_tokens
            partial = self._continuation(job, finished)
            if partial is not None:
                partials.append(partial)
            elif self._write(job, finished, finished.text, finished.stats.generated_tokens, None, run_id, started):
                done += 1
            progress()
        if not partials or (cancel is not None and cancel.is_set()):
            return
        requests = []
        for p in partials:
            base_request = self.request(p.job)
            base = self.backend.chat_prompt(base_request.messages)
            full = dataclasses.replace(base_request, max_new_tokens=self.max_tokens(base_request))
            if p.injected:
                requests.append(continuation_request(full, base_prompt=base, partial_trace=p.kept,
                                                     injected=p.injected, used_tokens=p.used_tokens))  # fmt: skip
            else:  # the answer was cut by the budget's cap: carry on from where it stopped
                left = max(1, full.max_new_tokens - p.used_tokens)
                requests.append(dataclasses.replace(full, messages=(), prompt=base + p.kept, max_new_tokens=left))
        by_partial = {p.job.id: p for p in partials}
        for completion in self.backend.run_many(requests, cancel=cancel, max_batch=self.concurrency):
            p, finished = by_partial[completion.request_id], completion.finished
            tokens += finished.stats.generated_tokens
            text = p.kept + p.injected + finished.text
            merged = Finished(finished.reason, text, dataclasses.replace(
                finished.stats, prompt_tokens=p.first.stats.prompt_tokens or finished.stats.prompt_tokens,
                total_s=p.first.stats.total_s + finished.stats.total_s), finished.error)  # fmt: skip
            if self._write(p.job, merged, text, p.used_tokens + finished.stats.generated_tokens, p.trigger, run_id,
                           started):  # fmt: skip
                done += 1
            progress()

    def _injected(self) -> str:
        return f"{self.settings.budget_message}{CLOSE_TAG}\n\n"

    def _continuation(self, job: Job, finished: Finished) -> _Partial | None:
        """The second phase this first-phase result needs, if any."""
        if finished.reason in ("cancelled", "error"):
            return None
        text, used = finished.text, finished.stats.generated_tokens
        if self.settings.loop_guard:
            cut = loop_cut(text)
            if cut is not None:
                kept = text[: cut[0]]
                return _Partial(job, finished, kept, self._injected(), "loop", self.backend.count_tokens(kept))
        capped = job.budget is not None and job.budget < (self.settings.max_tokens or CARD_MAX_TOKENS)
        if capped and finished.reason == "length":
            injected = "" if CLOSE_TAG in text else self._injected()
            return _Partial(job, finished, text, injected, "budget" if injected else None, used)
        return None

    def _write(self, job: Job, finished: Finished, text: str, tokens: int, trigger: str | None, run_id: str,
               started: float) -> bool:  # fmt: skip
        if finished.reason == "cancelled":
            return False
        if finished.reason == "error":
            self.on_error(job.id, finished.error or "generation failed")
            return False
        reason = "loop" if trigger == "loop" else "budget" if trigger == "budget" else finished.reason
        self.writer.write({
            "id": job.id, "problem": job.problem.id, "sample": job.sample, "budget": job.budget,
            "seed": self.settings.seed + job.sample, "response": text, "finish_reason": reason, "tokens": tokens,
            "prompt_tokens": finished.stats.prompt_tokens, "trigger": trigger,
            "total_s": round(finished.stats.total_s, 3), "run": run_id,
            "elapsed_s": round(time.monotonic() - started, 3),
        })  # fmt: skip
        self.written += 1
        return True
