from __future__ import annotations

from pathlib import Path

import pytest

from vibecli.config import CONFIG_TEMPLATE, Config, load_config, with_overrides
from vibecli.errors import ConfigError


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    assert load_config(tmp_path / "none.yaml", env={}) == Config()


def test_file_then_environment_then_flags(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("model: /models/a\nmax_tokens: 1000\nthink: hide\nmodels:\n  small: /models/s\n")
    config = load_config(path, env={"VIBE_MAX_TOKENS": "2000"})
    assert (config.model, config.max_tokens, config.think, config.models) == (
        "/models/a",
        2000,
        "hide",
        {"small": "/models/s"},
    )
    flagged = with_overrides(config, max_tokens=3000, model=None, temperature=0.0)
    assert (flagged.max_tokens, flagged.model, flagged.temperature) == (3000, "/models/a", 0.0)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("colour: blue\n", "unknown key 'colour'"),
        ("max_tokens: lots\n", "'max_tokens' must be a whole number"),
        ("think: maybe\n", "'think' must be one of show, collapse, hide"),
        ("top_p: 2\n", "'top_p' must be between 0 and 1"),
        ("- a list\n", "must be a mapping"),
        ("model: [unclosed\n", "not valid YAML"),
    ],
)
def test_invalid_file_names_key_and_file(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(path, env={})
    assert str(path) in str(info.value)


def test_invalid_environment_variable_is_named() -> None:
    with pytest.raises(ConfigError, match=r"VIBE_\*.*'temperature' must be a number"):
        load_config(Path("/nonexistent"), env={"VIBE_TEMPERATURE": "hot"})


def test_init_template_is_valid_config(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG_TEMPLATE)
    assert load_config(path, env={}) == Config()
