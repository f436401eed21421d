"""The `Backend` protocol and a lazy registry of implementations.

A backend module is imported only when its backend is used, so `vibe --help` never pays
for torch or exllamav2.
"""

from __future__ import annotations

import importlib
import importlib.util
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, cast

from vibecli.engine.types import Completion, Finished, GenerationRequest, Message, ModelInfo, StreamItem
from vibecli.errors import EngineError


class BatchSession(Protocol):
    """A running batch that admits requests between steps: continuous batching.

    The caller owns the loop: it may `add` a request at any time between steps, and calls
    `step` while `active` is non-zero. Each added request comes back through `step` as its
    `TextDelta`s and then exactly one `Finished`, tagged with the handle `add` returned. A
    finished request leaves the batch at once, freeing its row for the next `add`. Setting a
    request's `cancel` ends it with reason "cancelled" within one step. One step is one decode
    step for every running row, or one bounded chunk of a long prefill, so a step never blocks
    admissions or cancellation for long.
    """

    @property
    def capacity(self) -> int:
        """Rows that can run at once; `add` beyond it waits inside the session."""
        ...

    @property
    def active(self) -> int:
        """Requests added and not yet finished (running or waiting for a row)."""
        ...

    def add(self, request: GenerationRequest, cancel: threading.Event | None = None) -> int:
        """Admit `request`; returns its handle."""
        ...

    def step(self) -> list[tuple[int, StreamItem]]:
        """Advance the batch once; returns what each handle produced, in order."""
        ...

    def close(self) -> None:
        """Cancel what is left and free the batch's memory."""
        ...


class Backend(Protocol):
    """A loaded model that can stream and batch generations."""

    @property
    def info(self) -> ModelInfo: ...

    def chat_prompt(self, messages: Sequence[Message]) -> str:
        """Render `messages` with the model's own chat template, ready for generation."""
        ...

    def count_tokens(self, text: str) -> int: ...

    def stream(self, request: GenerationRequest, *, cancel: threading.Event | None = None) -> Iterator[StreamItem]:
        """Yield `TextDelta`s as tokens arrive, then exactly one `Finished`."""
        ...

    def stream_batch(
        self, requests: Sequence[GenerationRequest], *, cancels: Sequence[threading.Event | None]
    ) -> Iterator[tuple[int, StreamItem]]:
        """Run `requests` together, yielding `(index, item)` as tokens arrive; each index ends with
        one `Finished`. Setting `cancels[i]` stops request i alone."""
        ...

    def run_many(
        self,
        requests: Sequence[GenerationRequest],
        *,
        cancel: threading.Event | None = None,
        max_batch: int = 8,
    ) -> Iterator[Completion]:
        """Run `requests` concurrently, yielding each as it finishes (not in order)."""
        ...

    def open_batch(self, max_rows: int) -> BatchSession:
        """A continuous batch of at most `max_rows` running requests (see `BatchSession`)."""
        ...

    def close(self) -> None: ...


def drain(session: BatchSession) -> Iterator[tuple[int, StreamItem]]:
    """Step `session` until every request added to it has finished."""
    while session.active:
        yield from session.step()


def stream_in_batch(
    backend: Backend, requests: Sequence[GenerationRequest], cancels: Sequence[threading.Event | None]
) -> Iterator[tuple[int, StreamItem]]:
    """`Backend.stream_batch` through the backend's continuous batch."""
    session = backend.open_batch(len(requests))
    try:
        index = {session.add(r, c): i for i, (r, c) in enumerate(zip(requests, cancels, strict=True))}
        for handle, item in drain(session):
            yield index[handle], item
    finally:
        session.close()


def run_in_batch(
    backend: Backend, requests: Sequence[GenerationRequest], cancel: threading.Event | None, max_batch: int
) -> Iterator[Completion]:
    """`Backend.run_many` through the backend's continuous batch: a finished request's row goes to
    the next one at once, so the batch stays full until the work runs out."""
    session = backend.open_batch(max_batch)
    try:
        ids = {session.add(request, cancel): request.request_id for request in requests}
        for handle, item in drain(session):
            if isinstance(item, Finished):
                yield Completion(ids[handle], item)
    finally:
        session.close()


@dataclass(frozen=True)
class LoadOptions:
    """How to load: where the model is and on what."""

    path: Path
    name: str
    format: str
    device: str = "auto"  # auto | cpu | cuda | mps
    dtype: str = "auto"  # auto | bf16 | fp16 | fp32
    context: int | None = None  # exl2: tokens per sequence (None: the model's)
    cache: str = "fp16"  # exl2: fp16 | q8 | q6 | q4
    max_new_tokens: int = 40960  # exl2 sizes its cache for a prompt plus this many
    compile: str = "auto"  # transformers: a lone row's static cache and compiled decode (auto: on CUDA)


@dataclass(frozen=True)
class BackendSpec:
    """A registered backend: its loader's dotted path and the package that must be installed."""

    name: str
    loader: str  # "module:function", taking LoadOptions and returning a Backend
    requires: str  # top-level module that must be importable
    install_hint: str
    formats: frozenset[str]


BACKENDS: dict[str, BackendSpec] = {
    "transformers": BackendSpec(
        name="transformers",
        loader="vibecli.engine.transformers_backend:load",
        requires="transformers",
        install_hint="pip install 'vibecli[cpu]'",
        formats=frozenset({"bf16", "fp16", "fp32"}),
    ),
    "exl2": BackendSpec(
        name="exl2",
        loader="vibecli.engine.exl2_backend:load",
        requires="exllamav2",
        install_hint="pip install 'vibecli[exl2]' (NVIDIA GPU, CUDA torch)",
        # ExLlamaV2 also loads GPTQ and unquantized directories (cast to fp16).
        formats=frozenset({"exl2", "gptq", "bf16", "fp16", "fp32"}),
    ),
}


def is_installed(spec: BackendSpec) -> bool:
    """Whether the backend's library can be imported, without importing it."""
    return importlib.util.find_spec(spec.requires) is not None


def choose_backend(requested: str, model_format: str) -> BackendSpec:
    """Pick the backend for `model_format`: the requested one, or with `auto` the first that fits."""
    if requested != "auto":
        spec = BACKENDS.get(requested)
        if spec is None:
            raise EngineError(f"unknown backend '{requested}' (available: auto, {', '.join(BACKENDS)})")
        if model_format not in spec.formats:
            raise EngineError(f"the {requested} backend cannot run {model_format.upper()} checkpoints")
        if not is_installed(spec):
            raise EngineError(f"the {requested} backend is not installed: {spec.install_hint}")
        return spec
    fitting = [spec for spec in BACKENDS.values() if model_format in spec.formats]
    if not fitting:
        raise EngineError(f"no backend in this version of vibe can run {model_format.upper()} checkpoints yet")
    for spec in fitting:
        if is_installed(spec):
            return spec
    raise EngineError(
        f"{model_format.upper()} checkpoints need the {fitting[0].name} backend: {fitting[0].install_hint}"
    )


def load_backend(spec: BackendSpec, options: LoadOptions) -> Backend:
    """Import the backend's module and load the model."""
    module_name, _, func_name = spec.loader.partition(":")
    loader = cast(Callable[[LoadOptions], Backend], getattr(importlib.import_module(module_name), func_name))
    return loader(options)
