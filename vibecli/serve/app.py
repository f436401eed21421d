"""The HTTP app of `vibe serve` (Starlette): OpenAI-compatible routes over one `Scheduler`.

Routes: `/v1/chat/completions` and `/v1/completions` (streaming and not, with the thinking
split out as `reasoning_content`), `/v1/models`, `/v1/verify`, `/tokenize` and `/health`.
Requests are checked by `protocol`; a refused one gets a 4xx with an OpenAI-style JSON error.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vibecli.engine.backend import Backend
from vibecli.engine.types import Finished, GenerationRequest, StreamItem, TextDelta
from vibecli.reasoning.splitter import ThinkSplitter, split_text
from vibecli.serve.protocol import (
    WIRE_FINISH,
    ApiError,
    GenerateCall,
    Limits,
    chat_chunk,
    parse_chat,
    parse_completion,
    text_chunk,
    usage,
    usage_chunk,
)
from vibecli.serve.scheduler import Job, QueueFull, Scheduler
from vibecli.serve.verify import Verifier, verify_body

MAX_BODY_BYTES = 4 << 20
DISCONNECT_POLL_S = 0.5  # how often a waiting request checks that its client is still there
FIELDS = {"thinking": "reasoning_content", "answer": "content"}


@dataclass(frozen=True)
class ServeSettings:
    api_key: str | None = None
    limits: Limits = field(default_factory=Limits)
    log: Callable[[str], None] | None = None  # one line a request; None: quiet


class _Pending:
    """A submitted job seen from the event loop: its items arrive on an asyncio queue."""

    def __init__(self, request: GenerationRequest, loop: asyncio.AbstractEventLoop) -> None:
        self.items: asyncio.Queue[StreamItem] = asyncio.Queue()
        self.job = Job(request, deliver=lambda item: self._hand_over(loop, item))

    def _hand_over(self, loop: asyncio.AbstractEventLoop, item: StreamItem) -> None:
        try:
            loop.call_soon_threadsafe(self.items.put_nowait, item)
        except RuntimeError:  # the loop closed: the server is shutting down under a running wave
            self.job.cancel.set()

    async def stream(self, client: Request) -> AsyncIterator[StreamItem]:
        """Items until `Finished`; stops (cancelling the job) when the client disconnects."""
        try:
            while True:
                try:
                    item = await asyncio.wait_for(self.items.get(), DISCONNECT_POLL_S)
                except asyncio.TimeoutError:
                    if await client.is_disconnected():
                        return
                    continue
                yield item
                if isinstance(item, Finished):
                    return
        finally:
            self.job.cancel.set()  # harmless once finished; stops the generation if the client left


def _sse(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"


def _error_payload(finished: Finished) -> ApiError:
    return ApiError(500, f"generation failed: {finished.error or finished.reason}", kind="server_error")


async def _final(pending: _Pending, client: Request) -> Finished:
    """The finished generation of a non-streaming request (its text is the whole output)."""
    async for item in pending.stream(client):
        if isinstance(item, Finished):
            if item.reason == "error":
                raise _error_payload(item)
            return item
    raise ApiError(499, "client disconnected")


def create_app(backend: Backend, scheduler: Scheduler, verifier: Verifier, settings: ServeSettings) -> ASGIApp:
    """The app for `backend`; the caller starts and closes `scheduler` and `verifier`."""
    model = backend.info.name
    created = int(time.time())

    async def read_json(request: Request) -> Any:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise ApiError(413, f"the request body is over {MAX_BODY_BYTES >> 20} MiB")
        body = bytearray()
        async for piece in request.stream():
            body += piece
            if len(body) > MAX_BODY_BYTES:
                raise ApiError(413, f"the request body is over {MAX_BODY_BYTES >> 20} MiB")
        try:
            return json.loads(bytes(body))
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "the request body is not valid JSON") from None

    def submit(call: GenerateCall) -> _Pending:
        if call.model is not None and call.model != model:
            raise ApiError(404, f"the model '{call.model}' does not exist (this server has '{model}')",
                           kind="not_found_error", param="model")  # fmt: skip
        pending = _Pending(call.request, asyncio.get_running_loop())
        try:
            scheduler.submit(pending.job)
        except QueueFull as exc:
            raise ApiError(503, f"server busy: {exc}; retry shortly", kind="server_busy") from None
        return pending

    async def chat_completions(request: Request) -> Response:
        call = parse_chat(await read_json(request), settings.limits)
        pending, call_id = submit(call), f"chatcmpl-{uuid.uuid4().hex}"
        if call.stream:
            return StreamingResponse(chat_events(call, pending, request, call_id), media_type="text/event-stream")
        finished = await _final(pending, request)
        thinking, answer, _ = split_text(finished.text)
        message = {"role": "assistant", "content": answer, "reasoning_content": thinking or None}
        return JSONResponse({
            "id": call_id, "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": WIRE_FINISH.get(finished.reason, "stop"),
                         "logprobs": None}],
            "usage": usage(finished.stats),
        })  # fmt: skip

    async def chat_events(call: GenerateCall, pending: _Pending, request: Request, call_id: str) -> AsyncIterator[str]:
        splitter, stamp = ThinkSplitter(), int(time.time())
        yield _sse(chat_chunk(call_id, stamp, model, {"role": "assistant", "content": ""}))
        async for item in pending.stream(request):
            if isinstance(item, TextDelta):
                for segment in splitter.feed(item.text):
                    yield _sse(chat_chunk(call_id, stamp, model, {FIELDS[segment.kind]: segment.text}))
                continue
            if item.reason == "error":
                yield _sse(_error_payload(item).body())
                return
            for segment in splitter.finish():
                yield _sse(chat_chunk(call_id, stamp, model, {FIELDS[segment.kind]: segment.text}))
            yield _sse(chat_chunk(call_id, stamp, model, {}, WIRE_FINISH.get(item.reason, "stop")))
            if call.include_usage:
                yield _sse(usage_chunk(call_id, stamp, model, "chat.completion.chunk", item.stats))
            yield "data: [DONE]\n\n"

    async def completions(request: Request) -> Response:
        call = parse_completion(await read_json(request), settings.limits)
        pending, call_id = submit(call), f"cmpl-{uuid.uuid4().hex}"
        if call.stream:
            return StreamingResponse(text_events(call, pending, request, call_id), media_type="text/event-stream")
        finished = await _final(pending, request)
        body = text_chunk(call_id, int(time.time()), model, finished.text, WIRE_FINISH.get(finished.reason, "stop"))
        return JSONResponse({**body, "usage": usage(finished.stats)})

    async def text_events(call: GenerateCall, pending: _Pending, request: Request, call_id: str) -> AsyncIterator[str]:
        stamp = int(time.time())
        async for item in pending.stream(request):
            if isinstance(item, TextDelta):
                yield _sse(text_chunk(call_id, stamp, model, item.text))
            elif item.reason == "error":
                yield _sse(_error_payload(item).body())
                return
            else:
                yield _sse(text_chunk(call_id, stamp, model, "", WIRE_FINISH.get(item.reason, "stop")))
                if call.include_usage:
                    yield _sse(usage_chunk(call_id, stamp, model, "text_completion", item.stats))
                yield "data: [DONE]\n\n"

    async def models(request: Request) -> Response:
        entry = {"id": model, "object": "model", "created": created, "owned_by": "vibecli",
                 "max_model_len": settings.limits.max_tokens}  # fmt: skip
        return JSONResponse({"object": "list", "data": [entry]})

    async def health(request: Request) -> Response:
        info = backend.info
        return JSONResponse({"status": "ok", "model": model, "backend": info.backend, "device": info.device,
                             "running": scheduler.running, "queued": scheduler.queued})  # fmt: skip

    async def tokenize(request: Request) -> Response:
        body = await read_json(request)
        text = body.get("prompt") if isinstance(body, dict) else None
        if not isinstance(text, str):
            raise ApiError(400, "'prompt' must be a string", param="prompt")
        count = await asyncio.to_thread(backend.count_tokens, text)
        return JSONResponse({"count": count, "max_model_len": settings.limits.max_tokens})

    async def verify(request: Request) -> Response:
        return JSONResponse(await verify_body(await read_json(request), verifier))

    routes = [
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/v1/completions", completions, methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/v1/verify", verify, methods=["POST"]),
        Route("/tokenize", tokenize, methods=["POST"]),
        Route("/health", health, methods=["GET"]),
    ]

    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return JSONResponse(exc.body(), status_code=exc.status)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return JSONResponse(ApiError(exc.status_code, str(exc.detail)).body(), status_code=exc.status_code)

    app = Starlette(routes=routes, exception_handlers={ApiError: api_error, HTTPException: http_error})
    # Plain ASGI wrappers rather than Starlette middleware, so streamed responses pass straight through.
    return _RequestLog(_ApiKeyGate(app, settings.api_key), settings.log)


class _ApiKeyGate:
    """Refuses `/v1/*` and `/tokenize` without `Authorization: Bearer KEY` when a key is set."""

    def __init__(self, app: ASGIApp, key: str | None) -> None:
        self.app, self.key = app, key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.key and scope["type"] == "http" and scope["path"] != "/health":
            headers = dict(scope.get("headers") or [])
            given = headers.get(b"authorization", b"").decode("latin-1").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(given.encode(), self.key.encode()):
                error = ApiError(401, "missing or wrong API key (send Authorization: Bearer KEY)", kind="auth_error")
                await JSONResponse(error.body(), status_code=401)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class _RequestLog:
    """One line a request on stderr: client, method, path, status, seconds."""

    def __init__(self, app: ASGIApp, log: Callable[[str], None] | None) -> None:
        self.app, self.log = app, log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.log is None:
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), [0]

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            client = scope.get("client") or ("-", 0)
            self.log(f'{client[0]} "{scope["method"]} {scope["path"]}" {status[0] or "-"} '
                     f"{time.perf_counter() - started:.2f}s")  # fmt: skip


def stderr_log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
