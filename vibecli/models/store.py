"""The models vibe knows: downloaded or quantized into `$XDG_DATA_HOME/vibe/models`, plus the
directories named in the config's `models:` table.

A downloaded repository `owner/name` lives in `models/owner--name` and answers to `owner/name`
or, when no other model has it, to `name` alone.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from vibecli.engine.formats import check_tokenizer, detect_format
from vibecli.errors import EngineError, UsageError
from vibecli.paths import data_dir, demo_model_dir


def models_dir() -> Path:
    return data_dir() / "models"


def dir_name(repo: str) -> str:
    return repo.replace("/", "--")


def display_name(directory: Path) -> str:
    return directory.name.replace("--", "/", 1)


@dataclass(frozen=True)
class ModelEntry:
    """One known model, as `vibe models list` and `info` show it."""

    name: str
    path: Path
    source: str  # "downloaded" (in vibe's data directory), "config" or "bundled" (the demo model)
    format: str
    bits_per_weight: float | None
    size_bytes: int
    architecture: str
    context: int | None
    quantization: dict[str, object] | None = None
    problem: str | None = None  # why it cannot be loaded, found without loading it

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "path": str(self.path),
            "source": self.source,
            "format": self.format,
            "bits_per_weight": self.bits_per_weight,
            "size_bytes": self.size_bytes,
            "architecture": self.architecture,
            "context": self.context,
            "quantization": self.quantization,
            "problem": self.problem,
        }


_BITS = {"bf16": 16.0, "fp16": 16.0, "fp32": 32.0}


def describe(name: str, path: Path, source: str) -> ModelEntry:
    """Read what a model directory is without loading it (config.json and safetensors headers)."""
    problem = None
    try:
        fmt = detect_format(path)
        check_tokenizer(path)
    except ValueError as exc:
        fmt, problem = "incomplete", str(exc)
    except OSError as exc:
        fmt, problem = "incomplete", f"cannot read {exc.filename or path} ({exc.strerror})"
    try:
        raw = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raw = None
    config = raw if isinstance(raw, dict) else {}  # what can be shown of a broken one
    quant = config.get("quantization_config") if isinstance(config.get("quantization_config"), dict) else None
    bits = quant.get("bits") if isinstance(quant, dict) else _BITS.get(fmt)
    architectures = config.get("architectures")
    architecture = architectures[0] if isinstance(architectures, list) and architectures else "?"
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and ".cache" not in f.parts)
    context = config.get("max_position_embeddings")
    return ModelEntry(
        name=name,
        path=path,
        source=source,
        format=fmt,
        bits_per_weight=float(bits) if isinstance(bits, int | float) else None,
        size_bytes=size,
        architecture=str(architecture),
        context=context if isinstance(context, int) else None,
        quantization=quant if isinstance(quant, dict) else None,
        problem=problem,
    )


def downloaded() -> list[Path]:
    root = models_dir()
    return sorted(p for p in root.iterdir() if p.is_dir() and (p / "config.json").is_file()) if root.is_dir() else []


def list_models(registered: dict[str, str]) -> list[ModelEntry]:
    entries = [describe(display_name(p), p, "downloaded") for p in downloaded()]
    for name, location in sorted(registered.items()):
        path = Path(location).expanduser()
        if path.is_dir():
            entries.append(describe(name, path, "config"))
    return [*entries, describe("demo", demo_model_dir(), "bundled")]


def find_downloaded(name: str) -> Path | None:
    """The downloaded model called `name` (`owner/name`, its folder name, or a unique bare `name`)."""
    candidates = downloaded()
    exact = [p for p in candidates if name in (display_name(p), p.name)]
    if exact:
        return exact[0]
    bare = [p for p in candidates if display_name(p).split("/")[-1] == name]
    return bare[0] if len(bare) == 1 else None


def locate(name: str, registered: dict[str, str]) -> tuple[Path, str] | None:
    """Where the model called `name` is, and what kind of source it is."""
    if name == "demo":
        return demo_model_dir(), "bundled"
    if name in registered:
        return Path(registered[name]).expanduser(), "config"
    path = Path(name).expanduser()  # the same order as --model: a directory before a downloaded name
    if path.is_dir():
        return path, "directory"
    pulled = find_downloaded(name)
    return (pulled, "downloaded") if pulled is not None else None


def remove(name: str, registered: dict[str, str]) -> tuple[Path, int]:
    """Delete a downloaded model; return its path and the bytes freed."""
    path = find_downloaded(name)
    if path is None:
        if name in registered:
            raise UsageError(f"'{name}' is your directory {registered[name]} (registered in the config); "
                             "vibe removes only models it downloaded or made")  # fmt: skip
        raise EngineError(f"no downloaded model '{name}' (see vibe models list)")  # not found: exit 3, as for --model
    size = describe(name, path, "downloaded").size_bytes
    shutil.rmtree(path)
    return path, size
