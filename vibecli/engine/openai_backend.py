"""The remote backend: OpenAI-compatible servers (vLLM, SGLang, llama-server, `vibe serve`).

Talks to them with the official `openai` client. A server that splits the reasoning into a
`reasoning_content` (or `reasoning`) field and one that streams `<think>` inline give the
same text to the rest of vibe: `<think>reasoning</think>answer`. Chat requests go to
`/v1/chat/completions`; raw prompts (thinking-budget continuations) to `/v1/completions`.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from vibecli.config import Server
from vibecli.engine.backend import BatchSession, stream_in_batch
from vibecli.engine.server_pool import Retryable, RetryPolicy, ServerState, pick_server, rest, run_spread
from vibecli.engine.threaded_batch import ThreadedBatch
from vibecli.engine.types import (
    NO_STATS,
    Completion,
    Finished,
    FinishReason,
    GenerationRequest,
    GenerationStats,
    Message,
    ModelInfo,
    StreamItem,
    TextDelta,
)
from vibecli.errors import EngineError
from vibecli.reasoning.splitter import CLOSE_TAG, OPEN_TAG

# Qwen2.5's ChatML, as VibeThinker's template renders it (default system line included).
DEFAULT_SYSTEM = "You are a helpful assistant."
RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
FINISH_REASONS: dict[str, FinishReason] = {"stop": "stop", "length": "length", "abort": "cancelled"}


@dataclass(frozen=True)
class RemoteOptions:
    """Where the servers are and which model they serve (None: the first one listed)."""

    servers: tuple[Server, ...]
    api_key: str | None = None
    model: str | None = None
    timeout_s: float = 600.0  # per read: a server may sit on a long prefill
    policy: RetryPolicy = field(default_factory=RetryPolicy)


def connect(options: RemoteOptions) -> OpenAIBackend:
    """Open clients for every server and settle on the model, or raise one clear EngineError."""
    try:
        import openai
    except ImportError:
        raise EngineError("the openai backend needs the openai client: pip install 'vibecli[remote]'") from None
    if not options.servers:
        raise EngineError("--backend openai needs --base-url URL (up to /v1, e.g. http://localhost:8000/v1)")
    key = options.api_key or os.environ.get("OPENAI_API_KEY") or "EMPTY"  # vLLM's placeholder for "no key"
    states = []
    for server in options.servers:
        client = openai.OpenAI(
            base_url=server.url, api_key=key, max_retries=0, timeout=openai.Timeout(options.timeout_s, connect=10.0)
        )
        states.append(ServerState[GenerationRequest](server.url, server.concurrency, options.policy, client))
    model, served, context = _settle_model(states, options.model)
    info = ModelInfo(name=model, path=served, backend="openai", device="remote", dtype="server's", format="remote",
                     context_length=context)  # fmt: skip
    return OpenAIBackend(states, info)


def _settle_model(states: list[ServerState[GenerationRequest]], wanted: str | None) -> tuple[str, str, int | None]:
    """Ask each server for its models; the first that answers decides (a dead one is left resting).

    Returns the model, the server that listed it, and its `max_model_len` where the server
    gives one (vLLM, SGLang and `vibe serve` do)."""
    import openai

    problems = []
    for state in states:
        try:
            models = list(state.client.with_options(timeout=15.0).models.list())
        except openai.AuthenticationError:
            raise EngineError(f"{state.url} rejected the API key (set --api-key or VIBE_API_KEY)") from None
        except (openai.APIError, OSError) as exc:
            state.failed()
            problems.append(f"{state.url}: {_describe(exc)}")
            continue
        chosen = next((m for m in models if wanted is None or m.id == wanted), None)
        if chosen is None:
            served = ", ".join(m.id for m in models) or "nothing"
            raise EngineError(f"{state.url} does not serve model '{wanted}' (it serves: {served})")
        context = getattr(chosen, "max_model_len", None)
        return chosen.id, state.url, context if isinstance(context, int) and context > 0 else None
    raise EngineError("no server answered: " + "; ".join(problems))


def _describe(exc: BaseException) -> str:
    import openai

    if isinstance(exc, openai.APIStatusError):
        body = exc.body.get("error", exc.body) if isinstance(exc.body, dict) else None
        message = body.get("message") if isinstance(body, dict) else None
        return f"HTTP {exc.status_code}: {message or exc.message}"
    if isinstance(exc, openai.APITimeoutError):
        return "timed out"
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__
        return f"cannot connect ({cause})" if cause else "cannot connect"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _retry_after(exc: Any) -> float | None:
    try:
        return float(exc.response.headers.get("retry-after"))
    except (AttributeError, TypeError, ValueError):
        return None


def render_chatml(messages: Sequence[Message]) -> str:
    """VibeThinker's chat template (Qwen2.5 ChatML) rendered locally, for raw-prompt continuations."""
    turns = list(messages)
    if not turns or turns[0].role != "system":
        turns.insert(0, Message("system", DEFAULT_SYSTEM))
    body = "".join(f"<|im_start|>{m.role}\n{m.content}<|im_end|>\n" for m in turns)
    return body + "<|im_start|>assistant\n"


class _ChunkReader:
    """Turns streamed chunks into vibe's text: reasoning fields become a `<think>` block."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.tokens = 0  # one chunk carries one token on vLLM and SGLang; usage corrects it at the end
        self.in_reasoning = False
        self.finish_reason: str | None = None
        self.usage: Any = None

    def read(self, chunk: Any) -> str:
        if getattr(chunk, "usage", None) is not None:
            self.usage = chunk.usage
        if not chunk.choices:
            return ""
        choice = chunk.choices[0]
        delta = getattr(choice, "delta", None)
        reasoning = (getattr(delta, "reasoning_content", None) or getattr(delta, "reasoning", None)) if delta else None
        content = delta.content if delta is not None else getattr(choice, "text", None)
        pieces = []
        if reasoning:
            if not self.in_reasoning:
                pieces.append(OPEN_TAG)
                self.in_reasoning = True
            pieces.append(reasoning)
        if content:
            if self.in_reasoning:
                pieces.append(CLOSE_TAG)
                self.in_reasoning = False
            pieces.append(content)
        self.tokens += bool(reasoning or content)
        if choice.finish_reason:
            self.finish_reason = choice.finish_reason
        text = "".join(pieces)
        self.parts.append(text)
        return text


def _cancel_closes(stream: Any, cancel: threading.Event | None, done: threading.Event) -> None:
    """Close `stream` from a helper thread when `cancel` is set, so a blocked read returns at once."""
    if cancel is None:
        return

    def watch() -> None:
        while not done.is_set():
            if cancel.wait(0.1):
                stream.close()
                return

    threading.Thread(target=watch, daemon=True, name="vibe-remote-cancel").start()


class OpenAIBackend:
    """One or more OpenAI-compatible servers behind the `Backend` protocol."""

    def __init__(self, servers: list[ServerState[GenerationRequest]], info: ModelInfo) -> None:
        self._servers = servers
        self._info = info
        self._tokenize_endpoint = True  # until a server says it has none

    @property
    def info(self) -> ModelInfo:
        return self._info

    def chat_prompt(self, messages: Sequence[Message]) -> str:
        return render_chatml(messages)

    def count_tokens(self, text: str) -> int:
        """The server's own count where it has vLLM's `/tokenize`; else about four characters a token."""
        if self._tokenize_endpoint:
            counted = self._tokenize(text)
            if counted is not None:
                return counted
        return (len(text) + 3) // 4

    def stream(self, request: GenerationRequest, *, cancel: threading.Event | None = None) -> Iterator[StreamItem]:
        last = "no server was tried"
        for _ in range(max(1, self._servers[0].policy.max_attempts)):
            server = pick_server(self._servers)
            if rest(server.wait_s(), cancel):
                yield Finished("cancelled", "", NO_STATS)
                return
            emitted = False
            try:
                for item in self._attempt(server, request, cancel):
                    emitted = emitted or isinstance(item, TextDelta)
                    yield item
                server.succeeded()
                return
            except Retryable as exc:
                server.failed(exc.retry_after)
                last = f"{server.url}: {exc}"
                if emitted:  # text already shown cannot be taken back
                    yield Finished("error", "", NO_STATS, error=f"stream broke off ({last})")
                    return
        yield Finished("error", "", NO_STATS, error=f"no server could answer ({last})")

    def stream_batch(
        self, requests: Sequence[GenerationRequest], *, cancels: Sequence[threading.Event | None]
    ) -> Iterator[tuple[int, StreamItem]]:
        # Concurrent streams are the servers' business; here each one gets a thread.
        return stream_in_batch(self, requests, cancels)

    def run_many(
        self,
        requests: Sequence[GenerationRequest],
        *,
        cancel: threading.Event | None = None,
        max_batch: int = 8,
    ) -> Iterator[Completion]:
        def attempt(server: ServerState[GenerationRequest], request: GenerationRequest) -> Completion:
            items = list(self._attempt(server, request, cancel))
            finished = items[-1]
            assert isinstance(finished, Finished)
            return Completion(request.request_id, finished)

        def give_up(request: GenerationRequest, why: str) -> Completion:
            return Completion(request.request_id, Finished("error", "", NO_STATS, error=why))

        yield from run_spread(self._servers, requests, attempt, give_up, default_limit=max_batch, cancel=cancel)

    def open_batch(self, max_rows: int) -> BatchSession:
        """Up to `max_rows` concurrent streams per server (or the server's own `concurrency`), spread
        over the servers (the least busy first), which do the batching."""
        rows = sum(server.limit or max_rows for server in self._servers)
        return ThreadedBatch(lambda request, cancel: self.stream(request, cancel=cancel), rows)

    def close(self) -> None:
        for server in self._servers:
            server.client.close()

    def _attempt(
        self, server: ServerState[GenerationRequest], request: GenerationRequest, cancel: threading.Event | None
    ) -> Iterator[StreamItem]:
        """One try on one server: deltas, then `Finished`; raises `Retryable` or `EngineError`."""
        import openai

        started = time.perf_counter()
        if cancel is not None and cancel.is_set():
            yield Finished("cancelled", "", NO_STATS)
            return
        reader, first_at, done = _ChunkReader(), None, threading.Event()
        try:
            stream = self._open(server, request)
            _cancel_closes(stream, cancel, done)
            try:
                for chunk in stream:
                    text = reader.read(chunk)
                    if text:
                        first_at = first_at or time.perf_counter()
                        yield TextDelta(text, reader.tokens)
            finally:
                done.set()
                stream.close()
        except openai.APIStatusError as exc:
            if exc.status_code in RETRYABLE_STATUS:
                raise Retryable(_describe(exc), retry_after=_retry_after(exc)) from None
            if exc.status_code in (400, 413, 422):  # this request's fault: context too long, bad stop…
                yield self._finished(reader, started, first_at, "error", f"{server.url}: {_describe(exc)}")
                return
            raise EngineError(f"{server.url}: {_describe(exc)}") from None
        except Exception as exc:  # connection and timeout errors, and the HTTP library's own when a body is cut
            if cancel is not None and cancel.is_set():
                yield self._finished(reader, started, first_at, "cancelled")
                return
            known = isinstance(exc, openai.APIError | OSError)
            raise Retryable(_describe(exc) if known else f"stream broke off: {type(exc).__name__}: {exc}") from None
        if cancel is not None and cancel.is_set() and reader.finish_reason is None:
            yield self._finished(reader, started, first_at, "cancelled")
        elif reader.finish_reason is None:
            raise Retryable("the stream ended without a finish reason")
        else:
            reason = FINISH_REASONS.get(reader.finish_reason, "error")
            error = None if reason != "error" else f"server finished with '{reader.finish_reason}'"
            yield self._finished(reader, started, first_at, reason, error)

    def _open(self, server: ServerState[GenerationRequest], request: GenerationRequest) -> Any:
        client = server.client
        sampling = request.sampling
        extra: dict[str, Any] = {}
        if sampling.top_k > 0:
            extra["top_k"] = sampling.top_k  # vLLM, SGLang and llama-server take it; OpenAI itself does not
        if request.stop_token_ids:
            extra["stop_token_ids"] = list(request.stop_token_ids)
        params: dict[str, Any] = {
            "model": self._info.name,
            "stream": True,
            "stream_options": {"include_usage": True},
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "max_tokens": request.max_new_tokens,
            "extra_body": extra or None,
        }
        if sampling.seed is not None:
            params["seed"] = sampling.seed
        if request.stop_strings:
            params["stop"] = list(request.stop_strings)
        if request.prompt is not None:
            return client.completions.create(prompt=request.prompt, **params)
        return client.chat.completions.create(messages=[asdict(m) for m in request.messages], **params)

    @staticmethod
    def _finished(
        reader: _ChunkReader, started: float, first_at: float | None, reason: FinishReason, error: str | None = None
    ) -> Finished:
        now = time.perf_counter()
        usage = reader.usage
        stats = GenerationStats(
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            generated_tokens=int(getattr(usage, "completion_tokens", 0) or reader.tokens),
            ttft_s=(first_at or now) - started,
            total_s=now - started,
        )
        return Finished(reason, "".join(reader.parts), stats, error=error)

    def _tokenize(self, text: str) -> int | None:
        import openai

        client = self._servers[0].client
        root = str(client.base_url).rstrip("/").removesuffix("/v1")
        try:
            answer = client.post(f"{root}/tokenize", body={"model": self._info.name, "prompt": text}, cast_to=object)
        except openai.NotFoundError:  # no such route on this server: stop asking
            self._tokenize_endpoint = False
            return None
        except (openai.APIError, OSError):  # this text (too large) or this moment: estimate this once
            return None
        count = answer.get("count") if isinstance(answer, dict) else None
        if not isinstance(count, int):
            self._tokenize_endpoint = False
        return count if isinstance(count, int) else None
