"""`vibe doctor` on this machine, and with a GPU faked where torch is asked about one."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from typer.testing import CliRunner

from vibecli.cli.app import app

runner = CliRunner()


def _report() -> dict[str, object]:
    result = runner.invoke(app, ["doctor", "--json"])
    assert result.exit_code == 0, result.stderr
    return dict(json.loads(result.stdout))


def _checks(report: dict[str, object]) -> dict[str, str]:
    return {c["name"]: c["detail"] for c in report["checks"]}  # type: ignore[attr-defined, index]


def test_this_machine_is_reported_as_it_is() -> None:
    report = _report()
    checks = _checks(report)
    assert checks["torch"].startswith(torch.__version__) and "CPU-only build" in checks["torch"]
    assert checks["gpu"] == "no CUDA GPU visible to torch"
    assert checks["exllamav2"].startswith("not installed")
    assert "none yet" in checks["models"]
    assert any("vibe models pull" in line for line in report["advice"])  # type: ignore[attr-defined]
    assert "exllamav2" not in sys.modules  # reported from metadata: importing it would build kernels


def _fake_gpu(monkeypatch: pytest.MonkeyPatch, name: str, gib: int, capability: tuple[int, int], package: str,
              version: str) -> None:  # fmt: skip
    """torch's CUDA queries answer for one GPU (this machine has none), and `package` is installed."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    props = SimpleNamespace(name=name, total_memory=gib * 2**30, major=capability[0], minor=capability[1])
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda index: props)
    real = __import__("vibecli.doctor", fromlist=["version_of"]).version_of
    monkeypatch.setattr("vibecli.doctor.version_of", lambda name: version if name == package else real(name))


def test_a_turing_gpu_with_exllamav2_gets_its_advice(monkeypatch: pytest.MonkeyPatch) -> None:
    """torch's CUDA queries are faked (this machine has no GPU); scripts/gpu_check.sh runs doctor on one."""
    _fake_gpu(monkeypatch, "NVIDIA GeForce RTX 2070 SUPER", 8, (7, 5), "exllamav2", "0.3.2")
    report = _report()
    checks = _checks(report)
    assert checks["gpu"] == "NVIDIA GeForce RTX 2070 SUPER, 8.0 GiB, compute capability 7.5"
    assert checks["exllamav2"] == "0.3.2, CUDA extension not built yet (the first exl2 run compiles it: minutes)"
    advice = " ".join(report["advice"])  # type: ignore[arg-type]
    assert "compute capability 7.5: exl2 runs one job at a time" in advice
    assert "pip install flash-attn" not in advice  # it would not help on Turing


def _flash_attn(root: Path, broken: bool) -> None:
    """A flash-attn package: working, or with its compiled half built for another torch."""
    (root / "flash_attn").mkdir()
    body = "__version__ = '2.7.4.post1'\nimport flash_attn_2_cuda\n"
    (root / "flash_attn" / "__init__.py").write_text(body)
    (root / "flash_attn_2_cuda.py").write_text(
        "raise ImportError('flash_attn_2_cuda.cpython-312-x86_64-linux-gnu.so: undefined symbol: _ZN3c10')\n"
        if broken
        else ""
    )


@pytest.mark.parametrize("broken", [False, True])
def test_flash_attn_is_test_imported_not_trusted_from_metadata(
    broken: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A flash-attn wheel built for another torch installs fine, then breaks `import exllamav2`."""
    _flash_attn(tmp_path, broken)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    _fake_gpu(monkeypatch, "NVIDIA H200", 141, (9, 0), "flash-attn", "2.7.4.post1")
    report = _report()
    detail, advice = _checks(report)["flash-attn"], " ".join(report["advice"])  # type: ignore[arg-type]
    if broken:
        assert detail.startswith("2.7.4.post1 installed but does not import: ImportError")
        assert "undefined symbol" in detail
        assert "EXLLAMA_NO_FLASH_ATTN=1" in advice
    else:
        assert detail == "2.7.4.post1" and "flash-attn" not in advice
    monkeypatch.setenv("EXLLAMA_NO_FLASH_ATTN", "1")
    assert "switched off by EXLLAMA_NO_FLASH_ATTN" in _checks(_report())["flash-attn"]
