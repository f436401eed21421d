"""Broken model directories through `solve`, `models info` and `serve`: one line, exit 3, naming what is wrong.

Each case is a copy of the bundled demo model with one thing broken, the way downloads and
hand-made checkpoints break in practice.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vibecli.cli.app import app
from vibecli.errors import ExitCode
from vibecli.paths import demo_model_dir

runner = CliRunner()


def _edit_config(**changes: object) -> Callable[[Path], None]:
    def edit(model: Path) -> None:
        config = json.loads((model / "config.json").read_text())
        (model / "config.json").write_text(json.dumps({**config, **changes}))

    return edit


def _truncate(model: Path) -> None:
    weights = model / "model.safetensors"
    os.truncate(weights, weights.stat().st_size - 100)


def _weights_a_directory(model: Path) -> None:
    (model / "model.safetensors").unlink()
    (model / "model.safetensors").mkdir()


# name -> (how to break it, what the line must say). The last two pass every check vibe can make
# without loading, so they exercise the backend's own load errors.
BROKEN: dict[str, tuple[Callable[[Path], None], str]] = {
    "truncated weights": (_truncate, "model.safetensors is truncated"),
    "garbage weights": (lambda m: (m / "model.safetensors").write_bytes(os.urandom(500)), "not a safetensors file"),
    "no weights": (lambda m: (m / "model.safetensors").unlink(), "has no .safetensors weights"),
    "unreadable weights": (_weights_a_directory, "cannot read"),
    "config is a list": (lambda m: (m / "config.json").write_text("[1, 2, 3]"), "must hold a JSON object, not list"),
    "config is not JSON": (lambda m: (m / "config.json").write_text("{oops"), "config.json is not valid JSON"),
    "config lacks model_type": (lambda m: (m / "config.json").write_text("{}"), "has no 'model_type'"),
    "no config": (lambda m: (m / "config.json").unlink(), "has no config.json"),
    "no tokenizer": (lambda m: (m / "tokenizer.json").unlink(), "has no tokenizer files"),
    "unknown architecture": (_edit_config(model_type="nosuchmodel"), "does not recognize this architecture"),
    "a field of the wrong type": (_edit_config(hidden_size="wide"), "hidden_size"),
}


@pytest.fixture(scope="module")
def broken_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("broken")
    made = {}
    for index, (name, (breaker, _)) in enumerate(BROKEN.items()):
        model = root / f"m{index}"
        shutil.copytree(demo_model_dir(), model)
        breaker(model)
        made[name] = model
    return made


def _assert_one_line(result: object, message: str) -> None:
    err = result.stderr  # type: ignore[attr-defined]
    assert result.exit_code == ExitCode.ENVIRONMENT, err  # type: ignore[attr-defined]
    lines = [line for line in err.strip().splitlines() if "demo model" not in line]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("vibe: ") and message in lines[0], lines[0]


@pytest.mark.parametrize("case", list(BROKEN))
def test_solve(broken_models: dict[str, Path], case: str) -> None:
    result = runner.invoke(app, ["solve", "What is 1 + 1?", "--model", str(broken_models[case]), "-t", "0"])
    _assert_one_line(result, BROKEN[case][1])
    assert result.stdout == ""


@pytest.mark.parametrize("case", list(BROKEN))
def test_serve(broken_models: dict[str, Path], case: str) -> None:
    result = runner.invoke(app, ["serve", "--model", str(broken_models[case]), "--port", "0"])
    _assert_one_line(result, BROKEN[case][1])


@pytest.mark.parametrize("case", [c for c in BROKEN if c not in ("unknown architecture", "a field of the wrong type")])
def test_models_info(broken_models: dict[str, Path], case: str) -> None:
    """What can be read is shown; the last line says why it would not load. (`models info` reads files, it
    does not load the model, so the last two cases, which only the engine can judge, are not among these.)"""
    result = runner.invoke(app, ["models", "info", str(broken_models[case])])
    _assert_one_line(result, BROKEN[case][1])
    assert "format: incomplete" in result.stdout
    as_json = runner.invoke(app, ["models", "info", str(broken_models[case]), "--json"])
    assert as_json.exit_code == ExitCode.ENVIRONMENT
    assert BROKEN[case][1] in json.loads(as_json.stdout)["problem"]


def test_a_whole_model_still_passes(broken_models: dict[str, Path]) -> None:
    result = runner.invoke(app, ["models", "info", str(demo_model_dir()), "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["problem"] is None
