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


def run_settings(config: Config, samples: int, include_thinking: bool = False) -> dict[str, Any]:
    """What a result line stores about the run that wrote it."""
    return {**{key: getattr(config, key) for key in FLAGS}, "samples": samples, "include_thinking": include_thinking}


def _settings_of(record: Mapping[str, Any]) -> dict[str, Any] | None:
    settings = record.get("settings")
    if not isinstance(settings, dict):
        return None
    # Lines written before `include_thinking` was kept say it by holding the raw response.
    return {"include_thinking": "response" in record, **settings}


def stored_settings(
    records: Sequence[Mapping[str, Any]], output: str, *, allow_mixed: bool = False
) -> dict[str, Any] | None:
    """The settings of a results file, the same on every line. A line without them (an older
    vibe) or lines that disagree are a UsageError, unless `allow_mixed`: then the first line's
    settings that exist (None when none do)."""
    found = [(number, _settings_of(record)) for number, record in enumerate(records, start=1)]
    known = [(number, settings) for number, settings in found if settings is not None]
    if allow_mixed:
        return known[0][1] if known else None
    unknown = next((number for number, settings in found if settings is None), None)
    if unknown is not None:
        raise UsageError(f"{output} line {unknown} does not say its settings (written by an older vibe): add "
                         "--allow-mixed-settings to continue it with this run's options, "
                         "or write to another file")  # fmt: skip
    first_number, first = known[0]
    for number, settings in known[1:]:
        differ = next((key for key in (*FLAGS, "samples") if settings.get(key) != first.get(key)), None)
        if differ is not None:
            was, now = _shown(differ, first.get(differ)), _shown(differ, settings.get(differ))
            raise UsageError(f"{output} already mixes settings: line {first_number} has {was}, line {number} {now} "
                             "(add --allow-mixed-settings to continue it anyway, "
                             "or write to another file)")  # fmt: skip
    return first


def _shown(key: str, value: Any) -> str:
    """A setting as the option that gives it: `--top-p 0.95`, `the mode's --top-p`, `no --think-budget`."""
    flag = FLAGS.get(key, "--" + key.replace("_", "-"))
    if key == "include_thinking":
        return flag if value else f"no {flag}"
    if value is None:
        return f"the mode's {flag}" if key in ("temperature", "top_p", "top_k") else f"no {flag}"
    if key == "loop_guard":
        return f"{flag} {'on' if value else 'off'}"
    return f"{flag} {shlex.quote(str(value))}"


def resumed_config(
    config: Config, samples: int | None, include_thinking: bool, stored: Mapping[str, Any], given: set[str],
    output: str, *, allow_mixed: bool = False,
) -> tuple[Config, int, bool]:  # fmt: skip
    """`config` (with samples and include_thinking) with the file's settings for every option not
    `given`; a given option whose value differs from the file's is a UsageError naming it
    (unless `allow_mixed`: then the given options win)."""
    current = {**{key: getattr(config, key) for key in FLAGS}, "samples": samples, "include_thinking": include_thinking}
    for key in (*FLAGS, "samples", "include_thinking"):
        if key in given and key in stored and current[key] != stored[key] and not allow_mixed:
            flag = FLAGS.get(key, "--" + key.replace("_", "-"))
            raise UsageError(f"{output} was made with {_shown(key, stored[key])}, not {_shown(key, current[key])}: "
                             f"drop {flag} to continue it as it was, or write to another file")  # fmt: skip
    taken = {key: stored[key] for key in FLAGS if key in stored and key not in given}
    thinking = bool(stored.get("include_thinking", include_thinking))
    k = samples if "samples" in given and allow_mixed else stored.get("samples") or samples
    return dataclasses.replace(config, **taken), int(k or 1), thinking


def resume_command(files: Sequence[str], output: str, options: Sequence[tuple[str, Any]]) -> str:
    """The command that continues this run, with the options it was given (the file holds them too)."""
    parts = ["vibe", "batch", *files, "-o", output]
    for flag, value in options:
        parts += [flag] if value is True else [flag, str(value)]
    return " ".join(shlex.quote(part) for part in [*parts, "--resume"])
