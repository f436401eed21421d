"""What ExLlamaV2 reads from a model's config.json, and what it misses.

ExLlamaV2 0.3.2 takes the RoPE base from `rope_theta` and the scaling from `rope_scaling`. A
config.json written by transformers 5 carries both inside `rope_parameters` instead, and
ExLlamaV2 then silently uses a base of 10000. These helpers add the legacy keys for files vibe
writes, and say what a loaded config lacks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def with_legacy_rope(config: dict[str, Any]) -> dict[str, Any]:
    """`config` plus `rope_theta` (and `rope_scaling`, for a non-default RoPE type) taken from
    `rope_parameters`, where they are missing."""
    params = config.get("rope_parameters")
    if not isinstance(params, dict):
        return config
    fixed = dict(config)
    if "rope_theta" not in fixed and isinstance(params.get("rope_theta"), int | float):
        fixed["rope_theta"] = params["rope_theta"]
    kind = params.get("rope_type", params.get("type", "default"))
    if kind != "default" and not fixed.get("rope_scaling"):
        fixed["rope_scaling"] = {k: v for k, v in params.items() if k != "rope_theta"}
    return fixed


def add_legacy_rope(config_path: Path) -> bool:
    """Rewrite `config_path` with the legacy RoPE keys where they are missing; True if it changed."""
    config = json.loads(config_path.read_text(encoding="utf-8"))
    fixed = with_legacy_rope(config)
    if fixed == config:
        return False
    config_path.write_text(json.dumps(fixed, indent=2) + "\n", encoding="utf-8")
    return True


def read_config(model_dir: Path) -> dict[str, Any]:
    try:
        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return config if isinstance(config, dict) else {}


def rope_fix(model_dir: Path) -> tuple[float | None, str | None]:
    """The RoPE base ExLlamaV2 must be given because config.json has it only in `rope_parameters`
    (None when ExLlamaV2 reads it itself), or why ExLlamaV2 cannot run the model as it stands."""
    config = read_config(model_dir)
    fixed = with_legacy_rope(config)
    if fixed.get("rope_scaling") and not config.get("rope_scaling"):
        kind = fixed["rope_scaling"].get("rope_type", fixed["rope_scaling"].get("type"))
        return None, (f"{model_dir / 'config.json'} gives its RoPE scaling ({kind}) only in transformers 5's "
                      "rope_parameters, which ExLlamaV2 does not read: copy it to \"rope_scaling\"")  # fmt: skip
    theta = fixed.get("rope_theta")
    if "rope_theta" in config or not isinstance(theta, int | float):
        return None, None  # without rope_theta, ExLlamaV2 takes its architecture's default base
    return float(theta), None


def quantized_cache_problem(cache: str, head_dim: int) -> str | None:
    """The Q4/Q6/Q8 caches keep one scale per 32 elements of a head: head_dim must be a multiple of 32."""
    if cache == "fp16" or head_dim % 32 == 0:
        return None
    return (f"--cache {cache} needs a head size that is a multiple of 32, and this model's is {head_dim}: "
            "use --cache fp16")  # fmt: skip
