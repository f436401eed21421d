"""The exl2 backend's logic against a fake exllamav2 (tests/fake_exllamav2).

The fake follows exllamav2 0.3.2's documented protocol: `iterate()` result dicts (stages
started / prefill / streaming, eos reasons, timing and cache fields), `enqueue` sizing
asserts, `cancel`, the sampler's non-neutral defaults, the generator's constructor checks.
Tokens come from the demo model's real tokenizer. The real library on a GPU is covered by
scripts/gpu_check.sh, which checks exl2's greedy tokens against the transformers backend.
"""

from __future__ import annotations

import json
import os
import shutil
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
def exl2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """The fake library importable, torch told that a Turing GPU (sm 7.5) is present, and a model
    of the demo's vocabulary with head_dim 32 (the smallest that ExLlamaV2's Q caches take)."""
    monkeypatch.syspath_prepend(str(FAKE))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a: (7, 5))
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: "Fake RTX 2070 Super")
    monkeypatch.setattr("vibecli.engine.exl2_runtime.extension_built", lambda: False)
    yield _model_dir(tmp_path / "head32", hidden_size=128, intermediate_size=384)
    for name in [m for m in sys.modules if m == "exllamav2" or m.startswith("exllamav2.")]:
        del sys.modules[name]


def _load(model: Path, **options: Any) -> Any:
    from vibecli.engine.exl2_backend import load

    settings = {"path": model, "name": "demo", "format": "fp32", "max_new_tokens": 2048, **options}
    return load(LoadOptions(**settings))


def _model_dir(target: Path, **config: Any) -> Path:
    """The demo model's files with `config` merged into config.json (the fake reads no weights)."""
    target.mkdir()
    for file in demo_model_dir().iterdir():
        if file.is_file() and file.suffix != ".safetensors":
            shutil.copy(file, target / file.name)
    merged = {**json.loads((target / "config.json").read_text()), **config}
    (target / "config.json").write_text(json.dumps({k: v for k, v in merged.items() if v is not None}))
    return target


def _request(max_new_tokens: int = 200, **extra: Any) -> GenerationRequest:
    return GenerationRequest(messages=QUESTION, sampling=Sampling(temperature=0), max_new_tokens=max_new_tokens,
                             **extra)  # fmt: skip


def test_loading_keeps_stdout_clean_and_sizes_the_cache(exl2: Path, capfd: pytest.CaptureFixture[str]) -> None:
    backend = _load(exl2, cache="q8")
    out, err = capfd.readouterr()
    assert out == ""  # the library's "Loading exllamav2_ext extension (JIT)..." went to stderr
    assert "Loading exllamav2_ext" in err and "compiles ExLlamaV2's CUDA kernels" in err
    parts = backend._parts
    assert type(parts.cache).__name__ == "ExLlamaV2Cache_Q8" and parts.cache.lazy
    assert parts.cache.max_seq_len == 1024  # the model's own length: less than --max-tokens plus a prompt
    assert backend.info.context_length == 1024
    assert parts.generator.paged is False and parts.generator.max_batch_size == 1  # sm 7.5: unpaged
    assert backend.info.notes and "one job at a time" in backend.info.notes[0]
    assert backend.info.device == "Fake RTX 2070 Super"


def test_paged_mode_on_ampere_with_flash_attn(exl2: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a: (8, 6))
    import exllamav2.attn

    monkeypatch.setattr(exllamav2.attn, "has_flash_attn_with_paged", True)
    backend = _load(exl2, context=4096)
    assert backend._parts.generator.paged and backend.info.notes == ()
    assert backend._parts.cache.max_seq_len == 4 * 4096  # room for several full-length jobs at once


def test_insufficient_vram_becomes_advice(exl2: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import exllamav2

    monkeypatch.setattr(exllamav2, "VRAM_TOKENS", 512)
    with pytest.raises(EngineError, match=r"not enough GPU memory .* try --cache q4"):
        _load(exl2)


def test_jobs_use_the_model_template_stop_ids_and_explicit_sampling(exl2: Path) -> None:
    from transformers import AutoTokenizer

    backend = _load(exl2)
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


def test_a_stream_translates_results_into_deltas_and_one_finished(exl2: Path) -> None:
    backend = _load(exl2)
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


def test_length_and_stop_strings(exl2: Path) -> None:
    backend = _load(exl2)
    cut = list(backend.stream(_request(max_new_tokens=5)))[-1]
    assert isinstance(cut, Finished) and cut.reason == "length" and cut.stats.generated_tokens == 5
    stopped = list(backend.stream(_request(stop_strings=("then",))))[-1]
    assert isinstance(stopped, Finished) and stopped.reason == "stop"
    assert stopped.text == "<think>\nadd the units, "


def test_a_request_too_long_for_the_context_is_refused_before_enqueueing(exl2: Path) -> None:
    backend = _load(exl2, context=512)
    with pytest.raises(EngineError, match=r"plus --max-tokens \(1000\) needs .* context is 512: raise --ctx"):
        list(backend.stream(_request(max_new_tokens=1000)))
    assert backend._parts.generator.job_serial == 0  # nothing reached the generator


def test_cancel_stops_the_job_between_iterations(exl2: Path) -> None:
    backend, cancel = _load(exl2, context=2048), threading.Event()
    items = []
    for item in backend.stream(_request(max_new_tokens=1500), cancel=cancel):  # "." for ever after the script
        items.append(item)
        if len(items) == 3:
            cancel.set()
    finished = items[-1]
    assert isinstance(finished, Finished) and finished.reason == "cancelled" and len(items) == 4
    generator = backend._parts.generator
    assert len(generator.cancelled) == 1 and generator.num_remaining_jobs() == 0


def test_run_many_finishes_every_request_once(exl2: Path) -> None:
    backend = _load(exl2)
    requests = [GenerationRequest(messages=QUESTION, sampling=Sampling(seed=k), max_new_tokens=100,
                                  request_id=f"0#{k}") for k in range(3)]  # fmt: skip
    done = list(backend.run_many(requests))
    assert sorted(c.request_id for c in done) == ["0#0", "0#1", "0#2"]
    assert all(c.finished.reason == "stop" for c in done)


def test_a_continuation_reuses_the_cached_prefix(exl2: Path) -> None:
    backend = _load(exl2)
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
    result = subprocess.run([sys.executable, "-m", "vibecli", "solve", "--backend", "exl2", "--model", "demo", "1+1"],
                            capture_output=True, text=True, env={**os.environ, **env}, timeout=120)  # fmt: skip
    assert result.returncode == 3 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert ("needs an NVIDIA GPU" if fake_installed else "pip install 'vibecli[exl2]'") in lines[0]


def _script(monkeypatch: pytest.MonkeyPatch, *responses: str | list[int]) -> None:
    """What the fake model writes for jobs 0, 1, … (the last one for every later job)."""
    import exllamav2.generator

    monkeypatch.setattr(exllamav2.generator, "RESPONSE", list(responses))


def test_text_held_back_at_a_stop_token_is_not_lost(exl2: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The generator holds a partial stop string (and an incomplete UTF-8 character) back; on a stop
    token it returns them in result["held"], followed by the stop token's own piece."""
    backend = _load(exl2)
    _script(monkeypatch, "so x = 5 ##<|im_end|>")
    finished = list(backend.stream(_request(stop_strings=("###",))))[-1]
    assert isinstance(finished, Finished) and (finished.reason, finished.text) == ("stop", "so x = 5 ##")
    tokenizer = backend._parts.tokenizer
    e_acute = tokenizer.encode("é", encode_special_tokens=True)[0].tolist()
    assert len(e_acute) == 2  # one byte per token: each alone decodes to U+FFFD
    im_end = tokenizer.single_id("<|im_end|>")
    _script(monkeypatch, [*tokenizer.encode("café", encode_special_tokens=True)[0].tolist(), e_acute[0], im_end])
    items = list(backend.stream(_request()))
    assert [i.text for i in items if isinstance(i, TextDelta)] == ["c", "a", "f", "é", "\ufffd"]
    assert items[-1] == Finished("stop", "café\ufffd", items[-1].stats)  # type: ignore[union-attr]
    assert items[-1].stats.generated_tokens == 7  # type: ignore[union-attr]


def test_a_stop_string_completed_by_the_last_allowed_token_still_stops(
    exl2: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The generator checks max_new_tokens before stop strings: the text then holds the stop string."""
    backend = _load(exl2)
    _script(monkeypatch, "abc###def")
    cut = list(backend.stream(_request(max_new_tokens=6, stop_strings=("###",))))[-1]
    assert isinstance(cut, Finished) and (cut.reason, cut.text) == ("stop", "abc")
    longer = list(backend.stream(_request(max_new_tokens=8, stop_strings=("###",))))[-1]
    assert isinstance(longer, Finished) and (longer.reason, longer.text) == ("stop", "abc")
    short = list(backend.stream(_request(max_new_tokens=5, stop_strings=("###",))))[-1]
    assert isinstance(short, Finished) and (short.reason, short.text) == ("length", "abc##")


def test_paged_mode_falls_back_when_the_architecture_turns_flash_attn_off(
    exl2: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a: (9, 0))
    import exllamav2
    import exllamav2.attn

    monkeypatch.setattr(exllamav2.attn, "has_flash_attn_with_paged", True)
    monkeypatch.setattr(exllamav2, "NO_FLASH_ATTN_ARCHS", {"Qwen2ForCausalLM"})
    capfd.readouterr()  # what importing the fake here printed
    backend = _load(exl2)
    out, err = capfd.readouterr()
    assert out == "" and "flash-attn, xformers and SDPA are disabled" in err  # the library's print, on stderr
    assert backend._parts.generator.paged is False
    assert "turns flash-attn off for this architecture" in backend.info.notes[0]
    assert list(backend.stream(_request()))[-1].reason == "stop"


def _broken_flash_attn(root: Path) -> None:
    """A flash-attn whose compiled half was built for another torch, as pip leaves it after a torch upgrade."""
    package = root / "flash_attn"
    package.mkdir()
    (package / "__init__.py").write_text(
        "__version__ = '2.7.4.post1'\n"
        "raise ImportError('/site-packages/flash_attn_2_cuda.cpython-312-x86_64-linux-gnu.so: undefined symbol: "
        "_ZN3c104cuda9SetDeviceEa', name='flash_attn_2_cuda')\n"
    )


def test_a_flash_attn_built_for_another_torch_is_named(
    exl2: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vibecli.engine.exl2_runtime import import_exllamav2

    _broken_flash_attn(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(EngineError) as caught:
        import_exllamav2()
    message = str(caught.value)
    assert "flash-attn" in message and "EXLLAMA_NO_FLASH_ATTN=1" in message and "exllamav2's compiled" not in message
    monkeypatch.setenv("EXLLAMA_NO_FLASH_ATTN", "1")  # the workaround it gives: exllamav2 then skips flash-attn
    assert import_exllamav2().attn.has_flash_attn is False


def test_rope_settings_only_in_rope_parameters_reach_exllamav2(exl2: Path, tmp_path: Path) -> None:
    """transformers 5 writes rope_parameters; ExLlamaV2 reads rope_theta and would fall back to 10000."""
    theta = {"rope_parameters": {"rope_theta": 1000000.0, "rope_type": "default"}}
    backend = _load(_model_dir(tmp_path / "t5", hidden_size=128, intermediate_size=384, **theta))
    assert backend._parts.model.config.rotary_embedding_base == 1000000.0
    legacy = _load(_model_dir(tmp_path / "t4", hidden_size=128, rope_theta=500000.0, rope_parameters=None))
    assert legacy._parts.model.config.rotary_embedding_base == 500000.0
    yarn = {"rope_parameters": {"rope_theta": 1e6, "rope_type": "yarn", "factor": 4.0,
                                "original_max_position_embeddings": 1024}}  # fmt: skip
    with pytest.raises(EngineError, match=r"RoPE scaling \(yarn\) only in transformers 5's rope_parameters"):
        _load(_model_dir(tmp_path / "yarn", hidden_size=128, **yarn))


def test_quantized_caches_need_a_head_size_multiple_of_32(exl2: Path) -> None:
    with pytest.raises(EngineError, match=r"--cache q4 needs a head size .* multiple of 32.* 24: use --cache fp16"):
        _load(demo_model_dir(), cache="q4")
    # What vibe prevents: the library builds a Q cache with no scale groups for head_dim 24.
    import exllamav2
    from exllamav2.generator import ExLlamaV2DynamicGenerator, ExLlamaV2DynamicJob

    config = exllamav2.ExLlamaV2Config(str(demo_model_dir()))
    model = exllamav2.ExLlamaV2(config)
    cache = exllamav2.ExLlamaV2Cache_Q4(model, max_seq_len=1024, lazy=True)
    assert cache.shape_s[-1] == 0
    generator = ExLlamaV2DynamicGenerator(model, cache, exllamav2.ExLlamaV2Tokenizer(config), paged=False,
                                          max_batch_size=1)  # fmt: skip
    generator.enqueue(ExLlamaV2DynamicJob(input_ids=torch.tensor([[1, 2, 3]]), max_new_tokens=4))
    with pytest.raises(RuntimeError, match="no scale groups"):
        generator.iterate()
    for kind in ("q4", "q6", "q8"):
        assert _load(exl2, cache=kind)._parts.cache.shape_s[-1] == 1  # head_dim 32: one scale group


def _paged(monkeypatch: pytest.MonkeyPatch) -> None:
    import exllamav2.attn

    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a: (9, 0))
    monkeypatch.setattr(exllamav2.attn, "has_flash_attn_with_paged", True)


def test_a_request_added_mid_batch_starts_at_the_next_step(exl2: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The dynamic generator takes jobs between iterate() calls; a new job is started, prefilled and
    sampled in one call, and the running jobs keep producing a token at every call."""
    _paged(monkeypatch)
    _script(monkeypatch, "long" + "." * 300, "short answer<|im_end|>")
    backend = _load(exl2, context=1024)
    session = backend.open_batch(4)
    long = session.add(_request(max_new_tokens=300))
    steps = [session.step() for _ in range(5)]
    assert all(any(h == long for h, _ in step) for step in steps[1:])
    short = session.add(_request(max_new_tokens=50))
    assert session.active == 2
    step = session.step()
    assert {h for h, _ in step} == {long, short}  # the short one's first token, and the long one's next
    done: dict[int, Finished] = {}
    while short not in done:
        for handle, item in session.step():
            if isinstance(item, Finished):
                done[handle] = item
    assert done[short].text == "short answer" and long not in done
    assert session.active == 1
    session.close()
    assert backend._parts.generator.num_remaining_jobs() == 0


def test_cancelling_one_row_of_a_batch_leaves_the_others(exl2: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _paged(monkeypatch)
    backend = _load(exl2, context=1024)
    cancels = [threading.Event() for _ in range(3)]
    texts: dict[int, str] = {}
    for index, item in backend.stream_batch([_request(max_new_tokens=100)] * 3, cancels=cancels):
        if isinstance(item, TextDelta) and index == 1:
            cancels[1].set()
        if isinstance(item, Finished):
            texts[index] = f"{item.reason}:{item.text}"
    solo = list(backend.stream(_request(max_new_tokens=100)))[-1]
    assert texts[0] == texts[2] == f"stop:{solo.text}"  # type: ignore[union-attr]
    assert texts[1].startswith("cancelled:")


def test_unpaged_batches_run_one_row_at_a_time(exl2: Path) -> None:
    backend = _load(exl2)
    session = backend.open_batch(8)
    assert session.capacity == 1
    handles = [session.add(_request()) for _ in range(3)]
    finished_order = []
    while session.active:
        for handle, item in session.step():
            assert len(backend._parts.generator.active_jobs) <= 1
            if isinstance(item, Finished):
                finished_order.append(handle)
    session.close()
    assert finished_order == handles


def test_run_many_fails_only_the_request_that_cannot_fit(exl2: Path) -> None:
    backend = _load(exl2, context=512)
    requests = [GenerationRequest(messages=QUESTION, max_new_tokens=n, request_id=str(n)) for n in (100, 1000, 200)]
    done = {c.request_id: c.finished for c in backend.run_many(requests)}
    assert done["100"].reason == done["200"].reason == "stop"
    assert done["1000"].reason == "error" and "raise --ctx" in (done["1000"].error or "")


def test_batches_open_together_share_the_generator(exl2: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stream left unfinished (or another thread's batch) must not block a new one: whichever
    batch steps drives the generator, and each result reaches the batch whose job it is."""
    _script(monkeypatch, "first answer<|im_end|>", "second answer<|im_end|>")
    backend = _load(exl2)  # unpaged: one job at a time in the generator
    suspended = backend.stream(_request())
    assert isinstance(next(suspended), TextDelta)
    second = list(backend.stream(_request()))[-1]  # runs the first job to its end on the way
    assert isinstance(second, Finished) and second.text == "second answer"
    rest = list(suspended)
    assert isinstance(rest[-1], Finished) and rest[-1].text == "first answer"
    assert backend._parts.generator.num_remaining_jobs() == 0 and backend._shared.owners == {}
