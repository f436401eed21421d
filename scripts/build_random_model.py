"""Build a random-weight Qwen2 for CPU speed runs: VibeThinker's architecture (GQA, tied
embeddings, the demo tokenizer) with layer shapes you choose.

    python scripts/build_random_model.py OUT [--shape realistic|demo] [--hidden N] [--layers N] ...

`realistic` is VibeThinker-1.5B's layer shapes at reduced width (hidden 896, 24 layers, 14
query and 2 key/value heads, MLP 4864: about 358M parameters with the demo tokenizer's small
vocabulary). Its output is garbage, but each token costs what a real model's of that size does,
so the benches in bench/ can compare engines on it. Nothing is downloaded.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

SHAPES = {
    "realistic": {"hidden": 896, "layers": 24, "heads": 14, "kv_heads": 2, "intermediate": 4864},
    "demo": {"hidden": 96, "layers": 3, "heads": 4, "kv_heads": 2, "intermediate": 288},
}


def build(out: Path, *, hidden: int, layers: int, heads: int, kv_heads: int, intermediate: int, context: int) -> Path:
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from vibecli.demo.build import build_tokenizer

    torch.manual_seed(0)
    tokenizer = build_tokenizer()
    config = Qwen2Config(  # type: ignore[call-arg]  # rope settings are kwargs
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=intermediate,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        max_position_embeddings=context,
        rope_theta=1_000_000.0,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.convert_tokens_to_ids("<|endoftext|>"),
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = Qwen2ForCausalLM(config)
    _write_whole_characters(model, tokenizer)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def _write_whole_characters(model: Any, tokenizer: Any) -> None:
    """Random weights would write random bytes, mostly broken UTF-8, which a correct streaming
    detokenizer holds back until a character completes: time to first token would then time the
    garbage, not the server. Zeroing the (tied) embedding rows of tokens that are not whole
    printable characters gives them logit 0 where others have random positive ones, so greedy
    decoding writes text from the first token. No prompt uses those tokens; costs are unchanged."""
    import torch

    broken = [i for i in range(len(tokenizer)) if not _printable(tokenizer.decode([i]))]
    with torch.no_grad():
        model.get_input_embeddings().weight[broken] = 0.0


def _printable(text: str) -> bool:
    return text == "\n" or (text.isascii() and text.isprintable())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--shape", choices=sorted(SHAPES), default="realistic")
    for name in ("hidden", "layers", "heads", "kv_heads", "intermediate"):
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, help="overrides the shape's value")
    parser.add_argument("--context", type=int, default=4096)
    args = parser.parse_args()
    shape = {key: getattr(args, key) or value for key, value in SHAPES[args.shape].items()}
    build(args.out, context=args.context, **shape)
    params = shape["layers"] * (3 * shape["hidden"] * shape["intermediate"])
    print(f"wrote {args.out} ({args.shape}: {shape}, about {params / 1e6:.0f}M MLP parameters)")


if __name__ == "__main__":
    main()
