"""The settings a results file was made with, so `--resume` continues it the same way.

Every result line carries `settings`: model, backend, mode, sampling (temperature, top-p,
top-k, seed), max tokens, samples and the thinking controls, as the run resolved them. A
resumed run takes them for every option not given on its command line; an option given with
another value is refused with one line naming it, so one file never mixes settings.
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from vibecli.config import Config
from vibecli.errors import UsageError

# Config field -> the flag that sets it.
FLAGS: dict[str, str] = {
    "model": "--model",
    "backend": "--backend",
    "mode": "--mode",
    "temperature": "--temperature",
    "top_p": "--top-p",
    "top_k": "--top-k",
    "seed": "--seed",
    "max_tokens": "--max-tokens",
    "think_budget": "--think-budget",
    "budget_message": "--budget-message",
    "loop_guard": "--loop-guard",
}


def run_settings(config: Config, samples: int) -> dict[str, Any]:
    """What a result line stores about the run that wrote it."""
    return {**{key: getattr(config, key) for key in FLAGS}, "samples": samples}


def stored_settings(records: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The settings of a results file (its first line's); None for a file written before they were kept."""
    for record in records:
        settings = record.get("settings")
        if isinstance(settings, dict):
            return settings
    return None


def _shown(key: str, value: Any) -> str:
    if value is None:
        return f"no {FLAGS.get(key, '--' + key)}" if key not in ("temperature", "top_p", "top_k") else "the mode's"
    if key == "loop_guard":
        return "on" if value else "off"
    return shlex.quote(str(value))


def resumed_config(
    config: Config, samples: int | None, stored: Mapping[str, Any], given: set[str], output: str
) -> tuple[Config, int]:
    """`config` with the file's settings for every option not `given`; a given option whose
    value differs from the file's is a UsageError naming it."""
    current = {**{key: getattr(config, key) for key in FLAGS}, "samples": samples}
    for key in (*FLAGS, "samples"):
        if key in given and key in stored and current[key] != stored[key]:
            flag = FLAGS.get(key, "--samples")
            raise UsageError(f"{output} was made with {flag} {_shown(key, stored[key])}, not "
                             f"{_shown(key, current[key])}: drop {flag} to continue it as it was, "
                             "or write to another file")  # fmt: skip
    taken = {key: stored[key] for key in FLAGS if key in stored and key not in given}
    return dataclasses.replace(config, **taken), int(stored.get("samples") or samples or 1)


def resume_command(files: Sequence[str], output: str, options: Sequence[tuple[str, Any]]) -> str:
    """The command that continues this run, with the options it was given (the file holds them too)."""
    parts = ["vibe", "batch", *files, "-o", output]
    for flag, value in options:
        parts += [flag] if value is True else [flag, str(value)]
    return " ".join(shlex.quote(part) for part in [*parts, "--resume"])
