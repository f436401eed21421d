"""A model's own chat template, rendered from `tokenizer_config.json` without transformers.

Engines without chat support (ExLlamaV2) render it here, with Jinja set up the way
transformers sets it up (sandboxed, `trim_blocks`, `lstrip_blocks`, `raise_exception`),
so the prompt is the same text `apply_chat_template` would give.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from vibecli.engine.types import Message
from vibecli.errors import EngineError


def _token_text(value: Any) -> str:
    """`bos_token` and friends are strings, or AddedToken dicts with a `content` key."""
    if isinstance(value, dict):
        return str(value.get("content", ""))
    return value if isinstance(value, str) else ""


class ChatTemplate:
    """The compiled template of one model directory."""

    def __init__(self, source: str, special_tokens: dict[str, str]) -> None:
        from jinja2 import TemplateError
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        def raise_exception(message: str) -> None:
            raise TemplateError(message)

        def tojson(value: Any, indent: int | None = None, ensure_ascii: bool = False) -> str:
            return json.dumps(value, indent=indent, ensure_ascii=ensure_ascii)

        environment = ImmutableSandboxedEnvironment(
            trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"]
        )
        environment.filters["tojson"] = tojson
        environment.globals["raise_exception"] = raise_exception
        environment.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
        self._template = environment.from_string(source)
        self._special = special_tokens

    @classmethod
    def from_model_dir(cls, path: Path) -> ChatTemplate:
        """Read the template from `tokenizer_config.json` (or `chat_template.jinja` beside it)."""
        config_path = path / "tokenizer_config.json"
        try:
            config = json.loads(config_path.read_text(encoding="utf-8")) if config_path.is_file() else {}
        except (OSError, ValueError) as exc:
            raise EngineError(f"cannot read {config_path}: {exc}") from None
        source = config.get("chat_template")
        if isinstance(source, list):  # several named templates: take the default one
            source = next((t.get("template") for t in source if t.get("name") == "default"), None)
        jinja_file = path / "chat_template.jinja"
        if not source and jinja_file.is_file():
            source = jinja_file.read_text(encoding="utf-8")
        if not isinstance(source, str) or not source:
            raise EngineError(f"{path} has no chat template (tokenizer_config.json has no chat_template)")
        special = {name: _token_text(config.get(name)) for name in ("bos_token", "eos_token", "pad_token", "unk_token")}
        return cls(source, special)

    def render(self, messages: Sequence[Message], *, add_generation_prompt: bool = True) -> str:
        from jinja2 import TemplateError

        try:
            return self._template.render(
                messages=[asdict(m) for m in messages], add_generation_prompt=add_generation_prompt, **self._special
            )
        except TemplateError as exc:
            raise EngineError(f"the model's chat template refused these messages: {exc}") from None
