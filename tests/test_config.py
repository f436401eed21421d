from __future__ import annotations

from pathlib import Path

import pytest

from vibecli.config import CONFIG_TEMPLATE, Config, Server, load_config, with_overrides
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
        ("top_p: 2\n", r"'top_p' must be in \(0, 1\] \(got 2\)"),
        ("top_p: 0\n", r"'top_p' must be in \(0, 1\] \(got 0\)"),
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
    with pytest.raises(ConfigError, match=r"^environment variable VIBE_TEMPERATURE must be a number$"):
        load_config(Path("/nonexistent"), env={"VIBE_TEMPERATURE": "hot"})


def test_init_template_is_valid_config(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG_TEMPLATE)
    assert load_config(path, env={}) == Config()


def test_servers_from_file_environment_and_flags(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("base_url:\n  - http://a:8000/v1/\n  - {url: 'http://b:8000/v1', concurrency: 32}\napi_key: k1\n")
    config = load_config(path, env={})
    assert config.base_url == (Server("http://a:8000/v1"), Server("http://b:8000/v1", 32))
    env = load_config(path, env={"VIBE_BASE_URL": "http://c/v1, http://d/v1", "VIBE_API_KEY": "k2"})
    assert [s.url for s in env.base_url] == ["http://c/v1", "http://d/v1"] and env.api_key == "k2"
    flagged = with_overrides(Config(), base_url=["http://e:1/v1"])
    assert flagged.backend == "openai"  # --base-url alone says where the model runs
    assert with_overrides(Config(backend="transformers"), base_url=["http://e:1/v1"]).backend == "transformers"


@pytest.mark.parametrize(
    ("value", "message"),
    [("localhost:8000", "not an http"), ("[{url: 'http://a/v1', concurrency: 0}]", "at least 1"),
     ("[{host: x}]", "entries must be")],
)  # fmt: skip
def test_bad_server_entries_are_named(tmp_path: Path, value: str, message: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(f"base_url: {value}\n")
    with pytest.raises(ConfigError, match="'base_url'") as caught:
        load_config(path, env={})
    assert message in str(caught.value)
