"""`vibe doctor`: what this machine can run, and what to do about what it cannot.

Package versions come from installed metadata, never from importing the packages (importing
exllamav2 would compile its kernels). Only torch is imported, and only when it is installed,
to ask about the GPU; an installed flash-attn is test-imported in a child process, because one
built for another torch installs fine and then breaks `import exllamav2`.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from vibecli.lifetime import die_with_parent

Status = Literal["ok", "warn", "missing", "info"]


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)

    def add(self, name: str, status: Status, detail: str) -> None:
        self.checks.append(Check(name, status, detail))

    def to_json(self) -> dict[str, Any]:
        return {"checks": [asdict(c) for c in self.checks], "advice": self.advice}


@dataclass(frozen=True)
class Gpu:
    name: str
    vram_gib: float
    capability: tuple[int, int]


def version_of(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _at_least(version: str, wanted: tuple[int, ...]) -> bool:
    parts = []
    for piece in version.split("+")[0].split(".")[: len(wanted)]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts) >= wanted


def _gpus() -> tuple[str | None, list[Gpu], bool]:
    """torch's CUDA build (None: CPU-only), the visible CUDA GPUs, and whether Apple MPS works."""
    import torch

    gpus = []
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(index)
            gpus.append(Gpu(props.name, props.total_memory / 2**30, (props.major, props.minor)))
    mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    return torch.version.cuda, gpus, mps


FLASH_ATTN_PROBE = "import flash_attn, flash_attn_2_cuda; print(flash_attn.__version__)"


def flash_attn_import_error() -> str | None:
    """Why flash-attn fails to import, or None: tried in a child process, as exllamav2 imports it
    (its compiled half included), since package metadata says nothing about a torch ABI mismatch."""
    try:
        probe = subprocess.run([sys.executable, "-c", FLASH_ATTN_PROBE], capture_output=True, text=True, timeout=120,
                               preexec_fn=die_with_parent)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    if probe.returncode == 0:
        return None
    lines = [line for line in probe.stderr.strip().splitlines() if line.strip()]
    return lines[-1] if lines else f"exit code {probe.returncode}"


def _flash_attn_check(report: Report, best: tuple[int, int] | None) -> None:
    flash = version_of("flash-attn") or version_of("flash_attn")
    if flash and os.environ.get("EXLLAMA_NO_FLASH_ATTN"):
        report.add("flash-attn", "info", f"{flash}, switched off by EXLLAMA_NO_FLASH_ATTN: exl2 runs one job at a time")
        return
    broken = flash_attn_import_error() if flash else None
    if flash and broken:
        report.add("flash-attn", "missing", f"{flash} installed but does not import: {broken}")
        report.advice.append("flash-attn does not load, so exllamav2 cannot be imported: reinstall flash-attn for "
                             "this torch, or set EXLLAMA_NO_FLASH_ATTN=1 to run exl2 without it")  # fmt: skip
    elif flash:
        paged = _at_least(flash, (2, 5, 7)) and best is not None and best >= (8, 0)
        report.add(
            "flash-attn",
            "ok" if paged else "warn",
            f"{flash}" + ("" if paged else " (paged mode needs >= 2.5.7 on Ampere+)"),
        )
    else:
        report.add("flash-attn", "missing", "not installed: exl2 runs unpaged, one job at a time")
        if best is not None and best >= (8, 0):
            report.advice.append("pip install flash-attn (>= 2.5.7) to let exl2 batch requests (paged mode)")


def _engine_checks(report: Report, gpus: list[Gpu]) -> None:
    best = max((g.capability for g in gpus), default=None)
    _flash_attn_check(report, best)
    exl2 = version_of("exllamav2")
    if exl2:
        from vibecli.engine.exl2_runtime import extension_built

        built = extension_built() if version_of("torch") else False
        state = "built" if built else "not built yet (the first exl2 run compiles it: minutes)"
        report.add("exllamav2", "ok" if built else "warn", f"{exl2}, CUDA extension {state}")
    else:
        report.add("exllamav2", "missing", "not installed (the exl2 engine)")
        if gpus:
            report.advice.append("pip install 'vibecli[exl2]' to run EXL2 quants with ExLlamaV2 on this GPU")
    exl3 = version_of("exllamav3")
    report.add("exllamav3", "info", exl3 or "not installed (vibe has no exl3 engine yet)")
    if best is not None and best < (8, 0):
        report.advice.append(f"compute capability {best[0]}.{best[1]}: exl2 runs one job at a time here "
                             "(paged batching and EXL3 need Ampere or newer)")  # fmt: skip


def diagnose() -> Report:
    """Every check, in the order they are printed, with advice at the end."""
    report = Report()
    report.add(
        "python", "ok" if sys.version_info >= (3, 10) else "warn", f"{platform.python_version()} ({sys.executable})"
    )
    report.add("vibe", "info", version_of("vibecli") or "source checkout")
    torch_version = version_of("torch")
    gpus: list[Gpu] = []
    if torch_version is None:
        report.add("torch", "missing", "not installed")
        report.advice.append("pip install 'vibecli[cpu]' for the portable transformers engine (CPU, CUDA, MPS)")
    else:
        cuda, gpus, mps = _gpus()
        report.add("torch", "ok", f"{torch_version}, " + (f"CUDA {cuda} build" if cuda else "CPU-only build"))
        for gpu in gpus:
            report.add(
                "gpu",
                "ok",
                f"{gpu.name}, {gpu.vram_gib:.1f} GiB, compute capability {gpu.capability[0]}.{gpu.capability[1]}",
            )
        if not gpus:
            report.add("gpu", "info", "Apple MPS available" if mps else "no CUDA GPU visible to torch")
            if shutil.which("nvidia-smi") and not cuda:
                report.advice.append(
                    "an NVIDIA driver is installed but torch is a CPU-only build: install a CUDA build of torch"
                )
    transformers = version_of("transformers")
    report.add(
        "transformers", "ok" if transformers else "missing", transformers or "not installed (the transformers engine)"
    )
    _engine_checks(report, gpus)
    for name, extra in (("openai", "remote"), ("uvicorn", "serve")):
        found = version_of(name)
        report.add(name, "ok" if found else "info", found or f"not installed (pip install 'vibecli[{extra}]')")
    bwrap = shutil.which("bwrap")
    report.add("bubblewrap", "ok" if bwrap else "warn", bwrap or "not found: the code sandbox isolates less")
    if not bwrap:
        report.advice.append("install bubblewrap (apt install bubblewrap) for the strongest code sandbox")
    _model_checks(report)
    return report


def _model_checks(report: Report) -> None:
    from vibecli.config import load_config
    from vibecli.errors import ConfigError
    from vibecli.models.store import list_models

    try:
        registered = load_config().models
    except ConfigError as exc:
        report.add("config", "warn", str(exc))
        registered = {}
    models = [m for m in list_models(registered) if m.source != "bundled"]
    shown = ", ".join(f"{m.name} ({m.format})" for m in models[:6]) + (" …" if len(models) > 6 else "")
    report.add("models", "ok" if models else "info", shown or "none yet (the bundled demo model still works)")
    if not models:
        report.advice.append("vibe models pull WeiboAI/VibeThinker-1.5B  (then: vibe solve --model VibeThinker-1.5B …)")
