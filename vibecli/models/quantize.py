"""`vibe models quantize`: an EXL2 quant of a model, made by ExLlamaV2's own converter.

The converter (`python -m exllamav2.conversion.convert_exl2`) runs as a child process on the
GPU. Its work directory keeps the job's progress (`job_new.json`), so running the same command
again after an interruption resumes where it stopped. The converter resumes *any* job it finds
there with that job's own settings, so the work directory is keyed by everything that changes
the result (source, bits, head bits, output, calibration), and removed once the quant is made.
Its `-so` status lines drive our progress.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vibecli.engine.exl2_config import add_legacy_rope, read_config, with_legacy_rope
from vibecli.engine.formats import detect_format
from vibecli.errors import EngineError, UsageError
from vibecli.lifetime import die_with_parent
from vibecli.models.store import models_dir
from vibecli.paths import data_dir

HEAD_BITS = (2, 3, 4, 5, 6, 8)
STATUS = re.compile(r"\[STATUS\](.*)\[/STATUS\]")


@dataclass(frozen=True)
class QuantizeJob:
    source: Path
    bits: float
    head_bits: int
    output: Path
    work: Path
    calibration: tuple[str, ...] = ()  # extra converter flags (-r/-mr/-l/-ml), e.g. a quick test quant

    def command(self, source: Path | None = None) -> list[str]:
        return [sys.executable, "-m", "exllamav2.conversion.convert_exl2", "-i", str(source or self.source),
                "-o", str(self.work), "-cf", str(self.output), "-b", f"{self.bits:g}", "-hb", str(self.head_bits),
                *self.calibration, "-so"]  # fmt: skip


def cuda_problem() -> str | None:
    """Why the converter cannot run here, or None. (It needs exllamav2 and a CUDA GPU.)"""
    if importlib.util.find_spec("exllamav2") is None:
        return "quantizing needs exllamav2: pip install 'vibecli[exl2]'"
    try:
        import torch
    except ImportError:
        return "quantizing needs PyTorch with CUDA"
    if not torch.cuda.is_available():
        return f"quantizing runs ExLlamaV2's converter on an NVIDIA GPU, and torch {torch.__version__} sees none"
    return None


def _work_key(source: Path, output: Path, bits: float, head_bits: int, calibration: tuple[str, ...]) -> str:
    """A digest of everything the converter's result depends on, the source's files included."""
    files = sorted((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in source.iterdir() if f.is_file())
    settings = [str(source.resolve()), str(output.resolve()), f"{bits:g}", head_bits, list(calibration), files]
    return hashlib.sha256(json.dumps(settings).encode()).hexdigest()[:12]


def plan(
    source: Path, *, bits: float, head_bits: int, output: Path | None = None, calibration: tuple[str, ...] = ()
) -> QuantizeJob:
    """Check the request and choose the output and work directories."""
    if not 2.0 <= bits <= 8.0:
        raise UsageError(f"--bpw {bits:g} is out of range (EXL2 takes 2.0 to 8.0 bits per weight)")
    if head_bits not in HEAD_BITS:
        raise UsageError(f"--head-bits {head_bits} is not one of {', '.join(map(str, HEAD_BITS))}")
    if not source.is_dir():
        raise UsageError(f"{source} is not a model directory")
    try:
        fmt = detect_format(source)
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read {source}: {exc}") from None
    if fmt not in ("bf16", "fp16", "fp32"):
        raise UsageError(f"{source} is already quantized ({fmt.upper()}): quantize the original bf16/fp16 model")
    name = f"{source.name}-exl2-{bits:g}bpw"
    output = output or models_dir() / name
    key = _work_key(source, output, bits, head_bits, calibration)
    return QuantizeJob(source, bits, head_bits, output, data_dir() / "quantize-work" / f"{name}-{key}", calibration)


def _converter_source(job: QuantizeJob) -> Path:
    """The directory the converter reads: the source itself, or, when its config.json gives RoPE
    settings only as transformers 5's `rope_parameters` (which ExLlamaV2 ignores), a view of it in
    the work directory with the legacy keys added (links to every other file)."""
    config = read_config(job.source)
    if with_legacy_rope(config) == config:
        return job.source
    view = job.work / "source"
    shutil.rmtree(view, ignore_errors=True)
    view.mkdir(parents=True)
    for item in job.source.iterdir():
        if item.name != "config.json":
            (view / item.name).symlink_to(item.resolve())
    (view / "config.json").write_text(json.dumps(with_legacy_rope(config), indent=2) + "\n", encoding="utf-8")
    return view


def _finished_before(work: Path) -> bool:
    try:
        return bool(json.loads((work / "job_new.json").read_text(encoding="utf-8")).get("progress") == "finished")
    except (OSError, ValueError):
        return False


def run(job: QuantizeJob, *, on_status: Callable[[str, float], None], on_line: Callable[[str], None]) -> Path:
    """Run the converter to the end; raises EngineError (with how to resume) when it stops early."""
    problem = cuda_problem()
    if problem:
        raise EngineError(problem)
    if _finished_before(job.work):  # made before but not cleaned up: the converter would only say "finished"
        shutil.rmtree(job.work)
    job.work.mkdir(parents=True, exist_ok=True)
    command = job.command(_converter_source(job))
    # The converter prints with plain print(): through a pipe that is block-buffered unless unbuffered.
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
                               env=env, preexec_fn=die_with_parent)  # fmt: skip
    assert process.stdout is not None
    last_error = ""
    try:
        for line in process.stdout:
            status = STATUS.search(line)
            if status:
                data = json.loads(status.group(1))
                on_status(str(data.get("stage", "")), float(data.get("completion", 0.0)))
                continue
            if line.lstrip().startswith("## "):  # the converter's error lines (it may still exit 0)
                last_error = line.strip().lstrip("# ").strip()
            on_line(line.rstrip("\n"))
        code = process.wait()
    except KeyboardInterrupt:
        process.terminate()
        process.wait()
        raise
    if code != 0 or last_error or not _finished_before(job.work) or not (job.output / "config.json").is_file():
        why = last_error or f"exit code {code}"
        raise EngineError(f"the EXL2 converter stopped ({why}); the same command resumes from {job.work}")
    record_quantization(job.output, job.bits, job.head_bits)
    shutil.rmtree(job.work, ignore_errors=True)  # out_tensor/ and the hidden states take gigabytes
    return job.output


def record_quantization(output: Path, bits: float, head_bits: int) -> None:
    """Make sure `config.json` says what the weights are (the converter writes it with -cf; older
    ones did not) and carries the RoPE keys ExLlamaV2 reads."""
    path = output / "config.json"
    add_legacy_rope(path)
    config = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(config.get("quantization_config"), dict):
        return
    config["quantization_config"] = {"quant_method": "exl2", "bits": bits, "head_bits": head_bits}
    path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
