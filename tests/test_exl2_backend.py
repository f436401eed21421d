"""The exl2 backend's logic against a fake exllamav2 (tests/fake_exllamav2).

The fake follows exllamav2 0.3.2's documented protocol: `iterate()` result dicts (stages
started / prefill / streaming, eos reasons, timing and cache fields), `enqueue` sizing
asserts, `cancel`, the sampler's non-neutral defaults, the generator's constructor checks.
Tokens come from the demo model's real tokenizer. The real library on a GPU is covered by
scripts/gpu_check.sh, which checks exl2's greedy tokens against the transformers backend.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from vibecli.engine.backend import LoadOptions
from vibecli.engine.types import Finished, GenerationRequest, Message, Sampling, TextDelta
from vibecli.errors import EngineError
from vibecli.paths import demo_model_dir

FAKE = Path(__file__).parent / "fake_exllamav2"
QUESTION = (Message("user", "What is 48 + 37?"),)


@pytest.fixture
def exl2(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The fake library importable, and torch told that a Turing GPU (sm 7.5) is present."""
    monkeypatch.syspath_prepend(str(FAKE))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a: (7, 5))
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: "Fake RTX 2070 Super")
    monkeypatch.setattr("vibecli.engine.exl2_runtime.extension_built", lambda: False)
    yield
    for name in [m for m in sys.modules if m == "exllamav2" or m.startswith("exllamav2.")]:
        del sys.modules[name]


def _load(**options: Any) -> Any:
    from vibecli.engine.exl2_backend import load

    settings = {"path": demo_model_dir(), "name": "demo", "format": "fp32", "max_new_tokens": 2048, **options}
    return load(LoadOptions(**settings))


def _request(max_new_tokens: int = 200, **extra: Any) -> GenerationRequest:
    return GenerationRequest(messages=QUESTION, sampling=Sampling(temperature=0), max_new_tokens=max_new_tokens,
                             **extra)  # fmt: skip


def test_loading_keeps_stdout_clean_and_sizes_the_cache(exl2: Any, capfd: pytest.CaptureFixture[str]) -> None:
    backend = _load(cache="q4")
    out, err = capfd.readouterr()
    assert out == ""  # the library's "Loading exllamav2_ext extension (JIT)..." went to stderr
    assert "Loading exllamav2_ext" in err and "compiles ExLlamaV2's CUDA kernels" in err
    parts = backend._parts
    assert parts.model.config.compat  # arch_compat_overrides() ran
    assert type(parts.cache).__name__ == "ExLlamaV2Cache_Q4" and parts.cache.lazy
    assert parts.cache.max_seq_len == 1024  # the model's own length: less than --max-tokens plus a prompt
    assert parts.generator.paged is False and parts.generator.max_batch_size == 1  # sm 7.5: unpaged
    assert backend.info.notes and "one job at a time" in backend.info.notes[0]
    assert backend.info.device == "Fake RTX 2070 Super"


def test_paged_mode_on_ampere_with_flash_attn(exl2: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a: (8, 6))
    import exllamav2.attn

    monkeypatch.setattr(exllamav2.attn, "has_flash_attn_with_paged", True)
    backend = _load(context=4096)
    assert backend._parts.generator.paged and backend.info.notes == ()
    assert backend._parts.cache.max_seq_len == 4 * 4096  # room for several full-length jobs at once


def test_insufficient_vram_becomes_advice(exl2: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import exllamav2

    monkeypatch.setattr(exllamav2, "VRAM_TOKENS", 512)
    with pytest.raises(EngineError, match=r"not enough GPU memory .* try --cache q4"):
        _load()


def test_jobs_use_the_model_template_stop_ids_and_explicit_sampling(exl2: Any) -> None:
    from transformers import AutoTokenizer

    backend = _load()
    request = GenerationRequest(messages=QUESTION, sampling=Sampling(temperature=0.6, top_p=0.95, seed=3),
                                max_new_tokens=200, stop_strings=("###",), stop_token_ids=(7,))  # fmt: skip
    job = backend.build_job(0, request)
    tokenizer = AutoTokenizer.from_pretrained(demo_model_dir())
    text = tokenizer.apply_chat_template([{"role": "user", "content": QUESTION[0].content}],
                                         add_generation_prompt=True, tokenize=False)  # fmt: skip
    assert job.input_ids[0].tolist() == tokenizer(text, add_special_tokens=False)["input_ids"]  # as transformers
    eos = json.loads((demo_model_dir() / "generation_config.json").read_text())["eos_token_id"]
    ids = {tokenizer.convert_tokens_to_ids(t) for t in ("<|im_end|>", "<|endoftext|>")}
    ids |= set(eos if isinstance(eos, list) else [eos])
    assert set(job.stop_conditions) == ids | {7, "###"}
    settings = job.gen_settings
    assert (settings.temperature, settings.top_p, settings.top_k, settings.min_p) == (0.6, 0.95, 0, 0.0)
    assert settings.token_repetition_penalty == 1.0  # the library's default is 1.025
    assert (settings.dry_multiplier, settings.xtc_probability, settings.mirostat) == (0.0, 0.0, False)
    assert job.seed == 3 and job.decode_special_tokens and job.identifier == 0
    greedy = backend.build_job(1, _request()).gen_settings
    assert (greedy.top_k, greedy.top_p, greedy.token_repetition_penalty) == (1, 0.0, 1.0)


def test_a_stream_translates_results_into_deltas_and_one_finished(exl2: Any) -> None:
    backend = _load()
    items = list(backend.stream(_request()))
    deltas, finished = [i for i in items if isinstance(i, TextDelta)], items[-1]
    assert isinstance(finished, Finished) and finished.reason == "stop"
    assert (
        finished.text
        == "".join(d.text for d in deltas)
        == "<think>\nadd the units, then the tens\n</think>\n\\boxed{85}"
    )
    assert [d.generated_tokens for d in deltas] == sorted(d.generated_tokens for d in deltas)
    prompt = backend.chat_prompt(QUESTION)
    assert finished.stats.prompt_tokens == backend.count_tokens(prompt)
    assert finished.stats.generated_tokens == deltas[-1].generated_tokens + 1  # plus the stop token
    assert backend._parts.generator.num_remaining_jobs() == 0


def test_length_and_stop_strings(exl2: Any) -> None:
    backend = _load()
    cut = list(backend.stream(_request(max_new_tokens=5)))[-1]
    assert isinstance(cut, Finished) and cut.reason == "length" and cut.stats.generated_tokens == 5
    stopped = list(backend.stream(_request(stop_strings=("then",))))[-1]
    assert isinstance(stopped, Finished) and stopped.reason == "stop"
    assert stopped.text == "<think>\nadd the units, "


def test_a_request_too_long_for_the_context_is_refused_before_enqueueing(exl2: Any) -> None:
    backend = _load(context=512)
    with pytest.raises(EngineError, match=r"plus --max-tokens \(1000\) needs .* context is 512: raise --ctx"):
        list(backend.stream(_request(max_new_tokens=1000)))
    assert backend._parts.generator.job_serial == 0  # nothing reached the generator


def test_cancel_stops_the_job_between_iterations(exl2: Any) -> None:
    backend, cancel = _load(context=2048), threading.Event()
    items = []
    for item in backend.stream(_request(max_new_tokens=1500), cancel=cancel):  # "." for ever after the script
        items.append(item)
        if len(items) == 3:
            cancel.set()
    finished = items[-1]
    assert isinstance(finished, Finished) and finished.reason == "cancelled" and len(items) == 4
    generator = backend._parts.generator
    assert len(generator.cancelled) == 1 and generator.num_remaining_jobs() == 0


def test_run_many_finishes_every_request_once(exl2: Any) -> None:
    backend = _load()
    requests = [GenerationRequest(messages=QUESTION, sampling=Sampling(seed=k), max_new_tokens=100,
                                  request_id=f"0#{k}") for k in range(3)]  # fmt: skip
    done = list(backend.run_many(requests))
    assert sorted(c.request_id for c in done) == ["0#0", "0#1", "0#2"]
    assert all(c.finished.reason == "stop" for c in done)


def test_a_continuation_reuses_the_cached_prefix(exl2: Any) -> None:
    backend = _load()
    long_problem = (Message("user", "Consider the sequence " + "1, 2, 3, " * 60 + "what comes next?"),)
    first = list(backend.stream(GenerationRequest(messages=long_problem, max_new_tokens=100)))[-1]
    prompt = backend.chat_prompt(long_problem) + "<think>\nadd the units, then"
    second = list(backend.stream(GenerationRequest(prompt=prompt + "\n</think>\n", max_new_tokens=100)))[-1]
    assert isinstance(first, Finished) and isinstance(second, Finished)
    assert first.stats.cached_tokens == 0 and second.stats.cached_tokens >= 512


def test_import_failures_are_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vibecli.engine.exl2_runtime import import_exllamav2

    broken = tmp_path / "exllamav2"
    broken.mkdir()
    (broken / "__init__.py").write_text("raise OSError('CUDA_HOME environment variable is not set')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr("vibecli.engine.exl2_runtime.extension_built", lambda: True)
    with pytest.raises(EngineError, match="needs the CUDA toolkit"):
        import_exllamav2()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(EngineError, match=r"needs an NVIDIA GPU with CUDA.*CPU-only build"):
        import_exllamav2()


@pytest.mark.parametrize("fake_installed", [False, True])
def test_backend_exl2_on_this_machine_is_one_line_and_exit_3(fake_installed: bool) -> None:
    env = {"PYTHONPATH": str(FAKE)} if fake_installed else {}
    import os

    result = subprocess.run([sys.executable, "-m", "vibecli", "solve", "--backend", "exl2", "--model", "demo", "1+1"],
                            capture_output=True, text=True, env={**os.environ, **env}, timeout=120)  # fmt: skip
    assert result.returncode == 3 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert ("needs an NVIDIA GPU" if fake_installed else "pip install 'vibecli[exl2]'") in lines[0]
