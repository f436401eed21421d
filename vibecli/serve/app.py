"""The HTTP app of `vibe serve` (Starlette): OpenAI-compatible routes over one `Scheduler`.

Routes: `/v1/chat/completions` and `/v1/completions` (streaming and not, with the thinking
split out as `reasoning_content`, `n` choices), `/v1/models`, `/v1/verify`, `/tokenize` and
`/health`. Requests are checked by `protocol` and measured against the model's context before
they reach the engine; a refused one gets a 4xx with an OpenAI-style JSON error.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import hmac
import json
import sys
import threading
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
from vibecli.engine.context import TokenCount, count_within, prompt_text
from vibecli.engine.types import Finished, GenerationRequest, StreamItem, TextDelta
from vibecli.errors import EngineError
from vibecli.reasoning.splitter import ThinkSplitter, split_text
from vibecli.serve.protocol import (
    WIRE_FINISH,
    ApiError,
    GenerateCall,
    Limits,
    chat_chunk,
    context_error,
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
# Prompts shorter than this are measured on the event loop (well under a millisecond); longer
# ones in a thread, so that a huge prompt cannot hold up the other streams.
INLINE_MEASURE_CHARS = 8192


@dataclass(frozen=True)
class ServeSettings:
    api_key: str | None = None
    limits: Limits = field(default_factory=Limits)
    log: Callable[[str], None] | None = None  # one line a request; None: quiet


class _Courier:
    """Carries items from the engine thread to the event loop, waking the loop once for all that
    arrived since it last looked. At thousands of tokens a second, a wake-up per token (a write to
    the loop's self-pipe, and the GIL handed back and forth each time) kept the engine thread and
    the loop waiting on each other, and new requests waited for their first chunk."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._parcels: list[tuple[_Call, int, StreamItem]] = []
        self._called = False  # a delivery is on its way to the loop

    def send(self, call: _Call, index: int, item: StreamItem) -> None:
        """On the engine thread: hand `item` (choice `index` of `call`) over to the loop."""
        with self._lock:
            self._parcels.append((call, index, item))
            if self._called:
                return
            self._called = True
        try:
            self._loop.call_soon_threadsafe(self._deliver)
        except RuntimeError:  # the loop closed: the server is shutting down under a running batch
            call.cancel()

    def _deliver(self) -> None:
        with self._lock:
            parcels, self._parcels, self._called = self._parcels, [], False
        for call, index, item in parcels:
            call.receive(index, item)


class _Call:
    """A request's choices as submitted jobs; their items come back tagged by choice."""

    def __init__(self, requests: list[GenerationRequest], courier: _Courier) -> None:
        self._arrived: list[tuple[int, StreamItem]] = []
        self._wake = asyncio.Event()
        self.jobs = [Job(r, deliver=functools.partial(courier.send, self, i)) for i, r in enumerate(requests)]

    def receive(self, index: int, item: StreamItem) -> None:
        """On the loop: one item of choice `index` has arrived."""
        self._arrived.append((index, item))
        self._wake.set()

    def cancel(self) -> None:
        for job in self.jobs:
            job.cancel.set()

    async def batches(self, client: Request) -> AsyncIterator[list[tuple[int, StreamItem]]]:
        """What arrived since the last look, as `(choice, item)` pairs, until every choice has
        finished; stops (cancelling them) when the client leaves."""
        remaining = len(self.jobs)
        try:
            while remaining:
                try:
                    await asyncio.wait_for(self._wake.wait(), DISCONNECT_POLL_S)
                except asyncio.TimeoutError:
                    if await client.is_disconnected():
                        return
                    continue
                self._wake.clear()
                arrived, self._arrived = self._arrived, []
                if arrived:
                    yield arrived
                remaining -= sum(isinstance(item, Finished) for _, item in arrived)
        finally:
            self.cancel()  # harmless once finished; stops the generation if the client left


def _text_size(request: GenerationRequest) -> int:
    if request.prompt is not None:
        return len(request.prompt)
    return sum(len(message.content) for message in request.messages)


def _sse(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"


def _error_payload(finished: Finished) -> ApiError:
    return ApiError(500, f"generation failed: {finished.error or finished.reason}", kind="server_error")


def _wire(finished: Finished) -> str:
    return WIRE_FINISH.get(finished.reason, "stop")


async def _cancel_after(call: _Call, events: AsyncIterator[str]) -> AsyncIterator[str]:
    """`events`, then the call's jobs cancelled however the stream ended (finished, failed or dropped)."""
    try:
        async for event in events:
            yield event
    finally:
        call.cancel()


async def _finals(call: _Call, client: Request) -> list[Finished]:
    """The finished choices of a non-streaming request, in choice order (each text is a whole output)."""
    done: dict[int, Finished] = {}
    try:
        async for arrived in call.batches(client):
            for index, item in arrived:
                if isinstance(item, Finished):
                    if item.reason == "error":
                        raise _error_payload(item)
                    done[index] = item
    finally:
        call.cancel()  # the other choices of a failed request stop now, not when collected
    if len(done) < len(call.jobs):
        raise ApiError(499, "client disconnected")
    return [done[i] for i in range(len(call.jobs))]


def create_app(backend: Backend, scheduler: Scheduler, verifier: Verifier, settings: ServeSettings) -> ASGIApp:
    """The app for `backend`; the caller starts and closes `scheduler` and `verifier`."""
    model = backend.info.name
    created = int(time.time())
    max_model_len = backend.info.context_length or settings.limits.max_tokens
    couriers: list[_Courier] = []  # one, made on the first request (it needs the running loop)

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

    def measure(call: GenerateCall, context: int) -> TokenCount:
        return count_within(backend.count_tokens, prompt_text(backend, call.request), context)

    async def fitted(call: GenerateCall) -> GenerateCall:
        """`call` checked against the context (off the engine thread), its max_tokens settled."""
        context = backend.info.context_length
        if context is None:
            return call
        try:
            if _text_size(call.request) < INLINE_MEASURE_CHARS:
                prompt = measure(call, context)
            else:
                prompt = await asyncio.to_thread(measure, call, context)
        except EngineError as exc:
            raise ApiError(500, str(exc), kind="server_error") from None
        asked = call.request.max_new_tokens if call.max_tokens_given else 0
        if not prompt.exact or prompt.tokens + max(asked, 1) > context:
            raise context_error(context, prompt.tokens, asked, exact=prompt.exact, chat=call.chat)
        if call.max_tokens_given:
            return call
        fits = min(call.request.max_new_tokens, context - prompt.tokens)
        return dataclasses.replace(call, request=dataclasses.replace(call.request, max_new_tokens=fits))

    async def submit(call: GenerateCall) -> _Call:
        if call.model is not None and call.model != model:
            raise ApiError(404, f"the model '{call.model}' does not exist (this server has '{model}')",
                           kind="not_found_error", param="model", code="model_not_found")  # fmt: skip
        call = await fitted(call)
        if not couriers:
            couriers.append(_Courier(asyncio.get_running_loop()))
        pending = _Call(call.choices(), couriers[0])
        try:
            for job in pending.jobs:
                scheduler.submit(job)
        except QueueFull as exc:
            pending.cancel()
            raise ApiError(503, f"server busy: {exc}; retry shortly", kind="server_busy") from None
        return pending

    async def chat_completions(request: Request) -> Response:
        call = parse_chat(await read_json(request), settings.limits)
        pending, call_id = await submit(call), f"chatcmpl-{uuid.uuid4().hex}"
        if call.stream:
            events = _cancel_after(pending, chat_events(call, pending, request, call_id))
            return StreamingResponse(events, media_type="text/event-stream")
        choices = []
        finals = await _finals(pending, request)
        for index, finished in enumerate(finals):
            thinking, answer, _ = split_text(finished.text)
            message = {"role": "assistant", "content": answer, "reasoning_content": thinking or None}
            choices.append({"index": index, "message": message, "finish_reason": _wire(finished), "logprobs": None})
        return JSONResponse({
            "id": call_id, "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": choices, "usage": usage([f.stats for f in finals]),
        })  # fmt: skip

    async def chat_events(call: GenerateCall, pending: _Call, request: Request, call_id: str) -> AsyncIterator[str]:
        splitters, stamp, stats = [ThinkSplitter() for _ in pending.jobs], int(time.time()), []
        for index in range(len(pending.jobs)):
            yield _sse(chat_chunk(call_id, stamp, model, {"role": "assistant", "content": ""}, index=index))
        async for arrived in pending.batches(request):
            events: list[str] = []  # written at once: one write per engine step, not one per token
            for index, item in arrived:
                if isinstance(item, TextDelta):
                    segments = splitters[index].feed(item.text)
                elif item.reason == "error":
                    yield "".join(events) + _sse(_error_payload(item).body())
                    return
                else:
                    segments = splitters[index].finish()
                for segment in segments:
                    events.append(_sse(chat_chunk(call_id, stamp, model, {FIELDS[segment.kind]: segment.text},
                                                  index=index)))  # fmt: skip
                if isinstance(item, Finished):
                    stats.append(item.stats)
                    events.append(_sse(chat_chunk(call_id, stamp, model, {}, _wire(item), index=index)))
            if events:
                yield "".join(events)
        if len(stats) < len(pending.jobs):
            return  # the client left
        if call.include_usage:
            yield _sse(usage_chunk(call_id, stamp, model, "chat.completion.chunk", stats))
        yield "data: [DONE]\n\n"

    async def completions(request: Request) -> Response:
        call = parse_completion(await read_json(request), settings.limits)
        pending, call_id = await submit(call), f"cmpl-{uuid.uuid4().hex}"
        if call.stream:
            events = _cancel_after(pending, text_events(call, pending, request, call_id))
            return StreamingResponse(events, media_type="text/event-stream")
        finals, stamp = await _finals(pending, request), int(time.time())
        choices = [text_chunk(call_id, stamp, model, f.text, _wire(f), index=i)["choices"][0]
                   for i, f in enumerate(finals)]  # fmt: skip
        return JSONResponse({"id": call_id, "object": "text_completion", "created": stamp, "model": model,
                             "choices": choices, "usage": usage([f.stats for f in finals])})  # fmt: skip

    async def text_events(call: GenerateCall, pending: _Call, request: Request, call_id: str) -> AsyncIterator[str]:
        stamp, stats = int(time.time()), []
        async for arrived in pending.batches(request):
            events: list[str] = []
            for index, item in arrived:
                if isinstance(item, TextDelta):
                    events.append(_sse(text_chunk(call_id, stamp, model, item.text, index=index)))
                elif item.reason == "error":
                    yield "".join(events) + _sse(_error_payload(item).body())
                    return
                else:
                    stats.append(item.stats)
                    events.append(_sse(text_chunk(call_id, stamp, model, "", _wire(item), index=index)))
            if events:
                yield "".join(events)
        if len(stats) < len(pending.jobs):
            return
        if call.include_usage:
            yield _sse(usage_chunk(call_id, stamp, model, "text_completion", stats))
        yield "data: [DONE]\n\n"

    async def models(request: Request) -> Response:
        entry = {"id": model, "object": "model", "created": created, "owned_by": "vibecli",
                 "max_model_len": max_model_len}  # fmt: skip
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
        return JSONResponse({"count": count, "max_model_len": max_model_len})

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
                error = ApiError(401, "missing or wrong API key (send Authorization: Bearer KEY)",
                                 kind="auth_error", code="invalid_api_key")  # fmt: skip
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
