"""One benchmark's evaluation from start to report: its problems, its run folder, the samples
still missing, their grades, and the summary per thinking budget."""

from __future__ import annotations

import hashlib
import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vibecli import __version__
from vibecli.errors import UsageError
from vibecli.eval.datasets import GPQA_TEMPLATE, EvalProblem, benchmark_problems, file_problems
from vibecli.eval.grading import grade_samples, vote_id, vote_record
from vibecli.eval.metrics import summarize
from vibecli.eval.registry import BENCHMARKS, CARD_K, Benchmark, card_for, find_benchmark, windowed
from vibecli.eval.runner import EvalSettings, Job, sample_id
from vibecli.eval.store import RunFolder, slug
from vibecli.paths import data_dir
from vibecli.prompting.templates import PromptTemplate
from vibecli.reasoning.solve import select_template

# Settings a resumed run must share with the run it continues (k may grow, budgets be added).
_PROTOCOL_KEYS = ("temperature", "top_p", "top_k", "max_tokens", "seed", "loop_guard", "budget_message")


@dataclass(frozen=True)
class Target:
    """A benchmark to run: a registered one or a local file."""

    name: str
    benchmark: Benchmark | None = None
    file: Path | None = None

    @property
    def kind(self) -> str:
        return self.benchmark.kind if self.benchmark else "math"


def resolve_target(name: str) -> Target:
    benchmark = find_benchmark(name)
    if benchmark is not None:
        return Target(benchmark.name, benchmark=benchmark)
    path = Path(name)
    if path.suffix in (".jsonl", ".json", ".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise UsageError(f"benchmark file {path} does not exist")
        return Target(slug(path.stem), file=path)
    raise UsageError(f"unknown benchmark '{name}' (registered: {', '.join(BENCHMARKS)}; or a JSONL/YAML file)")


def eval_templates(templates: dict[str, PromptTemplate]) -> dict[str, PromptTemplate]:
    return {**templates, "gpqa": GPQA_TEMPLATE}


def load_target(
    target: Target, templates: dict[str, PromptTemplate], *, mode: str, revision: str | None = None,
    since: str | None = None, until: str | None = None,
) -> tuple[list[EvalProblem], dict[str, Any]]:  # fmt: skip
    """The target's problems and a record of where they came from (for the manifest)."""
    if target.file is not None:
        problems = file_problems(target.file, mode)
        routed = [p if p.mode in templates else _route(p, templates) for p in problems]
        return routed, {"file": str(target.file.resolve())}
    from vibecli.eval.hub import download

    assert target.benchmark is not None
    benchmark = windowed(target.benchmark, since, until)
    folder, commit = download(benchmark, revision)
    problems = benchmark_problems(benchmark, folder)
    source: dict[str, Any] = {"repo": benchmark.repo, "revision": commit, "files": list(benchmark.files)}
    if benchmark.window:
        source["window"] = list(benchmark.window)
    return problems, source


def _route(problem: EvalProblem, templates: dict[str, PromptTemplate]) -> EvalProblem:
    from dataclasses import replace

    return replace(problem, mode=select_template(problem.mode, problem.problem, templates).name)


def default_k(target: Target, problems: list[EvalProblem], templates: dict[str, PromptTemplate]) -> int:
    if target.benchmark is not None:
        return target.benchmark.k
    code = problems and all(templates[p.mode].answer_format == "code" for p in problems)
    return CARD_K["code"] if code else CARD_K["math"]


def default_folder(target: Target, model: str, settings: EvalSettings) -> Path:
    """`$XDG_DATA_HOME/vibe/eval/BENCH-MODEL-HASH`, the hash over the protocol (not k or budgets)."""
    protocol = {key: getattr(settings, key) for key in _PROTOCOL_KEYS}
    digest = hashlib.sha256(json.dumps(protocol, sort_keys=True).encode()).hexdigest()[:8]
    return data_dir() / "eval" / f"{target.name}-{slug(model)}-{digest}"


def open_run(
    folder: RunFolder, target: Target, *, model: dict[str, str], settings: EvalSettings,
    budgets: list[int | None], problems: list[EvalProblem], source: dict[str, Any], resume: bool,
) -> dict[str, Any]:  # fmt: skip
    """Create the run's manifest, or check that `--resume` continues the same protocol."""
    manifest: dict[str, Any] = {"benchmark": target.name, "kind": target.kind, "source": source, **model,
                "settings": settings.to_json(), "budgets": budgets, "problems": len(problems),
                "created": time.strftime("%Y-%m-%dT%H:%M:%S"), "vibe": __version__}  # fmt: skip
    if folder.exists():
        if not resume:
            raise UsageError(f"{folder.path} already has a run: add --resume to continue it, or choose another -o")
        old = folder.manifest()
        differ = [key for key in _PROTOCOL_KEYS if old["settings"].get(key) != manifest["settings"][key]]
        differ += [key for key in ("benchmark", "model") if old.get(key) != manifest[key]]
        if old["source"].get("revision") not in (None, source.get("revision")):
            differ.append("dataset revision")
        if differ:
            raise UsageError(f"--resume: this run differs from the one in {folder.path} in {', '.join(differ)}")
        manifest["created"] = old.get("created", manifest["created"])
        manifest["settings"]["k"] = max(int(old["settings"]["k"]), settings.k)
        manifest["budgets"] = old["budgets"] + [b for b in budgets if b not in old["budgets"]]
        folder.repair()
    folder.write_manifest(manifest)
    return manifest


def missing_jobs(folder: RunFolder, problems: list[EvalProblem], k: int, budget: int | None) -> list[Job]:
    done = {str(s["id"]) for s in folder.samples()}
    return [Job(p, j, budget) for p in problems for j in range(k) if sample_id(p.id, j, budget) not in done]


def grade_run(
    folder: RunFolder, problems: list[EvalProblem], templates: dict[str, PromptTemplate], grader: str,
    pool: Any, on_progress: Callable[[int, int], None] | None = None,
) -> None:  # fmt: skip
    """Grade every ungraded sample with `grader`, then vote on every problem that has all k samples."""
    manifest, by_id = folder.manifest(), {p.id: p for p in problems}
    k = int(manifest["settings"]["k"])
    formats = {name: t.answer_format for name, t in templates.items()}
    grades = folder.grades()
    samples = [s for s in folder.samples() if str(s["problem"]) in by_id]
    todo = [s for s in samples if f"{s['id']}@{grader}" not in grades]
    done = 0
    with folder.appending("grades") as writer:

        def record(grade: dict[str, Any]) -> None:
            nonlocal done
            writer.write(grade)
            done += 1
            if on_progress:
                on_progress(done, len(todo))

        grade_samples(pool, grader, todo, by_id, formats, record)
        groups: dict[tuple[str, int | None], list[dict[str, Any]]] = defaultdict(list)
        for sample in samples:
            if int(sample["sample"]) < k:
                groups[(str(sample["problem"]), sample.get("budget"))].append(sample)
        for (problem_id, budget), items in groups.items():
            fmt = formats.get(by_id[problem_id].mode, "boxed")
            if len(items) == k and fmt != "code" and vote_id(problem_id, budget, k) not in grades:
                items.sort(key=lambda s: int(s["sample"]))
                writer.write(vote_record(pool, problem_id, budget, items, fmt))


def summaries(folder: RunFolder, grader: str) -> list[dict[str, Any]]:
    """One summary per budget of the run, the card's numbers beside them for a known checkpoint."""
    manifest = folder.manifest()
    samples, grades = folder.samples(), folder.grades()
    card = card_for(str(manifest["model"]), str(manifest["benchmark"]))
    return [summarize(manifest, samples, grades, grader=grader, budget=budget,
                      card=card.to_json() if card else None) for budget in manifest["budgets"]]  # fmt: skip
