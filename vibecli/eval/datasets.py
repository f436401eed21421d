"""Reading benchmark files into problems: parquet (pyarrow), JSONL and CSV, in each benchmark's
own layout, and LiveCodeBench's test cases."""

from __future__ import annotations

import base64
import csv
import fnmatch
import hashlib
import io
import json
import pickle
import random
import zlib
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vibecli.errors import EngineError, UsageError
from vibecli.eval.registry import GPQA_SUFFIX, Benchmark
from vibecli.prompting.templates import PromptTemplate


@dataclass(frozen=True)
class CodeTest:
    """One LiveCodeBench test: stdin/stdout, or a call of the starter code's method (`functional`)."""

    input: str
    output: str
    functional: bool = False


@dataclass(frozen=True)
class EvalProblem:
    """One problem as `vibe eval` runs it; `mode` names the prompt template."""

    id: str
    problem: str
    expected: str | None
    mode: str
    starter_code: str | None = None
    tests: tuple[CodeTest, ...] = ()
    fn_name: str | None = None
    tests_file: str | None = None  # local sets: a tests file, as in `vibe batch`


# GPQA-Diamond's prompt as WeiboAI evaluated it (eval/math/data/gpqa.parquet): question, lettered options.
GPQA_TEMPLATE = PromptTemplate(
    name="gpqa",
    description="GPQA-Diamond, as VibeThinker's evaluation prompts it.",
    template="$problem\n\n" + GPQA_SUFFIX,
    answer_format="choice",
    sampling={"temperature": 1.0, "top_p": 0.95, "top_k": 0},
    source="vibecli.eval",
)


def _read_file(path: Path) -> list[dict[str, Any]]:
    if path.suffix == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise EngineError("reading parquet needs pyarrow: pip install 'vibecli[eval]'") from None
        return list(pq.read_table(path).to_pylist())
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".csv":
        return list(csv.DictReader(io.StringIO(text)))
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def read_rows(folder: Path, patterns: tuple[str, ...]) -> list[dict[str, Any]]:
    """Every row of the files under `folder` that match `patterns`, files in name order."""
    files = sorted(p for p in folder.rglob("*") if p.is_file()
                   and any(fnmatch.fnmatch(str(p.relative_to(folder)), pat) for pat in patterns))  # fmt: skip
    if not files:
        raise EngineError(f"no data files matching {', '.join(patterns)} in {folder}")
    try:
        return [row for file in files for row in _read_file(file)]
    except (ValueError, OSError, csv.Error) as exc:
        raise EngineError(f"cannot read the benchmark files in {folder}: {exc}") from None


def _row_id(row: dict[str, Any], fields: tuple[str, ...], index: int) -> str:
    return next((str(row[f]) for f in fields if row.get(f) not in (None, "")), str(index))


CHOICES = ("card", "shuffled")


def _gpqa_problem(row: dict[str, Any], benchmark: Benchmark, index: int, choices: str, seed: int) -> EvalProblem:
    """The question as it is, three newlines, the lettered options (the layout of WeiboAI's
    gpqa.parquet). `card`: the order of WeiboAI's gpqa.parquet, the correct option first (A), then the three
    incorrect ones in the dataset's order; `shuffled`: a seeded shuffle per question (SEED and
    the question's text), the same in every run with that seed."""
    question = str(row[benchmark.problem_field])
    correct = str(row[benchmark.answer_field]).strip()
    options = [correct, *(str(row[f"Incorrect Answer {i}"]).strip() for i in (1, 2, 3))]
    if choices == "shuffled":
        random.Random(f"{seed}:{hashlib.sha256(question.strip().encode()).hexdigest()}").shuffle(options)
    letters = "ABCD"
    body = "\n".join(f"{letter}. {option}" for letter, option in zip(letters, options, strict=True))
    return EvalProblem(_row_id(row, benchmark.id_fields, index), f"{question}\n\n\n{body}",
                       letters[options.index(correct)], "gpqa")  # fmt: skip


class _NoGlobals(pickle.Unpickler):
    """LiveCodeBench pickles a plain string; anything that names a class or function is refused."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refused to load {module}.{name}")


def decode_tests(raw: Any) -> list[dict[str, Any]]:
    """LiveCodeBench's test cases: JSON, or (private tests) base64 of zlib of a pickled JSON string."""
    if isinstance(raw, list):
        return raw
    try:
        decoded = json.loads(raw)
        if isinstance(decoded, list):
            return decoded
    except ValueError:
        pass
    text = _NoGlobals(io.BytesIO(zlib.decompress(base64.b64decode(raw)))).load()
    if not isinstance(text, str):
        raise ValueError("private test cases are not a string")
    tests = json.loads(text)
    if not isinstance(tests, list):
        raise ValueError("private test cases are not a list")
    return tests


def _lcb_problem(row: dict[str, Any], benchmark: Benchmark, index: int) -> EvalProblem:
    cases = decode_tests(row.get("public_test_cases") or "[]") + decode_tests(row.get("private_test_cases") or "[]")
    metadata = json.loads(row.get("metadata") or "{}")
    tests = tuple(CodeTest(str(c["input"]), str(c["output"]), c.get("testtype") == "functional") for c in cases)
    starter = str(row.get("starter_code") or "").strip() or None
    return EvalProblem(_row_id(row, benchmark.id_fields, index), str(row[benchmark.problem_field]).strip(), None,
                       "code", starter_code=starter, tests=tests, fn_name=metadata.get("func_name"))  # fmt: skip


def benchmark_problems(
    benchmark: Benchmark, folder: Path, *, choices: str = "card", seed: int = 0
) -> list[EvalProblem]:
    """The problems of a downloaded benchmark (LiveCodeBench: those in its window of contest dates;
    GPQA: its options in the `choices` order)."""
    rows = read_rows(folder, benchmark.files)
    problems = []
    for index, row in enumerate(rows):
        try:
            if benchmark.kind == "code":
                low, high = benchmark.window or ("", "9999")
                if not low <= str(row.get("contest_date", ""))[:10] < high:
                    continue
                problems.append(_lcb_problem(row, benchmark, index))
            elif benchmark.kind == "choice":
                problems.append(_gpqa_problem(row, benchmark, index, choices, seed))
            else:
                problems.append(EvalProblem(_row_id(row, benchmark.id_fields, index),
                                            str(row[benchmark.problem_field]).strip(),
                                            str(row[benchmark.answer_field]).strip(), "math"))  # fmt: skip
        except (KeyError, ValueError, TypeError, zlib.error, pickle.UnpicklingError) as exc:
            raise EngineError(f"{benchmark.name}: row {index} does not have the expected layout ({exc})") from None
    return problems


def file_problems(path: Path, mode: str, modes: Collection[str] | None = None) -> list[EvalProblem]:
    """A local problem set (JSONL or YAML, the fields of `vibe batch`); a malformed line, or a `mode`
    not in `modes`, is a usage error naming the file and line."""
    from vibecli.batch.inputs import load_problems

    def malformed(item: object) -> None:
        raise UsageError(str(item))

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read benchmark file {path}: {exc}") from None
    problems = load_problems([(str(path), text)], on_malformed=malformed, modes=modes)
    base = path.parent
    return [EvalProblem(p.id, p.problem, p.expected, p.mode or mode,
                        tests_file=str(base / p.tests) if p.tests else None) for p in problems]  # fmt: skip
