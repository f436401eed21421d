"""The sweep: bad invocations of every command, as a new user makes them.

Each must end with no traceback, one clear line on stderr (`vibe: …`, besides warnings), and an
exit code from that command's column of the README's exit-code table. The assertions are about
those properties only, not the wording, so the messages may improve without touching this test.
Most run in-process (fast); bad usage fails before any model loads, and where a model is needed
it is the bundled demo model.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vibecli.cli.app import app

runner = CliRunner()
README = Path(__file__).resolve().parents[1] / "README.md"


def _columns() -> dict[str, set[int]]:
    """Each command's exit codes, read from the README's "Exit codes of every command" table."""
    text = README.read_text(encoding="utf-8")
    table = text[text.index("### Exit codes of every command") :].split("\n\n", 2)[1]
    rows = [line.strip("|").split("|") for line in table.splitlines()[2:]]
    names = ["solve", "verify", "batch eval", "serve mcp repl models config doctor"]
    codes: dict[str, set[int]] = {}
    for column, group in enumerate(names, start=1):
        allowed = {int(row[0]) for row in rows if row[column].strip() not in ("—", "")}
        for name in group.split():
            codes[name] = allowed
    codes["completion"] = codes["vibe"] = codes["doctor"]
    return codes


COLUMNS = _columns()

Files = dict[str, Path]
Args = list[str] | Callable[[Files], list[str]]

# Common bad flags, tried on every command that takes them.
SOLVE_LIKE = [
    ["--top-p", "0"], ["--top-p", "1.5"], ["--top-p", "abc"], ["-t", "-1"], ["-t", "abc"], ["--temperature", "9"],
    ["--max-tokens", "0"], ["--max-tokens", "-5"], ["--max-tokens", "lots"], ["--think-budget", "-1"],
    ["--think-budget", "x"], ["--top-k", "-1"], ["--top-k", "abc"], ["--seed", "abc"], ["--seed", "1.5"],
    ["--loop-guard", "maybe"], ["--mode", "poetry"], ["--backend", "banana"], ["--device", "tpu"],
    ["--cache", "q3"], ["--ctx", "abc"], ["--backend", "openai"], ["--model", "/nonexistent/model"],
    ["--tmperature", "1"], ["--bogus"], ["--model"], ["--base-url", "not a url", "--backend", "openai"],
    ["--seed", "18446744073709551616"], ["--seed", "9223372036854775808"], ["--seed", "-1"],
]  # fmt: skip
HUGE = "99999999999999999999"
TOP_SEED = str(2**63 - 1)  # the largest seed: one sample fits, two do not


def _bad_bytes(tmp: Path) -> Path:
    path = tmp / "latin1.txt"
    path.write_bytes("caf\xe9 = 1 + 1\n".encode("latin-1"))
    return path


def _files(tmp: Path) -> Files:
    problems = tmp / "p.txt"
    problems.write_text("What is 1 + 1?\n")
    jsonl = tmp / "p.jsonl"
    jsonl.write_text('{"id": "a", "problem": "What is 1 + 1?"}\n')
    tests = tmp / "tests.jsonl"
    tests.write_text('{"input": "", "output": "2"}\n')
    bad_tests = tmp / "bad_tests.jsonl"
    bad_tests.write_text("not json\n")
    shapeless = tmp / "shapeless.jsonl"
    shapeless.write_text('{"in": 1}\n')
    solution = tmp / "sol.py"
    solution.write_text("print(2)\n")
    empty = tmp / "empty.txt"
    empty.write_text("")
    results = tmp / "results.jsonl"
    results.write_text('{"id": "a", "problem": "x"}\n')
    garbage = tmp / "garbage.jsonl"
    garbage.write_text("garbage\n")
    folder = tmp / "folder"
    folder.mkdir()
    return {"problems": problems, "jsonl": jsonl, "tests": tests, "bad_tests": bad_tests, "shapeless": shapeless,
            "solution": solution, "empty": empty, "latin1": _bad_bytes(tmp), "dir": folder, "results": results,
            "garbage": garbage, "missing": tmp / "missing.txt", "nodir": tmp / "no" / "such" / "out.jsonl"}  # fmt: skip


def f(name: str, *rest: str) -> Callable[[Files], list[str]]:
    """Arguments naming a prepared file: f("tests", "--json") is the tests file's path, then --json."""
    return lambda files: [str(files[name]), *rest]


def _solve_cases() -> list[tuple[str, Args]]:
    cases: list[tuple[str, Args]] = [("solve", ["What is 1+1?", *flags]) for flags in SOLVE_LIKE]
    cases += [
        ("solve", []),  # no problem, empty stdin
        ("solve", ["   "]),
        ("solve", ["x", "--samples", "0"]),
        ("solve", ["x", "--samples", "abc"]),
        ("solve", ["x", "--samples", HUGE]),
        ("solve", ["What is 2+3?", "--json", "-o", "out.txt"]),
        ("solve", ["What is 2+3?", "--mode", "math", "-q"]),
        ("solve", ["What is 2+3?", "-t", "0", "-out"]),
        ("solve", ["x", "--samples", "257"]),
        ("solve", ["x", "--samples", "2", "--seed", TOP_SEED]),
        ("solve", ["x", "--think", "loud"]),
        ("solve", lambda fs: ["-f", str(fs["missing"])]),
        ("solve", lambda fs: ["-f", str(fs["dir"])]),
        ("solve", lambda fs: ["-f", str(fs["latin1"])]),
        ("solve", lambda fs: ["-f", str(fs["empty"])]),
        ("solve", lambda fs: ["x", "-f", str(fs["problems"])]),
        ("solve", lambda fs: ["x", "--tests", str(fs["missing"])]),
        ("solve", lambda fs: ["x", "--tests", str(fs["dir"])]),
        ("solve", lambda fs: ["x", "--tests", str(fs["latin1"])]),
        ("solve", lambda fs: ["x", "--tests", str(fs["bad_tests"])]),
        ("solve", lambda fs: ["x", "--tests", str(fs["shapeless"])]),
        ("solve", lambda fs: ["x", "--tests", str(fs["latin1"]), "--samples", "2"]),
        ("solve", lambda fs: ["x", "--starter-code", str(fs["missing"])]),
        ("solve", lambda fs: ["x", "--starter-code", str(fs["latin1"])]),
        ("solve", ["x", "--mode", "math", "--mode"]),
    ]
    return cases


def _verify_cases() -> list[tuple[str, Args]]:
    return [
        ("verify", []),
        ("verify", ["nosuch"]),
        ("verify", ["math"]),
        ("verify", ["math", "--bogus"]),
        ("verify", ["math", "1", "--expected"]),
        ("verify", lambda fs: ["math", "--cases", str(fs["missing"])]),
        ("verify", lambda fs: ["math", "--cases", str(fs["latin1"])]),
        ("verify", lambda fs: ["math", "--cases", str(fs["dir"])]),
        ("verify", lambda fs: ["math", "--cases", str(fs["garbage"])]),
        ("verify", ["equation"]),
        ("verify", ["equation", "--bogus"]),
        ("verify", ["ode"]),
        ("verify", ["ode", "--bogus"]),
        ("verify", ["code"]),
        ("verify", ["code", "--bogus"]),
        ("verify", lambda fs: ["code", str(fs["solution"])]),
        ("verify", lambda fs: ["code", str(fs["solution"]), "--tests", str(fs["missing"])]),
        ("verify", lambda fs: ["code", str(fs["solution"]), "--tests", str(fs["dir"])]),
        ("verify", lambda fs: ["code", str(fs["solution"]), "--tests", str(fs["latin1"])]),
        ("verify", lambda fs: ["code", str(fs["solution"]), "--tests", str(fs["bad_tests"])]),
        ("verify", lambda fs: ["code", str(fs["solution"]), "--tests", str(fs["shapeless"])]),
        ("verify", lambda fs: ["code", str(fs["solution"]), "--tests", str(fs["empty"])]),
        ("verify", lambda fs: ["code", str(fs["missing"]), "--tests", str(fs["tests"])]),
        ("verify", lambda fs: ["code", str(fs["latin1"]), "--tests", str(fs["tests"])]),
        ("verify", lambda fs: ["code", str(fs["solution"]), "--tests", str(fs["tests"]), "--timeout", "abc"]),
        ("verify", lambda fs: ["code", str(fs["solution"]), "--tests", str(fs["tests"]), "--timeout", "-1"]),
    ]


def _batch_cases() -> list[tuple[str, Args]]:
    cases: list[tuple[str, Args]] = [("batch", f("problems", *flags)) for flags in SOLVE_LIKE]
    cases += [
        ("batch", []),
        ("batch", f("missing")),
        ("batch", f("dir")),
        ("batch", f("latin1")),
        ("batch", f("empty")),
        ("batch", f("problems", "-k", "0")),
        ("batch", f("problems", "-k", "abc")),
        ("batch", f("problems", "-k", HUGE)),
        ("batch", f("problems", "-k", "2", "--seed", TOP_SEED)),
        ("batch", lambda fs: [str(fs["problems"]), "-o", str(fs["jsonl"]), "--summary-json", str(fs["jsonl"])]),
        ("batch", lambda fs: [str(fs["problems"]), "--summary-json", str(fs["problems"])]),
        ("batch", lambda fs: [str(fs["problems"]), "--summary-json", str(fs["solution"])]),
        ("batch", lambda fs: [str(fs["problems"]), "-o", "/dev/null", "--resume"]),
        ("batch", lambda fs: ["report", str(fs["dir"])]),
        ("batch", f("problems", "-c", "0")),
        ("batch", f("problems", "-c", "x")),
        ("batch", lambda fs: [str(fs["problems"]), "-o", str(fs["dir"])]),
        ("batch", lambda fs: [str(fs["problems"]), "-o", str(fs["nodir"])]),
        ("batch", lambda fs: [str(fs["problems"]), "-o", str(fs["problems"])]),
        ("batch", lambda fs: [str(fs["problems"]), "--resume"]),
        ("batch", lambda fs: [str(fs["problems"]), "-o", str(fs["results"]), "--resume"]),
        ("batch", lambda fs: [str(fs["problems"]), "-o", str(fs["garbage"]), "--resume"]),
        ("batch", lambda fs: [str(fs["problems"]), "-o", str(fs["results"])]),
        ("batch", lambda fs: [str(fs["problems"]), "--summary-json", str(fs["nodir"])]),
        ("batch", lambda fs: [str(fs["problems"]), "--summary-json", str(fs["dir"])]),
        ("batch", f("jsonl", "--strict", "--mode", "poetry")),
        ("batch", ["report"]),
        ("batch", ["report", "a", "b"]),
        ("batch", lambda fs: ["report", str(fs["missing"])]),
        ("batch", lambda fs: ["report", str(fs["garbage"])]),
        ("batch", lambda fs: ["report", str(fs["results"])]),
        ("batch", lambda fs: ["report", str(fs["empty"])]),
    ]
    return cases


def _repl_cases() -> list[tuple[str, Args]]:
    flags = [fl for fl in SOLVE_LIKE if fl[0] not in ("--model",) or len(fl) > 1]
    return [("repl", list(flag)) for flag in flags] + [("repl", ["extra"]), ("repl", ["--think", "loud"])]


def _server_cases() -> list[tuple[str, Args]]:
    return [
        ("serve", ["--bogus"]),
        ("serve", ["--port", "abc"]),
        ("serve", ["--port", "70000"]),
        ("serve", ["--port", "-1"]),
        ("serve", ["-c", "0"]),
        ("serve", ["--max-queue", "-1"]),
        ("serve", ["--max-n", "0"]),
        ("serve", ["--host"]),
        ("serve", ["--max-tokens", "0"]),
        ("serve", ["--shutdown-timeout", "abc"]),
        ("serve", ["--backend", "banana"]),
        ("serve", ["--model", "/nonexistent/model"]),
        ("serve", ["extra"]),
        ("mcp", ["--bogus"]),
        ("mcp", ["--transport", "carrier"]),
        ("mcp", ["--port", "abc"]),
        ("mcp", ["--port", "70000"]),
        ("mcp", ["-c", "0"]),
        ("mcp", ["--max-queue", "-1"]),
        ("mcp", ["--check-workers", "0"]),
        ("mcp", ["--top-p", "0"]),
        ("mcp", ["--max-tokens", "0"]),
        ("mcp", ["--think-budget", "-1"]),
        ("mcp", ["--loop-guard", "maybe"]),
        ("mcp", ["--mode", "poetry"]),
        ("mcp", ["--backend", "openai"]),
        ("mcp", ["extra"]),
    ]


def _eval_cases() -> list[tuple[str, Args]]:
    return [
        ("eval", []),
        ("eval", ["--bogus"]),
        ("eval", ["nosuchbench"]),
        ("eval", f("missing")),
        ("eval", f("dir")),
        ("eval", f("latin1")),
        ("eval", f("empty")),
        ("eval", f("garbage")),
        ("eval", ["aime24", "-k", "0"]),
        ("eval", ["aime24", "-k", "abc"]),
        ("eval", ["aime24", "-c", "0"]),
        ("eval", ["aime24", "--think-budget", "lots"]),
        ("eval", ["aime24", "--loop-guard", "maybe"]),
        ("eval", ["aime24", "--grader", "nobody"]),
        ("eval", ["aime24", "--limit", "0"]),
        ("eval", ["aime24", "--since", "yesterday"]),
        ("eval", ["aime24", "--top-p", "0"]),
        ("eval", ["aime24", "--max-tokens", "0"]),
        ("eval", lambda fs: ["aime24", "-o", str(fs["problems"])]),
        ("eval", lambda fs: ["aime24", "--plot", str(fs["nodir"])]),
        ("eval", ["report"]),
        ("eval", lambda fs: ["report", str(fs["missing"])]),
        ("eval", lambda fs: ["report", str(fs["dir"])]),
        ("eval", ["list", "extra"]),
    ]


def _other_cases() -> list[tuple[str, Args]]:
    return [
        ("models", ["nosuch"]),
        ("models", ["list", "--bogus"]),
        ("models", ["list", "extra"]),
        ("models", ["info"]),
        ("models", ["info", "/nonexistent/model"]),
        ("models", lambda fs: ["info", str(fs["dir"])]),
        ("models", ["rm"]),
        ("models", ["rm", "nosuch"]),
        ("models", ["pull"]),
        ("models", ["pull", "--bogus", "x/y"]),
        ("models", ["quantize"]),
        ("models", ["quantize", "/nonexistent/model"]),
        ("models", ["quantize", "demo", "--bits", "abc"]),
        ("config", ["nosuch"]),
        ("config", ["show", "extra"]),
        ("config", ["show", "--bogus"]),
        ("config", ["path", "extra"]),
        ("config", ["init", "--bogus"]),
        ("doctor", ["extra"]),
        ("doctor", ["--bogus"]),
        ("completion", []),
        ("vibe", ["--bogus"]),
        ("vibe", ["sovle", "x"]),
    ]


CASES = _solve_cases() + _verify_cases() + _batch_cases() + _repl_cases() + _server_cases() + _eval_cases()
CASES += _other_cases()
# Settings that come from the environment are checked as flags are.
ENV_CASES = [
    ("solve", {"VIBE_TOP_P": "0"}), ("solve", {"VIBE_SEED": "99999999999999999999999"}),
    ("batch", {"VIBE_SEED": "18446744073709551616"}), ("solve", {"VIBE_MAX_TOKENS": "abc"}),
    ("batch", {"VIBE_TEMPERATURE": "-1"}),
    ("repl", {"VIBE_LOOP_GUARD": "maybe"}), ("config", {"VIBE_TOP_P": "2"}), ("serve", {"VIBE_BACKEND": "banana"}),
    ("mcp", {"VIBE_MODE": "poetry"}),
]  # fmt: skip


def test_the_sweep_is_wide() -> None:
    assert len(CASES) + len(ENV_CASES) >= 150
    assert {name for name, _ in CASES} >= {"solve", "verify", "batch", "repl", "serve", "mcp", "eval", "models",
                                           "config", "doctor", "completion"}  # fmt: skip


def _argv(name: str, args: Args, files: Files) -> list[str]:
    rest = args(files) if callable(args) else args
    if name == "vibe":
        return rest
    return [name, *rest]


def _check(name: str, argv: list[str], code: int, stderr: str, stdout: str) -> None:
    shown = f"vibe {' '.join(argv)} -> {code}\n{stderr}"
    assert "Traceback" not in stderr + stdout, shown
    assert code != 0, shown
    assert code in COLUMNS[name], shown
    if stderr.startswith("Usage: vibe") and len(argv) == 1:
        return  # a command group alone (`vibe verify`): its help, on stderr, is the clear answer
    notices = ("vibe: warning:", "vibe: no model configured")  # said before the error, not errors
    lines = [
        line
        for line in stderr.strip().splitlines()
        if line.strip() and not line.startswith(notices) and ": skipped" not in line
    ]  # a malformed line's note
    errors = [line for line in lines if line.startswith("vibe:")]
    assert len(errors) == 1, shown
    assert re.match(r"vibe: \S", errors[0]), shown


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    return _files(tmp_path_factory.mktemp("sweep"))


@pytest.mark.parametrize(("name", "args"), CASES, ids=[f"{i}-{name}" for i, (name, _) in enumerate(CASES)])
def test_a_bad_invocation_is_one_line_and_a_documented_code(name: str, args: Args, files: Files) -> None:
    argv = _argv(name, args, files)
    result = runner.invoke(app, argv, input="")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"vibe {' '.join(argv)} raised {result.exception!r}") from result.exception
    _check(name, argv, result.exit_code, result.stderr, result.stdout)


@pytest.mark.parametrize(("name", "env"), ENV_CASES)
def test_a_bad_setting_from_the_environment_is_one_line(name: str, env: dict[str, str]) -> None:
    argv = {"solve": ["solve", "x"], "batch": ["batch", "-"], "repl": ["repl"], "config": ["config", "show"],
            "serve": ["serve"], "mcp": ["mcp"]}[name]  # fmt: skip
    result = runner.invoke(app, argv, input="What is 1 + 1?\n", env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{env} vibe {' '.join(argv)} raised {result.exception!r}") from result.exception
    _check(name, argv, result.exit_code, result.stderr, result.stdout)
