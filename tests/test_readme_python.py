"""The README's "Use from Python" examples run as written (against the bundled demo model)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Use from Python") :]
    section = section[: section.index("\n## ", 1)]
    return re.findall(r"^```python\n(.*?)^```$", section, re.DOTALL | re.MULTILINE)


def test_the_section_has_its_examples() -> None:
    assert len(_blocks()) == len(_PRINTS)
    code = "\n".join(_blocks())
    for name in ("vibecli.load", ".solve(", ".stream(", ".samples(", ".batch(", "verify_math(", "verify_math_many(",
                 "verify_code(", "math_reward(", "code_reward(", "compute_score("):  # fmt: skip
        assert name in code, f"the README's Python examples do not show {name}"


@pytest.mark.parametrize("index", range(len(_blocks())))
def test_readme_example_runs(index: int, tmp_path: Path) -> None:
    block = _blocks()[index]
    proc = subprocess.run([sys.executable, "-c", block], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for shown in _PRINTS[index]:
        assert shown in proc.stdout.splitlines(), (shown, proc.stdout)


# What each example prints, as its comments say (lines whose content does not vary).
_PRINTS = [
    ["85 equal", "-> 36", "85 85 ×4"],
    ["equal True the same value", "[True, True, False]", "1 1 True", "2"],
    ["[1.0, 0.0, 0.0]", "[1.0]", "1.0"],
]
