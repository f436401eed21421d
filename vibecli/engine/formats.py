"""Checkpoint format detection from `config.json` and safetensors headers.

Reads only JSON and the first bytes of each `.safetensors` file, so it needs no torch.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

# Tensor-name suffixes that identify a quantization scheme.
_QUANT_SUFFIXES = {".q_weight": "exl2", ".trellis": "exl3", ".qweight": "gptq"}
_DTYPES = {"BF16": "bf16", "F16": "fp16", "F32": "fp32"}
_MAX_HEADER = 100 * 1024 * 1024


def safetensors_header(path: Path) -> dict[str, object]:
    """The JSON header of a safetensors file: tensor names to dtype, shape and offsets.

    Raises ValueError when the file is not one, or is shorter or longer than its header says
    (a download cut short), which the loader would otherwise find only after seconds of work.
    """
    with path.open("rb") as handle:
        prefix = handle.read(8)
        if len(prefix) != 8:
            raise ValueError(f"{path.name} is too short to be a safetensors file")
        (length,) = struct.unpack("<Q", prefix)
        if length > _MAX_HEADER:
            raise ValueError(f"{path.name} is not a safetensors file (implausible header size)")
        try:
            header = json.loads(handle.read(length))
        except ValueError:
            raise ValueError(f"{path.name} is not a safetensors file (its header is not JSON)") from None
    if not isinstance(header, dict):
        raise ValueError(f"{path.name} has no valid header")
    ends = [entry["data_offsets"][1] for entry in header.values() if isinstance(entry, dict) and _offsets(entry)]
    expected, actual = 8 + length + max(ends, default=0), path.stat().st_size
    if actual < expected:
        raise ValueError(f"{path.name} is truncated: {actual:,} bytes, its header describes {expected:,}")
    if actual > expected:
        raise ValueError(f"{path.name} is corrupt: {actual - expected:,} bytes beyond what its header describes")
    return header


def _offsets(entry: dict[str, object]) -> bool:
    offsets = entry.get("data_offsets")
    return isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)


def read_model_config(model_dir: Path) -> dict[str, object]:
    """`config.json` as a mapping, or ValueError naming what is wrong with it."""
    config_path = model_dir / "config.json"
    if not config_path.is_file():
        raise ValueError(f"{model_dir} has no config.json")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{config_path} is not valid JSON ({exc})") from None
    if not isinstance(config, dict):
        raise ValueError(f"{config_path} must hold a JSON object, not {type(config).__name__}")
    if not isinstance(config.get("model_type"), str):
        raise ValueError(f"{config_path} has no 'model_type' (every Hugging Face model config names one)")
    return config


# A tokenizer is one of these (all files of a tuple present).
_TOKENIZER_FILES = (("tokenizer.json",), ("vocab.json", "merges.txt"), ("tokenizer.model",))


def check_tokenizer(model_dir: Path) -> None:
    """ValueError unless `model_dir` holds tokenizer files (a model without them cannot read a prompt)."""
    if not any(all((model_dir / name).is_file() for name in group) for group in _TOKENIZER_FILES):
        raise ValueError(f"{model_dir} has no tokenizer files (tokenizer.json, or vocab.json and merges.txt)")


def detect_format(model_dir: Path) -> str:
    """Return `exl2`, `exl3`, `gptq`, `awq`, `bf16`, `fp16` or `fp32` for a model directory.

    `quantization_config` in config.json wins; otherwise tensor names and dtypes decide.
    Raises ValueError when the directory holds no readable checkpoint: no config.json, one
    that is not an object, no weights, or a weights file that is not whole.
    """
    config = read_model_config(model_dir)
    headers = [safetensors_header(file) for file in sorted(model_dir.glob("*.safetensors"))]
    quant = config.get("quantization_config")
    if isinstance(quant, dict) and isinstance(quant.get("quant_method"), str):
        return str(quant["quant_method"]).lower()
    if not headers:
        raise ValueError(f"{model_dir} has no .safetensors weights")
    dtypes: set[str] = set()
    for header in headers:
        for name, entry in header.items():
            for suffix, fmt in _QUANT_SUFFIXES.items():
                if name.endswith(suffix):
                    return fmt
            if isinstance(entry, dict) and entry.get("dtype") in _DTYPES:
                dtypes.add(_DTYPES[str(entry["dtype"])])
    for fmt in ("bf16", "fp16", "fp32"):
        if fmt in dtypes:
            return fmt
    raise ValueError(f"{model_dir} has safetensors weights of no known dtype")
