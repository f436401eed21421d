"""Which model to run: flag, then VIBE_MODEL, then the config file, then the demo model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vibecli.config import Config
from vibecli.engine.formats import check_tokenizer, detect_format
from vibecli.errors import EngineError
from vibecli.models.store import display_name, downloaded, locate
from vibecli.paths import demo_model_dir

DEMO_NOTICE = (
    "vibe: no model configured; using the bundled demo model (small arithmetic only). "
    "Get a real one with `vibe models pull WeiboAI/VibeThinker-1.5B`, then `--model VibeThinker-1.5B`."
)


@dataclass(frozen=True)
class ResolvedModel:
    name: str
    path: Path
    format: str
    notice: str | None = None  # shown once on stderr when set


def resolve_model(config: Config) -> ResolvedModel:
    """Resolve `config.model` (already layered: flag over VIBE_MODEL over file) to a directory.

    Raises EngineError when the model cannot be found or its format read.
    """
    requested = config.model
    notice = None
    if requested is None:
        name, path, notice = "demo", demo_model_dir(), DEMO_NOTICE
    else:
        found = locate(requested, config.models)
        path, source = found or (Path(requested).expanduser(), "directory")
        name = Path(requested).name or requested if source == "directory" else requested
        if found is None and not path.exists():
            known = ", ".join(["demo", *config.models, *(display_name(p) for p in downloaded())])
            raise EngineError(f"model '{requested}' is neither a directory nor a known name ({known})")
    if not path.is_dir():
        raise EngineError(f"model path {path} is not a directory")
    try:
        fmt = detect_format(path)
        check_tokenizer(path)
    except ValueError as exc:
        raise EngineError(f"cannot load model '{name}': {exc}") from None
    except OSError as exc:
        raise EngineError(f"cannot load model '{name}': cannot read {exc.filename or path} ({exc.strerror})") from None
    return ResolvedModel(name=name, path=path, format=fmt, notice=notice)
