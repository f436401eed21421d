"""The card protocols by name: how each VibeThinker checkpoint's card numbers were sampled.

- `vibethinker-1.5b` (the 1.5B report §4.1, WeiboAI's eval scripts): temperature 1.0 for math
  and GPQA, 0.6 for code; top-p 0.95; 40,960 new tokens.
- `vibethinker-3b` (the 3B report): temperature 1.0 for every task; top-p 0.95; no cap below
  the model's context: max tokens = the context minus the prompt.

The protocol is chosen by `--protocol`, else from the model's name where it names a
checkpoint, else the 1.5B's (vibe's protocol before protocols had names). A sampling value
given by a flag, the config file or a `VIBE_*` variable replaces the protocol's; one from the
config or the environment also warns, since nobody typed it for this run. Either way the run
records what replaced what.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from vibecli.errors import UsageError
from vibecli.eval.registry import CARD_MAX_TOKENS, CARD_TOP_P


@dataclass(frozen=True)
class Protocol:
    name: str
    temperature: dict[str, float]  # per kind: math, choice, code
    top_p: float
    top_k: int
    max_tokens: int | None  # None: the model's context minus the prompt
    checkpoint: str  # the card whose numbers it reproduces

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "temperature": self.temperature, "top_p": self.top_p, "top_k": self.top_k,
                "max_tokens": self.max_tokens if self.max_tokens is not None else "context minus prompt"}  # fmt: skip


PROTOCOLS: dict[str, Protocol] = {
    "vibethinker-1.5b": Protocol(
        "vibethinker-1.5b",
        {"math": 1.0, "choice": 1.0, "code": 0.6},
        CARD_TOP_P,
        0,
        CARD_MAX_TOKENS,
        "VibeThinker-1.5B",
    ),
    "vibethinker-3b": Protocol(
        "vibethinker-3b", {"math": 1.0, "choice": 1.0, "code": 1.0}, CARD_TOP_P, 0, None, "VibeThinker-3B"
    ),
}
DEFAULT_PROTOCOL = "vibethinker-1.5b"


def protocol_for_model(model_name: str | None) -> str | None:
    """The protocol a model's name implies (any quantization or path of a known checkpoint)."""
    match = re.search(r"vibethinker[-_ ]?(1\.5|3)b", (model_name or "").lower())
    return None if match is None else f"vibethinker-{match.group(1)}b"


def choose_protocol(flag: str | None, model_name: str | None) -> tuple[Protocol, str]:
    """(the protocol, how it was chosen: `--protocol`, `model name` or `default`)."""
    if flag is not None:
        if flag.lower() not in PROTOCOLS:
            raise UsageError(f"--protocol takes {' or '.join(PROTOCOLS)} (got '{flag}')")
        implied = protocol_for_model(model_name)
        if implied is not None and implied != flag.lower():
            raise UsageError(f"--protocol {flag} does not match the model {model_name} ({implied}'s protocol); "
                             "drop --protocol or choose the other model")  # fmt: skip
        return PROTOCOLS[flag.lower()], "--protocol"
    implied = protocol_for_model(model_name)
    if implied is not None:
        return PROTOCOLS[implied], "model name"
    return PROTOCOLS[DEFAULT_PROTOCOL], "default"


@dataclass(frozen=True)
class Override:
    """A sampling setting that replaced the protocol's: its key, value and where it came from."""

    key: str
    value: Any
    origin: str  # "flag", "config file", "environment"

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "value": self.value, "from": self.origin}


def sampling_overrides(flags: dict[str, Any], file_values: dict[str, Any], env_values: dict[str, Any],
                       protocol: Protocol) -> list[Override]:  # fmt: skip
    """The settings that replace `protocol`'s: flags first, then the environment, then the config file
    (values equal to the protocol's own replace nothing)."""
    own = {"temperature": None, "top_p": protocol.top_p, "top_k": protocol.top_k, "max_tokens": protocol.max_tokens}
    found = []
    for key in ("temperature", "top_p", "top_k", "max_tokens"):
        for origin, values in (("flag", flags), ("environment", env_values), ("config file", file_values)):
            value = values.get(key)
            if value is None:
                continue
            same_temperature = key == "temperature" and set(protocol.temperature.values()) == {value}
            if value != own[key] and not same_temperature:
                found.append(Override(key, value, origin))
            break
    return found
