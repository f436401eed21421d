"""A fake of exllamav2 0.3.2's public API, for tests on machines without CUDA.

It follows the library's source (config.py, cache.py, tokenizer/, generator/dynamic.py,
conversion/convert_exl2.py of the 0.3.2 wheel): what each call reads, asserts, prints to
stdout and returns. Only the model itself is fake: the generator replays a scripted completion
through the model's real tokenizer. The real library on a GPU is exercised by
scripts/gpu_check.sh (exl2 greedy tokens vs transformers, caches, batching, quantization).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import torch

from exllamav2 import attn  # the real package imports model -> attn, so a broken flash-attn breaks the import

__version__ = "0.3.2"
print("Loading exllamav2_ext extension (JIT)...")  # the real import prints this to stdout

LOADED: list[Any] = []  # models loaded, for assertions
VRAM_TOKENS: int | None = None  # set to make load_autosplit fail like a full GPU
# Architectures whose attention arch_compat_overrides() turns flash-attn off for (the real one does it
# for eager-attention-only models, and for softcap or sliding windows that the flash-attn build lacks).
NO_FLASH_ATTN_ARCHS: set[str] = set()


class ExLlamaV2Config:
    """config.py: only `rope_theta` sets the RoPE base (default 10000); `rope_parameters` is not read."""

    def __init__(self, model_dir: str | None = None) -> None:
        self.model_dir = model_dir
        self.max_input_len = 2048
        self.max_batch_size = 1
        self.no_flash_attn = "EXLLAMA_NO_FLASH_ATTN" in os.environ
        self.no_xformers = "EXLLAMA_NO_XFORMERS" in os.environ
        self.no_sdpa = "EXLLAMA_NO_SDPA" in os.environ
        self.scale_pos_emb = 1.0
        self.alt_rope_method: str | None = None
        if model_dir:
            self.prepare()

    def prepare(self) -> None:
        assert self.model_dir is not None, "No model_dir specified in ExLlamaV2Config"
        path = Path(self.model_dir) / "config.json"
        assert path.exists(), "Can't find " + str(path)
        raw = json.loads(path.read_text(encoding="utf8"))
        assert len(raw["architectures"]) == 1, "Multiple architectures defined in config.json"
        self.architecture = raw["architectures"][0]
        self.vocab_size = raw.get("vocab_size")
        self.hidden_size = raw["hidden_size"]
        self.num_hidden_layers = raw["num_hidden_layers"]
        self.num_attention_heads = raw.get("num_attention_heads", 0)
        self.head_dim = raw.get("head_dim", self.hidden_size // self.num_attention_heads)
        self.num_key_value_heads = raw.get("num_key_value_heads", self.num_attention_heads)
        self.rotary_embedding_base = float(raw.get("rope_theta", 10000))
        self.max_seq_len = next((raw[k] for k in ("max_sequence_length", "model_max_length", "max_position_embeddings",
                                                  "max_seq_len", "n_positions") if k in raw), 2048)  # fmt: skip
        scaling = raw.get("rope_scaling") or {}
        kind = scaling.get("type") or scaling.get("rope_type")
        if kind == "linear":
            self.scale_pos_emb = scaling.get("factor", 1.0)
        elif kind in ("yarn", "llama3", "su", "longrope"):
            self.alt_rope_method = "su" if kind == "longrope" else kind
        eos = raw.get("eos_token_id")
        self.eos_token_id = eos[0] if isinstance(eos, list) else eos  # the library keeps the first (#803)

    def arch_compat_overrides(self, quiet: bool = False, warn_only: bool = False) -> None:
        if self.architecture in NO_FLASH_ATTN_ARCHS and not warn_only:
            warnings = [" !! Warning: Architecture currently supports only eager attention",
                        " !! Warning: flash-attn, xformers and SDPA are disabled"]  # fmt: skip
            self.no_flash_attn = self.no_xformers = self.no_sdpa = True
            if not quiet:
                for line in warnings:
                    print(line)  # to stdout, as the library prints them


class ExLlamaV2:
    def __init__(self, config: ExLlamaV2Config, lazy_load: bool = False) -> None:
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
    """cache.py: shapes as the real one computes them. The Q caches keep one scale per 32 elements,
    `shape_s = (..., head_dim // 32)`, which is empty when head_dim < 32."""

    weights_per_element = (1, 1)
    has_scales = False

    def __init__(self, model: ExLlamaV2, batch_size: int = 1, max_seq_len: int = -1, copy_from: Any = None,
                 lazy: bool = False, num_key_value_heads: Any = None, fixed_device: Any = None) -> None:  # fmt: skip
        config = model.config
        self.model, self.batch_size, self.lazy = model, batch_size, lazy
        self.max_seq_len = config.max_seq_len if max_seq_len == -1 else max_seq_len
        self.num_key_value_heads = num_key_value_heads or config.num_key_value_heads
        self.head_dim = config.head_dim
        per_k, per_v = self.weights_per_element
        shape = (batch_size, self.max_seq_len, self.num_key_value_heads)
        self.shape_wk, self.shape_wv = (*shape, self.head_dim // per_k), (*shape, self.head_dim // per_v)
        self.shape_s = (*shape, self.head_dim // 32)
        if self.has_scales:  # quant blocks of 512 elements must hold whole tokens
            kv_dim, self.q_block = self.num_key_value_heads * self.head_dim, 1
            while (kv_dim * self.q_block) % 512:
                self.q_block += 1
            self.max_seq_len = -(-self.max_seq_len // self.q_block) * self.q_block


class ExLlamaV2Cache(ExLlamaV2CacheBase):
    pass


class ExLlamaV2Cache_8bit(ExLlamaV2CacheBase):
    pass


class ExLlamaV2Cache_Q4(ExLlamaV2CacheBase):
    weights_per_element, has_scales = (2, 2), True


class ExLlamaV2Cache_Q6(ExLlamaV2CacheBase):
    weights_per_element, has_scales = (1, 2), True


class ExLlamaV2Cache_Q8(ExLlamaV2CacheBase):
    weights_per_element, has_scales = (1, 1), True


class ExLlamaV2Tokenizer:
    """tokenizer/: backed by the model's tokenizer.json through `tokenizers`, as the real one is."""

    def __init__(self, config: ExLlamaV2Config, lazy_init: bool = True, force_json: bool = False,
                 force_spm: bool = False) -> None:  # fmt: skip
        from tokenizers import Tokenizer

        self._tok = Tokenizer.from_file(str(Path(config.model_dir or ".") / "tokenizer.json"))
        self.eos_token_id = config.eos_token_id
        self._special = {t.content: i for i, t in self._tok.get_added_tokens_decoder().items() if t.special}
        self._pieces: dict[bool, list[str]] = {}

    def encode(self, text: str, add_bos: bool = False, add_eos: bool = False, encode_special_tokens: bool = False,
               return_offsets: bool = False) -> torch.Tensor:  # fmt: skip
        if not encode_special_tokens:  # the real one spells special tokens out as text then
            raise AssertionError("tests expect encode_special_tokens=True for ChatML prompts")
        return torch.tensor([self._tok.encode(text, add_special_tokens=False).ids], dtype=torch.long)

    def decode(self, ids: torch.Tensor, decode_special_tokens: bool = False) -> str | list[str]:
        """A 1-D tensor gives a string, a 2-D tensor a list of strings (one per row)."""
        if ids.dim() == 2:
            return [str(self.decode(row, decode_special_tokens)) for row in ids]
        return str(self._tok.decode(ids.tolist(), skip_special_tokens=not decode_special_tokens))

    def single_id(self, token: str) -> int | None:
        return self._tok.token_to_id(token)  # like the real one: None when the piece is not in the vocabulary

    def get_vocab_size(self) -> int:
        return int(self._tok.get_vocab_size())

    def get_id_to_piece_list(self, include_special_tokens: bool = False) -> list[str]:
        """Each id decoded alone (a piece of a multi-byte character decodes to U+FFFD); special
        tokens are empty unless `include_special_tokens`, as in tokenizer.py."""
        if include_special_tokens not in self._pieces:
            pieces = [str(self._tok.decode([i])) for i in range(self.get_vocab_size())]
            if include_special_tokens:
                for content, index in self._special.items():
                    pieces[index] = content
            self._pieces[include_special_tokens] = pieces
        return self._pieces[include_special_tokens]


sys.modules.setdefault("exllamav2.version", sys.modules[__name__])
__all__ = ["attn"]
