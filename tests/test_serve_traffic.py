"""`vibe serve` under real traffic: requests measured against the context before the engine sees
them, `n` choices, and short requests running beside long ones (the demo model, 1,024 positions)."""

from __future__ import annotations

import http.client
import json
import resource
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from test_serve import QUESTION, Client, Recording, serving

from vibecli.engine.types import GenerationRequest, Message, Sampling
from vibecli.serve.protocol import Limits, parse_chat

# A long digit-by-digit sum: the demo model writes until its context is full.
LONG = [{"role": "user", "content": "What is " + "12345" * 30 + " + " + "98765" * 30 + "?"}]


@pytest.fixture(scope="module")
def demo_port(demo_backend: Any) -> Iterator[int]:
    with serving(demo_backend) as port:
        yield port


def _prompt_tokens(backend: Any, messages: list[dict[str, str]]) -> int:
    return int(backend.count_tokens(backend.chat_prompt([Message(m["role"], m["content"]) for m in messages])))


def test_a_prompt_over_the_context_is_refused_before_the_engine_and_the_next_one_is_served(
    demo_backend: Any,
) -> None:
    recording = Recording(demo_backend)
    with serving(recording) as port:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        huge = [{"role": "user", "content": "7 + " * (1 << 19)}]  # 2 MiB, under the 4 MiB body cap
        status, body = Client(port).call("POST", "/v1/chat/completions", {"messages": huge})
        grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
        assert status == 400, body
        error = body["error"]
        assert (error["code"], error["type"], error["param"]) == ("context_length_exceeded", "invalid_request_error",
                                                                   "messages")  # fmt: skip
        assert error["message"].startswith("This model's maximum context length is 1024 tokens. However, ")
        assert recording.longest_counted <= 4 * 4096, "only a prefix was tokenized"
        assert not recording.events, "nothing reached the engine"
        assert grown_mb < 200, f"memory grew by {grown_mb:.0f} MB"
        status, body = Client(port).call("POST", "/v1/chat/completions",
                                         {"messages": QUESTION, "temperature": 0, "max_tokens": 100})  # fmt: skip
        assert status == 200 and "85" in body["choices"][0]["message"]["content"]


def test_max_tokens_must_fit_beside_the_prompt(demo_port: int, demo_backend: Any) -> None:
    prompt = _prompt_tokens(demo_backend, QUESTION)
    status, body = Client(demo_port).call("POST", "/v1/chat/completions", {"messages": QUESTION, "max_tokens": 1000})
    assert status == 400 and body["error"]["code"] == "context_length_exceeded"
    assert body["error"]["message"] == (
        f"This model's maximum context length is 1024 tokens. However, you requested {prompt + 1000} tokens "
        f"({prompt} in the messages, 1000 in the completion). Please reduce the length of the messages or completion."
    )
    status, body = Client(demo_port).call("POST", "/v1/completions", {"prompt": "x" * 1030, "max_tokens": 5})
    assert status == 400 and body["error"]["param"] == "prompt" and "in the prompt" in body["error"]["message"]
    fits = 1024 - prompt
    status, body = Client(demo_port).call("POST", "/v1/chat/completions",
                                          {"messages": QUESTION, "max_tokens": fits, "temperature": 0})  # fmt: skip
    assert status == 200, body


def test_models_reports_the_true_context(demo_port: int) -> None:
    _, body = Client(demo_port).call("GET", "/v1/models")
    assert body["data"][0]["max_model_len"] == 1024


@pytest.mark.slow
def test_without_max_tokens_the_model_stops_at_its_context(tiny_backend: Any) -> None:
    """The random tiny model (1,024 positions) never ends an answer on its own: only the context stops it."""
    with serving(tiny_backend) as port:
        status, body = Client(port).call("POST", "/v1/chat/completions", {"messages": LONG, "temperature": 0})
    assert status == 200, body
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["total_tokens"] == 1024


def test_n_choices_use_consecutive_seeds_and_usage_counts_them_all(demo_port: int) -> None:
    client = Client(demo_port)
    ask = {"messages": QUESTION, "temperature": 1.0, "max_tokens": 120}
    status, both = client.call("POST", "/v1/chat/completions", {**ask, "n": 2, "seed": 5})
    assert status == 200, both
    assert [c["index"] for c in both["choices"]] == [0, 1]
    singles = [client.call("POST", "/v1/chat/completions", {**ask, "seed": seed})[1] for seed in (5, 6)]
    assert [c["message"] for c in both["choices"]] == [s["choices"][0]["message"] for s in singles]
    assert both["usage"]["prompt_tokens"] == singles[0]["usage"]["prompt_tokens"]
    assert both["usage"]["completion_tokens"] == sum(s["usage"]["completion_tokens"] for s in singles)


def test_n_choices_stream_side_by_side(demo_port: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", demo_port, timeout=60)
    body = {"prompt": "<|im_start|>user\nWhat is 48 + 37?<|im_end|>\n<|im_start|>assistant\n", "n": 3,
            "temperature": 0, "max_tokens": 80, "stream": True, "stream_options": {"include_usage": True}}  # fmt: skip
    conn.request("POST", "/v1/completions", body=json.dumps(body), headers={"content-type": "application/json"})
    lines = [line[6:] for line in conn.getresponse().read().decode().splitlines() if line.startswith("data: ")]
    assert lines[-1] == "[DONE]"
    events = [json.loads(line) for line in lines[:-1]]
    texts = {i: "".join(e["choices"][0]["text"] for e in events if e["choices"] and e["choices"][0]["index"] == i)
             for i in range(3)}  # fmt: skip
    finishes = [e["choices"][0]["finish_reason"] for e in events if e["choices"] and e["choices"][0]["finish_reason"]]
    assert len(set(texts.values())) == 1 and "85" in texts[0] and finishes == ["stop"] * 3
    assert events[-1]["usage"]["completion_tokens"] == 3 * (events[-1]["usage"]["completion_tokens"] // 3) > 0


def test_choices_get_distinct_seeds_even_without_one() -> None:
    call = parse_chat({"messages": QUESTION, "n": 4}, Limits(max_n=4))
    seeds = [r.sampling.seed for r in call.choices()]
    assert len(set(seeds)) == 4 and None not in seeds
    one = parse_chat({"messages": QUESTION}, Limits())
    assert one.choices() == [one.request] and not one.max_tokens_given


def test_a_short_request_beside_a_long_one_finishes_first(demo_backend: Any) -> None:
    recording = Recording(demo_backend)
    with serving(recording, concurrency=4) as port:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        long_body = {"messages": LONG, "temperature": 0, "stream": True}
        conn.request("POST", "/v1/chat/completions", body=json.dumps(long_body))
        response = conn.getresponse()
        response.readline()  # the long one is under way
        long_done = threading.Event()

        def read_long() -> None:
            response.read()
            long_done.set()

        threading.Thread(target=read_long, daemon=True).start()
        status, short = Client(port).call("POST", "/v1/chat/completions",
                                          {"messages": QUESTION, "temperature": 0, "max_tokens": 100})  # fmt: skip
        assert status == 200 and "85" in short["choices"][0]["message"]["content"]
        assert not long_done.is_set(), "the short request finished while the long one still ran"
        long_done.wait(120)
        conn.close()
    ends = [name for kind, name in recording.events if kind == "end"]
    assert ends == [QUESTION[0]["content"], LONG[0]["content"]]


def test_a_request_the_engine_cannot_fit_ends_with_an_error_not_a_forward_pass(tiny_backend: Any) -> None:
    """The engine's own check, for callers that skipped the context check (a safety net)."""
    request = GenerationRequest(messages=(Message("user", "z" * 5000),), sampling=Sampling(temperature=0))
    items = list(tiny_backend.stream(request))
    assert len(items) == 1 and items[0].reason == "error" and "context of 1,024 tokens" in items[0].error
