"""Shared fixtures. Nothing here downloads: models are built in-process or bundled."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# One torch (OpenMP) thread per process, set before anything imports torch, and inherited by every `vibe`
# the tests start. The suite runs two workers, each with its own `vibe` subprocesses, on as few as two
# cores: there torch's default of a thread per core has the tiny models' small matrix products wait on
# each other's threads, and a greedy solve of the demo model took 0.2 s to 6 s instead of 0.08 s (a batch
# of 16 problems 43 s instead of 2.4 s). A run that sets OMP_NUM_THREADS itself keeps its own.
os.environ.setdefault("OMP_NUM_THREADS", "1")


def _isolate(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(name, str(home / name.lower()))
    for name in list(os.environ):
        if name.startswith("VIBE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Keep every test away from the real ~/.config and from VIBE_* settings of the shell."""
    _isolate(monkeypatch, tmp_path_factory.mktemp("home"))
    yield


@pytest.fixture(scope="module")
def module_user_dirs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The same isolation for a module-scoped fixture that runs vibe (set up before any test's own)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        _isolate(monkeypatch, tmp_path_factory.mktemp("home"))
        yield


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-weight Qwen2 (VibeThinker's architecture at toy size) saved as safetensors."""
    import torch
    from transformers import Qwen2ForCausalLM

    from vibecli.demo.build import build_tokenizer, tiny_qwen2_config

    torch.manual_seed(0)
    tokenizer = build_tokenizer()
    model = Qwen2ForCausalLM(tiny_qwen2_config(tokenizer, hidden=64, layers=2))
    model.generation_config.eos_token_id = [tokenizer.eos_token_id, tokenizer.pad_token_id]
    path = tmp_path_factory.mktemp("tiny-qwen2")
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def endless_model_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The random tiny model with 65,536 positions: it never ends an answer on its own, so a generation
    runs for minutes unless something stops it (tests of cancellation and shutdown)."""
    import json
    import shutil

    path = tmp_path_factory.mktemp("endless") / "endless"
    shutil.copytree(tiny_model_dir, path)
    for name, key in (("config.json", "max_position_embeddings"), ("tokenizer_config.json", "model_max_length")):
        settings = json.loads((path / name).read_text())
        settings[key] = 65536
        (path / name).write_text(json.dumps(settings))
    return path


@pytest.fixture(scope="session")
def tiny_backend(tiny_model_dir: Path):  # type: ignore[no-untyped-def]
    from vibecli.engine.backend import LoadOptions
    from vibecli.engine.transformers_backend import load

    return load(LoadOptions(path=tiny_model_dir, name="tiny", format="fp32", device="cpu"))


@pytest.fixture(scope="session")
def demo_backend():  # type: ignore[no-untyped-def]
    from vibecli.engine.backend import LoadOptions
    from vibecli.engine.transformers_backend import load
    from vibecli.paths import demo_model_dir

    return load(LoadOptions(path=demo_model_dir(), name="demo", format="fp32", device="cpu"))
