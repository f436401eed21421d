"""Building blocks for tiny Qwen2 models: the demo model's tokenizer and model config.

Used by `scripts/train_demo_model.py` and by the tests, which build random models of the
same shape in a temporary directory instead of downloading anything.
"""

from __future__ import annotations

from typing import Any

# Qwen2.5's ChatML template without the default system line, which would only cost the
# tiny model compute on every example.
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


def build_tokenizer() -> Any:
    """A byte-level BPE tokenizer with no merges (every byte a token, like Qwen's base
    alphabet), ChatML special tokens, and `<think>`/`</think>` as ordinary added tokens."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    core = Tokenizer(models.BPE(vocab={ch: i for i, ch in enumerate(alphabet)}, merges=[]))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    core.decoder = decoders.ByteLevel()
    core.add_special_tokens([AddedToken(t, special=True) for t in ("<|endoftext|>", "<|im_start|>", "<|im_end|>")])
    core.add_tokens([AddedToken(t, special=False, normalized=False) for t in ("<think>", "</think>")])
    return PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=core,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        chat_template=CHAT_TEMPLATE,
        model_max_length=1024,
    )


def tiny_qwen2_config(tokenizer: Any, *, hidden: int = 96, layers: int = 3) -> Any:
    """A Qwen2 config of VibeThinker's architecture at toy size (GQA, tied embeddings)."""
    from transformers import Qwen2Config

    return Qwen2Config(  # type: ignore[call-arg]  # Qwen2Config takes rope settings as kwargs
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=hidden * 3,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        rope_theta=10000.0,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.convert_tokens_to_ids("<|endoftext|>"),
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
