"""Problem sets: JSONL, a YAML list, or plain text, from files or stdin.

The format is decided once, here, for `vibe batch` and `vibe eval` alike: a `.jsonl` file, or
one whose first non-blank line starts with `{`, is JSONL, and each of its lines must be a JSON
object; a line that is not (`[1, 2]`, `"text"`, broken JSON) is a malformed line, never
problem text. A `.yaml`/`.yml` file or one starting with `- ` is a YAML list (anything else
in it, a mapping or a bare text, is refused); anything else is plain text.

Records take `id`, `problem` (or `question`, `prompt`), `answer` (or `expected`, `gold`),
and optionally `mode`, `tests`, `think_budget` and `starter_code`. A record without an `id`
gets `p-` plus the first 12 hex digits of the SHA-256 of its problem text, so ids survive reordering and resumed runs; a
repeated problem gets `-2`, `-3`, … in order of appearance.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from vibecli.errors import UsageError

PROBLEM_KEYS = ("problem", "question", "prompt")
ANSWER_KEYS = ("answer", "expected", "gold")


@dataclass(frozen=True)
class BatchProblem:
    id: str
    problem: str
    expected: str | None = None
    mode: str | None = None
    tests: str | None = None  # path to a tests file, for code problems
    think_budget: int | None = None  # this problem's thinking budget, over --think-budget
    starter_code: str | None = None  # code the answer starts from (code mode)


@dataclass(frozen=True)
class Malformed:
    source: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.source} line {self.line}: {self.reason}"


def _first(record: dict[str, Any], keys: tuple[str, ...]) -> Any:
    return next((record[k] for k in keys if record.get(k) is not None), None)


def _from_record(record: Any, modes: Collection[str] | None) -> tuple[str | None, BatchProblem | str]:
    """(explicit id, problem) or (None, reason it is malformed)."""
    if not isinstance(record, dict):
        return None, "not a JSON object (each line of a JSONL file must be one)"
    problem = _first(record, PROBLEM_KEYS)
    if not isinstance(problem, str) or not problem.strip():
        return None, f"no problem text (one of: {', '.join(PROBLEM_KEYS)})"
    mode = record.get("mode")
    if mode is not None and (not isinstance(mode, str) or (modes is not None and mode not in modes)):
        known = f" (known: {', '.join(sorted(modes))})" if modes is not None else ""
        return None, f"unknown mode {json.dumps(mode)}{known}"
    budget = record.get("think_budget")
    if budget is not None and (isinstance(budget, bool) or not isinstance(budget, int) or budget < 0):
        return None, f"think_budget must be a whole number of tokens, 0 or more (got {json.dumps(budget)})"
    starter = record.get("starter_code")
    if starter is not None and not isinstance(starter, str):
        return None, "starter_code must be text"
    tests = record.get("tests")
    if tests is not None and not isinstance(tests, str):
        return None, "tests must be the path of a tests file"
    answer = _first(record, ANSWER_KEYS)
    explicit = record.get("id")
    return (
        str(explicit) if explicit is not None else None,
        BatchProblem(
            id="",
            problem=problem.strip(),
            expected=None if answer is None else str(answer),
            mode=record.get("mode"),
            tests=tests,
            think_budget=budget,
            starter_code=starter,
        ),
    )


def decode(data: bytes) -> str:
    """A problem file's bytes as text: a UTF-8 BOM is dropped, and a byte that is not UTF-8 is
    kept as a lone surrogate, so only its own line is malformed (with its number), not the file."""
    return data.decode("utf-8-sig", errors="surrogateescape")


def _not_utf8(line: str) -> str | None:
    """Why `line` (from `decode`) is not text, naming the first bad byte; None when it is UTF-8."""
    for index, char in enumerate(line):
        if "\udc80" <= char <= "\udcff":
            column = len(line[:index].encode("utf-8", errors="surrogateescape")) + 1
            return f"not UTF-8 text (byte 0x{ord(char) - 0xDC00:02x} at column {column})"
    return None


def input_format(text: str, source: str) -> Literal["jsonl", "yaml", "text"]:
    """How `text` from `source` (a file name, or `stdin`) is read: the one rule of batch and eval."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if source.endswith(".jsonl") or first.startswith("{"):
        return "jsonl"
    if source.endswith((".yaml", ".yml")) or text.lstrip().startswith("- "):
        return "yaml"
    return "text"


def _plain_items(text: str) -> list[tuple[int, str]]:
    """Blocks separated by blank lines when some block spans several lines, else one problem a line."""
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            current = None
        elif current is None:
            current = [line]
            blocks.append((number, current))
        else:
            current.append(line)
    if len(blocks) > 1 and any(len(body) > 1 for _, body in blocks):
        return [(start, "\n".join(body).strip()) for start, body in blocks]
    return [(start + offset, line.strip()) for start, body in blocks for offset, line in enumerate(body)]


def parse_problems(text: str, source: str) -> tuple[list[tuple[int, Any]], list[Malformed]]:
    """Raw (line, record) items of one input, plus the lines that could not be read."""
    bad: list[Malformed] = []
    text = text.removeprefix("\ufeff")  # a BOM is not part of the first record, whatever read the text
    kind = input_format(text, source)
    items: list[tuple[int, Any]] = []
    if kind == "jsonl":
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            why = _not_utf8(line)
            if why is not None:
                bad.append(Malformed(source, number, why))
                continue
            try:
                items.append((number, json.loads(line)))
            except json.JSONDecodeError as exc:
                bad.append(Malformed(source, number, f"not JSON ({exc.msg})"))
        return items, bad  # a line that is JSON but not an object is malformed in `_from_record`
    if kind == "yaml":
        import yaml

        for number, line in enumerate(text.splitlines(), start=1):
            why = _not_utf8(line)
            if why is not None:  # one YAML document: no line of it can be skipped alone
                raise UsageError(f"{source} line {number}: {why}")
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise UsageError(f"{source}: not valid YAML ({str(exc).splitlines()[0]})") from None
        if data is None:
            return [], bad
        if not isinstance(data, list):  # a mapping or a bare text is never read as lines of plain text
            kind_of = "a mapping" if isinstance(data, dict) else f"a {type(data).__name__}"
            raise UsageError(f"{source}: a YAML problem file must be a list of problems (`- problem: ...`), "
                             f"not {kind_of}")  # fmt: skip
        for index, item in enumerate(data, start=1):
            if isinstance(item, dict):
                items.append((index, item))
            else:  # `- 1`, `- "text"`: a record must be a mapping, as a JSONL line must be an object
                bad.append(Malformed(source, index, "not a mapping (each item of a YAML list is a record: "
                                                    "problem: …, answer: …)"))  # fmt: skip
        return items, bad
    for number, body in _plain_items(text):
        why = _not_utf8(body)
        if why is not None:
            bad.append(Malformed(source, number, why))
        else:
            items.append((number, {"problem": body}))
    return items, bad


def load_problems(
    sources: Iterable[tuple[str, str]],
    *,
    on_malformed: Callable[[Malformed], None],
    modes: Collection[str] | None = None,
    rename_duplicates: bool = False,
) -> list[BatchProblem]:
    """All problems of all (name, text) sources, ids assigned; malformed items go to `on_malformed`.

    `modes` are the modes a record may name. A repeated explicit id is a UsageError, since
    results are keyed by id, unless `rename_duplicates` gives it `-2`, `-3`, …
    """
    problems: list[BatchProblem] = []
    seen: dict[str, int] = {}
    first_place: dict[str, str] = {}
    for source, text in sources:
        items, bad = parse_problems(text, source)
        # In file order, so `--strict` stops at the first malformed line and warnings read top down.
        ordered: list[tuple[int, Any]] = sorted([*items, *((m.line, m) for m in bad)], key=lambda pair: pair[0])
        for line, record in ordered:
            if isinstance(record, Malformed):
                on_malformed(record)
                continue
            explicit, parsed = _from_record(record, modes)
            if isinstance(parsed, str):
                on_malformed(Malformed(source, line, parsed))
                continue
            base = explicit or "p-" + hashlib.sha256(parsed.problem.encode()).hexdigest()[:12]
            if explicit is not None and base in first_place and not rename_duplicates:
                raise UsageError(f"{source} line {line}: id '{base}' is already used at {first_place[base]} "
                                 "(results are kept by id; add --rename-duplicates to number repeats)")  # fmt: skip
            first_place.setdefault(base, f"{source} line {line}")
            seen[base] = seen.get(base, 0) + 1
            identifier = base if seen[base] == 1 else f"{base}-{seen[base]}"
            problems.append(dataclasses.replace(parsed, id=identifier))
    return problems
