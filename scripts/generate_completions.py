"""Write the shell completion scripts in completions/ from the Typer app.

    python scripts/generate_completions.py

The scripts are Typer's: small shims that ask `vibe` itself for candidates at each TAB,
so options, subcommands and values (modes, backends, models) never go stale.
tests/test_completions.py fails when the committed files drift from what this writes.
"""

from __future__ import annotations

from pathlib import Path

from typer._completion_shared import get_completion_script

SHELLS = {"bash": "vibe.bash", "zsh": "_vibe", "fish": "vibe.fish"}


def scripts() -> dict[str, str]:
    """File name to script text, for every supported shell."""
    return {
        name: get_completion_script(prog_name="vibe", complete_var="_VIBE_COMPLETE", shell=shell).rstrip() + "\n"
        for shell, name in SHELLS.items()
    }


def main() -> None:
    folder = Path(__file__).resolve().parents[1] / "completions"
    folder.mkdir(exist_ok=True)
    for name, text in scripts().items():
        (folder / name).write_text(text)
        print(f"wrote {folder / name}")


if __name__ == "__main__":
    main()
