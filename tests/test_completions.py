"""Shell completions: the committed scripts match the app, and bash really completes."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def generated() -> dict[str, str]:
    spec = importlib.util.spec_from_file_location("generate_completions", ROOT / "scripts/generate_completions.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.scripts()  # type: ignore[no-any-return]


def test_committed_scripts_match_the_app() -> None:
    for name, text in generated().items():
        committed = ROOT / "completions" / name
        assert committed.is_file(), f"missing completions/{name}: run scripts/generate_completions.py"
        assert committed.read_text() == text, f"completions/{name} drifted: run scripts/generate_completions.py"


def complete(words: str) -> list[str]:
    """What the app offers for the last word of `words`, through the bash protocol."""
    env = {**os.environ, "COMP_WORDS": words, "COMP_CWORD": str(len(words.split(" ")) - 1),
           "_VIBE_COMPLETE": "complete_bash"}  # fmt: skip
    vibe = Path(sys.executable).parent / "vibe"  # the console script: completion keys on the program name
    out = subprocess.run([str(vibe)], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "Usage" not in out.stdout, out.stdout[:200]
    return out.stdout.split()


def test_commands_options_and_values_complete(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert {"solve", "verify", "batch", "repl", "config"} == set(complete("vibe ")) & {
        "solve", "verify", "batch", "repl", "config", "Usage:"}  # fmt: skip
    assert "--think-budget" in complete("vibe solve --think")
    assert complete("vibe solve --think c") == ["collapse"]
    assert complete("vibe solve --backend ") == ["auto", "transformers", "exl2", "openai"]
    assert set(complete("vibe solve --mode ")) >= {"auto", "math", "code", "stem", "logic"}
    config = tmp_path / "config.yaml"
    config.write_text("models:\n  vibe15: /models/vibe15\n")
    monkeypatch.setenv("VIBE_CONFIG", str(config))
    assert complete("vibe batch --model ") == ["demo", "vibe15"]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_script_completes_in_bash() -> None:
    python_dir = Path(sys.executable).parent  # the `vibe` of this environment
    script = (
        f"export PATH={python_dir}:$PATH; source {ROOT / 'completions/vibe.bash'}; "
        "COMP_WORDS=(vibe solve --mo); COMP_CWORD=2; _vibe_completion vibe; printf '%s\\n' \"${COMPREPLY[@]}\""
    )
    out = subprocess.run(["bash", "--norc", "-c", script], capture_output=True, text=True, timeout=60)
    assert set(out.stdout.split()) == {"--model", "--mode"}
