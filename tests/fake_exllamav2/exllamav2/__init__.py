"""A fake of exllamav2 0.3.2's public API, for tests on machines without CUDA.

It follows the library's documented protocol (docstrings of `ExLlamaV2DynamicGenerator.iterate`,
`enqueue`, `cancel`, the `Settings` defaults, the cache and generator constructor checks), but
"generates" by replaying a scripted completion through the model's real tokenizer. The real
library on a GPU is exercised by scripts/gpu_check.sh (exl2 greedy tokens vs transformers).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import torch

__version__ = "0.3.2"
print("Loading exllamav2_ext extension (JIT)...")  # the real import prints this to stdout

LOADED: list[Any] = []  # models loaded, for assertions
VRAM_TOKENS: int | None = None  # set to make load_autosplit fail like a full GPU


class ExLlamaV2Config:
    def __init__(self, model_dir: str | None = None) -> None:
        self.model_dir = model_dir
        self.compat = False
        self.max_input_len = 2048
        self.max_batch_size = 1
        raw = json.loads((Path(model_dir) / "config.json").read_text()) if model_dir else {}
        self.max_seq_len = raw.get("max_position_embeddings", 2048)
        eos = raw.get("eos_token_id")
        self.eos_token_id = eos[0] if isinstance(eos, list) else eos  # the library keeps the first (#803)

    def arch_compat_overrides(self) -> None:
        self.compat = True


class ExLlamaV2:
    def __init__(self, config: ExLlamaV2Config) -> None:
        self.config = config
        self.loaded = False

    def load_autosplit(self, cache: Any, reserve_vram: Any = None, last_id_only: bool = False,
                       callback: Any = None, callback_gen: Any = None, progress: bool = False) -> None:  # fmt: skip
        assert cache.lazy, "load_autosplit needs a lazy cache"
        if VRAM_TOKENS is not None and cache.max_seq_len > VRAM_TOKENS:
            raise RuntimeError("Insufficient VRAM for model and cache")
        for layer in range(1, 5):
            if callback is not None:
                callback(layer, 4)
        self.loaded = True
        LOADED.append(self)

    def unload(self) -> None:
        self.loaded = False


class ExLlamaV2CacheBase:
    def __init__(self, model: ExLlamaV2, batch_size: int = 1, max_seq_len: int = -1, copy_from: Any = None,
                 lazy: bool = False, num_key_value_heads: Any = None, fixed_device: Any = None) -> None:  # fmt: skip
        self.model, self.batch_size, self.lazy = model, batch_size, lazy
        self.max_seq_len = model.config.max_seq_len if max_seq_len == -1 else max_seq_len


class ExLlamaV2Cache(ExLlamaV2CacheBase):
    pass


class ExLlamaV2Cache_Q4(ExLlamaV2CacheBase):
    pass


class ExLlamaV2Cache_Q6(ExLlamaV2CacheBase):
    pass


class ExLlamaV2Cache_Q8(ExLlamaV2CacheBase):
    pass


class ExLlamaV2Cache_8bit(ExLlamaV2CacheBase):
    pass


class ExLlamaV2Tokenizer:
    """Backed by the model's tokenizer.json through `tokenizers`, as the real one is (tokenizer/hf.py)."""

    def __init__(self, config: ExLlamaV2Config, lazy_init: bool = True, force_json: bool = False,
                 force_spm: bool = False) -> None:  # fmt: skip
        from tokenizers import Tokenizer

        self._tok = Tokenizer.from_file(str(Path(config.model_dir or ".") / "tokenizer.json"))
        self.eos_token_id = config.eos_token_id

    def encode(self, text: str, add_bos: bool = False, add_eos: bool = False, encode_special_tokens: bool = False,
               return_offsets: bool = False) -> torch.Tensor:  # fmt: skip
        ids = self._tok.encode(text, add_special_tokens=False).ids
        if not encode_special_tokens:  # the real one spells special tokens out as text then
            raise AssertionError("tests expect encode_special_tokens=True for ChatML prompts")
        return torch.tensor([ids], dtype=torch.long)

    def decode(self, ids: torch.Tensor, decode_special_tokens: bool = False) -> str:
        return str(self._tok.decode(ids.flatten().tolist(), skip_special_tokens=not decode_special_tokens))

    def single_id(self, token: str) -> int | None:
        return self._tok.token_to_id(token)  # like the real one: None when the piece is not in the vocabulary


sys.modules.setdefault("exllamav2.version", sys.modules[__name__])
