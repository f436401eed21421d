"""User configuration: a YAML file, then `VIBE_*` environment variables, then flags.

Invalid settings fail early with one line that names the key and where it came from.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vibecli.errors import ConfigError, UsageError
from vibecli.paths import config_file

THINK_CHOICES = ("show", "collapse", "hide")
BACKEND_CHOICES = ("auto", "transformers", "exl2", "openai")
DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")
CACHE_CHOICES = ("fp16", "q8", "q6", "q4")
COMPILE_CHOICES = ("auto", "on", "off")


@dataclass(frozen=True)
class Server:
    """One OpenAI-compatible server for `--backend openai`: its URL up to `/v1`, and its own limit."""

    url: str
    concurrency: int | None = None  # None: the command's --concurrency


@dataclass(frozen=True)
class Config:
    """Every setting a user can make persistent. `None` means: the mode template decides."""

    model: str | None = None
    backend: str = "auto"
    device: str = "auto"
    mode: str = "auto"
    think: str = "collapse"
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    max_tokens: int = 40960
    seed: int | None = None
    think_budget: int | None = None
    budget_message: str | None = None
    loop_guard: bool = True
    models: dict[str, str] = field(default_factory=dict)
    base_url: tuple[Server, ...] = ()
    api_key: str | None = None
    ctx: int | None = None
    cache: str = "fp16"
    compile: str = "auto"


def _choice(options: tuple[str, ...]) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in options:
            raise ValueError(f"must be one of {', '.join(options)}")
        return str(value)

    return check


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("must be a non-empty string")
    return value


def _number(low: float, high: float, *, above_low: bool = False) -> Callable[[Any], float]:
    """A number in [low, high], or in (low, high] with `above_low`."""

    def check(value: Any) -> float:
        try:
            if isinstance(value, bool):
                raise TypeError
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError("must be a number") from None
        if not (low < number if above_low else low <= number) or not number <= high:
            raise ValueError(f"must be in {'(' if above_low else '['}{low:g}, {high:g}] (got {number:g})")
        return number

    return check


# Samples per problem, at most (solve --samples, batch -k, the REPL's /samples): K rows run at once.
MAX_SAMPLES = 256
# The largest seed: every backend takes a signed 64-bit seed (sample i of K uses SEED+i).
MAX_SEED = 2**63 - 1


def _integer(low: int, high: int | None = None) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).lstrip("-").isdigit():
            raise ValueError("must be a whole number")
        if int(value) < low:
            raise ValueError(f"must be at least {low} (got {int(value)})")
        if high is not None and int(value) > high:
            raise ValueError(f"must be at most {high:,} (got {int(value):,})")
        return int(value)

    return check


def _switch(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    words = {"on": True, "true": True, "yes": True, "1": True, "off": False, "false": False, "no": False, "0": False}
    if str(value).lower() not in words:
        raise ValueError("must be on or off")
    return words[str(value).lower()]


def _model_table(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ValueError("must map model names to directories")
    return dict(value)


def _server(value: Any) -> Server:
    if isinstance(value, dict):
        extra = set(value) - {"url", "concurrency"}
        if extra or "url" not in value:
            raise ValueError("entries must be a URL or {url: URL, concurrency: N}")
        limit = value.get("concurrency")
        return Server(_url(value["url"]), None if limit is None else _integer(1)(limit))
    return Server(_url(value))


def _url(value: Any) -> str:
    text = _text(value).strip().rstrip("/")
    if not text.startswith(("http://", "https://")) or len(text) < 10:
        raise ValueError(f"'{text}' is not an http(s) URL (give it up to /v1, e.g. http://localhost:8000/v1)")
    return text


def _servers(value: Any) -> tuple[Server, ...]:
    # A string may hold several URLs separated by spaces or commas (handy in VIBE_BASE_URL).
    items = value.replace(",", " ").split() if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not items:
        raise ValueError("must be a URL or a list of them")
    return tuple(_server(item) for item in items)


_VALIDATORS: dict[str, Callable[[Any], Any]] = {
    "model": _text,
    "backend": _choice(BACKEND_CHOICES),
    "device": _choice(DEVICE_CHOICES),
    "mode": _text,
    "think": _choice(THINK_CHOICES),
    "temperature": _number(0.0, 5.0),
    "top_p": _number(0.0, 1.0, above_low=True),  # 0 would keep no token at all
    "top_k": _integer(0),
    "max_tokens": _integer(1),
    "seed": _integer(0, MAX_SEED),
    "think_budget": _integer(0),
    "budget_message": _text,
    "loop_guard": _switch,
    "models": _model_table,
    "base_url": _servers,
    "api_key": _text,
    "ctx": _integer(256),
    "cache": _choice(CACHE_CHOICES),
    "compile": _choice(COMPILE_CHOICES),
}


def _validated(raw: Mapping[str, Any], source: str, spelled: Callable[[str], str] | None = None) -> dict[str, Any]:
    """Check every setting; an invalid one is one line naming it as the user wrote it (`spelled`)."""
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in _VALIDATORS:
            raise ConfigError(f"{source}: unknown key '{key}' (known: {', '.join(_VALIDATORS)})")
        if value is None:
            continue
        try:
            values[key] = _VALIDATORS[key](value)
        except ValueError as exc:
            raise ConfigError(f"{spelled(key)} {exc}" if spelled else f"{source}: '{key}' {exc}") from None
    return values


def flag_name(key: str) -> str:
    return "--" + key.replace("_", "-")


def env_name(key: str) -> str:
    return f"VIBE_{key.upper()}"


def read_config_file(path: Path) -> dict[str, Any]:
    """The validated settings in `path`; a missing file is an empty config."""
    if not path.is_file():
        return {}
    import yaml  # only when there is a file to read

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: must be a mapping of settings")
    return _validated(raw, str(path))


def env_overrides(env: Mapping[str, str]) -> dict[str, Any]:
    raw = {key: env[env_name(key)] for key in _VALIDATORS if key != "models" and env_name(key) in env}
    return _validated(raw, "environment (VIBE_*)", lambda key: f"environment variable {env_name(key)}")


def load_config(path: Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """The effective config: file settings, then `VIBE_*` variables on top."""
    env = os.environ if env is None else env
    values = read_config_file(path or config_file())
    values.update(env_overrides(env))
    return Config(**values)


def with_overrides(config: Config, **flags: Any) -> Config:
    """Apply command-line flags; a flag left at `None` keeps the configured value."""
    given = {key: value for key, value in flags.items() if value is not None}
    if given.get("base_url") and "backend" not in given and config.backend == "auto":
        given["backend"] = "openai"  # --base-url alone says where the model runs
    return dataclasses.replace(config, **_validated(given, "command line", flag_name))


CONFIG_TEMPLATE = """\
# vibe configuration. Environment variables VIBE_<KEY> override these; flags override both.

# Model to use: a directory, a name from `models` below, or `demo` (the bundled arithmetic model).
# model: ~/models/VibeThinker-1.5B

# Engine: auto, transformers (portable: CPU, CUDA, MPS) or exl2 (NVIDIA GPUs, EXL2 quants).
backend: auto

# Device for the transformers engine: auto, cpu, cuda or mps.
device: auto

# Prompt template: auto (routes each problem), math, code, stem, logic, or one of your own
# in the prompts/ folder beside this file.
mode: auto

# Thinking display on a terminal: show (stream it), collapse (a live tail, then one line), hide.
think: collapse

# Sampling; leave unset to use each mode's defaults (VibeThinker: 1.0 for math, 0.6 for code).
# temperature: 1.0
# top_p: 0.95
# top_k: 0          # 0 is off

# New-token cap for thinking plus answer (VibeThinker's official budget is 40960).
max_tokens: 40960

# Fixed seed for reproducible sampling.
# seed: 0

# Thinking budget in tokens: when the thinking reaches it, vibe stops it and forces the answer
# (0 skips thinking). Unset: no budget, unless the mode's template sets one.
# think_budget: 16000
# budget_message: "I have thought about this long enough. Time to commit to my final answer."

# Stop a trace stuck repeating itself and force the answer (on or off).
loop_guard: on

# ExLlamaV2 (exl2): context length in tokens (default: the model's, capped to fit --max-tokens),
# and the KV cache's precision: fp16, q8, q6 or q4 (q4 holds four times the tokens of fp16).
# ctx: 45056
cache: fp16

# transformers engine: decode a lone request in a static KV cache through a torch.compile'd
# forward, as transformers' generate does on CUDA (auto: on CUDA only; on: also CPU and MPS; off).
compile: auto

# Remote engine (--backend openai): OpenAI-compatible servers such as vLLM or SGLang, each URL up to
# /v1; several spread `vibe batch` work, each with an optional concurrency of its own.
# base_url:
#   - http://localhost:8000/v1
#   - {url: http://gpu2:8000/v1, concurrency: 32}
# api_key: ...      # or VIBE_API_KEY

# Named models usable with --model NAME.
# models:
#   vibe15: ~/models/VibeThinker-1.5B
"""


def check_seed_and_samples(seed: int | None, samples: int) -> None:
    """K samples use seeds SEED..SEED+K-1: all must fit a 64-bit seed (a usage error otherwise)."""
    if not 1 <= samples <= MAX_SAMPLES:
        raise UsageError(f"samples must be between 1 and {MAX_SAMPLES} (got {samples:,})")
    if seed is not None and seed + samples - 1 > MAX_SEED:
        raise UsageError(f"--seed {seed:,} with {samples} samples uses seeds up to {seed + samples - 1:,}; "
                         f"the largest is {MAX_SEED:,}")  # fmt: skip
