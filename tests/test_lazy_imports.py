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


def test_help_loads_no_subcommand_module_and_no_rich() -> None:
    """`vibe --help` lists every subcommand from the table in app.py without importing any of them."""
    watched = ("vibecli.cli.", "vibecli.ui", "vibecli.engine", "vibecli.config", "rich")
    probe = PROBE.replace("[m for m in {heavy!r} if m in sys.modules]",
                          f"sorted(m for m in sys.modules if m.startswith({watched!r}))")  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", probe, "--help"], capture_output=True, text=True, timeout=60)
    loaded = json.loads(proc.stderr.strip().splitlines()[-1])
    assert loaded == ["vibecli.cli.app"], loaded
    from vibecli.cli.app import SUBCOMMANDS

    for name in SUBCOMMANDS:
        assert f"\n  {name} " in proc.stdout


def test_the_help_table_matches_each_command() -> None:
    """The one-line help in app.py's table is the start of the command's own help, so none goes stale."""
    from vibecli.cli.app import SUBCOMMANDS, load_subcommand

    for name, entry in SUBCOMMANDS.items():
        command = load_subcommand(name)
        assert " ".join((command.help or "").split()).startswith(entry.help), name
        assert command.get_params  # a real Click command, built from its module


def test_import_vibecli_and_its_public_names_is_light() -> None:
    """`import vibecli` (and looking up the API's names, and `vibecli.rewards`) loads no heavy module."""
    probe = ("import json, sys, vibecli, vibecli.rewards\n"
             "[getattr(vibecli, name) for name in vibecli.__all__]\n"
             f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(proc.stdout) == []
