"""The transformers backend on a random tiny Qwen2 built in the test (no download)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from vibecli.engine.types import Finished, GenerationRequest, Message, Sampling, TextDelta

GREEDY = Sampling(temperature=0)


def request(text: str, *, max_new_tokens: int = 24, sampling: Sampling = GREEDY, **kw: Any) -> GenerationRequest:
    return GenerationRequest(
        messages=(Message("user", text),), sampling=sampling, max_new_tokens=max_new_tokens, request_id=text, **kw
    )


def run(
    backend: Any, req: GenerationRequest, cancel: threading.Event | None = None
) -> tuple[list[TextDelta], Finished]:
    items = list(backend.stream(req, cancel=cancel))
    assert isinstance(items[-1], Finished)
    assert all(isinstance(i, TextDelta) for i in items[:-1])
    return items[:-1], items[-1]  # type: ignore[return-value]


def reference_generate(backend: Any, req: GenerationRequest) -> list[int]:
    """transformers' own greedy generate on the same model and prompt."""
    tokenizer, model = backend._tokenizer, backend._model
    enc = tokenizer(backend.chat_prompt(req.messages), return_tensors="pt", add_special_tokens=False)
    out = model.generate(**enc, max_new_tokens=req.max_new_tokens, do_sample=False, eos_token_id=[], pad_token_id=0)
    return [int(t) for t in out[0, enc["input_ids"].shape[1] :]]


@pytest.mark.parametrize("problem", ["What is 48 + 37?", "Solve for x: 3x + 7 = 22.", "héllo wörld ünïcode"])
def test_greedy_tokens_equal_transformers_generate(tiny_backend: Any, problem: str) -> None:
    req = request(problem, max_new_tokens=40)
    deltas, finished = run(tiny_backend, req)
    expected_ids = reference_generate(tiny_backend, req)
    expected_text = tiny_backend._tokenizer.decode(expected_ids, skip_special_tokens=False)
    stops = tiny_backend.stop_ids
    cut = next((i for i, t in enumerate(expected_ids) if t in stops), len(expected_ids))
    assert finished.text == tiny_backend._tokenizer.decode(expected_ids[:cut], skip_special_tokens=False)
    assert "".join(d.text for d in deltas) == finished.text
    assert finished.stats.generated_tokens == min(cut + 1, len(expected_ids))
    assert expected_text.startswith(finished.text)


def test_token_counts_rise_and_stats_add_up(tiny_backend: Any) -> None:
    deltas, finished = run(tiny_backend, request("What is 1 + 2?", max_new_tokens=30))
    counts = [d.generated_tokens for d in deltas]
    assert counts == sorted(counts)
    assert finished.reason in ("stop", "length")
    stats = finished.stats
    assert stats.prompt_tokens == tiny_backend.count_tokens(
        tiny_backend.chat_prompt([Message("user", "What is 1 + 2?")])
    )
    assert 0 < stats.ttft_s <= stats.total_s


def test_length_limit(tiny_backend: Any) -> None:
    _, finished = run(tiny_backend, request("count", max_new_tokens=5, stop_token_ids=()))
    assert finished.stats.generated_tokens <= 5
    if finished.reason == "length":
        assert finished.stats.generated_tokens == 5


def test_batched_run_many_equals_one_by_one(tiny_backend: Any) -> None:
    problems = ["What is 1 + 2?", "Compute 123 * 45 please, carefully.", "x", "Solve for x: 2x = 8."]
    singles = {p: run(tiny_backend, request(p))[1].text for p in problems}
    batched = {
        c.request_id: c.finished.text for c in tiny_backend.run_many([request(p) for p in problems], max_batch=3)
    }
    assert batched == singles


def test_stop_string_cuts_the_text(tiny_backend: Any) -> None:
    _, free = run(tiny_backend, request("abc", max_new_tokens=30))
    assert len(free.text) > 3, "the random model should write something"
    stop = free.text[2:4]
    deltas, finished = run(tiny_backend, request("abc", max_new_tokens=30, stop_strings=(stop,)))
    assert finished.reason == "stop"
    assert finished.text == free.text[: free.text.index(stop)]
    assert "".join(d.text for d in deltas) == finished.text


def test_cancel_stops_generation(tiny_backend: Any) -> None:
    cancel = threading.Event()
    seen: list[Any] = []
    for item in tiny_backend.stream(request("go", max_new_tokens=200), cancel=cancel):
        seen.append(item)
        if len(seen) == 3:
            cancel.set()
    assert isinstance(seen[-1], Finished) and seen[-1].reason == "cancelled"
    assert seen[-1].stats.generated_tokens <= 5


def test_seeded_sampling_is_reproducible_and_seeds_differ(tiny_backend: Any) -> None:
    def sample(seed: int) -> str:
        return run(tiny_backend, request("q", max_new_tokens=20, sampling=Sampling(1.0, 0.95, 0, seed)))[1].text

    assert sample(1) == sample(1)
    assert len({sample(s) for s in range(4)}) > 1


def test_multibyte_characters_are_never_split(tiny_model_dir: Path) -> None:
    """Byte-level tokens split 'é' and '€' into several tokens; no delta may hold half of one."""
    from transformers import AutoTokenizer

    from vibecli.engine.detokenize import IncrementalDetokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    text = "Café costs 5€ — naïve 🙂 <think>x²</think>"
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert all(len(tokenizer(ch, add_special_tokens=False)["input_ids"]) > 1 for ch in "é€🙂²")
    detok = IncrementalDetokenizer(lambda t: tokenizer.decode(t, skip_special_tokens=False))
    deltas = [detok.push(i) for i in ids] + [detok.flush()]
    assert "".join(deltas) == text
    assert not any("\ufffd" in d for d in deltas)


def test_stop_string_matcher_holds_partial_matches() -> None:
    from vibecli.engine.detokenize import StopStringMatcher

    matcher = StopStringMatcher(["###"])
    assert matcher.feed("ab#") == "ab"
    assert matcher.feed("#x") == "##x"
    assert matcher.feed("y##") == "y"
    assert matcher.feed("#z") == ""
    assert matcher.stopped


def test_missing_device_is_one_clear_error(tiny_model_dir: Path) -> None:
    import torch

    from vibecli.engine.backend import LoadOptions
    from vibecli.engine.transformers_backend import load
    from vibecli.errors import EngineError

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(EngineError, match="no CUDA GPU"):
        load(LoadOptions(path=tiny_model_dir, name="t", format="fp32", device="cuda"))
