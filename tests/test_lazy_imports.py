"""`vibe --help` and friends must not import the heavy libraries (they cost seconds)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "transformers", "exllamav2", "sympy", "prompt_toolkit", "pylatexenc", "latex2sympy2_extended",
         "openai", "uvicorn", "starlette", "huggingface_hub")  # fmt: skip

PROBE = """
import json, sys
from vibecli.cli.app import app
try:
    app(args=sys.argv[1:], prog_name="vibe")
except SystemExit:
    pass
print(json.dumps([m for m in {heavy!r} if m in sys.modules]), file=sys.stderr)
"""


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["--version"],
        ["solve", "--help"],
        ["verify", "--help"],
        ["verify", "math", "--help"],
        ["verify", "code", "--help"],
        ["batch", "--help"],
        ["repl", "--help"],
        ["serve", "--help"],
        ["models", "--help"],
        ["models", "list"],
        ["doctor", "--help"],
        ["config", "--help"],
        ["config", "path"],
        ["config", "show"],
    ],
)
def test_no_heavy_import(argv: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), *argv], capture_output=True, text=True, timeout=60
    )
    loaded = json.loads(proc.stderr.strip().splitlines()[-1])
    assert loaded == [], f"`vibe {' '.join(argv)}` imported {loaded}"
    assert proc.stdout.strip()
