"""The OpenAI-compatible wire format: request bodies checked into engine requests, and the
response and stream-chunk shapes that OpenAI clients (and vLLM's) expect.

Every check failure is an `ApiError`, which the app turns into a 4xx with a JSON error body.
Unknown fields are ignored, as OpenAI-compatible servers do.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from vibecli.engine.types import FinishReason, GenerationRequest, GenerationStats, Message, Role, Sampling

T = TypeVar("T")
ROLES: dict[str, Role] = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}
WIRE_FINISH: dict[FinishReason, str] = {"stop": "stop", "length": "length", "cancelled": "abort"}


class ApiError(Exception):
    """A request the server refuses, with the HTTP status and OpenAI's error fields."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        kind: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.kind, self.param, self.code = status, message, kind, param, code

    def body(self) -> dict[str, Any]:
        # OpenAI's `code` is a string naming the error (e.g. "context_length_exceeded") or null.
        return {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}}


def context_error(context: int, prompt_tokens: int, completion_tokens: int, *, exact: bool, chat: bool) -> ApiError:
    """OpenAI's refusal of a request over the context, with its wording (clients match on it)."""
    where = "messages" if chat else "prompt"
    if exact:
        asked = (f"you requested {prompt_tokens + completion_tokens} tokens ({prompt_tokens} in the {where}, "
                 f"{completion_tokens} in the completion)")  # fmt: skip
    else:  # counting stopped once the prompt was known to be over the context
        asked = f"your {where} resulted in more than {prompt_tokens} tokens"
    message = (f"This model's maximum context length is {context} tokens. However, {asked}. "
               f"Please reduce the length of the {where} or completion.")  # fmt: skip
    return ApiError(400, message, param=where, code="context_length_exceeded")


@dataclass(frozen=True)
class Limits:
    """What this server allows and assumes when a request leaves a setting out."""

    max_tokens: int = 40960
    temperature: float = 1.0  # VibeThinker's math setting, as its model card recommends
    top_p: float = 0.95
    max_n: int = 16  # choices one request may ask for
    top_k: int = 0  # off


@dataclass(frozen=True)
class GenerateCall:
    """A checked `/v1/chat/completions` or `/v1/completions` body."""

    request: GenerationRequest  # max_new_tokens: the request's max_tokens, or the server's limit
    model: str | None
    stream: bool
    include_usage: bool
    n: int = 1
    max_tokens_given: bool = True  # False: "what fits", settled once the prompt is measured
    chat: bool = True

    def choices(self) -> list[GenerationRequest]:
        """One request per choice, with distinct seeds (consecutive from `seed` when one is given)."""
        if self.n == 1:
            return [self.request]
        base = self.request.sampling.seed
        base = base if base is not None else random.randrange(2**31)
        return [
            dataclasses.replace(self.request, sampling=dataclasses.replace(self.request.sampling, seed=base + k))
            for k in range(self.n)
        ]


def _get(body: dict[str, Any], name: str, kind: type[T] | tuple[type, ...], default: T, what: str) -> T:
    value = body.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) and kind is not bool:
        raise ApiError(400, f"'{name}' must be {what}", param=name)
    if not isinstance(value, kind):
        raise ApiError(400, f"'{name}' must be {what}", param=name)
    return value  # type: ignore[return-value]


def _check(ok: bool, name: str, message: str) -> None:
    if not ok:
        raise ApiError(400, f"'{name}' {message}", param=name)


def _text_content(value: Any, where: str) -> str:
    """Message content: a string, or a list of text parts (images and audio are refused)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        texts = []
        for part in value:
            if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise ApiError(400, f"'{where}' parts must be text parts (this model reads text only)", param=where)
            texts.append(part["text"])
        return "".join(texts)
    raise ApiError(400, f"'{where}' must be a string or a list of text parts", param=where)


def _messages(body: dict[str, Any]) -> tuple[Message, ...]:
    raw = body.get("messages")
    _check(isinstance(raw, list) and bool(raw), "messages", "must be a non-empty list of messages")
    messages = []
    for index, item in enumerate(raw):  # type: ignore[arg-type]
        where = f"messages[{index}]"
        _check(isinstance(item, dict), where, "must be an object with role and content")
        role = ROLES.get(item.get("role"))
        _check(role is not None, f"{where}.role", f"must be one of {', '.join(ROLES)}")
        messages.append(Message(role, _text_content(item.get("content"), f"{where}.content")))  # type: ignore[arg-type]
    return tuple(messages)


def _sampling(body: dict[str, Any], limits: Limits) -> tuple[Sampling, int | None]:
    temperature = float(_get(body, "temperature", (int, float), limits.temperature, "a number"))
    _check(0 <= temperature <= 2, "temperature", "must be between 0 and 2")
    top_p = float(_get(body, "top_p", (int, float), limits.top_p, "a number"))
    _check(0 < top_p <= 1, "top_p", "must be in (0, 1]")
    top_k = _get(body, "top_k", int, limits.top_k, "a whole number")
    _check(top_k >= -1, "top_k", "must be -1 or 0 (off) or positive")
    seed = body.get("seed")
    _check(seed is None or (isinstance(seed, int) and not isinstance(seed, bool)), "seed", "must be a whole number")
    name = "max_completion_tokens" if body.get("max_completion_tokens") is not None else "max_tokens"
    max_tokens: int | None = _get(body, name, int, None, "a whole number")
    if max_tokens is not None:
        _check(1 <= max_tokens <= limits.max_tokens, name, f"must be between 1 and {limits.max_tokens} on this server")
    return Sampling(temperature=temperature, top_p=top_p, top_k=max(top_k, 0), seed=seed), max_tokens


def _stops(body: dict[str, Any]) -> tuple[tuple[str, ...], tuple[int, ...]]:
    stop = body.get("stop")
    if isinstance(stop, str):
        stop = [stop]
    _check(stop is None or (isinstance(stop, list) and all(isinstance(s, str) for s in stop)), "stop",
           "must be a string or a list of strings")  # fmt: skip
    ids = body.get("stop_token_ids") or []
    _check(isinstance(ids, list) and all(isinstance(i, int) and not isinstance(i, bool) for i in ids),
           "stop_token_ids", "must be a list of token ids")  # fmt: skip
    return tuple(s for s in stop or [] if s), tuple(ids)


def _generate_call(
    body: Any, limits: Limits, prompt_of: Callable[[dict[str, Any]], dict[str, Any]], *, chat: bool
) -> GenerateCall:
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    sampling, max_tokens = _sampling(body, limits)
    n = _get(body, "n", int, 1, "a whole number")
    _check(1 <= n <= limits.max_n, "n", f"must be between 1 and {limits.max_n} on this server")
    stop_strings, stop_ids = _stops(body)
    options = _get(body, "stream_options", dict, {}, "an object")
    request = GenerationRequest(
        **prompt_of(body),
        sampling=sampling,
        max_new_tokens=max_tokens or limits.max_tokens,
        stop_strings=stop_strings,
        stop_token_ids=stop_ids,
    )
    return GenerateCall(
        request=request,
        model=_get(body, "model", str, "", "a string") or None,
        stream=_get(body, "stream", bool, False, "true or false"),
        include_usage=bool(options.get("include_usage")),
        n=n,
        max_tokens_given=max_tokens is not None,
        chat=chat,
    )


def parse_chat(body: Any, limits: Limits) -> GenerateCall:
    """Check a `/v1/chat/completions` body."""
    return _generate_call(body, limits, lambda b: {"messages": _messages(b)}, chat=True)


def parse_completion(body: Any, limits: Limits) -> GenerateCall:
    """Check a `/v1/completions` body (one prompt string)."""

    def prompt(b: dict[str, Any]) -> dict[str, Any]:
        text = b.get("prompt")
        if isinstance(text, list) and len(text) == 1:
            text = text[0]
        _check(isinstance(text, str) and bool(text), "prompt", "must be a non-empty string")
        return {"prompt": text}

    return _generate_call(body, limits, prompt, chat=False)


def usage(stats: Sequence[GenerationStats]) -> dict[str, int]:
    """Token counts of a request: its prompt once, the completions of all its choices."""
    prompt = max((s.prompt_tokens for s in stats), default=0)
    completion = sum(s.generated_tokens for s in stats)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def chat_chunk(
    call_id: str, created: int, model: str, delta: dict[str, str], finish: str | None = None, index: int = 0
) -> dict[str, Any]:
    return {
        "id": call_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": index, "delta": delta, "finish_reason": finish, "logprobs": None}],
    }


def text_chunk(
    call_id: str, created: int, model: str, text: str, finish: str | None = None, index: int = 0
) -> dict[str, Any]:
    return {
        "id": call_id,
        "object": "text_completion",
        "created": created,
        "model": model,
        "choices": [{"index": index, "text": text, "finish_reason": finish, "logprobs": None}],
    }


def usage_chunk(call_id: str, created: int, model: str, obj: str, stats: Sequence[GenerationStats]) -> dict[str, Any]:
    return {"id": call_id, "object": obj, "created": created, "model": model, "choices": [], "usage": usage(stats)}
