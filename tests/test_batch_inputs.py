"""`vibe batch` input rules (issue 16): what is a problem, what is a result, and what is refused.

Every refusal happens before the model loads and leaves every file as it was.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vibecli.cli.app import app
from vibecli.errors import ExitCode

runner = CliRunner()


def batch(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, ["batch", *args], input=input)
    return result.exit_code, result.stdout, result.stderr


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def write_jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_an_unknown_mode_is_a_malformed_line_and_the_rest_runs(tmp_path: Path) -> None:
    problems = write_jsonl(tmp_path / "p.jsonl", [
        {"id": "a", "problem": "What is 2 + 2?", "mode": "banana"},
        {"id": "b", "problem": "What is 3 + 3?", "mode": "math"},
    ])  # fmt: skip
    out = tmp_path / "out.jsonl"
    code, _, err = batch(str(problems), "-o", str(out), "-t", "0")
    assert code == 0, err
    assert f'{problems} line 1: unknown mode "banana"' in err
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == ["b"]
    code, _, err = batch(str(problems), "-o", str(tmp_path / "strict.jsonl"), "--strict")
    assert code == ExitCode.USAGE and "line 1: unknown mode" in one_line(err)


def test_the_problem_file_is_refused_as_results(tmp_path: Path) -> None:
    problems = write_jsonl(tmp_path / "same.jsonl", [{"id": "a", "problem": "What is 2 + 2?"}])
    before = problems.read_bytes()
    code, _, err = batch(str(problems), "-o", str(problems), "--resume")
    assert code == ExitCode.USAGE and "is also a problem file" in one_line(err)
    other = write_jsonl(tmp_path / "other.jsonl", [{"id": "a", "problem": "What is 2 + 2?"}])
    code, _, err = batch(str(problems), "-o", str(other), "--resume")
    assert code == ExitCode.USAGE
    assert one_line(err) == f"vibe: {other} is not a vibe results file: line 1 is a problem, not a result " + (
        "(is this the problem file?)"
    )
    assert problems.read_bytes() == before and other.read_bytes() == before


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'{"id": "a", "problem": "What is 2 + 2?"}\n', "line 1 is a problem, not a result"),
        (bytes(range(256)) * 4, "line 1 is not JSON"),
        (b"What is 2 + 2?\n", "line 1 is not JSON"),
        (b'{"id": "a", "final_answer": "4", "finish_reason": "stop"}\n[1, 2]\n', "line 2 is not a JSON object"),
    ],
)
def test_batch_report_refuses_what_is_not_results(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "results.jsonl"
    path.write_bytes(content)
    code, out, err = batch("report", str(path))
    assert code == ExitCode.USAGE and out == ""
    assert one_line(err).startswith(f"vibe: {path} is not a vibe results file: {reason}")
    assert path.read_bytes() == content


def test_resume_cuts_only_a_result_line_cut_short(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text('{"id": "a", "final_answer": "4", "finish_reason": "stop"}\nsomething of yours')
    code, _, err = batch(str(write_jsonl(tmp_path / "p.jsonl", [{"id": "b", "problem": "What is 1 + 1?"}])),
                         "-o", str(out), "--resume")  # fmt: skip
    assert code == ExitCode.USAGE and "line 2 is not JSON" in one_line(err)
    assert out.read_text().endswith("something of yours")


@pytest.mark.parametrize("content", ["", "\n\n", "   \n"])
def test_empty_input_is_one_line_and_exit_2(tmp_path: Path, content: str) -> None:
    path = tmp_path / "empty.txt"
    path.write_text(content)
    code, out, err = batch(str(path))
    assert code == ExitCode.USAGE and out == ""
    assert one_line(err) == f"vibe: no problems in {path}"
    code, _, err = batch(input=content)
    assert code == ExitCode.USAGE and one_line(err) == "vibe: no problems in stdin"


def test_duplicate_ids_are_an_error_unless_renamed(tmp_path: Path) -> None:
    problems = write_jsonl(tmp_path / "p.jsonl", [
        {"id": "a", "problem": "What is 2 + 2?", "answer": "4"},
        {"id": "a", "problem": "What is 3 + 3?", "answer": "6"},
    ])  # fmt: skip
    code, _, err = batch(str(problems), "-t", "0")
    assert code == ExitCode.USAGE
    assert one_line(err).startswith(f"vibe: {problems} line 2: id 'a' is already used at {problems} line 1")
    code, out, err = batch(str(problems), "-t", "0", "--rename-duplicates")
    assert code == 0, err
    answers = {json.loads(line)["id"]: json.loads(line)["final_answer"] for line in out.splitlines()}
    assert answers == {"a": "4", "a-2": "6"}


def test_a_directory_as_output_is_named_as_such(tmp_path: Path) -> None:
    problems = write_jsonl(tmp_path / "p.jsonl", [{"problem": "What is 2 + 2?"}])
    code, _, err = batch(str(problems), "-o", str(tmp_path))
    assert code == ExitCode.USAGE
    assert one_line(err) == f"vibe: output file {tmp_path} is a directory; give a file path"


NOT_OBJECTS = ["[1, 2]", '"str"', "42", "null", "true", "[]", '{"broken": ']


@pytest.mark.parametrize("bad", NOT_OBJECTS)
@pytest.mark.parametrize("name", ["set.jsonl", "set.txt"])
def test_a_line_that_is_not_an_object_is_malformed_never_text(tmp_path: Path, bad: str, name: str) -> None:
    from vibecli.batch.inputs import load_problems

    record = json.dumps({"id": "a", "problem": "What is 2 + 2?"})
    # As the first line (a .jsonl name decides) and after a record (the first line decides).
    for lines in ([bad, record], [record, bad]):
        if name == "set.txt" and lines[0] == bad:
            continue  # a .txt whose first line is not `{` is plain text by the rule
        text = "\n".join(lines) + "\n"
        skipped: list[object] = []
        problems = load_problems([(name, text)], on_malformed=skipped.append)
        assert [p.id for p in problems] == ["a"] and problems[0].problem == "What is 2 + 2?"
        assert len(skipped) == 1 and f"line {lines.index(bad) + 1}" in str(skipped[0])


def test_batch_skips_a_non_object_line_with_a_warning_and_strict_stops(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text('[1,2]\n"str"\n{"id": "a", "problem": "What is 2 + 2?"}\n')
    code, out, err = batch(str(path), "-t", "0", "--model", "demo")
    assert code == 0, err
    assert [json.loads(line)["id"] for line in out.splitlines()] == ["a"]
    assert "line 1: not a JSON object" in err and "line 2: not a JSON object" in err
    code, _, err = batch(str(path), "--strict", "--model", "demo")
    assert code == ExitCode.USAGE and "line 1: not a JSON object" in one_line(err)


def test_eval_reads_a_local_file_by_the_same_rule(tmp_path: Path) -> None:
    from vibecli.errors import UsageError
    from vibecli.eval.datasets import file_problems

    path = tmp_path / "set.jsonl"
    path.write_text('[1,2]\n{"id": "a", "problem": "What is 2 + 2?", "answer": "4"}\n')
    with pytest.raises(UsageError, match="line 1: not a JSON object"):
        file_problems(path, "math")  # eval stops: a skipped line would change the benchmark's score


def test_a_problem_line_may_carry_think_budget_and_starter_code(tmp_path: Path) -> None:
    from vibecli.batch.inputs import load_problems

    text = "\n".join(json.dumps(r) for r in [
        {"id": "a", "problem": "p", "think_budget": 0, "starter_code": "def f():\n    pass\n"},
        {"id": "b", "problem": "p", "think_budget": -1},
        {"id": "c", "problem": "p", "think_budget": "lots"},
        {"id": "d", "problem": "p", "starter_code": 3},
    ])  # fmt: skip
    skipped: list[object] = []
    problems = load_problems([("s.jsonl", text)], on_malformed=skipped.append)
    assert [(p.id, p.think_budget, p.starter_code) for p in problems] == [("a", 0, "def f():\n    pass\n")]
    assert [str(s).split(": ", 1)[1].split(" ")[0] for s in skipped] == ["think_budget", "think_budget", "starter_code"]


RECORD = {"id": "bom", "problem": "What is 2 + 2?", "answer": "4"}


@pytest.mark.parametrize("name", ["bom.txt", "bom.jsonl", "bom", "-"])
@pytest.mark.parametrize("extra", [0, 2])
def test_a_bom_is_ignored_wherever_the_set_comes_from(tmp_path: Path, name: str, extra: int) -> None:
    lines = [json.dumps(RECORD)] + [json.dumps({"id": f"x{i}", "problem": f"What is {i} + 1?"}) for i in range(extra)]
    data = b"\xef\xbb\xbf" + ("\n".join(lines) + "\n").encode()
    if name == "-":
        result = runner.invoke(app, ["batch", "-", "-t", "0", "--model", "demo", "--max-tokens", "40"], input=data)
        code, out, err = result.exit_code, result.stdout, result.stderr
    else:
        (tmp_path / name).write_bytes(data)
        code, out, err = batch(str(tmp_path / name), "-t", "0", "--model", "demo", "--max-tokens", "40")
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [row["id"] for row in rows] == ["bom", *(f"x{i}" for i in range(extra))], err
    assert "skipped" not in err and "BOM" not in err


@pytest.mark.parametrize("item", ["1", '"What is 1 + 1?"', "[1, 2]", "null", "true", "3.5"])
def test_a_yaml_item_that_is_not_a_mapping_is_malformed(item: str) -> None:
    from vibecli.batch.inputs import load_problems

    text = f"- {item}\n- {{id: z, problem: 'What is 2 + 2?'}}\n"
    skipped: list[object] = []
    problems = load_problems([("set.yaml", text)], on_malformed=skipped.append)
    assert [p.id for p in problems] == ["z"]
    assert len(skipped) == 1 and "line 1" in str(skipped[0]) and "mapping" in str(skipped[0])


def test_batch_strict_stops_at_a_non_mapping_yaml_item(tmp_path: Path) -> None:
    path = tmp_path / "set.yaml"
    path.write_text('- {id: z, problem: "What is 2 + 2?"}\n- "str"\n')
    code, _, err = batch(str(path), "--strict", "--model", "demo")
    assert code == ExitCode.USAGE and "line 2" in one_line(err)


@pytest.mark.parametrize("bad", [b"\xff", b"\xc3\x28", b"caf\xe9", b"\x80\x80"])
@pytest.mark.parametrize("where", [0, 1, 2])
def test_a_line_that_is_not_utf8_is_one_malformed_line(tmp_path: Path, bad: bytes, where: int) -> None:
    lines = [json.dumps({"id": f"p{i}", "problem": f"What is {i} + 1?"}).encode() for i in range(3)]
    lines[where] = b'{"id": "q", "problem": "' + bad + b'"}'
    path = tmp_path / "m.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    code, out, err = batch(str(path), "-t", "0", "--model", "demo", "--max-tokens", "40")
    assert code == 0, err
    assert sorted(json.loads(line)["id"] for line in out.splitlines()) == sorted(
        f"p{i}" for i in range(3) if i != where
    )
    assert f"line {where + 1}: not UTF-8 text" in err and "codec" not in err
    code, _, err = batch(str(path), "--strict", "--model", "demo")
    assert code == ExitCode.USAGE and f"line {where + 1}: not UTF-8" in one_line(err)


@pytest.mark.parametrize(("early", "late"), [(2, 13), (1, 5), (3, 4)])
def test_malformed_lines_are_reported_in_file_order(tmp_path: Path, early: int, late: int) -> None:
    from vibecli.batch.inputs import load_problems
    from vibecli.errors import UsageError
    from vibecli.eval.datasets import file_problems

    lines = [json.dumps({"id": f"p{i}", "problem": f"What is {i} + 1?"}) for i in range(1, 15)]
    lines[early - 1] = "[1, 2]"  # JSON, not an object
    lines[late - 1] = '{"broken": '  # not JSON
    text = "\n".join(lines) + "\n"
    skipped: list[object] = []
    load_problems([("m2.jsonl", text)], on_malformed=skipped.append)
    assert [str(s).split(":")[0] for s in skipped] == [f"m2.jsonl line {early}", f"m2.jsonl line {late}"]
    path = tmp_path / "m2.jsonl"
    path.write_text(text)
    code, _, err = batch(str(path), "--strict", "--model", "demo")
    assert code == ExitCode.USAGE and f"line {early}:" in one_line(err)
    with pytest.raises(UsageError, match=f"line {early}:"):
        file_problems(path, "math")


NOT_LISTS = {
    "a mapping": "id: y1\nproblem: What is 2 + 2?\n",
    "a nested mapping": "problems:\n  - id: a\n    problem: What is 2 + 2?\n",
    "a bare text": "What is 2 + 2?\n",
    "a number": "42\n",
}


@pytest.mark.parametrize("what", NOT_LISTS)
@pytest.mark.parametrize("name", ["set.yaml", "set.yml"])
def test_a_yaml_file_that_is_not_a_list_is_refused_never_plain_text(tmp_path: Path, what: str, name: str) -> None:
    path = tmp_path / name
    path.write_text(NOT_LISTS[what])
    code, out, err = batch(str(path), "--model", "demo", "-t", "0")
    assert code == ExitCode.USAGE and out == ""
    assert "must be a list of problems" in one_line(err) and name in one_line(err)
    result = runner.invoke(app, ["eval", str(path), "--model", "demo", "-k", "1", "-o", str(tmp_path / "run")])
    assert result.exit_code == ExitCode.USAGE and "must be a list of problems" in one_line(result.stderr)
    assert not (tmp_path / "run").exists()
    path.write_text("- id: a\n  problem: What is 2 + 2?\n- problem: What is 3 + 3?\n")  # a list still reads
    from vibecli.batch.inputs import load_problems

    problems = load_problems([(name, path.read_text())], on_malformed=lambda bad: pytest.fail(str(bad)))
    assert [p.problem for p in problems] == ["What is 2 + 2?", "What is 3 + 3?"]
