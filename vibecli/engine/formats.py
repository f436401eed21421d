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
    """The JSON header of a safetensors file: tensor names to dtype, shape and offsets."""
    with path.open("rb") as handle:
        prefix = handle.read(8)
        if len(prefix) != 8:
            raise ValueError(f"{path.name} is too short to be a safetensors file")
        (length,) = struct.unpack("<Q", prefix)
        if length > _MAX_HEADER:
            raise ValueError(f"{path.name} has an implausible header size")
        header = json.loads(handle.read(length))
    if not isinstance(header, dict):
        raise ValueError(f"{path.name} has no valid header")
    return header


def detect_format(model_dir: Path) -> str:
    """Return `exl2`, `exl3`, `gptq`, `awq`, `bf16`, `fp16` or `fp32` for a model directory.

    `quantization_config` in config.json wins; otherwise tensor names and dtypes decide.
    Raises ValueError when the directory holds no readable checkpoint.
    """
    config_path = model_dir / "config.json"
    if not config_path.is_file():
        raise ValueError(f"{model_dir} has no config.json")
    config = json.loads(config_path.read_text())
    quant = config.get("quantization_config") if isinstance(config, dict) else None
    if isinstance(quant, dict) and isinstance(quant.get("quant_method"), str):
        return str(quant["quant_method"]).lower()
    files = sorted(model_dir.glob("*.safetensors"))
    if not files:
        raise ValueError(f"{model_dir} has no .safetensors weights")
    dtypes: set[str] = set()
    for file in files:
        for name, entry in safetensors_header(file).items():
            for suffix, fmt in _QUANT_SUFFIXES.items():
                if name.endswith(suffix):
                    return fmt
            if isinstance(entry, dict) and entry.get("dtype") in _DTYPES:
                dtypes.add(_DTYPES[str(entry["dtype"])])
    for fmt in ("bf16", "fp16", "fp32"):
        if fmt in dtypes:
            return fmt
    raise ValueError(f"{model_dir} has safetensors weights of no known dtype")
