"""Where vibe keeps things: XDG directories and the files bundled with the package."""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _xdg(variable: str, fallback: str) -> Path:
    value = os.environ.get(variable)
    return Path(value) if value else Path.home() / fallback


def config_dir() -> Path:
    return _xdg("XDG_CONFIG_HOME", ".config") / "vibe"


def config_file() -> Path:
    """The config file: `$VIBE_CONFIG`, else `$XDG_CONFIG_HOME/vibe/config.yaml`."""
    override = os.environ.get("VIBE_CONFIG")
    return Path(override) if override else config_dir() / "config.yaml"


def user_prompts_dir() -> Path:
    """User templates; one here overrides a bundled one of the same name."""
    return config_dir() / "prompts"


def data_dir() -> Path:
    return _xdg("XDG_DATA_HOME", ".local/share") / "vibe"


def state_dir() -> Path:
    return _xdg("XDG_STATE_HOME", ".local/state") / "vibe"


def demo_model_dir() -> Path:
    return _PACKAGE / "demo" / "model"


def bundled_prompts_dir() -> Path:
    """Bundled templates: inside an installed wheel, or at the top of a source checkout."""
    installed = _PACKAGE / "_bundled_prompts"
    return installed if installed.is_dir() else _PACKAGE.parent / "prompts"
