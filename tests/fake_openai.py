"""A small OpenAI-compatible server for client tests, streaming the way vLLM does.

Each server plays a script: one behaviour per chat/completions request, then its default.
Behaviours:
- "reasoning": thinking in `delta.reasoning_content`, then the answer in `delta.content`
  (vLLM and SGLang with a reasoning parser).
- "inline": `<think>…</think>` inside `delta.content` (no reasoning parser).
- "drop": a few chunks, then the connection is cut mid-body (chunked encoding left open).
- "slow": a chunk every 50 ms, for a long time (for cancellation).
- "slow_short": the "reasoning" answer after a 100 ms pause (to watch concurrency).
- "429", "503": an error status (429 with Retry-After: 0), then nothing.
- "context": a 400 with vLLM's context-length message.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

THINKING = ["Let", " me", " add", ": 48+37", " = 85."]
ANSWER = ["The answer", " is \\boxed{85}", "."]


def _chunk(delta: dict[str, Any] | None = None, finish: str | None = None, usage: dict[str, int] | None = None,
           text: str | None = None) -> dict[str, Any]:  # fmt: skip
    if usage is not None:
        return {"id": "x", "object": "chat.completion.chunk", "choices": [], "usage": usage}
    choice: dict[str, Any] = {"index": 0, "finish_reason": finish, "logprobs": None}
    if text is not None:
        choice["text"] = text
    else:
        choice["delta"] = delta or {}
    return {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "vibe-test", "choices": [choice]}


class FakeServer:
    """`with FakeServer(["429", "reasoning"]) as server:` then use `server.url` (up to /v1)."""

    def __init__(
        self,
        script: list[str] | None = None,
        *,
        default: str = "reasoning",
        models: tuple[str, ...] = ("vibe-test",),
        max_model_len: int | None = None,  # listed in /v1/models, as vLLM does
    ) -> None:
        self.script = list(script or [])
        self.default = default
        self.models = models
        self.max_model_len = max_model_len
        self.requests: list[dict[str, Any]] = []  # bodies of generation requests, in arrival order
        self.paths: list[str] = []
        self.closed_early = threading.Event()  # a client hung up during a "slow" stream
        self.streaming = self.most_streaming = 0  # streams open now, and the most open at once
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake.paths.append(self.path)
                if self.path.endswith("/models"):
                    extra = {"max_model_len": fake.max_model_len} if fake.max_model_len else {}
                    data = [{"id": m, "object": "model", **extra} for m in fake.models]
                    self._json(200, {"object": "list", "data": data})
                else:
                    self._json(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:
                fake.paths.append(self.path)
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
                if not self.path.endswith(("/chat/completions", "/completions")):
                    self._json(404, {"error": {"message": "no such route"}})
                    return
                with fake._lock:
                    fake.requests.append(body)
                    behaviour = fake.script.pop(0) if fake.script else fake.default
                fake._play(self, behaviour, chat=self.path.endswith("/chat/completions"))

            def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> FakeServer:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _play(self, handler: Any, behaviour: str, *, chat: bool) -> None:
        if behaviour == "429":
            handler._json(429, {"error": {"message": "rate limited", "type": "rate_limit"}}, {"retry-after": "0"})
            return
        if behaviour == "503":
            handler._json(503, {"error": {"message": "overloaded"}})
            return
        if behaviour == "context":
            message = "This model's maximum context length is 4096 tokens. However, you requested 50000 tokens."
            handler._json(400, {"error": {"message": message, "type": "BadRequestError", "code": 400}})
            return
        handler.send_response(200)
        handler.send_header("content-type", "text/event-stream")
        handler.send_header("transfer-encoding", "chunked")
        handler.end_headers()

        def send(payload: Any) -> None:
            data = f"data: {payload if isinstance(payload, str) else json.dumps(payload)}\n\n".encode()
            handler.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            handler.wfile.flush()

        def piece(field: str, text: str) -> dict[str, Any]:
            return _chunk({field: text}) if chat else _chunk(text=text)

        with self._lock:
            self.streaming += 1
            self.most_streaming = max(self.most_streaming, self.streaming)
        try:
            if behaviour == "slow_short":  # the usual answer, a chunk every 20 ms
                time.sleep(0.1)
            if behaviour == "slow":
                for _ in range(2000):
                    send(piece("content", " tick"))
                    time.sleep(0.05)
                return
            if chat:
                send(_chunk({"role": "assistant", "content": ""}))
            if behaviour == "drop":
                send(piece("reasoning_content", "Let me"))
                handler.wfile.write(b'40\r\ndata: {"partial')  # half a chunk, then the line goes dead
                handler.wfile.flush()
                handler.connection.shutdown(socket.SHUT_RDWR)
                return
            if behaviour in ("reasoning", "slow_short") and chat:
                for text in THINKING:
                    send(piece("reasoning_content", text))
                for text in ANSWER:
                    send(piece("content", text))
            else:  # inline, and every completions stream
                texts = ["<think>", *THINKING, "</think>", *ANSWER] if chat else ANSWER
                for text in texts:
                    send(piece("content", text))
            send(_chunk({}, finish="stop") if chat else _chunk(text="", finish="stop"))
            send(_chunk(usage={"prompt_tokens": 12, "completion_tokens": 9, "total_tokens": 21}))
            send("[DONE]")
            handler.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            self.closed_early.set()
        finally:
            with self._lock:
                self.streaming -= 1
