"""Values for shell tab completion: modes, backends, thinking displays, devices, models.

The shell scripts in completions/ call back into `vibe` for every TAB, so these lists are
always current: a template added in ~/.config/vibe/prompts or a model registered in the
config completes at once.
"""

from __future__ import annotations

from vibecli.config import BACKEND_CHOICES, CACHE_CHOICES, DEVICE_CHOICES, THINK_CHOICES


def _matching(options: list[str], incomplete: str) -> list[str]:
    return [option for option in options if option.startswith(incomplete)]


def complete_mode(incomplete: str) -> list[str]:
    from vibecli.prompting.templates import load_templates

    try:
        names = sorted(load_templates())
    except Exception:  # a broken user template must not break the shell
        names = []
    return _matching(["auto", *names], incomplete)


def complete_model(incomplete: str) -> list[str]:
    from vibecli.config import load_config

    try:
        names = sorted(load_config().models)
    except Exception:  # an invalid config must not break the shell
        names = []
    return _matching(["demo", *names], incomplete)


def complete_cache(incomplete: str) -> list[str]:
    return _matching(list(CACHE_CHOICES), incomplete)


def complete_backend(incomplete: str) -> list[str]:
    return _matching(list(BACKEND_CHOICES), incomplete)


def complete_think(incomplete: str) -> list[str]:
    return _matching(list(THINK_CHOICES), incomplete)


def complete_device(incomplete: str) -> list[str]:
    return _matching(list(DEVICE_CHOICES), incomplete)


def complete_switch(incomplete: str) -> list[str]:
    return _matching(["on", "off"], incomplete)
