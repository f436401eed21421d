"""`vibe doctor` on this machine, and with a GPU faked where torch is asked about one."""

from __future__ import annotations

import json
import sys
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


def test_a_turing_gpu_with_exllamav2_gets_its_advice(monkeypatch: pytest.MonkeyPatch) -> None:
    """torch's CUDA queries are faked (this machine has no GPU); scripts/gpu_check.sh runs doctor on one."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    props = SimpleNamespace(name="NVIDIA GeForce RTX 2070 SUPER", total_memory=8 * 2**30, major=7, minor=5)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda index: props)
    real = __import__("vibecli.doctor", fromlist=["version_of"]).version_of
    monkeypatch.setattr("vibecli.doctor.version_of", lambda name: "0.3.2" if name == "exllamav2" else real(name))
    report = _report()
    checks = _checks(report)
    assert checks["gpu"] == "NVIDIA GeForce RTX 2070 SUPER, 8.0 GiB, compute capability 7.5"
    assert checks["exllamav2"] == "0.3.2, CUDA extension not built yet (the first exl2 run compiles it: minutes)"
    advice = " ".join(report["advice"])  # type: ignore[arg-type]
    assert "compute capability 7.5: exl2 runs one job at a time" in advice
    assert "pip install flash-attn" not in advice  # it would not help on Turing
