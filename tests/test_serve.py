"""`vibe serve`'s app on a real loopback socket (uvicorn in a thread), driven over HTTP."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from vibecli.engine.types import (
    Finished,
    GenerationRequest,
    GenerationStats,
    Message,
    Sampling,
    StreamItem,
    TextDelta,
)
from vibecli.reasoning.splitter import split_text
from vibecli.serve.app import ServeSettings, create_app
from vibecli.serve.protocol import Limits
from vibecli.serve.scheduler import Job, QueueFull, Scheduler
from vibecli.serve.verify import Verifier

QUESTION = [{"role": "user", "content": "What is 48 + 37?"}]


class Recording:
    """Wraps a backend: keeps every `Finished` it gave, the order requests started and finished,
    and the longest text it was asked to count."""

    def __init__(self, backend: Any) -> None:
        self.backend, self.info = backend, backend.info
        self.finished: list[Finished] = []
        self.events: list[tuple[str, str]] = []  # ("start" | "end", first message)
        self.longest_counted = 0

    def open_batch(self, max_rows: int) -> Any:
        recording, session = self, self.backend.open_batch(max_rows)
        names: dict[int, str] = {}

        class Session:
            capacity, close = session.capacity, session.close

            @property
            def active(self) -> int:
                return int(session.active)

            def add(self, request: GenerationRequest, cancel: Any = None) -> int:
                handle = int(session.add(request, cancel))
                names[handle] = request.messages[-1].content if request.messages else str(request.prompt)
                recording.events.append(("start", names[handle]))
                return handle

            def step(self) -> list[tuple[int, StreamItem]]:
                items = session.step()
                for handle, item in items:
                    if isinstance(item, Finished):
                        recording.finished.append(item)
                        recording.events.append(("end", names[handle]))
                return list(items)

        return Session()

    def chat_prompt(self, messages: Any) -> str:
        return str(self.backend.chat_prompt(messages))

    def count_tokens(self, text: str) -> int:
        self.longest_counted = max(self.longest_counted, len(text))
        return int(self.backend.count_tokens(text))


class Client:
    def __init__(self, port: int, key: str | None = None) -> None:
        self.port, self.key = port, key

    def call(self, method: str, path: str, body: Any = None, *, raw: bytes | None = None) -> tuple[int, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"content-type": "application/json"}
        if self.key:
            headers["authorization"] = f"Bearer {self.key}"
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        conn.close()
        text = payload.decode()
        return response.status, json.loads(text) if text.startswith(("{", "[")) else text


@contextmanager
def serving(
    backend: Any, *, api_key: str | None = None, concurrency: int = 2, max_queue: int = 8, limits: Limits | None = None
) -> Iterator[int]:
    import asyncio
    import socket

    import uvicorn

    scheduler = Scheduler(backend, concurrency=concurrency, max_queue=max_queue)
    verifier = Verifier()
    settings = ServeSettings(api_key=api_key, limits=limits or Limits(max_tokens=4096, max_n=4))
    app = create_app(backend, scheduler, verifier, settings)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    scheduler.start()
    thread.start()
    while not server.started:
        threading.Event().wait(0.01)
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(10)
        scheduler.close()
        verifier.close()
        sock.close()


@pytest.fixture(scope="module")
def demo_port(demo_backend: Any) -> Iterator[int]:
    with serving(demo_backend) as port:
        yield port


def _events(port: int, body: dict[str, Any]) -> list[Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("POST", "/v1/chat/completions", body=json.dumps(body), headers={"content-type": "application/json"})
    response = conn.getresponse()
    assert response.status == 200 and response.getheader("content-type", "").startswith("text/event-stream")
    lines = [line for line in response.read().decode().splitlines() if line.startswith("data: ")]
    return [line[6:] if line == "data: [DONE]" else json.loads(line[6:]) for line in lines]


def test_chat_completion_splits_the_reasoning_like_the_local_backend(demo_port: int, demo_backend: Any) -> None:
    status, body = Client(demo_port).call("POST", "/v1/chat/completions",
                                          {"messages": QUESTION, "temperature": 0, "max_tokens": 200})  # fmt: skip
    assert status == 200, body
    request = GenerationRequest(
        messages=(Message("user", QUESTION[0]["content"]),), sampling=Sampling(temperature=0), max_new_tokens=200
    )
    local = list(demo_backend.stream(request))
    thinking, answer, _ = split_text(local[-1].text)
    message = body["choices"][0]["message"]
    assert (message["reasoning_content"], message["content"]) == (thinking, answer)
    assert "85" in message["content"] and body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"]["completion_tokens"] == local[-1].stats.generated_tokens


def test_streaming_gives_the_same_text_then_usage_and_done(demo_port: int) -> None:
    events = _events(demo_port, {"messages": QUESTION, "temperature": 0, "max_tokens": 200, "stream": True,
                                 "stream_options": {"include_usage": True}})  # fmt: skip
    _, whole = Client(demo_port).call("POST", "/v1/chat/completions",
                                      {"messages": QUESTION, "temperature": 0, "max_tokens": 200})  # fmt: skip
    deltas = [e["choices"][0]["delta"] for e in events if isinstance(e, dict) and e["choices"]]
    assert deltas[0] == {"role": "assistant", "content": ""}
    reasoning = "".join(d.get("reasoning_content", "") for d in deltas)
    content = "".join(d.get("content", "") for d in deltas)
    assert (reasoning, content) == (whole["choices"][0]["message"]["reasoning_content"],
                                    whole["choices"][0]["message"]["content"])  # fmt: skip
    assert events[-3]["choices"][0]["finish_reason"] == "stop"
    assert events[-2]["usage"]["completion_tokens"] > 0 and events[-1] == "[DONE]"


def test_models_health_and_tokenize(demo_port: int, demo_backend: Any) -> None:
    client = Client(demo_port)
    assert client.call("GET", "/v1/models")[1]["data"][0]["id"] == "demo"
    assert client.call("GET", "/health")[1]["status"] == "ok"
    assert client.call("POST", "/tokenize", {"prompt": "48+37"})[1]["count"] == demo_backend.count_tokens("48+37")


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        ({"messages": QUESTION, "temperature": "hot"}, 400, "temperature"),
        ({"messages": QUESTION, "max_tokens": 0}, 400, "max_tokens"),
        ({"messages": QUESTION, "max_tokens": 10**9}, 400, "max_tokens"),
        ({"messages": QUESTION, "stream": "yes"}, 400, "stream"),
        ({"messages": QUESTION, "n": 5}, 400, "n"),
        ({"messages": QUESTION, "n": 0}, 400, "n"),
        ({"messages": QUESTION, "stop": 5}, 400, "stop"),
        ({"temperature": 0}, 400, "messages"),
        ({"messages": []}, 400, "messages"),
        ({"messages": [{"role": "wizard", "content": "x"}]}, 400, "messages[0].role"),
        ({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}, 400, "messages[0].content"),
        ({"messages": QUESTION, "model": "gpt-9"}, 404, "model"),
        (["not", "an", "object"], 400, None),
    ],
)
def test_bad_requests_get_a_json_4xx(demo_port: int, body: Any, status: int, param: str | None) -> None:
    got, answer = Client(demo_port).call("POST", "/v1/chat/completions", body)
    assert got == status
    assert answer["error"]["param"] == param and answer["error"]["message"]
    code = answer["error"]["code"]
    assert code is None or isinstance(code, str), "OpenAI sends a string code or null"


def test_broken_json_oversized_bodies_and_unknown_routes(demo_port: int) -> None:
    client = Client(demo_port)
    assert client.call("POST", "/v1/chat/completions", raw=b"{not json")[0] == 400
    status, body = client.call("POST", "/v1/chat/completions", raw=b'{"x": "' + b"a" * (5 << 20) + b'"}')
    assert status == 413 and "4 MiB" in body["error"]["message"]
    assert client.call("GET", "/v1/nothing")[0] == 404
    assert client.call("GET", "/v1/chat/completions")[0] == 405
    assert client.call("GET", "/health")[0] == 200  # still serving


def test_api_key_is_required_on_v1_when_set(demo_backend: Any) -> None:
    with serving(demo_backend, api_key="s3cret") as port:
        assert Client(port).call("GET", "/v1/models")[0] == 401
        assert Client(port, key="wrong").call("GET", "/v1/models")[0] == 401
        assert Client(port, key="s3cret").call("GET", "/v1/models")[0] == 200
        assert Client(port).call("GET", "/health")[0] == 200


def test_verify_endpoint_runs_the_verifiers(demo_port: int) -> None:
    client = Client(demo_port)
    status, math = client.call("POST", "/v1/verify", {"gold": "\\frac{1}{2}", "pred": "The answer is \\boxed{0.5}"})
    assert status == 200 and math["verdict"] == "equal" and math["pred"] == "0.5"
    assert client.call("POST", "/v1/verify", {"gold": "2", "pred": "3"})[1]["equal"] is False
    code = "```python\nprint(sum(map(int, input().split())))\n```"
    tests = [{"input": "1 2\n", "output": "3\n"}, {"input": "5 5\n", "output": "11\n"}]
    status, run = client.call("POST", "/v1/verify", {"code": code, "tests": tests})
    assert status == 200 and (run["passed"], run["total"], run["tests"][1]["verdict"]) == (1, 2, "wrong_answer")
    assert client.call("POST", "/v1/verify", {"code": "x", "tests": [{"input": 1}]})[0] == 400
    assert client.call("POST", "/v1/verify", {"gold": 2, "pred": "2"})[0] == 400


def test_a_client_that_disconnects_cancels_its_generation(tiny_backend: Any) -> None:
    recording = Recording(tiny_backend)
    with serving(recording) as port:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        body = {"messages": QUESTION, "stream": True, "temperature": 1.0, "seed": 1}  # max_tokens: what fits
        conn.request("POST", "/v1/chat/completions", body=json.dumps(body))
        response = conn.getresponse()
        response.fp.readline()  # the first event arrived: generation is under way
        conn.sock.close()
        conn.close()
        for _ in range(600):
            if recording.finished:
                break
            threading.Event().wait(0.05)
    assert recording.finished, "the generation never ended"
    finished = recording.finished[0]
    assert finished.reason == "cancelled"
    assert finished.stats.generated_tokens < tiny_backend.info.context_length - finished.stats.prompt_tokens


def test_a_full_queue_answers_503(demo_backend: Any) -> None:
    with serving(demo_backend, max_queue=0) as port:
        status, body = Client(port).call("POST", "/v1/chat/completions", {"messages": QUESTION})
    assert status == 503 and "busy" in body["error"]["message"]


class _Session:
    """A fake `BatchSession`: every request writes its own name, one character a step (of 2 ms),
    `steps` times; a request named in capitals, a hundred times as many."""

    def __init__(self, capacity: int, log: list[str], steps: int) -> None:
        self.capacity, self.log, self.steps = capacity, log, steps
        self.rows: dict[int, tuple[str, threading.Event | None, int]] = {}
        self.most_running = 0

    @property
    def active(self) -> int:
        return len(self.rows)

    def add(self, request: GenerationRequest, cancel: threading.Event | None = None) -> int:
        handle = len(self.log)
        self.log.append(request.messages[0].content)
        self.rows[handle] = (request.messages[0].content, cancel, 0)
        return handle

    def step(self) -> list[tuple[int, StreamItem]]:
        time.sleep(0.002)
        self.most_running = max(self.most_running, len(self.rows))
        out: list[tuple[int, StreamItem]] = []
        for handle, (name, cancel, done) in list(self.rows.items()):
            if cancel is not None and cancel.is_set():
                out.append((handle, Finished("cancelled", name * done, _STATS)))
                del self.rows[handle]
                continue
            out.append((handle, TextDelta(name, done + 1)))
            self.rows[handle] = (name, cancel, done + 1)
            if done + 1 == self.steps * (100 if name.isupper() else 1):
                out.append((handle, Finished("stop", name * (done + 1), _STATS)))
                del self.rows[handle]
        return out

    def close(self) -> None:
        self.rows.clear()


class _Backend:
    def __init__(self, steps: int) -> None:
        self.admitted: list[str] = []
        self.steps = steps
        self.sessions: list[_Session] = []

    def open_batch(self, max_rows: int) -> _Session:
        self.sessions.append(_Session(max_rows, self.admitted, self.steps))
        return self.sessions[-1]


_STATS = GenerationStats(1, 1, 0.0, 0.0)


def _jobs(names: str, got: list[tuple[str, StreamItem]]) -> list[Job]:
    return [
        Job(GenerationRequest(messages=(Message("user", name),)), deliver=lambda item, n=name: got.append((n, item)))
        for name in names
    ]


def _wait_for(condition: Any, seconds: float = 10.0) -> None:
    deadline = threading.Event()
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        deadline.wait(0.01)
    raise AssertionError("timed out waiting")


def test_the_scheduler_admits_in_arrival_order_and_skips_cancelled_jobs() -> None:
    backend = _Backend(steps=3)
    scheduler = Scheduler(backend, concurrency=2, max_queue=10)  # type: ignore[arg-type]
    got: list[tuple[str, StreamItem]] = []
    jobs = _jobs("abcde", got)
    for job in jobs:
        scheduler.submit(job)
    jobs[3].cancel.set()  # its client left while it waited
    scheduler.start()
    _wait_for(lambda: sum(isinstance(item, Finished) for _, item in got) == 5)
    scheduler.close()
    assert backend.admitted == ["a", "b", "c", "e"] and backend.sessions[0].most_running == 2
    finished = {n: i.text for n, i in got if isinstance(i, Finished)}
    assert finished == {"a": "aaa", "b": "bbb", "c": "ccc", "d": "", "e": "eee"}


def test_a_job_submitted_while_others_run_joins_between_steps() -> None:
    backend = _Backend(steps=5)
    scheduler = Scheduler(backend, concurrency=4, max_queue=10)  # type: ignore[arg-type]
    got: list[tuple[str, StreamItem]] = []
    long, short = _jobs("Ls", got)
    scheduler.start()
    scheduler.submit(long)
    _wait_for(lambda: len(got) > 5)  # the long one (500 steps) is under way
    scheduler.submit(short)
    _wait_for(lambda: sum(isinstance(item, Finished) for _, item in got) == 2)
    scheduler.close()
    assert [n for n, i in got if isinstance(i, Finished)] == ["s", "L"], "the short one ran beside the long one"
    assert backend.sessions[0].most_running == 2 and len(backend.sessions) == 1


def test_drain_refuses_new_jobs_and_cancels_what_is_left_at_the_deadline() -> None:
    backend = _Backend(steps=10**6)
    scheduler = Scheduler(backend, concurrency=2, max_queue=10)  # type: ignore[arg-type]
    got: list[tuple[str, StreamItem]] = []
    scheduler.start()
    scheduler.submit(_jobs("a", got)[0])
    _wait_for(lambda: len(got) > 2)
    scheduler.drain(0.2)
    with pytest.raises(QueueFull, match="shutting down"):
        scheduler.submit(_jobs("b", got)[0])
    _wait_for(lambda: any(isinstance(item, Finished) for _, item in got), seconds=5)
    scheduler.close()
    assert [i.reason for _, i in got if isinstance(i, Finished)] == ["cancelled"]


def test_an_engine_failure_ends_the_running_requests_and_the_next_ones_are_served() -> None:
    backend = _Backend(steps=3)
    scheduler = Scheduler(backend, concurrency=2, max_queue=10)  # type: ignore[arg-type]
    got: list[tuple[str, StreamItem]] = []
    broken = _jobs("X", got)[0]  # 300 steps: still running when the engine breaks
    scheduler.start()
    scheduler.submit(broken)
    _wait_for(lambda: len(got) >= 1)
    session = backend.sessions[0]
    session.step = lambda: (_ for _ in ()).throw(RuntimeError("device lost"))  # type: ignore[method-assign]
    _wait_for(lambda: any(isinstance(i, Finished) for _, i in got))
    scheduler.submit(_jobs("y", got)[0])
    _wait_for(lambda: sum(isinstance(i, Finished) for _, i in got) == 2)
    scheduler.close()
    finished = {n: i for n, i in got if isinstance(i, Finished)}
    assert (finished["X"].reason, finished["X"].error) == ("error", "device lost")
    assert (finished["y"].reason, finished["y"].text) == ("stop", "yyy") and len(backend.sessions) == 2


def test_verify_code_without_any_isolation_is_a_clear_server_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from test_sandbox import path_without

    from vibecli.serve.protocol import ApiError
    from vibecli.verify.sandbox import isolation

    monkeypatch.setenv("PATH", path_without(tmp_path, ("bwrap", "unshare")))
    isolation.cache_clear()
    try:
        with pytest.raises(ApiError, match="install bubblewrap") as raised:
            Verifier().code("print(1)", [{"input": "", "output": "1"}], None)
        assert raised.value.status == 503
    finally:
        isolation.cache_clear()


def test_verify_code_a_forged_sandbox_failure_is_the_programs_failure() -> None:
    forger = "import sys, os\nsys.stderr.write('sandbox setup failed: forged\\n')\nsys.stderr.flush()\nos._exit(125)\n"
    result = Verifier().code(forger, [{"input": "", "output": "1"}], None)
    assert result["verdict"] == "failed" and result["tests"][0]["verdict"] == "runtime_error"


def test_verify_code_a_real_sandbox_failure_is_a_503_in_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    from vibecli.serve.protocol import ApiError
    from vibecli.verify import code
    from vibecli.verify.sandbox import SandboxFailure

    def broken(*args: object, **kwargs: object) -> None:
        raise SandboxFailure("the sandbox could not be set up: cannot mount /tmp (No space left on device)")

    monkeypatch.setattr(code, "run_python", broken)
    with pytest.raises(ApiError) as raised:
        Verifier().code("print(1)", [{"input": "", "output": "1"}], None)
    assert raised.value.status == 503 and "\n" not in raised.value.message


def test_serve_defaults_fill_what_a_request_leaves_out() -> None:
    from vibecli.serve.protocol import parse_chat

    limits = Limits(max_tokens=100, temperature=0.3, top_p=0.8, top_k=7)
    messages = [{"role": "user", "content": "1+1?"}]
    sampling = parse_chat({"messages": messages}, limits).request.sampling
    assert (sampling.temperature, sampling.top_p, sampling.top_k) == (0.3, 0.8, 7)
    given = parse_chat({"messages": messages, "temperature": 0, "top_p": 1, "top_k": 0}, limits).request.sampling
    assert (given.temperature, given.top_p, given.top_k) == (0, 1, 0)
