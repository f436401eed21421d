"""A lone row's static cache and compiled decode step (transformers' own fast path, on by default
on CUDA): it writes exactly what the growing cache writes, hands its cache on when another row
joins, and gives the cache back however it ends.

The compiled forward is traced here with torch.compile's "eager" backend and `fullgraph=True`:
dynamo must capture the whole decode step over the static cache in one graph (a graph break
raises), without paying inductor's C++ build on every CI run. Inductor and CUDA graphs on a real
GPU are covered by step `transformers_compile` of scripts/gpu_check.sh, which also times them."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from test_continuous_batching import GREEDY, alone, request

from vibecli.engine.transformers_static import CACHE_STEP, StaticDecoding, cache_size
from vibecli.engine.types import Finished, Sampling

PROBLEMS = ["What is 1 + 2?", "Compute 123 * 45 please, carefully.", "Solve for x: 2x = 8.", "Name a prime."]


@pytest.fixture(scope="module")
def static_backends(tiny_model_dir: Any) -> dict[str, Any]:
    """The tiny model three times: growing cache only, static cache eager, static cache compiled."""
    from transformers import CompileConfig

    from vibecli.engine.backend import LoadOptions
    from vibecli.engine.transformers_backend import load

    options = LoadOptions(path=tiny_model_dir, name="tiny", format="fp32", device="cpu", compile="off")
    backends = {name: load(options) for name in ("dynamic", "static", "compiled")}
    backends["static"]._static = StaticDecoding(backends["static"]._model, None)
    traced = CompileConfig(fullgraph=True, backend="eager", mode=None)
    backends["compiled"]._static = StaticDecoding(backends["compiled"]._model, traced)
    return backends


@pytest.mark.parametrize("kind", ["static", "compiled"])
def test_a_lone_row_writes_what_the_growing_cache_writes(static_backends: dict[str, Any], kind: str) -> None:
    backend = static_backends[kind]
    for problem in PROBLEMS:
        for sampling in (GREEDY, Sampling(temperature=1.0, top_p=0.9, seed=5)):
            expected = alone(static_backends["dynamic"], request(problem, sampling=sampling))
            got = alone(backend, request(problem, sampling=sampling))
            assert (got.text, got.reason, got.stats.generated_tokens) == (
                expected.text, expected.reason, expected.stats.generated_tokens)  # fmt: skip
    assert backend._static._cache is not None, "the row ran in the static cache"
    assert not backend._static._in_use.locked(), "every row gave the cache back"
    if kind == "compiled":
        from torch._dynamo.utils import counters

        assert counters["stats"]["unique_graphs"] >= 1, "dynamo captured the decode step"


def test_the_static_cache_is_reused_for_rows_of_the_same_size(static_backends: dict[str, Any]) -> None:
    backend = static_backends["static"]
    alone(backend, request(PROBLEMS[0]))
    first = backend._static._cache
    alone(backend, request(PROBLEMS[1], max_new_tokens=30))
    assert backend._static._cache is first, "same size: the same tensors (CUDA graphs keep their addresses)"


@pytest.mark.parametrize("kind", ["static", "compiled"])
def test_rows_joining_a_static_row_move_it_to_the_shared_cache(static_backends: dict[str, Any], kind: str) -> None:
    backend = static_backends[kind]
    reqs = [request(p, max_new_tokens=20 + 5 * i) for i, p in enumerate(PROBLEMS)]
    expected = {r.request_id: alone(static_backends["dynamic"], r).text for r in reqs}
    session = backend.open_batch(4)
    handles = {session.add(reqs[0]): reqs[0].request_id}
    got: dict[str, str] = {}
    for step in range(500):
        if step == 3:
            assert session._static is not None, "the lone first row decodes in the static cache"
            handles.update({session.add(r): r.request_id for r in reqs[1:]})
        got.update((handles[h], i.text) for h, i in session.step() if isinstance(i, Finished))
        if step > 3 and not session.active:
            break
    assert got == expected
    assert session._static is None and not backend._static._in_use.locked()


def test_a_second_batch_meanwhile_uses_the_growing_cache(static_backends: dict[str, Any]) -> None:
    backend = static_backends["static"]
    first, second = backend.open_batch(1), backend.open_batch(1)
    first.add(request(PROBLEMS[0], max_new_tokens=30))
    first.step()
    assert first._static is not None
    expected = alone(static_backends["dynamic"], request(PROBLEMS[1])).text
    second.add(request(PROBLEMS[1]))
    texts = []
    while second.active:
        texts += [i.text for _, i in second.step() if isinstance(i, Finished)]
        assert second._static is None, "the static cache is held by the first batch"
    assert texts == [expected]
    first.close()
    assert not backend._static._in_use.locked(), "closing a batch mid-row gives the cache back"


def test_a_cancelled_static_row_gives_the_cache_back(static_backends: dict[str, Any]) -> None:
    backend = static_backends["static"]
    cancel = threading.Event()
    items = []
    for item in backend.stream(request(PROBLEMS[2], max_new_tokens=200), cancel=cancel):
        items.append(item)
        cancel.set()
    assert isinstance(items[-1], Finished) and items[-1].reason == "cancelled"
    assert not backend._static._in_use.locked()


def test_cache_sizes_come_in_steps_within_the_context() -> None:
    assert cache_size(1, None) == CACHE_STEP
    assert cache_size(CACHE_STEP, None) == CACHE_STEP
    assert cache_size(CACHE_STEP + 1, None) == 2 * CACHE_STEP
    assert cache_size(41_000, 131_072) == 11 * CACHE_STEP
    assert cache_size(5000, 4500) == 4500


def test_compile_setting_decides_whether_a_backend_decodes_statically(tiny_model_dir: Any) -> None:
    from vibecli.engine.backend import LoadOptions
    from vibecli.engine.transformers_backend import load

    def backend(setting: str) -> Any:
        return load(LoadOptions(path=tiny_model_dir, name="tiny", format="fp32", device="cpu", compile=setting))

    assert backend("auto")._static is None, "on CPU compiling costs more than it gives: off unless asked"
    assert backend("off")._static is None
    on = backend("on")
    assert on._static is not None and on._static.compiled
    assert "static cache, compiled decode" in on.info.notes


def test_compile_is_a_checked_setting(tmp_path: Any) -> None:
    from vibecli.config import load_config
    from vibecli.errors import ConfigError

    assert load_config(tmp_path / "none.yaml", env={"VIBE_COMPILE": "off"}).compile == "off"
    with pytest.raises(ConfigError, match="VIBE_COMPILE must be one of auto, on, off"):
        load_config(tmp_path / "none.yaml", env={"VIBE_COMPILE": "yes"})


def test_a_compile_that_fails_falls_back_to_the_uncompiled_step(
    tiny_model_dir: Any, static_backends: dict[str, Any]
) -> None:
    from transformers import CompileConfig

    from vibecli.engine.backend import LoadOptions
    from vibecli.engine.transformers_backend import load

    def broken(graph: Any, inputs: Any) -> Any:  # a torch.compile backend, as one failing on an untried GPU
        raise RuntimeError("no kernel for this device")

    backend = load(LoadOptions(path=tiny_model_dir, name="tiny", format="fp32", device="cpu", compile="off"))
    backend._static = StaticDecoding(backend._model, CompileConfig(fullgraph=True, backend=broken, mode=None))
    expected = alone(static_backends["dynamic"], request(PROBLEMS[1]))
    assert alone(backend, request(PROBLEMS[1])).text == expected.text
    assert alone(backend, request(PROBLEMS[2])).text == alone(static_backends["dynamic"], request(PROBLEMS[2])).text
    assert any("compiling failed, uncompiled" in note and "no kernel" in note for note in backend.info.notes)
