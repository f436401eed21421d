"""`vibe models quantize`: an EXL2 quant of a model, made by ExLlamaV2's own converter.

The converter (`python -m exllamav2.conversion.convert_exl2`) runs as a child process on the
GPU. Its work directory keeps the job's progress (`job_new.json`), so running the same command
again after an interruption resumes where it stopped. Its `-so` status lines drive our progress.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vibecli.engine.formats import detect_format
from vibecli.errors import EngineError, UsageError
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

    def command(self) -> list[str]:
        return [sys.executable, "-m", "exllamav2.conversion.convert_exl2", "-i", str(self.source),
                "-o", str(self.work), "-cf", str(self.output), "-b", f"{self.bits:g}", "-hb", str(self.head_bits),
                "-so"]  # fmt: skip


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


def plan(source: Path, *, bits: float, head_bits: int, output: Path | None = None) -> QuantizeJob:
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
    return QuantizeJob(source, bits, head_bits, output or models_dir() / name, data_dir() / "quantize-work" / name)


def run(job: QuantizeJob, *, on_status: Callable[[str, float], None], on_line: Callable[[str], None]) -> Path:
    """Run the converter to the end; raises EngineError (with how to resume) when it stops early."""
    problem = cuda_problem()
    if problem:
        raise EngineError(problem)
    job.work.mkdir(parents=True, exist_ok=True)
    last_error = ""
    process = subprocess.Popen(job.command(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    assert process.stdout is not None
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
    if code != 0 or last_error or not (job.output / "config.json").is_file():
        why = last_error or f"exit code {code}"
        raise EngineError(f"the EXL2 converter stopped ({why}); the same command resumes from {job.work}")
    record_quantization(job.output, job.bits, job.head_bits)
    return job.output


def record_quantization(output: Path, bits: float, head_bits: int) -> None:
    """Make sure `config.json` says what the weights are (the converter writes it with -cf; older ones did not)."""
    path = output / "config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(config.get("quantization_config"), dict):
        return
    config["quantization_config"] = {"quant_method": "exl2", "bits": bits, "head_bits": head_bits}
    path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
