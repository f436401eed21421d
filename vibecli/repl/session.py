"""The state of a `vibe repl` session: settings, the conversation, the last answer.

Earlier turns go back to the model without their thinking, as Qwen-family models expect:
the context holds each user message and the answer the model gave.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vibecli.config import Config
from vibecli.engine.types import Message
from vibecli.errors import UsageError
from vibecli.reasoning.solve import SolveResult

SESSION_VERSION = 1


@dataclass
class ReplSettings:
    """What the slash commands change; `None` means the mode's default."""

    mode: str = "auto"
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int = 40960
    budget: int | None = None
    think: str = "collapse"

    @classmethod
    def from_config(cls, config: Config) -> ReplSettings:
        return cls(config.mode, config.temperature, config.top_p, config.max_tokens, config.think_budget, config.think)

    def apply(self, config: Config) -> Config:
        """The config a turn runs with."""
        return dataclasses.replace(
            config,
            mode=self.mode,
            temperature=self.temperature,
            top_p=self.top_p,
            max_tokens=self.max_tokens,
            think_budget=self.budget,
            think=self.think,
        )


@dataclass
class Turn:
    problem: str
    prompt: str  # the user message as sent (template applied)
    answer: str  # the model's answer, thinking stripped
    thinking: str
    final_answer: str | None
    result: dict[str, Any]


@dataclass
class ReplSession:
    settings: ReplSettings
    turns: list[Turn] = field(default_factory=list)
    latest: Turn | None = None  # the last result of any kind (an answer or a vote): /verify, /trace, /stats

    @property
    def last(self) -> Turn | None:
        """The last result, whatever produced it: an answer in the conversation or `/samples`' vote."""
        if self.latest is not None:
            return self.latest
        return self.turns[-1] if self.turns else None

    def history(self) -> tuple[Message, ...]:
        """Earlier turns as chat messages, without their thinking."""
        messages: list[Message] = []
        for turn in self.turns:
            messages += [Message("user", turn.prompt), Message("assistant", turn.answer.strip())]
        return tuple(messages)

    def record(self, problem: str, prompt: str, result: SolveResult) -> None:
        if result.finish_reason == "cancelled":
            return  # a cancelled answer does not enter the conversation
        turn = Turn(problem, prompt, result.answer, result.thinking, result.final_answer, result.to_json())
        self.turns.append(turn)
        self.latest = turn

    def record_aside(self, problem: str, answer: str, thinking: str, final_answer: str | None,
                     result: dict[str, Any]) -> None:  # fmt: skip
        """A result outside the conversation (`/samples`' vote): the last result, not a turn."""
        self.latest = Turn(problem, problem, answer, thinking, final_answer, result)

    def clear(self) -> None:
        self.turns.clear()
        self.latest = None

    def save(self, path: Path) -> None:
        data = {"version": SESSION_VERSION, "settings": dataclasses.asdict(self.settings),
                "turns": [dataclasses.asdict(t) for t in self.turns]}  # fmt: skip
        try:
            path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {path}: {exc.strerror}") from None

    @classmethod
    def load(cls, path: Path) -> ReplSession:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            settings = ReplSettings(**data["settings"])
            turns = [Turn(**turn) for turn in data["turns"]]
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror}") from None
        except (ValueError, KeyError, TypeError):
            raise UsageError(f"{path} is not a saved vibe session") from None
        return cls(settings, turns)  # the last turn is the last result
