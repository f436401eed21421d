"""What the tools return: pydantic models, so each tool publishes an output schema and its
result comes back as structured content (and as the same JSON in a text block)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class TokenCounts(BaseModel):
    prompt: int = Field(description="Prompt tokens.")
    thinking: int = Field(description="Tokens of the thinking trace (up to and including </think>).")
    answer: int = Field(description="Tokens of the answer after the thinking.")


class MathVerdict(BaseModel):
    verdict: Literal["equal", "not_equal", "undecided"] = Field(
        description="undecided when an answer cannot be parsed or the check timed out."
    )
    equal: bool | None = Field(description="true, false, or null when undecided.")
    reason: str = Field(description="Why, in a few words (e.g. 'numerically equal', 'cannot parse ...').")
    gold: str = Field(description="The reference answer as compared.")
    pred: str = Field(description="The predicted answer as compared (the final answer of a full response).")


class SubstitutionVerdict(BaseModel):
    verdict: Literal["correct", "incorrect", "undecided"]
    correct: bool | None = Field(description="true, false, or null when undecided.")
    reason: str = Field(description="Why: which root fails, which solution is missing, or why it is undecided.")


class CaseOutcome(BaseModel):
    index: int = Field(description="The test's position, from 1.")
    verdict: Literal["passed", "wrong_answer", "runtime_error", "time_limit", "memory_limit"]
    seconds: float
    detail: str = Field(description="Expected and actual output, or the error's last line; empty when passed.")


class CodeVerdict(BaseModel):
    verdict: Literal["passed", "failed"] = Field(description="passed when every test passed.")
    passed: int
    total: int
    tests: list[CaseOutcome]
    sandbox: str = Field(description="The isolation in force: bubblewrap, unshare or rlimits.")


class StdioCase(BaseModel):
    """One stdin/stdout case."""

    input: str = Field(description="Fed to the program's stdin.")
    output: str = Field(description="Expected stdout (compared line by line, numbers as numbers).")


class Cluster(BaseModel):
    answer: str = Field(description="The cluster's answer, as its first sample gave it.")
    samples: list[int] = Field(description="The samples (indexes from 0) whose answers are equal to it.")


class VoteSummary(BaseModel):
    answer: str | None = Field(description="The majority answer (the final_answer); null when no sample answered.")
    size: int = Field(description="How many samples gave it.")
    k: int = Field(description="How many samples were drawn.")
    winner: int | None = Field(description="The sample whose answer, thinking and tokens are returned.")
    clusters: list[Cluster] = Field(
        description="Answers grouped by mathematical equivalence, largest first (ties: the earliest sample)."
    )
    tally: str = Field(description="The vote in one line: '85 ×4 · 84 ×1 · no answer ×1'.")


class SampleSummary(BaseModel):
    index: int
    seed: int | None = Field(description="Its sampling seed: the server's --seed (default 0) plus the index.")
    final_answer: str | None
    finish_reason: Literal["stop", "length", "cancelled", "budget", "loop", "error"]
    tokens: int = Field(description="Tokens it generated, thinking plus answer.")
    thinking_tokens: int


class SolveOutput(BaseModel):
    """One solve; with samples > 1, `final_answer` is the vote's, and `answer`, `finish_reason`,
    `tokens` and `thinking` are those of the winning sample (the first one when none answered)."""

    final_answer: str | None = Field(
        description="The extracted final answer: the \\boxed{} content in math, the program in code mode; "
        "with samples, the majority answer; null when none could be extracted (see finish_reason)."
    )
    answer: str = Field(description="The model's whole answer after its thinking.")
    finish_reason: Literal["stop", "length", "cancelled", "budget", "loop", "error"] = Field(
        description="stop: finished; length: hit max_tokens; budget: the thinking budget forced the answer; "
        "loop: a looping trace forced the answer."
    )
    mode: str = Field(description="The prompt template used.")
    model: str
    tokens: TokenCounts
    seconds: float = Field(description="Wall time of the generation (of all samples, and the vote).")
    thinking: str | None = Field(default=None, description="The thinking trace, when include_thinking was set.")
    verification: MathVerdict | None = Field(
        default=None, description="The final answer checked against `expected`, when it was given."
    )
    vote: VoteSummary | None = Field(default=None, description="With samples > 1: how the samples voted.")
    samples: list[SampleSummary] | None = Field(default=None, description="With samples > 1: each sample in brief.")
