"""`vibe eval` refuses bad invocations before any model loads (one line, exit 2, no traceback),
and a resume trusts nothing it has not checked: a changed gold is regraded, a changed problem
refused, a smaller -k reported at the k asked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vibecli.cli.app import app

runner = CliRunner()
pytestmark = pytest.mark.slow

SET = [("a", "What is 48 + 37?", "85"), ("b", "Compute 12 * 3.", "36"), ("c", "What is 7 + 5?", "12")]


def write_set(path: Path, rows: list[tuple[str, str, str]] = SET) -> Path:
    path.write_text("".join(json.dumps({"id": i, "question": q, "answer": a}) + "\n" for i, q, a in rows))
    return path


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A real run of the demo model (k 2), whose folder the hostile invocations aim at."""
    root = tmp_path_factory.mktemp("run")
    problems, out = write_set(root / "set.jsonl"), root / "run"
    done = runner.invoke(app, ["eval", str(problems), "--model", "demo", "-k", "2", "--max-tokens", "300",
                               "-o", str(out)])  # fmt: skip
    assert done.exit_code == 0, done.stderr
    # the same run in the default folder (vibe's data dir), which the model's name decides
    default = runner.invoke(app, ["eval", str(problems), "--model", "demo", "-k", "1", "--max-tokens", "300"],
                            env={"XDG_DATA_HOME": str(root / "data")})  # fmt: skip
    assert default.exit_code == 0, default.stderr
    return problems, out


def hostile(root: Path, problems: Path, run: Path) -> list[tuple[str, list[str], str]]:
    """(what, arguments, a word the one stderr line must hold)."""
    folder = root / "a-folder"
    folder.mkdir(exist_ok=True)
    (folder / "keep.txt").write_text("user data")
    empty = root / "empty.jsonl"
    empty.write_text("")
    duplicate = write_set(root / "dup.jsonl", [SET[0], SET[0]])
    malformed = root / "bad.jsonl"
    malformed.write_text('{"id": "x", "question": \n')
    a_file = root / "file.txt"
    a_file.write_text("not a folder")
    (root / "changed").mkdir(exist_ok=True)  # the same file name: the same benchmark, one problem reworded
    changed = write_set(root / "changed" / "set.jsonl", [("a", "What is 48 + 38?", "86"), *SET[1:]])
    model = ["--model", "demo"]
    base = ["eval", str(problems), *model]
    return [
        ("no benchmark", ["eval", *model], "no benchmark"),
        ("unknown benchmark", ["eval", "aime2099", *model], "unknown benchmark"),
        ("a folder as the problem file", ["eval", str(folder), *model], "is a directory"),
        ("a missing file", ["eval", str(root / "missing.jsonl"), *model], "does not exist"),
        ("an empty file", ["eval", str(empty), *model], "holds no problems"),
        ("a repeated id", ["eval", str(duplicate), *model], "own id"),
        ("a malformed line", ["eval", str(malformed), *model], "bad.jsonl"),
        ("-o an existing file", [*base, "-o", str(a_file)], "is a file"),
        ("-o a finished run without --resume", [*base, "-o", str(run)], "--resume"),
        ("-o a folder of user files", [*base, "-o", str(folder)], "not empty"),
        ("the default folder's run without --resume", [*base, "-k", "1", "--max-tokens", "300"], "--resume"),
        ("--resume into nothing", [*base, "-o", str(root / "new"), "--resume"], "no run"),
        ("--summary-json not .json", [*base, "--summary-json", str(root / "s.txt")], "--summary-json"),
        ("--summary-json a folder", [*base, "--summary-json", str(folder)], "--summary-json"),
        ("--summary-json under a file", [*base, "--summary-json", str(a_file / "s.json")], "is a file"),
        ("--plot .gif", [*base, "--plot", str(root / "p.gif")], "--plot"),
        ("--plot under a file", [*base, "--plot", str(a_file / "p.png")], "is a file"),
        ("--grader unknown", [*base, "--grader", "exact"], "--grader"),
        ("--loop-guard unknown", [*base, "--loop-guard", "maybe"], "--loop-guard"),
        ("--choices unknown", [*base, "--choices", "random"], "--choices"),
        ("--protocol unknown", [*base, "--protocol", "vibethinker-7b"], "--protocol"),
        (
            "--protocol against the model's",
            ["eval", str(problems), "--model", "WeiboAI/VibeThinker-1.5B", "--protocol", "vibethinker-3b"],
            "does not match",
        ),
        ("--resume with another protocol", [*base, "-o", str(run), "--resume", "--max-tokens", "299"], "max_tokens"),
        (
            "--resume with a changed problem",
            ["eval", str(changed), *model, "-o", str(run), "--resume", "--max-tokens", "300"],
            "changed",
        ),
        ("--think-budget words", [*base, "--think-budget", "lots"], "--think-budget"),
        ("--since not a date", [*base, "--since", "2025-13-01"], "--since"),
        ("--since after --until", [*base, "--since", "2025-05-01", "--until", "2025-01-01"], "not before"),
        ("a benchmark twice", ["eval", str(problems), str(problems), *model], "twice"),
        ("report without a folder", ["eval", "report"], "usage"),
        ("report of nothing", ["eval", "report", str(folder)], "no vibe eval run"),
        ("list with extra words", ["eval", "list", "aime25"], "usage"),
        ("-k 0", [*base, "-k", "0"], "-k"),
        *not_list_yaml(root, model),
        (
            "several benchmarks into a folder of user files",
            ["eval", str(problems), str(write_set(root / "other.jsonl", SET[:1])), *model, "-o", str(folder)],
            "not a vibe eval run",
        ),
        (
            "several benchmarks into a run's own folder",
            ["eval", str(problems), str(root / "other.jsonl"), *model, "-o", str(run), "--resume"],
            "not a vibe eval run",
        ),
        *unwritable_outputs(base),
        ("--choices shuffled without --seed", [*base, "--choices", "shuffled"], "--seed"),
        ("an unknown mode in the file", ["eval", str(bad_mode(root, "nonsense")), *model], "line 2"),
        ("an internal mode in the file", ["eval", str(bad_mode(root, "card-math")), *model], "line 2"),
        ("a temperature out of range", [*base, "--temperature", "-1"], "temperature"),
    ]


def bad_mode(root: Path, mode: str) -> Path:
    path = root / f"mode-{mode}.jsonl"
    write_set(path, SET[:1])
    with path.open("a") as stream:
        stream.write(json.dumps({"id": "m", "question": "What is 1 + 1?", "answer": "2", "mode": mode}) + "\n")
    return path


def not_list_yaml(root: Path, model: list[str]) -> list[tuple[str, list[str], str]]:
    """A .yaml file that is not a list is refused, never run as lines of plain text."""
    cases = {"mapping": "id: y1\nproblem: x\n", "nested": "problems:\n  - id: a\n    problem: x\n", "text": "x\n"}
    for name, text in cases.items():
        (root / f"{name}.yaml").write_text(text)
    return [(f"a .yaml {name}", ["eval", str(root / f"{name}.yaml"), *model], "list of problems") for name in cases]


def unwritable_outputs(base: list[str]) -> list[tuple[str, list[str], str]]:
    """Paths whose folder exists and os.access allows (to root), where no file can be made."""
    return [
        (f"{flag} {path}", [*base, "--think-budget", "0,off", flag, path], "writ")
        for flag, path in (("--plot", "/proc/x.png"), ("--plot", "/proc/self/x.svg"),
                           ("--summary-json", "/proc/x.json"), ("--summary-json", "/sys/x.json"))
    ]  # fmt: skip


def test_hostile_invocations_are_refused_before_any_model_loads(
    tmp_path: Path, finished_run: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import vibecli.cli.eval as eval_cli

    loads: list[str] = []

    def no_model(config: object, terminal: object) -> object:
        loads.append("loaded")
        raise AssertionError("a model was loaded")

    monkeypatch.setattr(eval_cli, "load_engine", no_model)
    problems, run = finished_run
    before = sorted(p.name for p in run.iterdir()), (run / "samples.jsonl").read_text()
    cases = hostile(tmp_path, problems, run)
    assert len(cases) >= 20
    env = {"XDG_DATA_HOME": str(problems.parent / "data")}
    for what, args, word in cases:
        result = runner.invoke(app, args, env=env)
        lines = result.stderr.strip().splitlines()
        assert result.exit_code == 2, (what, result.exit_code, result.stderr, result.exception)
        assert "Traceback" not in result.stderr and len(lines) == 1, (what, result.stderr)
        assert word.lower() in lines[0].lower(), (what, lines[0])
        if "mode in the file" in what:  # the file and line named, and only the modes a file may use
            assert "mode-" in lines[0] and "known: auto" in lines[0] and "card-" not in lines[0].split("known: ")[1]
            assert "gpqa" not in lines[0].split("known: ")[1], lines[0]
        if what == "--resume with another protocol":  # the values, not only the setting's name
            assert "max_tokens (was 300, now 299)" in lines[0], lines[0]
    assert loads == []
    assert (tmp_path / "a-folder" / "keep.txt").read_text() == "user data"
    assert (sorted(p.name for p in run.iterdir()), (run / "samples.jsonl").read_text()) == before


def test_report_help_is_its_own() -> None:
    result = runner.invoke(app, ["eval", "report", "--help"])
    assert result.exit_code == 0 and result.stdout.startswith("Usage: vibe eval report DIR")
    assert "--think-budget" not in result.stdout


def summary(path: Path) -> dict[str, object]:
    [row] = json.loads(path.read_text())
    return row  # type: ignore[no-any-return]


def test_a_changed_gold_is_regraded_and_a_smaller_k_reported_at_the_k_asked(tmp_path: Path) -> None:
    problems, out, first = write_set(tmp_path / "set.jsonl"), tmp_path / "run", tmp_path / "first.json"
    args = ["eval", str(problems), "--model", "demo", "-k", "4", "--max-tokens", "300", "-o", str(out)]
    assert runner.invoke(app, [*args, "--summary-json", str(first)]).exit_code == 0
    right = summary(first)
    assert right["pass@1"] == 1.0 and right["samples"] == 12
    write_set(problems, [("a", SET[0][1], "86"), *SET[1:]])  # same file, same text, a new gold for `a`
    again = tmp_path / "again.json"
    resumed = runner.invoke(app, [*args, "--resume", "--summary-json", str(again)])
    assert resumed.exit_code == 0, resumed.stderr
    assert (out / "samples.jsonl").read_text().count("\n") == 12  # nothing generated: only regraded
    assert summary(again)["pass@1"] == pytest.approx(2 / 3)  # `a` is now wrong on every sample
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["digests"]["a"]["gold"] != json.loads(json.dumps(manifest))["digests"]["b"]["gold"]
    same = tmp_path / "same.json"
    kept = runner.invoke(app, [*args[:4], *args[6:], "--resume", "--summary-json", str(same)])  # no -k: the run's
    assert kept.exit_code == 0, kept.stderr
    assert summary(same)["k"] == 4 and (out / "samples.jsonl").read_text().count("\n") == 12
    smaller = tmp_path / "k2.json"
    two = runner.invoke(app, [*args[:5], "2", *args[6:], "--resume", "--summary-json", str(smaller)])
    assert two.exit_code == 0, two.stderr
    row = summary(smaller)
    assert (row["k"], row["samples"], row["samples_in_run"]) == (2, 6, 4)
    assert "the run's k is 4 (it holds 4 samples per problem); reported at the 2 asked" in two.stderr
    report = runner.invoke(app, ["eval", "report", str(out), "--summary-json", str(tmp_path / "r.json")])
    assert report.exit_code == 0 and "samples 12 of 12" in report.stdout


def test_problems_without_a_gold_are_ungraded_not_wrong(tmp_path: Path) -> None:
    problems = tmp_path / "set.jsonl"
    problems.write_text(json.dumps({"id": "a", "question": "What is 7 + 5?", "answer": "12"}) + "\n"
                        + json.dumps({"id": "open", "question": "What is 2 + 2?"}) + "\n")  # fmt: skip
    out = tmp_path / "s.json"
    result = runner.invoke(app, ["eval", str(problems), "--model", "demo", "-k", "2", "--max-tokens", "300",
                                 "-o", str(tmp_path / "run"), "--summary-json", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    row = summary(out)
    assert (row["pass@1"], row["problems_graded"], row["problems_ungraded"]) == (1.0, 1, 1)
    assert "1 problems ungraded" in result.stdout


def test_a_setting_from_the_environment_replacing_the_protocol_warns_and_is_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIBE_TEMPERATURE", "0.3")
    out = tmp_path / "run"
    result = runner.invoke(app, ["eval", str(write_set(tmp_path / "set.jsonl", SET[:1])), "--model", "demo", "-k",
                                 "1", "--max-tokens", "300", "-o", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "warning: temperature 0.3 from the environment replaces the vibethinker-1.5b protocol's" in result.stderr
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["settings"]["temperature"] == 0.3
    assert {"key": "temperature", "value": 0.3, "from": "environment"} in manifest["protocol"]["overrides"]
    assert {"key": "max_tokens", "value": 300, "from": "flag"} in manifest["protocol"]["overrides"]
    assert "replaced: temperature 0.3 (environment)" in result.stdout


def test_a_plot_that_cannot_be_written_after_the_run_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The folder probed before the run can turn into a file before the plot is drawn: one line, exit 2."""
    problems, plot = write_set(tmp_path / "set.jsonl", SET[:1]), tmp_path / "gone" / "p.png"
    import vibecli.ui.eval_view as view

    real = view.plot_budgets

    def vanish(rows: list[dict[str, object]], path: Path) -> None:
        (tmp_path / "gone").rmdir()
        (tmp_path / "gone").write_text("a file where the folder was")
        real(rows, path)

    monkeypatch.setattr(view, "plot_budgets", vanish)
    args = ["-o", str(tmp_path / "run"), "--think-budget", "0,off", "--plot", str(plot)]
    result = runner.invoke(app, ["eval", str(problems), "--model", "demo", "-k", "1", "--max-tokens", "300", *args])
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2 and "Traceback" not in result.stderr, (result.exit_code, result.stderr)
    assert lines[-1].startswith(f"vibe: cannot write --plot {plot}"), lines
    assert (tmp_path / "run" / "samples.jsonl").read_text().count("\n") == 2  # the samples are kept


def test_a_smaller_k_after_an_interrupted_run_says_what_the_run_holds(tmp_path: Path) -> None:
    problems, out = write_set(tmp_path / "set.jsonl"), tmp_path / "run"
    args = ["eval", str(problems), "--model", "demo", "--max-tokens", "300", "-o", str(out)]
    assert runner.invoke(app, [*args, "-k", "2"]).exit_code == 0
    samples = out / "samples.jsonl"  # as if interrupted: only `a` has its second sample
    kept = [line for line in samples.read_text().splitlines(keepends=True)
            if json.loads(line)["problem"] == "a" or json.loads(line)["sample"] == 0]  # fmt: skip
    samples.write_text("".join(kept))
    result = runner.invoke(app, [*args, "-k", "1", "--resume"])
    assert result.exit_code == 0, result.stderr
    assert "the run's k is 2 (it holds 1-2 samples per problem); reported at the 1 asked" in result.stderr
