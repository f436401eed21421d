"""The transformers backend's continuous batch on a random tiny Qwen2: rows that join a running
batch, leave it, are cancelled or prefilled in chunks write exactly what they write alone."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from vibecli.engine import transformers_batch
from vibecli.engine.types import Finished, GenerationRequest, Message, Sampling, TextDelta

GREEDY = Sampling(temperature=0)
PROBLEMS = ["What is 1 + 2?", "Compute 123 * 45 please, carefully.", "x", "Solve for x: 2x = 8.", "Name a prime."]


def request(text: str, max_new_tokens: int = 30, sampling: Sampling = GREEDY) -> GenerationRequest:
    return GenerationRequest(messages=(Message("user", text),), sampling=sampling, max_new_tokens=max_new_tokens,
                             stop_token_ids=(), request_id=text)  # fmt: skip


def alone(backend: Any, req: GenerationRequest) -> Finished:
    last = list(backend.stream(req))[-1]
    assert isinstance(last, Finished)
    return last


def run_session(session: Any, joins: dict[int, list[GenerationRequest]]) -> dict[str, Finished]:
    """Step `session`, adding `joins[k]` before step k; returns each request's `Finished` by id."""
    handles: dict[int, str] = {}
    finished: dict[str, Finished] = {}
    step = 0
    while session.active or any(k >= step for k in joins):
        for req in joins.get(step, []):
            handles[session.add(req)] = req.request_id
        for handle, item in session.step():
            if isinstance(item, Finished):
                finished[handles[handle]] = item
        step += 1
    return finished


@pytest.mark.parametrize("fusable", [True, False], ids=["one-pass", "separate-passes"])
def test_requests_joining_a_running_batch_write_what_they_write_alone(
    tiny_backend: Any, monkeypatch: pytest.MonkeyPatch, fusable: bool
) -> None:
    # Separate passes are what a model whose attention is not SDPA gets.
    reqs = [request(p, max_new_tokens=20 + 7 * i) for i, p in enumerate(PROBLEMS)]
    expected = {r.request_id: alone(tiny_backend, r).text for r in reqs}
    monkeypatch.setattr(tiny_backend, "fusable", fusable)
    session = tiny_backend.open_batch(3)
    got = run_session(session, {0: reqs[:1], 4: reqs[1:3], 9: reqs[3:]})
    assert {k: f.text for k, f in got.items()} == expected
    assert all(f.reason == "length" for f in got.values())


def test_long_prompts_are_prefilled_in_chunks_beside_running_rows(
    tiny_backend: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transformers_batch, "MAX_CHUNK", 16)
    long = request("Explain: " + "the quick brown fox jumps over the lazy dog; " * 6, max_new_tokens=12)
    short = request("What is 1 + 2?", max_new_tokens=40)
    expected = {r.request_id: alone(tiny_backend, r).text for r in (long, short)}
    session = tiny_backend.open_batch(2)
    short_handle, long_handle = session.add(short), None
    deltas_while_prefilling = 0
    got: dict[int, Finished] = {}
    for step in range(400):
        if step == 2:
            long_handle = session.add(long)
        items = session.step()
        got.update((h, i) for h, i in items if isinstance(i, Finished))
        if long_handle is not None and not any(h == long_handle for h, _ in items) and long_handle not in got:
            deltas_while_prefilling += sum(h == short_handle and isinstance(i, TextDelta) for h, i in items)
        if not session.active:
            break
    assert got[short_handle].text == expected[short.request_id]
    assert got[long_handle].text == expected[long.request_id]
    assert deltas_while_prefilling >= 5, "the short row kept decoding while the long prompt was prefilled"


def test_a_cancelled_row_leaves_and_the_others_are_unaffected(tiny_backend: Any) -> None:
    reqs = [request(p, max_new_tokens=40) for p in PROBLEMS[:3]]
    expected = {r.request_id: alone(tiny_backend, r).text for r in reqs}
    session = tiny_backend.open_batch(3)
    cancel = threading.Event()
    handles = {session.add(reqs[0]): reqs[0].request_id, session.add(reqs[1], cancel): reqs[1].request_id,
               session.add(reqs[2]): reqs[2].request_id}  # fmt: skip
    finished: dict[str, Finished] = {}
    steps = 0
    while session.active:
        steps += 1
        if steps == 6:
            cancel.set()
        finished.update((handles[h], i) for h, i in session.step() if isinstance(i, Finished))
    cancelled = finished.pop(reqs[1].request_id)
    assert cancelled.reason == "cancelled" and cancelled.stats.generated_tokens < 10
    assert {k: f.text for k, f in finished.items()} == {k: v for k, v in expected.items() if k != reqs[1].request_id}


def test_no_more_rows_run_than_the_capacity_and_every_request_finishes(tiny_backend: Any) -> None:
    session = tiny_backend.open_batch(2)
    handles = [session.add(request(p, max_new_tokens=5 + i)) for i, p in enumerate(PROBLEMS)]
    done: set[int] = set()
    started: set[int] = set()
    while session.active:
        items = session.step()
        started |= {h for h, i in items if isinstance(i, TextDelta)}
        done |= {h for h, i in items if isinstance(i, Finished)}
        assert len(started - done) <= 2
    assert done == set(handles)


def test_seeded_sampling_in_a_batch_matches_sampling_alone(tiny_backend: Any) -> None:
    reqs = [request(p, sampling=Sampling(temperature=1.0, top_p=0.9, seed=7 + i)) for i, p in enumerate(PROBLEMS)]
    expected = {r.request_id: alone(tiny_backend, r).text for r in reqs}
    got = {c.request_id: c.finished.text for c in tiny_backend.run_many(reqs, max_batch=2)}
    assert got == expected


def test_generation_ends_at_the_context(tiny_backend: Any) -> None:
    req = request("Count forever.", max_new_tokens=100_000)
    finished = alone(tiny_backend, req)
    assert finished.reason == "length"
    assert finished.stats.prompt_tokens + finished.stats.generated_tokens == tiny_backend.info.context_length == 1024


def recording_passes(backend: Any, monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Record each forward pass's (rows, tokens per row) on `backend`."""
    passes: list[tuple[int, int]] = []
    forward = backend.forward

    def counted(input_ids: Any, *args: Any) -> Any:
        passes.append((int(input_ids.shape[0]), int(input_ids.shape[1])))
        return forward(input_ids, *args)

    monkeypatch.setattr(backend, "forward", counted)
    return passes


def test_a_lone_prompt_is_prefilled_in_one_pass(tiny_backend: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Chunking protects running rows; with none running, a prompt pays one pass, as in generate.
    long = request("Explain: " + "the quick brown fox jumps over the lazy dog; " * 10, max_new_tokens=5)
    monkeypatch.setattr(tiny_backend, "prefill_chunk", 32)  # as learned on a slow machine
    passes = recording_passes(tiny_backend, monkeypatch)
    alone(tiny_backend, long)
    prompt_tokens = len(tiny_backend.encode_within_context(long))
    assert prompt_tokens > 300
    assert passes[0] == (1, prompt_tokens)
    assert all(tokens == 1 for _, tokens in passes[1:])  # then one token per decode step


def test_prompts_admitted_together_are_prefilled_together_and_write_what_they_write_alone(
    tiny_backend: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    reqs = [request(p, max_new_tokens=8 + 5 * i) for i, p in enumerate(PROBLEMS[:4])]
    expected = {r.request_id: alone(tiny_backend, r).text for r in reqs}
    passes = recording_passes(tiny_backend, monkeypatch)
    got = {c.request_id: c.finished.text for c in tiny_backend.run_many(reqs, max_batch=4)}
    widest = max(len(tiny_backend.encode_within_context(r)) for r in reqs)
    assert passes[0] == (4, widest), "one left-padded pass for the four prompts"
    assert got == expected


def test_a_prompt_longer_than_one_pass_takes_goes_in_the_largest_chunks(
    tiny_backend: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    long = request("Explain: " + "the quick brown fox jumps over the lazy dog; " * 12, max_new_tokens=10)
    expected = alone(tiny_backend, long).text
    monkeypatch.setattr(transformers_batch, "MAX_PASS_TOKENS", 40)
    passes = recording_passes(tiny_backend, monkeypatch)
    assert alone(tiny_backend, long).text == expected
    prompt_tokens = len(tiny_backend.encode_within_context(long))
    chunks = [tokens for _, tokens in passes[: -(-prompt_tokens // 40)]]
    assert sum(chunks) == prompt_tokens and all(tokens == 40 for tokens in chunks[:-1])


def recording_fused_passes(backend: Any, monkeypatch: pytest.MonkeyPatch) -> list[list[tuple[int, int]]]:
    """Record each fused pass's segments, (rows, tokens per row) each, on `backend`."""
    passes: list[list[tuple[int, int]]] = []
    forward_fused = backend.forward_fused

    def counted(ids: Any, positions: Any, segments: Any, keep: Any) -> Any:
        passes.append([(segment.rows, segment.width) for segment in segments])
        return forward_fused(ids, positions, segments, keep)

    monkeypatch.setattr(backend, "forward_fused", counted)
    return passes


def test_prompts_arriving_beside_running_rows_go_in_the_running_rows_decode_pass(
    tiny_backend: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    reqs = [request(p, max_new_tokens=12 + 4 * i) for i, p in enumerate(PROBLEMS[:4])]
    expected = {r.request_id: alone(tiny_backend, r).text for r in reqs}
    monkeypatch.setattr(tiny_backend, "prefill_chunk", 4096)  # as learned: the three fit one pass
    passes = recording_passes(tiny_backend, monkeypatch)
    fused = recording_fused_passes(tiny_backend, monkeypatch)
    got = run_session(tiny_backend.open_batch(4), {0: reqs[:1], 3: reqs[1:]})
    assert {k: f.text for k, f in got.items()} == expected
    lengths = [len(tiny_backend.encode_within_context(r)) for r in reqs[1:]]
    assert fused == [[(1, 1), *((1, n) for n in lengths)]], "one pass: the running row's token and the three prompts"
    assert [tokens for _, tokens in passes[1:]] == [1] * (len(passes) - 1), "besides it, only decode steps"


def test_a_short_prompt_behind_a_long_one_takes_turns_with_its_chunks(
    tiny_backend: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transformers_batch, "MAX_CHUNK", 32)
    monkeypatch.setattr(tiny_backend, "prefill_chunk", 32)
    running = request("What is 1 + 2?", max_new_tokens=60)
    long = request("Explain: " + "the quick brown fox jumps over the lazy dog; " * 8, max_new_tokens=8)
    short = request("Name a prime.", max_new_tokens=8)
    expected = {r.request_id: alone(tiny_backend, r).text for r in (running, long, short)}
    assert len(tiny_backend.encode_within_context(short)) <= 32 < len(tiny_backend.encode_within_context(long)) // 4
    session = tiny_backend.open_batch(3)
    handles = {session.add(running): running.request_id}
    first_step: dict[str, int] = {}
    got: dict[str, str] = {}
    for step in range(400):
        if step == 2:
            handles[session.add(long)] = long.request_id
            handles[session.add(short)] = short.request_id
        for handle, item in session.step():
            first_step.setdefault(handles[handle], step)
            if isinstance(item, Finished):
                got[handles[handle]] = item.text
        if not session.active:
            break
    assert got == expected
    assert first_step[short.request_id] <= 3, "the short prompt went in the first turn, not after the long one's chunks"
    assert first_step[long.request_id] > first_step[short.request_id] + 2
