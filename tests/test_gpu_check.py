"""scripts/gpu_check.sh --fake: every step of the GPU check, run on CPU against tests/fake_exllamav2.

Only the plumbing is under test here (models built, engines loaded, results compared and written);
the numbers, and whether the real library passes, need the GPU run of scripts/gpu_check.sh.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STEPS = ["environment", "build", "greedy_match", "rope_theta", "thinking_budget", "batch_cancel", "paged",
         "caches", "quantize", "speed", "transformers_compile"]  # fmt: skip


@pytest.mark.slow
def test_the_gpu_check_runs_every_step_in_fake_mode(tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["VIBE_GPU_CHECK_WORK"] = str(tmp_path / "work")
    result = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_check.sh"), "--fake", str(out)],
                            capture_output=True, text=True, env=env, timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    summary = json.loads((out / "gpu_check.json").read_text())
    assert summary["fake"] is True and summary["ok"] is True
    assert list(summary["steps"]) == STEPS and all(step["ok"] for step in summary["steps"].values())
    steps = {path.stem.split("-", 1)[1]: json.loads(path.read_text()) for path in (out / "steps").glob("*.json")}
    assert sorted(steps) == sorted(STEPS)
    assert steps["thinking_budget"]["trigger"] == "budget" and steps["thinking_budget"]["cached_tokens"] > 0
    assert steps["rope_theta"]["exl2_rope_base"] == 1000000.0 and not steps["rope_theta"]["config_has_rope_theta"]
    assert steps["batch_cancel"]["cancelled_reason"] == "cancelled"
    assert steps["paged"]["most_rows_at_once"] > 1
    assert [steps["caches"][c]["generated_tokens"] for c in ("fp16", "q8", "q6", "q4")] == [64] * 4
    assert steps["quantize"]["format"] == "exl2" and steps["quantize"]["work_dir_removed"]
    compiled = steps["transformers_compile"]
    assert compiled["agreement"]["ok"] and compiled["vibe_static_compiled"]["decode_tokens_per_s"] > 0
    assert "static cache, compiled decode" in compiled["vibe_static_compiled"]["notes"]
    assert steps["quantize"]["quantization_config"]["bits"] == 4.0 and steps["quantize"]["rope_theta"] == 1000000.0
    speed = steps["speed"]
    for engine in ("quant_shapes.exl2_4.0bpw", "quant_shapes.exl2_fp16", "quant_shapes.transformers_fp16",
                   "vibethinker_1.5b.exl2_fp16", "vibethinker_1.5b.transformers_fp16"):  # fmt: skip
        assert speed[engine]["decode_tokens_per_s"] > 0 and speed[engine]["share_of_copy_bandwidth"] > 0
    assert not (out / "work").exists() and not (tmp_path / "work").exists()  # models never land in OUT
