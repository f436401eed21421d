"""Checkpoint format detection on directories written here (headers only, no weights needed)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from vibecli.engine.backend import choose_backend
from vibecli.engine.formats import detect_format
from vibecli.errors import EngineError


def write_checkpoint(directory: Path, tensors: dict[str, str], config: dict[str, object] | None = None) -> Path:
    """A config.json and a safetensors file whose header lists `tensors` (name -> dtype)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(config or {"model_type": "qwen2"}))
    header = {
        name: {"dtype": dtype, "shape": [1], "data_offsets": [i, i + 1]}
        for i, (name, dtype) in enumerate(tensors.items())
    }
    blob = json.dumps(header).encode()
    (directory / "model.safetensors").write_bytes(struct.pack("<Q", len(blob)) + blob + b"\0" * len(tensors))
    return directory


@pytest.mark.parametrize(
    ("tensors", "expected"),
    [
        ({"model.layers.0.self_attn.q_proj.q_weight": "I32", "model.layers.0.self_attn.q_proj.q_scale": "I32"}, "exl2"),
        ({"model.layers.0.mlp.up_proj.trellis": "I16", "model.layers.0.mlp.up_proj.suh": "F16"}, "exl3"),
        ({"model.layers.0.mlp.up_proj.qweight": "I32", "model.layers.0.mlp.up_proj.scales": "F16"}, "gptq"),
        ({"model.embed_tokens.weight": "BF16", "lm_head.weight": "BF16"}, "bf16"),
        ({"model.embed_tokens.weight": "F16"}, "fp16"),
        ({"model.embed_tokens.weight": "F32"}, "fp32"),
    ],
)
def test_detect_from_safetensors_headers(tmp_path: Path, tensors: dict[str, str], expected: str) -> None:
    assert detect_format(write_checkpoint(tmp_path / "m", tensors)) == expected


def test_quantization_config_wins(tmp_path: Path) -> None:
    config = {"model_type": "qwen2", "quantization_config": {"quant_method": "EXL2", "bits": 4.0}}
    assert detect_format(write_checkpoint(tmp_path / "m", {"w": "F16"}, config)) == "exl2"


@pytest.mark.parametrize("setup", ["no_config", "no_weights", "garbage"])
def test_unreadable_directories_raise_value_error(tmp_path: Path, setup: str) -> None:
    directory = tmp_path / "m"
    directory.mkdir()
    if setup != "no_config":
        (directory / "config.json").write_text("{}")
    if setup == "garbage":
        (directory / "model.safetensors").write_bytes(b"\xff" * 8 + b"junk")
    with pytest.raises(ValueError):
        detect_format(directory)


def test_backend_choice_explains_what_is_missing() -> None:
    assert choose_backend("auto", "bf16").name == "transformers"
    with pytest.raises(EngineError, match="no backend in this version of vibe can run EXL3"):
        choose_backend("auto", "exl3")
    with pytest.raises(EngineError, match="unknown backend 'vllm'"):
        choose_backend("vllm", "bf16")
    with pytest.raises(EngineError, match="cannot run GPTQ"):
        choose_backend("transformers", "gptq")


def test_exl2_checkpoints_ask_for_the_exl2_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(EngineError, match=r"EXL2 checkpoints need the exl2 backend: pip install 'vibecli\[exl2\]'"):
        choose_backend("auto", "exl2")  # exllamav2 is not installed on this machine
    monkeypatch.syspath_prepend(str(Path(__file__).parent / "fake_exllamav2"))
    assert choose_backend("auto", "exl2").name == "exl2"
    assert choose_backend("auto", "fp16").name == "transformers"  # the portable engine stays first
