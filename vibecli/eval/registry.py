"""The registered benchmarks: where each one's data lives on the Hub, how to read and prompt it,
how to grade it, and the model card's protocol and numbers.

Repositories are the ones the benchmarks' authors and the major harnesses use (lighteval for
AIME 2024/2025, MATH-500 and GPQA; MathArena, who published HMMT February 2025; LiveCodeBench's
own `code_generation_lite`). `revision` pins a commit where one could be checked; `None` takes
the repository's `main` at first download, and the run folder records the commit it resolved
to, so a resumed run and its report always use the same data.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["math", "choice", "code"]

# The card's protocol (VibeThinker-1.5B report §4.1 and GitHub README "Usage Guidelines").
CARD_MAX_TOKENS = 40960
CARD_TOP_P = 0.95
CARD_TEMPERATURE = {"math": 1.0, "choice": 1.0, "code": 0.6}
CARD_K = {"math": 64, "choice": 16, "code": 8}

GPQA_SUFFIX = "Please reason step-by-step and put your choice letter without any other text with \\boxed{} in the end."


@dataclass(frozen=True)
class Benchmark:
    """One registered benchmark."""

    name: str
    title: str
    repo: str  # a Hub dataset repository
    revision: str | None  # a pinned commit, or None for `main` (resolved and recorded per run)
    files: tuple[str, ...]  # allow-patterns of the files to download
    kind: Kind
    problem_field: str = "problem"
    answer_field: str = "answer"
    id_fields: tuple[str, ...] = ("id", "unique_id", "problem_idx")
    gated: bool = False
    window: tuple[str, str] | None = None  # LiveCodeBench: contest dates [since, until)
    release: str | None = None  # LiveCodeBench: the release whose files it reads (lcb_runner's release_version)
    expected_count: int | None = None
    notes: str = ""

    @property
    def k(self) -> int:
        return CARD_K[self.kind]

    @property
    def temperature(self) -> float:
        return CARD_TEMPERATURE[self.kind]

    @property
    def url(self) -> str:
        return f"https://huggingface.co/datasets/{self.repo}"


LCB_REPO = "livecodebench/code_generation_lite"
# The files of code_generation_lite and the contest months each one covers (LiveCodeBench's
# README, "Dataset Versions"), with a month of slack on each side; a window downloads only the
# files it overlaps.
LCB_FILES: dict[str, tuple[str, str]] = {
    "test.jsonl": ("2023-04-01", "2024-04-01"),
    "test2.jsonl": ("2024-03-01", "2024-06-01"),
    "test3.jsonl": ("2024-05-01", "2024-08-01"),
    "test4.jsonl": ("2024-07-01", "2024-10-01"),
    "test5.jsonl": ("2024-09-01", "2025-02-01"),
    "test6.jsonl": ("2025-01-01", "2025-06-01"),
}


# lcb_runner's `--release_version`: each release is its files and every earlier one.
LCB_RELEASES: dict[str, tuple[str, ...]] = {
    f"release_v{n}": tuple(list(LCB_FILES)[:n]) for n in range(1, len(LCB_FILES) + 1)
}
OPEN_END = "9999-12-31"  # a registered release has a start date and no end, as WeiboAI ran lcb_runner


def release_files(release: str, since: str) -> tuple[str, ...]:
    """The files of `release` that can hold problems from `since` on."""
    return tuple(name for name in LCB_RELEASES[release] if since < LCB_FILES[name][1])


def lcb_files(since: str, until: str) -> tuple[str, ...]:
    """The code_generation_lite files a window [since, until) needs; later releases are added as
    `test7.jsonl`, … so a window past the known ones takes every numbered file from the last on."""
    chosen = tuple(name for name, (start, end) in LCB_FILES.items() if start < until and since < end)
    if until > max(end for _, end in LCB_FILES.values()):
        chosen += ("test[7-9].jsonl", "test[1-9][0-9].jsonl")
    return chosen


def _lcb(name: str, title: str, release: str, since: str, count: int) -> Benchmark:
    """A LiveCodeBench entry as WeiboAI selects it: lcb_runner's release (its file set) and start date."""
    return Benchmark(name=name, title=title, repo=LCB_REPO, revision=None, files=release_files(release, since),
                     kind="code", problem_field="question_content", id_fields=("question_id",),
                     window=(since, OPEN_END), release=release, expected_count=count,
                     notes="graded by running the public and private tests in vibe's sandbox")  # fmt: skip


BENCHMARKS: dict[str, Benchmark] = {
    b.name: b
    for b in (
        Benchmark("aime24", "AIME 2024", "HuggingFaceH4/aime_2024", None, ("*.parquet",), "math", expected_count=30),
        Benchmark("aime25", "AIME 2025", "yentinglin/aime_2025", None, ("*.parquet",), "math", expected_count=30),
        Benchmark(
            "hmmt25", "HMMT February 2025", "MathArena/hmmt_feb_2025", None, ("*.parquet",), "math", expected_count=30
        ),
        Benchmark(
            "math500",
            "MATH-500",
            "HuggingFaceH4/MATH-500",
            "6e4ed1a2a79af7d8630a6b768ec859cb5af4d3be",
            ("test.jsonl",),
            "math",
            expected_count=500,
        ),
        Benchmark(
            "gpqa-diamond",
            "GPQA-Diamond",
            "Idavidrein/gpqa",
            None,
            ("gpqa_diamond.csv",),
            "choice",
            problem_field="Question",
            answer_field="Correct Answer",
            id_fields=("Record ID",),
            gated=True,
            expected_count=198,
            notes="options in the card's order (the correct one is A), or --choices shuffled",
        ),
        _lcb("livecodebench-v5", "LiveCodeBench v5", "release_v5", "2024-08-01", 279),
        _lcb("livecodebench-v6", "LiveCodeBench v6", "release_v6", "2025-02-01", 131),
    )
}
ALIASES = {"livecodebench": "livecodebench-v6", "lcb-v5": "livecodebench-v5", "lcb-v6": "livecodebench-v6",
           "gpqa": "gpqa-diamond", "math-500": "math500"}  # fmt: skip


def windowed(benchmark: Benchmark, since: str | None, until: str | None) -> Benchmark:
    """A LiveCodeBench entry with a custom window (`--since/--until`), and the files it needs."""
    if benchmark.window is None or (since is None and until is None):
        return benchmark
    low, high = since or benchmark.window[0], until or benchmark.window[1]
    files = lcb_files(low, high) if until is not None else release_files(benchmark.release or "release_v6", low)
    return dataclasses.replace(benchmark, window=(low, high), files=files, expected_count=None)


def find_benchmark(name: str) -> Benchmark | None:
    return BENCHMARKS.get(ALIASES.get(name.lower(), name.lower()))


@dataclass(frozen=True)
class CardNumbers:
    """What the model card reports for one checkpoint on one benchmark (rates as fractions)."""

    checkpoint: str
    pass_at_1: float
    extra: dict[str, float] = field(default_factory=dict)  # pass@k, cons@k, mean_response_tokens, …
    source: str = ""

    def to_json(self) -> dict[str, object]:
        return {"checkpoint": self.checkpoint, "pass@1": self.pass_at_1, **self.extra, "source": self.source}


_REPORT_15B = "VibeThinker-1.5B tech report (arXiv 2511.06221), Tables 2-4"
_REPORT_3B = "VibeThinker-3B tech report (arXiv 2606.16140), Tables 1-3"
CARD: dict[str, dict[str, CardNumbers]] = {
    "VibeThinker-1.5B": {
        "aime24": CardNumbers("VibeThinker-1.5B", 0.803, source=_REPORT_15B),
        "aime25": CardNumbers(
            "VibeThinker-1.5B",
            0.744,
            {"pass@k": 0.90, "cons@k": 0.85, "mean_response_tokens": 18686, "cutoff_ratio": 0.0},
            _REPORT_15B + "; pass@64, cons@64 and lengths from WeiboAI's run output/aime25_pass_0.49h.csv",
        ),
        "hmmt25": CardNumbers("VibeThinker-1.5B", 0.504, source=_REPORT_15B),
        "math500": CardNumbers("VibeThinker-1.5B", 0.950, source=_REPORT_15B),
        "livecodebench-v5": CardNumbers("VibeThinker-1.5B", 0.559, source=_REPORT_15B),
        "livecodebench-v6": CardNumbers("VibeThinker-1.5B", 0.511, source=_REPORT_15B),
        "gpqa-diamond": CardNumbers("VibeThinker-1.5B", 0.467, source=_REPORT_15B),
    },
    "VibeThinker-3B": {
        "aime25": CardNumbers("VibeThinker-3B", 0.914, source=_REPORT_3B),
        "hmmt25": CardNumbers("VibeThinker-3B", 0.893, source=_REPORT_3B),
        "livecodebench-v6": CardNumbers("VibeThinker-3B", 0.802, source=_REPORT_3B),
        "gpqa-diamond": CardNumbers("VibeThinker-3B", 0.702, source=_REPORT_3B),
    },
}


def card_for(model_name: str, benchmark: str) -> CardNumbers | None:
    """The card's numbers when `model_name` is a VibeThinker checkpoint (any quantization of it)."""
    match = re.search(r"vibethinker[-_ ]?(1\.5|3)b", model_name.lower())
    if match is None:
        return None
    return CARD[f"VibeThinker-{match.group(1)}B"].get(benchmark)
