"""Helpers for scripts/gpu_check.py: the models it builds, its measurements, and --fake mode.

--fake runs every step on CPU against tests/fake_exllamav2: torch is told a GPU is present, the
transformers engine runs on the CPU, and the VibeThinker-shaped models shrink (same head size,
so the Q caches still apply). The numbers mean nothing then; the plumbing is what is tested.
"""

from __future__ import annotations

import gc
import json
import os
import struct
import sys
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
FAKE_LIBRARY = ROOT / "tests" / "fake_exllamav2"
QWEN_REGULAR_TOKENS = 151643  # Qwen2's byte-level BPE pieces; <|endoftext|>, <|im_start|>, <|im_end|> follow
# WeiboAI/VibeThinker-1.5B (Qwen2.5-Math-1.5B's shapes): head_dim 128, GQA 12/2, tied embeddings.
VIBETHINKER_15B = {"hidden_size": 1536, "intermediate_size": 8960, "num_hidden_layers": 28,
                   "num_attention_heads": 12, "num_key_value_heads": 2, "vocab_size": 151936}  # fmt: skip
# The same head size and grouping, small enough for two CPU cores.
FAKE_SHAPES = {"hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": 2,
               "num_attention_heads": 2, "num_key_value_heads": 1, "vocab_size": 1024}  # fmt: skip


class Mode:
    """Real (a CUDA GPU) or fake (CPU, tests/fake_exllamav2)."""

    def __init__(self, fake: bool) -> None:
        self.fake = fake
        self.torch_device = "cpu" if fake else "cuda"
        self.transformers_dtype = "auto" if fake else "fp16"  # fp32 on CPU
        self.vibethinker = dict(FAKE_SHAPES if fake else VIBETHINKER_15B)
        self.regular_tokens = FAKE_SHAPES["vocab_size"] - 32 if fake else QWEN_REGULAR_TOKENS

    def install(self) -> None:
        """In fake mode: the fake library importable, and torch answering as one H200 would."""
        if not self.fake:
            return
        sys.path.insert(0, str(FAKE_LIBRARY))
        paths = [str(FAKE_LIBRARY), str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
        os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))  # for the children: build, converter
        import torch

        props = SimpleNamespace(name="fake H200 (CPU)", total_memory=141 * 2**30, major=9, minor=0,
                                multi_processor_count=132)  # fmt: skip
        cuda = torch.cuda
        for name, value in {"is_available": lambda: True, "device_count": lambda: 1,
                            "get_device_capability": lambda *a: (9, 0), "get_device_name": lambda *a: props.name,
                            "get_device_properties": lambda *a: props, "max_memory_allocated": lambda *a: 0,
                            "reset_peak_memory_stats": lambda *a: None, "synchronize": lambda *a: None,
                            "empty_cache": lambda: None}.items():  # fmt: skip
            setattr(cuda, name, value)

    def script(self, *responses: str) -> None:
        """In fake mode, what the fake model writes for the next jobs (the real model writes its own)."""
        if self.fake:
            import exllamav2.generator

            exllamav2.generator.RESPONSE[:] = list(responses)
            exllamav2.generator.FORWARDS.clear()

    def paged_attention(self) -> bool:
        """Whether ExLlamaV2 found flash-attn >= 2.5.7 (fake mode: as if it had)."""
        import exllamav2.attn

        if self.fake:
            exllamav2.attn.has_flash_attn_with_paged = True
        return bool(exllamav2.attn.has_flash_attn_with_paged)

    def unpaged(self) -> None:
        if self.fake:
            import exllamav2.attn

            exllamav2.attn.has_flash_attn_with_paged = False


def free() -> None:
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


_TOKENIZERS: dict[tuple[int, int], Path] = {}  # made once per run, copied after that


def sized_tokenizer(target: Path, vocab_size: int, regular: int) -> None:
    """A byte-level BPE tokenizer with exactly `vocab_size` ids: `regular` BPE pieces (all byte
    pairs, then byte triples), then Qwen's ChatML tokens, then reserved ones. The model and its
    tokenizer agree, so every id the model can pick decodes."""
    from itertools import product

    made = _TOKENIZERS.get((vocab_size, regular))
    if made is not None:
        for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
            if (made / name).is_file():
                (target / name).write_bytes((made / name).read_bytes())
        return

    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    from vibecli.demo.build import CHAT_TEMPLATE

    base = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {ch: i for i, ch in enumerate(base)}
    merges: list[tuple[str, str]] = []
    pairs = ((a, b) for a, b in product(base, base))
    triples = ((a + b, c) for a, b, c in product(base, base, base))
    for left, right in (*pairs, *triples) if regular > 256 + 256 * 256 else pairs:
        if len(vocab) >= regular:
            break
        vocab[left + right] = len(vocab)
        merges.append((left, right))
    core = Tokenizer(models.BPE(vocab, merges))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    specials += [f"<|reserved_{i}|>" for i in range(vocab_size - len(vocab) - len(specials))]
    core.add_special_tokens([AddedToken(t, special=True) for t in specials])
    fast = PreTrainedTokenizerFast(tokenizer_object=core, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(target)
    assert len(fast) == vocab_size, (len(fast), vocab_size)
    _TOKENIZERS[(vocab_size, regular)] = target


def random_qwen2(target: Path, mode: Mode, *, theta: float, max_positions: int = 4096, **shape: int) -> Path:
    """A random-weight Qwen2 in fp16 with VibeThinker's architecture at `shape`, saved as
    transformers 5 saves it (RoPE only in `rope_parameters`), with a tokenizer of its vocabulary."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    vocab = shape["vocab_size"]
    endoftext, im_end = mode.regular_tokens, mode.regular_tokens + 2
    config = Qwen2Config(max_position_embeddings=max_positions, rope_theta=theta, tie_word_embeddings=True,
                         bos_token_id=endoftext, eos_token_id=im_end, pad_token_id=endoftext, **shape)  # fmt: skip
    torch.manual_seed(0)
    with torch.device(mode.torch_device):
        model = Qwen2ForCausalLM(config).half()
    model.save_pretrained(target)
    del model
    free()
    sized_tokenizer(target, vocab, mode.regular_tokens)
    return target


def fp16_copy(source: Path, target: Path, *, theta: float | None = None) -> Path:
    """`source` saved again in fp16 (optionally with another RoPE base), by transformers 5."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    config = AutoConfig.from_pretrained(source)
    if theta is not None:
        config.rope_parameters = {**(config.rope_parameters or {}), "rope_theta": theta}
    model = AutoModelForCausalLM.from_pretrained(source, config=config, dtype=torch.float16)
    model.save_pretrained(target)
    AutoTokenizer.from_pretrained(source).save_pretrained(target)
    for extra in ("chat_template.jinja", "generation_config.json"):
        if (source / extra).is_file() and not (target / extra).is_file():
            (target / extra).write_bytes((source / extra).read_bytes())
    return target


def safetensors_bytes(model_dir: Path) -> dict[str, int]:
    """Bytes of each tensor in the directory's safetensors files, from their headers."""
    sizes: dict[str, int] = {}
    for file in sorted(model_dir.glob("*.safetensors")):
        with file.open("rb") as handle:
            header = json.loads(handle.read(struct.unpack("<Q", handle.read(8))[0]))
        for name, entry in header.items():
            if name != "__metadata__":
                sizes[name] = entry["data_offsets"][1] - entry["data_offsets"][0]
    return sizes


def weight_bytes_per_token(model_dir: Path) -> int:
    """Weight bytes one decode step reads: everything but the embedding table, which is looked up
    one row at a time, unless the head is tied to it (then the head reads all of it)."""
    sizes = safetensors_bytes(model_dir)
    tied = not any(name.startswith("lm_head.") for name in sizes)
    return sum(size for name, size in sizes.items() if tied or not name.startswith("model.embed_tokens."))


def kv_bytes_per_position(shape: dict[str, int], bytes_per_element: float = 2.0) -> float:
    head_dim = shape["hidden_size"] // shape["num_attention_heads"]
    return 2 * shape["num_hidden_layers"] * shape["num_key_value_heads"] * head_dim * bytes_per_element


def copy_bandwidth(mode: Mode, size_bytes: int = 1 << 30, rounds: int = 20) -> float:
    """Device copy bandwidth in bytes/s (read plus write), as torch measures it."""
    import torch

    size = size_bytes // 8 if mode.fake else size_bytes
    source = torch.empty(size, dtype=torch.uint8, device=mode.torch_device)
    target = torch.empty_like(source)
    target.copy_(source)
    torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(rounds):
        target.copy_(source)
    torch.cuda.synchronize()
    elapsed = time.perf_counter() - started
    del source, target
    free()
    return 2 * size * rounds / elapsed


def first_divergence(a: list[int], b: list[int]) -> int:
    """How many leading tokens `a` and `b` share."""
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n
