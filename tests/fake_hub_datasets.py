"""Tiny copies of every registered benchmark, in each Hub repository's real file layout, for
`tests/fake_hub.py` to serve as dataset repositories.

The layouts follow the real repositories: `push_to_hub` parquet shards (`data/train-…parquet`)
for AIME 2024/2025 and HMMT, MATH-500's `test.jsonl`, GPQA's `gpqa_diamond.csv` (its column
names), and LiveCodeBench's `test.jsonl` … `test6.jsonl` with JSON public tests and
base64(zlib(pickle(JSON))) private tests. The problems are arithmetic the demo model solves.
"""

from __future__ import annotations

import base64
import csv
import json
import pickle
import zlib
from pathlib import Path
from typing import Any

ARITHMETIC = [("What is 48 + 37?", "85"), ("Compute 12 * 3.", "36"), ("What is 905 - 387?", "518"),
              ("What is 120 + 45?", "165")]  # fmt: skip


def _parquet(path: Path, rows: list[dict[str, Any]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def encode_private(tests: list[dict[str, str]]) -> str:
    """LiveCodeBench's encoding of private test cases."""
    return base64.b64encode(zlib.compress(pickle.dumps(json.dumps(tests)))).decode()


def lcb_row(question_id: str, date: str, *, functional: bool = False) -> dict[str, Any]:
    if functional:
        public = [{"input": "2\n3", "output": "5", "testtype": "functional"}]
        private = [{"input": "10\n-4", "output": "6", "testtype": "functional"}]
        starter = "class Solution:\n    def addTwo(self, a: int, b: int) -> int:\n        "
        metadata = {"func_name": "addTwo"}
    else:
        public = [{"input": "2 3\n", "output": "5\n", "testtype": "stdin"}]
        private = [{"input": "10 -4\n", "output": "6\n", "testtype": "stdin"}]
        starter, metadata = "", {}
    return {"question_title": f"Add {question_id}", "question_content": "Read two integers and print their sum.",
            "platform": "leetcode" if functional else "atcoder", "question_id": question_id, "contest_id": "c1",
            "contest_date": f"{date}T00:00:00", "starter_code": starter, "difficulty": "easy",
            "public_test_cases": json.dumps(public), "private_test_cases": encode_private(private),
            "metadata": json.dumps(metadata)}  # fmt: skip


def build_datasets(root: Path) -> dict[str, Path]:
    """Write every benchmark's repository under `root`; returns {repo id: folder}."""
    repos: dict[str, Path] = {}

    def repo(name: str) -> Path:
        repos[name] = root / name.replace("/", "--")
        return repos[name]

    math_rows = [{"id": i, "problem": q, "solution": "…", "answer": a, "url": "", "year": 2024}
                 for i, (q, a) in enumerate(ARITHMETIC)]  # fmt: skip
    _parquet(repo("HuggingFaceH4/aime_2024") / "data/train-00000-of-00001.parquet", math_rows)
    _parquet(repo("yentinglin/aime_2025") / "data/train-00000-of-00001.parquet", math_rows)
    _parquet(repo("MathArena/hmmt_feb_2025") / "data/train-00000-of-00001.parquet",
             [{"problem_idx": i + 1, "problem": q, "answer": a, "problem_type": ["Algebra"]}
              for i, (q, a) in enumerate(ARITHMETIC)])  # fmt: skip
    _jsonl(repo("HuggingFaceH4/MATH-500") / "test.jsonl",
           [{"problem": q, "solution": "…", "answer": a, "subject": "Algebra", "level": 1,
             "unique_id": f"test/algebra/{i}.json"} for i, (q, a) in enumerate(ARITHMETIC)])  # fmt: skip
    gpqa = repo("Idavidrein/gpqa")
    gpqa.mkdir(parents=True, exist_ok=True)
    with (gpqa / "gpqa_diamond.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, ["Question", "Correct Answer", "Incorrect Answer 1", "Incorrect Answer 2",
                                         "Incorrect Answer 3", "Record ID", "Subdomain"])  # fmt: skip
        writer.writeheader()
        for i, (q, a) in enumerate(ARITHMETIC):
            writer.writerow({"Question": q, "Correct Answer": a, "Incorrect Answer 1": str(int(a) + 1),
                             "Incorrect Answer 2": str(int(a) + 2), "Incorrect Answer 3": str(int(a) - 1),
                             "Record ID": f"rec{i}", "Subdomain": "Arithmetic"})  # fmt: skip
    (gpqa / "gpqa_main.csv").write_text("Question\nnot diamond\n", encoding="utf-8")
    lcb = repo("livecodebench/code_generation_lite")
    _jsonl(lcb / "test.jsonl", [lcb_row("old1", "2023-06-01")])
    for name in ("test2.jsonl", "test3.jsonl"):
        _jsonl(lcb / name, [lcb_row(name, "2024-05-15")])
    _jsonl(lcb / "test4.jsonl", [lcb_row("v5a", "2024-08-10")])
    _jsonl(lcb / "test5.jsonl", [lcb_row("v5b", "2024-11-02", functional=True), lcb_row("v5c", "2025-01-20")])
    # test6 holds a January problem too: release_v5 (test … test5) must not take it, as lcb_runner's does not.
    _jsonl(lcb / "test6.jsonl", [lcb_row("v5d", "2025-01-28"), lcb_row("v6a", "2025-02-03", functional=True),
                                 lcb_row("v6b", "2025-04-30")])  # fmt: skip
    _jsonl(lcb / "test7.jsonl", [lcb_row("late", "2025-05-01")])  # a later release: not release_v6's
    return repos


CARD_COUNTS = {"aime24": 30, "aime25": 30, "hmmt25": 30, "math500": 500, "gpqa-diamond": 198,
               "livecodebench-v5": 279, "livecodebench-v6": 131}  # fmt: skip


def build_card_sized(root: Path) -> dict[str, Path]:
    """Every benchmark at the size the card ran, in the real layouts, with the rows a wrong
    selection would take: GPQA's main set beside the diamond one, and LiveCodeBench problems
    outside each release's window (older ones in test … test3, January 2025 ones in test6 that
    release_v5 does not hold, May 2025 ones in test7 that release_v6 does not hold)."""
    repos = build_datasets(root)
    math_rows = [{"id": i, "problem": f"What is {i} + 1?", "solution": "…", "answer": str(i + 1), "url": "",
                  "year": 2025} for i in range(30)]  # fmt: skip
    for repo in ("HuggingFaceH4/aime_2024", "yentinglin/aime_2025"):
        _parquet(repos[repo] / "data/train-00000-of-00001.parquet", math_rows)
    _parquet(repos["MathArena/hmmt_feb_2025"] / "data/train-00000-of-00001.parquet",
             [{"problem_idx": i + 1, "problem": f"What is {i} + 2?", "answer": str(i + 2), "problem_type": ["A"]}
              for i in range(30)])  # fmt: skip
    _jsonl(repos["HuggingFaceH4/MATH-500"] / "test.jsonl",
           [{"problem": f"What is {i} * 2?", "solution": "…", "answer": str(2 * i), "subject": "Algebra", "level": 1,
             "unique_id": f"test/algebra/{i}.json"} for i in range(500)])  # fmt: skip
    gpqa = repos["Idavidrein/gpqa"]
    with (gpqa / "gpqa_diamond.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, ["Question", "Correct Answer", "Incorrect Answer 1", "Incorrect Answer 2",
                                         "Incorrect Answer 3", "Record ID", "Subdomain"])  # fmt: skip
        writer.writeheader()
        for i in range(198):
            writer.writerow({"Question": f"Which is {i}?", "Correct Answer": str(i), "Incorrect Answer 1": f"{i}a",
                             "Incorrect Answer 2": f"{i}b", "Incorrect Answer 3": f"{i}c", "Record ID": f"rec{i}",
                             "Subdomain": "Arithmetic"})  # fmt: skip
    (gpqa / "gpqa_main.csv").write_text("Question\n" + "not diamond\n" * 448, encoding="utf-8")
    lcb = repos["livecodebench/code_generation_lite"]

    def days(prefix: str, count: int, months: list[str]) -> list[dict[str, Any]]:
        return [lcb_row(f"{prefix}{i}", f"{months[i % len(months)]}-{1 + i % 28:02d}") for i in range(count)]

    _jsonl(lcb / "test.jsonl", days("old", 40, ["2023-06", "2023-12"]))
    _jsonl(lcb / "test2.jsonl", days("v2-", 10, ["2024-04"]))
    _jsonl(lcb / "test3.jsonl", days("v3-", 10, ["2024-06", "2024-07"]))
    _jsonl(lcb / "test4.jsonl", days("v4-", 100, ["2024-08", "2024-09"]))
    _jsonl(lcb / "test5.jsonl", days("v5-", 179, ["2024-10", "2024-11", "2024-12", "2025-01"]))
    _jsonl(lcb / "test6.jsonl", days("v6jan-", 12, ["2025-01"]) + days("v6-", 131, ["2025-02", "2025-03",
                                                                                          "2025-04"]))  # fmt: skip
    _jsonl(lcb / "test7.jsonl", days("v7-", 20, ["2025-05", "2025-06"]))
    return repos
