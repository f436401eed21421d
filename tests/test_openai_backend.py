"""The openai backend against small local servers that stream the way vLLM does."""

from __future__ import annotations

import socket
import threading

import pytest
from fake_openai import FakeServer

from vibecli.config import Server
from vibecli.engine.openai_backend import OpenAIBackend, RemoteOptions, connect, render_chatml
from vibecli.engine.server_pool import RetryPolicy
from vibecli.engine.types import Finished, GenerationRequest, Message, Sampling, TextDelta
from vibecli.errors import EngineError
from vibecli.reasoning.splitter import split_text

FAST = RetryPolicy(base_s=0.01, cap_s=0.05, max_attempts=4)
EXPECTED = "<think>Let me add: 48+37 = 85.</think>The answer is \\boxed{85}."


def _connect(*urls: str, model: str | None = None, concurrency: int | None = None) -> OpenAIBackend:
    servers = tuple(Server(url, concurrency) for url in urls)
    return connect(RemoteOptions(servers=servers, model=model, policy=FAST, timeout_s=10.0))


def _request(request_id: str = "r", **sampling: object) -> GenerationRequest:
    return GenerationRequest(
        messages=(Message("user", "What is 48 + 37?"),),
        sampling=Sampling(**sampling),  # type: ignore[arg-type]
        max_new_tokens=64,
        request_id=request_id,
    )


def _run(backend: OpenAIBackend, request: GenerationRequest) -> tuple[list[TextDelta], Finished]:
    items = list(backend.stream(request))
    assert isinstance(items[-1], Finished)
    return [i for i in items if isinstance(i, TextDelta)], items[-1]


def _dead_url() -> str:
    with socket.socket() as sock:  # a port nothing listens on once this closes
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/v1"


def test_reasoning_field_and_inline_tags_give_the_same_text() -> None:
    with FakeServer(default="reasoning") as split, FakeServer(default="inline") as inline:
        deltas, from_field = _run(_connect(split.url), _request())
        _, from_tags = _run(_connect(inline.url), _request())
    assert from_field.text == from_tags.text == EXPECTED
    assert split_text(from_field.text) == ("Let me add: 48+37 = 85.", "The answer is \\boxed{85}.", True)
    assert "".join(d.text for d in deltas) == EXPECTED
    assert from_field.reason == "stop"
    assert (from_field.stats.prompt_tokens, from_field.stats.generated_tokens) == (12, 9)  # from usage


def test_the_model_is_the_first_served_unless_named() -> None:
    with FakeServer(models=("a", "b")) as server:
        assert _connect(server.url).info.name == "a"
        assert _connect(server.url, model="b").info.name == "b"
        with pytest.raises(EngineError, match=r"does not serve model 'c' .*a, b"):
            _connect(server.url, model="c")


def test_sampling_stop_seed_and_limits_map_to_the_request() -> None:
    with FakeServer() as server:
        backend = _connect(server.url)
        request = GenerationRequest(
            messages=(Message("user", "hi"),),
            sampling=Sampling(temperature=0.6, top_p=0.9, top_k=20, seed=7),
            max_new_tokens=321,
            stop_strings=("###",),
        )
        _run(backend, request)
        _run(backend, _request(temperature=1.0))
    body, plain = server.requests
    assert body["messages"] == [{"role": "user", "content": "hi"}]
    assert (body["temperature"], body["top_p"], body["top_k"], body["seed"]) == (0.6, 0.9, 20, 7)
    assert (body["max_tokens"], body["stop"], body["stream"], body["model"]) == (321, ["###"], True, "vibe-test")
    assert "top_k" not in plain and "seed" not in plain and "stop" not in plain  # off means absent


def test_raw_prompts_go_to_the_completions_route() -> None:
    with FakeServer() as server:
        prompt = render_chatml([Message("user", "hi")]) + "<think>partial"
        _, finished = _run(_connect(server.url), GenerationRequest(prompt=prompt, max_new_tokens=8))
    assert server.paths[-1] == "/v1/completions"
    assert server.requests[0]["prompt"].startswith("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n")
    assert finished.text == "The answer is \\boxed{85}."


def test_a_stream_cut_mid_body_is_retried_before_any_text_is_lost() -> None:
    with FakeServer(["drop"]) as server:
        completions = list(_connect(server.url).run_many([_request("only")]))
    assert [c.finished.reason for c in completions] == ["stop"]
    assert completions[0].finished.text == EXPECTED  # the retry's text, not the broken attempt's
    assert len(server.requests) == 2


def test_a_single_stream_cut_after_text_reports_one_clear_error() -> None:
    with FakeServer(["drop"]) as server:
        deltas, finished = _run(_connect(server.url), _request())
    assert deltas and finished.reason == "error"
    assert finished.error is not None and "stream broke off" in finished.error


def test_rate_limits_and_overload_are_retried_until_the_server_recovers() -> None:
    with FakeServer(["429", "503", "429"]) as server:
        _, finished = _run(_connect(server.url), _request())
    assert finished.reason == "stop" and len(server.requests) == 4


def test_work_moves_off_a_dead_server_and_nothing_is_lost() -> None:
    with FakeServer() as alive:
        backend = _connect(_dead_url(), alive.url, concurrency=2)
        requests = [_request(f"{i}#0") for i in range(6)]
        completions = list(backend.run_many(requests))
    assert sorted(c.request_id for c in completions) == sorted(r.request_id for r in requests)
    assert all(c.finished.text == EXPECTED for c in completions)
    assert len(alive.requests) == 6


def test_a_server_that_stays_down_gives_up_with_the_reason() -> None:
    with FakeServer(default="503") as server:
        completions = list(_connect(server.url).run_many([_request("x")]))
    finished = completions[0].finished
    assert finished.reason == "error" and finished.error is not None
    assert "gave up after 4 attempts" in finished.error and "overloaded" in finished.error


def test_context_too_long_is_this_request_s_error_not_the_run_s() -> None:
    with FakeServer(["context"]) as server:
        _, finished = _run(_connect(server.url), _request())
    assert finished.reason == "error" and finished.error is not None
    assert "maximum context length is 4096" in finished.error


def test_no_reachable_server_is_one_clear_line() -> None:
    with pytest.raises(EngineError, match=r"no server answered: .*cannot connect"):
        _connect(_dead_url())


def test_cancel_closes_the_stream_at_once() -> None:
    with FakeServer(default="slow") as server:
        backend, cancel = _connect(server.url), threading.Event()
        items = []
        for item in backend.stream(_request(), cancel=cancel):
            items.append(item)
            if len(items) == 2:
                cancel.set()
        assert isinstance(items[-1], Finished) and items[-1].reason == "cancelled"
        assert server.closed_early.wait(5)  # the server saw the client hang up (its stream runs 100 s)
