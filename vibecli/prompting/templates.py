"""Prompt templates: one YAML file per mode, validated on load.

A template turns a problem into the user message with `$variable` substitution
(`string.Template`, so LaTeX braces need no escaping) and carries the mode's sampling
defaults and answer format. Users add or override templates in `~/.config/vibe/prompts/`.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vibecli.errors import UsageError
from vibecli.paths import bundled_prompts_dir, user_prompts_dir

ANSWER_FORMATS = ("boxed", "code", "choice", "text")
VARIABLES = ("problem", "starter_code")
_KEYS = {"name", "description", "system", "template", "starter_template", "sampling", "answer_format", "think_budget"}
_SAMPLING_KEYS = {"temperature", "top_p", "top_k"}


class TemplateError(UsageError):
    """A template file is invalid, or a template was rendered without a variable it needs."""


@dataclass(frozen=True)
class PromptTemplate:
    """One mode: how to phrase the problem, how to sample, where the answer is."""

    name: str
    description: str
    template: str
    answer_format: str = "boxed"
    system: str | None = None
    starter_template: str | None = None
    sampling: dict[str, float] = field(default_factory=dict)
    think_budget: int | None = None
    source: str = ""

    def variables(self) -> set[str]:
        """The `$names` the templates use."""
        found: set[str] = set()
        for text in (self.template, self.starter_template or ""):
            found.update(m.group("named") or m.group("braced") for m in _placeholders(text))
        return found

    def render(self, problem: str, *, starter_code: str | None = None) -> str:
        """The user message for `problem`; `starter_template` is used when starter code is given."""
        text = self.starter_template if starter_code and self.starter_template else self.template
        values = {"problem": problem.strip(), "starter_code": (starter_code or "").strip()}
        try:
            return string.Template(text).substitute(values)
        except (KeyError, ValueError) as exc:
            raise TemplateError(f"template '{self.name}' ({self.source}): cannot fill {exc}") from None


def _placeholders(text: str) -> list[Any]:
    pattern = string.Template.pattern
    return [m for m in pattern.finditer(text) if m.group("named") or m.group("braced")]


def parse_template(raw: Any, source: str) -> PromptTemplate:
    """Validate one template's YAML content; raises TemplateError naming the file and key."""
    if not isinstance(raw, dict):
        raise TemplateError(f"{source}: a template must be a mapping")
    unknown = set(raw) - _KEYS
    if unknown:
        raise TemplateError(f"{source}: unknown key '{sorted(unknown)[0]}' (known: {', '.join(sorted(_KEYS))})")
    for key in ("name", "description", "template"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise TemplateError(f"{source}: '{key}' is required and must be text")
    answer_format = raw.get("answer_format", "boxed")
    if answer_format not in ANSWER_FORMATS:
        raise TemplateError(f"{source}: answer_format must be one of {', '.join(ANSWER_FORMATS)}")
    sampling = raw.get("sampling") or {}
    if not isinstance(sampling, dict) or set(sampling) - _SAMPLING_KEYS:
        raise TemplateError(f"{source}: sampling takes only {', '.join(sorted(_SAMPLING_KEYS))}")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in sampling.values()):
        raise TemplateError(f"{source}: sampling values must be numbers")
    budget = raw.get("think_budget")
    if budget is not None and (isinstance(budget, bool) or not isinstance(budget, int) or budget < 0):
        raise TemplateError(f"{source}: think_budget must be a whole number of tokens (0 or more)")
    template = PromptTemplate(
        name=raw["name"],
        description=raw["description"].strip(),
        template=raw["template"],
        answer_format=answer_format,
        system=raw.get("system"),
        starter_template=raw.get("starter_template"),
        sampling={k: float(v) for k, v in sampling.items()},
        think_budget=budget,
        source=source,
    )
    bad = template.variables() - set(VARIABLES)
    if bad:
        raise TemplateError(f"{source}: unknown variable '${sorted(bad)[0]}' (available: {', '.join(VARIABLES)})")
    if "problem" not in template.variables():
        raise TemplateError(f"{source}: the template must use $problem")
    return template


class Templates(dict[str, "PromptTemplate"]):
    """The usable templates by name, plus the files that failed to load.

    One broken file of the user's must not stop every command: it is set aside under its
    name, reported as a warning, and an error only when that mode is asked for.
    """

    def __init__(self) -> None:
        super().__init__()
        self.invalid: dict[str, TemplateError] = {}

    def require(self, name: str) -> None:
        """Raise the load error of template `name`, if its file is invalid."""
        if name in self.invalid:
            raise self.invalid[name]

    def warnings(self) -> list[str]:
        """One line per invalid file, naming it."""
        return [f"{error} (mode '{name}' is unavailable until it is fixed)" for name, error in self.invalid.items()]


def load_templates(dirs: list[Path] | None = None) -> Templates:
    """All templates by name; later directories override earlier ones (user over bundled)."""
    import yaml

    templates = Templates()
    for directory in dirs if dirs is not None else [bundled_prompts_dir(), user_prompts_dir()]:
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.yaml")):
            raw: Any = None
            try:
                raw = yaml.safe_load(path.read_text(encoding="utf-8"))
            except (yaml.YAMLError, UnicodeDecodeError) as exc:
                error = TemplateError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})")
            except OSError as exc:
                error = TemplateError(f"{path}: cannot read it ({exc.strerror or exc})")
            else:
                try:
                    template = parse_template(raw, str(path))
                except TemplateError as exc:
                    error = exc
                else:
                    templates[template.name] = template
                    templates.invalid.pop(template.name, None)
                    continue
            named = raw.get("name") if isinstance(raw, dict) else None
            templates.invalid[named if isinstance(named, str) and named.strip() else path.stem] = error
    return templates
