"""One pass that decodes the running rows and prefills newcomers' prompts (`transformers_fused`):
its logits and caches are those of the separate passes it replaces, an error in it ends the rows
it carried and nothing else, and the model's attention setting is back as loaded afterwards."""

from __future__ import annotations

from typing import Any

import pytest
from test_continuous_batching import PROBLEMS, request, run_session

from vibecli.engine import transformers_fused as fused
from vibecli.engine.types import Finished

LONG = "Explain: " + "the quick brown fox jumps over the lazy dog; " * 3


def padded_prefill(backend: Any, prompts: list[list[int]]) -> tuple[Any, Any, list[int]]:
    """The running rows as the batch leaves them: one left-padded cache, its mask, next tokens."""
    import torch

    width = max(len(p) for p in prompts)
    ids = torch.tensor([[0] * (width - len(p)) + p for p in prompts])
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
    cache = backend.new_cache()
    logits = backend.forward(ids, mask, (mask.cumsum(-1) - 1).clamp(min=0), cache)
    return cache, mask, logits.argmax(-1).tolist()


def test_one_pass_gives_the_logits_and_caches_of_the_separate_passes(tiny_backend: Any) -> None:
    import torch

    backend = tiny_backend
    running = [backend.encode_within_context(request(p)) for p in PROBLEMS[:2]]  # unequal: padded
    newcomer = backend.encode_within_context(request(PROBLEMS[3]))
    long = backend.encode_within_context(request(LONG))
    split = len(long) // 3  # its first chunk went in an earlier pass

    def long_first_chunk() -> Any:
        cache = backend.new_cache()
        backend.forward(torch.tensor([long[:split]]), None, torch.arange(split)[None], cache)
        return cache

    # Separately: a decode pass for the running rows, then each prompt (piece) in a pass of its own.
    shared, mask, tokens = padded_prefill(backend, running)
    lengths = [len(p) for p in running]
    mask = torch.cat([mask, torch.ones((2, 1), dtype=torch.long)], dim=1)
    decoded = backend.forward(torch.tensor([[t] for t in tokens]), mask, torch.tensor([[n] for n in lengths]), shared)
    alone_cache, rest_cache = backend.new_cache(), long_first_chunk()
    alone = backend.forward(torch.tensor([newcomer]), None, torch.arange(len(newcomer))[None], alone_cache)
    rest = backend.forward(torch.tensor([long[split:]]), None, torch.arange(split, len(long))[None], rest_cache)
    expected = torch.cat([decoded, alone, rest])

    # Together: the same tokens packed in one pass.
    shared_f, _, _ = padded_prefill(backend, running)
    newcomer_f, rest_f = backend.new_cache(), long_first_chunk()
    segments = [
        fused.running_segment(2, shared_f, mask),
        fused.chunk_segment(newcomer_f, 0, len(newcomer), "cpu"),
        fused.chunk_segment(rest_f, split, len(long), "cpu"),
    ]
    ids = tokens + newcomer + long[split:]
    positions = lengths + list(range(len(newcomer))) + list(range(split, len(long)))
    keep = [0, 1, 1 + len(newcomer), len(ids) - 1]
    got = backend.forward_fused(ids, positions, segments, keep)

    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)
    for together, apart in ((shared_f, shared), (newcomer_f, alone_cache), (rest_f, rest_cache)):
        for layer_f, layer in zip(together.layers, apart.layers, strict=True):
            torch.testing.assert_close(layer_f.keys, layer.keys, rtol=1e-4, atol=1e-4)
            torch.testing.assert_close(layer_f.values, layer.values, rtol=1e-4, atol=1e-4)
    assert backend._model.config._attn_implementation == "sdpa"


def test_an_ordinary_pass_during_the_switch_computes_as_sdpa(tiny_backend: Any) -> None:
    # Another thread may run a plain pass while a fused one holds the model's attention setting.
    import torch

    from vibecli.engine.transformers_fused import _attention

    ids = torch.tensor([tiny_backend.encode_within_context(request(PROBLEMS[1]))])
    positions = torch.arange(ids.shape[1])[None]
    expected = tiny_backend.forward(ids, None, positions, tiny_backend.new_cache())
    tiny_backend.forward_fused([5], [0], [fused.chunk_segment(tiny_backend.new_cache(), 0, 1, "cpu")], [0])
    with _attention(tiny_backend._model.config, fused.FUSED):
        got = tiny_backend.forward(ids, None, positions, tiny_backend.new_cache())
    torch.testing.assert_close(got, expected)


def test_the_attention_setting_is_restored_when_the_pass_fails(tiny_backend: Any) -> None:
    broken = fused.Segment(1, 1, cache=object(), mask=None)  # a cache that cannot take keys
    with pytest.raises(AttributeError):
        tiny_backend.forward_fused([5], [0], [broken], [0])
    assert tiny_backend._model.config._attn_implementation == "sdpa"
    assert fused.can_fuse(tiny_backend._model)


def test_an_error_in_the_pass_ends_the_rows_it_carried_and_the_batch_goes_on(
    tiny_backend: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    forward_fused, calls = tiny_backend.forward_fused, []

    def failing_once(*args: Any) -> Any:
        calls.append(args)
        if len(calls) == 1:
            raise RuntimeError("out of memory\ndetails")
        return forward_fused(*args)

    monkeypatch.setattr(tiny_backend, "forward_fused", failing_once)
    first, joining, later = (request(p, max_new_tokens=12) for p in PROBLEMS[:3])
    got = run_session(tiny_backend.open_batch(4), {0: [first], 3: [joining], 6: [later]})
    assert got[first.request_id].reason == got[joining.request_id].reason == "error"
    assert got[first.request_id].error == "out of memory"
    assert got[later.request_id].reason == "length"
    assert isinstance(got[later.request_id], Finished)


def test_a_stream_of_short_prompts_does_not_starve_a_long_one(
    tiny_backend: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each pass takes whole short prompts first, but the long prompt keeps a quarter of the budget.
    monkeypatch.setattr(tiny_backend, "prefill_chunk", 64)
    long = request(LONG * 2, max_new_tokens=4)
    long_tokens = len(tiny_backend.encode_within_context(long))
    session = tiny_backend.open_batch(200)
    session.add(request(PROBLEMS[0], max_new_tokens=80))
    session.step()  # it runs: what comes next is prefilled beside it
    long_handle = session.add(long)
    for step in range(60):
        if step < 40:  # more short prompts each step than the budget takes
            for k in range(3):
                session.add(request(f"{PROBLEMS[k]} ({step})", max_new_tokens=2))
        if any(handle == long_handle for handle, _ in session.step()):
            break
    assert step <= -(-long_tokens // 16) + 2 < 40, "the long prompt was prefilled while short ones kept coming"
    session.close()
