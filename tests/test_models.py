"""`vibe models`: pull from a local stand-in for the Hub (the real huggingface_hub client drives
it), list, info, rm, and quantize through a fake of ExLlamaV2's converter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fake_hub import FakeHub
from typer.testing import CliRunner

from vibecli.cli.app import app
from vibecli.engine.formats import detect_format
from vibecli.errors import EngineError
from vibecli.paths import demo_model_dir

FAKE_EXL2 = Path(__file__).parent / "fake_exllamav2"
runner = CliRunner()


def vibe(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """A real `vibe` process: huggingface_hub reads HF_ENDPOINT when it is first imported."""
    full = {**os.environ, **(env or {})}
    full.pop("HF_HUB_OFFLINE", None) if "HF_HUB_OFFLINE" not in (env or {}) else None
    return subprocess.run([sys.executable, "-m", "vibecli", *args], capture_output=True, text=True, env=full,
                          timeout=300)  # fmt: skip


@pytest.fixture
def hub(tmp_path: Path) -> FakeHub:
    with FakeHub({"WeiboAI/Tiny": demo_model_dir()}) as served:
        served.env = {"HF_ENDPOINT": served.url, "HF_HOME": str(tmp_path / "hf")}  # type: ignore[attr-defined]
        yield served  # type: ignore[misc]


def test_pull_resumes_a_broken_download_and_the_model_is_usable_by_name(hub: FakeHub) -> None:
    hub.fail_once.add("model.safetensors")
    pulled = vibe("models", "pull", "WeiboAI/Tiny", env=hub.env)  # type: ignore[attr-defined]
    assert pulled.returncode == 0, pulled.stderr
    path = Path(pulled.stdout.strip())
    assert path.name == "WeiboAI--Tiny"
    # The body broke off halfway; the client asked again (from byte 0: the file is under one 10 MB chunk).
    assert sum(r.startswith("GET") and r.endswith("model.safetensors") for r in hub.requests) == 2
    assert (path / "model.safetensors").read_bytes() == (demo_model_dir() / "model.safetensors").read_bytes()
    assert detect_format(path) == "fp32"
    listed = vibe("models", "list", "--json")
    entry = json.loads(listed.stdout.splitlines()[0])
    assert (entry["name"], entry["format"], entry["architecture"], entry["context"]) == (
        "WeiboAI/Tiny", "fp32", "Qwen2ForCausalLM", 1024)  # fmt: skip
    solved = vibe("solve", "--model", "Tiny", "-t", "0", "What is 48 + 37?")
    assert solved.returncode == 0 and "85" in solved.stdout, solved.stderr


def test_pull_errors_are_one_line(hub: FakeHub) -> None:
    for args, code, message in [
        (["WeiboAI/Nope"], 3, "no model 'WeiboAI/Nope' on the Hub"),
        (["not-a-repo"], 2, "is not a Hub repository name"),
    ]:
        result = vibe("models", "pull", *args, env=hub.env)  # type: ignore[attr-defined]
        assert result.returncode == code and message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr and result.stdout == ""
    offline = vibe("models", "pull", "WeiboAI/Tiny", env={**hub.env, "HF_HUB_OFFLINE": "1"})  # type: ignore[attr-defined]
    assert offline.returncode == 3 and "HF_HUB_OFFLINE is set" in offline.stderr


def _install(tmp_path: Path, repo: str = "WeiboAI--Tiny") -> Path:
    from vibecli.models.store import models_dir

    target = models_dir() / repo
    target.mkdir(parents=True)
    for file in demo_model_dir().iterdir():
        if file.is_file():
            (target / file.name).write_bytes(file.read_bytes())
    return target


def test_info_list_and_rm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = _install(tmp_path)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "config.json").write_text((demo_model_dir() / "config.json").read_text())
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "vibe" / "config.yaml"
    config.parent.mkdir(parents=True)
    config.write_text(f"models:\n  mine: {mine}\n")
    info = runner.invoke(app, ["models", "info", "Tiny", "--json"])
    assert info.exit_code == 0 and json.loads(info.stdout)["size_bytes"] > 1_000_000
    listed = runner.invoke(app, ["models", "list"]).stdout.splitlines()
    assert [line.split("\t")[0] for line in listed] == ["WeiboAI/Tiny", "mine", "demo"]
    refused = runner.invoke(app, ["models", "rm", "mine"])
    assert refused.exit_code == 2 and "vibe removes only models it downloaded" in refused.stderr and mine.exists()
    assert runner.invoke(app, ["models", "rm", "ghost"]).exit_code == 3  # not found, as for --model
    removed = runner.invoke(app, ["models", "rm", "WeiboAI/Tiny"])
    assert removed.exit_code == 0 and not target.exists()


def _fake_converter(monkeypatch: pytest.MonkeyPatch) -> None:
    """The converter runs as a child process: the fake goes on its PYTHONPATH, and the GPU
    check is skipped (scripts/gpu_check.sh runs the real converter on a GPU)."""
    monkeypatch.setenv("PYTHONPATH", str(FAKE_EXL2))
    monkeypatch.setattr("vibecli.models.quantize.cuda_problem", lambda: None)


def _work_dirs() -> list[Path]:
    root = Path(os.environ["XDG_DATA_HOME"]) / "vibe" / "quantize-work"
    return sorted(root.iterdir()) if root.is_dir() else []


def test_quantize_runs_the_converter_resumes_and_records_the_format(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _install(tmp_path)
    _fake_converter(monkeypatch)
    monkeypatch.setenv("FAKE_CONVERT_FAIL_AT", "quant")
    stopped = runner.invoke(app, ["models", "quantize", "Tiny", "--bpw", "4"])
    assert stopped.exit_code == 3 and "the same command resumes from" in stopped.stderr
    [work] = _work_dirs()
    stages = (work / "stages.log").read_text().split()
    assert stages[-1] == "embeddings"
    monkeypatch.delenv("FAKE_CONVERT_FAIL_AT")
    (work / "stages.log").rename(tmp_path / "stages.log")  # the work directory is removed on success
    done = runner.invoke(app, ["models", "quantize", "Tiny", "--bpw", "4"])
    assert done.exit_code == 0, done.stderr
    output = Path(done.stdout.strip())
    assert output.name == "WeiboAI--Tiny-exl2-4bpw" and detect_format(output) == "exl2"
    assert "Tokenizing (1)" not in done.stderr  # resumed, not restarted
    assert _work_dirs() == []  # out_tensor/ and the hidden states are gone
    entry = json.loads(runner.invoke(app, ["models", "info", output.name, "--json"]).stdout)
    assert (entry["format"], entry["bits_per_weight"]) == ("exl2", 4.0)
    assert (source / "config.json").is_file()


def test_quantizing_again_honours_the_new_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real converter resumes whatever job its work directory holds, with that job's settings,
    and only says "already finished" about a finished one: each set of settings gets its own."""
    _install(tmp_path)
    _fake_converter(monkeypatch)
    first = runner.invoke(app, ["models", "quantize", "Tiny", "--bpw", "4"])
    assert first.exit_code == 0, first.stderr
    output = Path(first.stdout.strip())
    assert runner.invoke(app, ["models", "rm", output.name]).exit_code == 0
    again = runner.invoke(app, ["models", "quantize", "Tiny", "--bpw", "4"])
    assert again.exit_code == 0 and (output / "output.safetensors").is_file(), again.stderr
    monkeypatch.setenv("FAKE_CONVERT_FAIL_AT", "quant")  # an interrupted job with head bits 6 stays behind
    assert runner.invoke(app, ["models", "quantize", "Tiny", "--bpw", "5"]).exit_code == 3
    monkeypatch.delenv("FAKE_CONVERT_FAIL_AT")
    elsewhere = tmp_path / "q5-h8"
    args = ["models", "quantize", "Tiny", "--bpw", "5", "--head-bits", "8", "--out", str(elsewhere)]
    other = runner.invoke(app, args)
    assert other.exit_code == 0, other.stderr
    quant = json.loads((elsewhere / "config.json").read_text())["quantization_config"]
    assert (quant["bits"], quant["head_bits"]) == (5.0, 8)
    assert len(_work_dirs()) == 1  # only the interrupted 5 bpw job, waiting to be resumed


def test_a_finished_job_left_in_the_work_directory_is_redone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vibecli.models.quantize import plan, run

    source = _install(tmp_path)
    _fake_converter(monkeypatch)
    job = plan(source, bits=4.0, head_bits=6, output=tmp_path / "out")
    job.work.mkdir(parents=True)
    leftover = {"progress": "finished", "out_dir": str(job.work), "compile_full": str(job.output)}
    (job.work / "job_new.json").write_text(json.dumps(leftover))
    assert run(job, on_status=lambda *a: None, on_line=lambda line: None) == job.output
    assert (job.output / "output.safetensors").is_file()


def test_status_lines_arrive_while_the_converter_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The converter prints with plain print(); the fake waits until the first status line has been
    read, which through a block-buffered pipe it never is."""
    from vibecli.models.quantize import plan, run

    source = _install(tmp_path)
    _fake_converter(monkeypatch)
    seen = tmp_path / "seen"
    monkeypatch.setenv("FAKE_CONVERT_HANDSHAKE", str(seen))
    monkeypatch.delenv("PYTHONUNBUFFERED", raising=False)  # vibe must set it for the converter
    stages: list[str] = []

    def on_status(stage: str, completion: float) -> None:
        stages.append(stage)
        seen.touch()

    run(plan(source, bits=4.0, head_bits=6, output=tmp_path / "out"), on_status=on_status, on_line=lambda line: None)
    assert stages[0] == "Tokenizing (1)" and stages[-1] == "Compiling"


def test_quantize_gives_the_converter_the_rope_keys_it_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """transformers 5 writes RoPE settings only in rope_parameters; ExLlamaV2 reads rope_theta."""
    from vibecli.models.quantize import plan, run

    source = _install(tmp_path)
    config = json.loads((source / "config.json").read_text())
    config["rope_parameters"] = {"rope_theta": 1000000.0, "rope_type": "default"}
    (source / "config.json").write_text(json.dumps(config))
    _fake_converter(monkeypatch)
    monkeypatch.setenv("FAKE_CONVERT_FAIL_AT", "compile")
    job = plan(source, bits=4.0, head_bits=6, output=tmp_path / "out")
    with pytest.raises(EngineError):
        run(job, on_status=lambda *a: None, on_line=lambda line: None)
    assert json.loads((job.work / "seen_config.json").read_text())["rope_theta"] == 1000000.0
    assert "rope_theta" not in json.loads((source / "config.json").read_text())  # the user's files are untouched
    monkeypatch.delenv("FAKE_CONVERT_FAIL_AT")
    run(job, on_status=lambda *a: None, on_line=lambda line: None)
    written = json.loads((job.output / "config.json").read_text())
    assert written["rope_theta"] == 1000000.0 and written["quantization_config"]["quant_method"] == "exl2"


def test_quantize_refuses_what_it_cannot_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _install(tmp_path)
    assert runner.invoke(app, ["models", "quantize", "Tiny", "--bpw", "9"]).exit_code == 2
    assert runner.invoke(app, ["models", "quantize", "Tiny", "--head-bits", "7"]).exit_code == 2
    no_gpu = runner.invoke(app, ["models", "quantize", "Tiny"])
    assert no_gpu.exit_code == 3 and "quantizing needs exllamav2" in no_gpu.stderr
