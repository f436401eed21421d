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
_PROTOCOL_KEYS = ("temperature", "top_p", "top_k", "max_tokens", "seed", "loop_guard", "budget_message",
                  "temperatures", "protocol")  # fmt: skip


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
        if path.is_dir():
            raise UsageError(f"{path} is a directory: give a JSONL or YAML problem file, or a registered benchmark")
        if not path.is_file():
            raise UsageError(f"benchmark file {path} does not exist")
        return Target(slug(path.stem), file=path)
    raise UsageError(f"unknown benchmark '{name}' (registered: {', '.join(BENCHMARKS)}; or a JSONL/YAML file)")


def eval_templates(templates: dict[str, PromptTemplate]) -> dict[str, PromptTemplate]:
    from vibecli.eval.card_data import VERBATIM

    return {**templates, "gpqa": GPQA_TEMPLATE, **{t.name: t for t in VERBATIM.values()}}


def user_modes(templates: dict[str, PromptTemplate]) -> set[str]:
    """The modes a problem file may name: auto and the prompt templates, not eval's own (gpqa, card-*)."""
    from vibecli.eval.card_data import VERBATIM

    internal = {GPQA_TEMPLATE.name, *(t.name for t in VERBATIM.values())}
    return {"auto", *templates} - internal


def load_target(
    target: Target, templates: dict[str, PromptTemplate], *, mode: str, revision: str | None = None,
    since: str | None = None, until: str | None = None, choices: str = "card", seed: int = 0, origin: str = "hub",
) -> tuple[list[EvalProblem], dict[str, Any]]:  # fmt: skip
    """The target's problems and a record of where they came from (for the manifest)."""
    if origin == "card":
        return _card_target(target)
    if target.file is not None:
        try:
            problems = file_problems(target.file, mode, modes=user_modes(templates))
        except UsageError as exc:  # the batch reader's advice names a flag eval does not have
            raise UsageError(str(exc).replace("; add --rename-duplicates to number repeats",
                                              ": give each problem its own id")) from None  # fmt: skip
        routed = [p if p.mode in templates else _route(p, templates) for p in problems]
        return routed, {"file": str(target.file.resolve())}
    from vibecli.eval.hub import download

    assert target.benchmark is not None
    benchmark = windowed(target.benchmark, since, until)
    folder, commit = download(benchmark, revision)
    problems = benchmark_problems(benchmark, folder, choices=choices, seed=seed)
    source: dict[str, Any] = {"repo": benchmark.repo, "revision": commit, "files": list(benchmark.files)}
    if benchmark.window:
        source["window"] = list(benchmark.window)
    if benchmark.release and (since, until) == (None, None):
        source["release"] = benchmark.release
    if benchmark.kind == "choice":
        source["choices"] = choices if choices == "card" else f"shuffled, seed {seed}"
    return problems, source


def _card_target(target: Target) -> tuple[list[EvalProblem], dict[str, Any]]:
    from vibecli.eval import card_data

    if target.benchmark is None:
        raise UsageError(f"--source card reads the card's own files of registered benchmarks, not {target.file}")
    name, digest = card_data.require(target.benchmark.name)
    problems = card_data.card_problems(target.name, card_data.fetch(target.name), target.benchmark.kind)
    source: dict[str, Any] = {"origin": "card", "repo": f"github:{card_data.REPO}", "revision": card_data.COMMIT,
                              "files": [f"{card_data.FOLDER}/{name}"], "sha256": digest}  # fmt: skip
    if target.benchmark.kind == "choice":
        source["choices"] = "card"
    return problems, source


def protocol_for(model_name: str | None) -> str | None:
    from vibecli.eval.protocol import protocol_for_model

    return protocol_for_model(model_name)


def empty_message(target: Target, *, windowed: bool) -> str:
    """Why a target has no problems, in terms of what the user can change."""
    if target.file is not None:
        return f"{target.file} holds no problems"
    if windowed:
        return f"{target.name}: no problems between --since and --until (check the dates)"
    return f"{target.name}: its data files hold no problems"


def count_warning(target: Target, problems: list[EvalProblem], *, windowed_by_user: bool) -> str | None:
    """A line when a registered benchmark's problem count is not the card's."""
    benchmark = target.benchmark
    if benchmark is None or benchmark.expected_count is None or windowed_by_user:
        return None
    if len(problems) == benchmark.expected_count:
        return None
    return (f"{target.name}: {len(problems)} problems where the card ran {benchmark.expected_count}; "
            "its numbers are not comparable with this set")  # fmt: skip


def problem_digests(problem: EvalProblem) -> tuple[str, str]:
    """(the digest of what the model is asked, the digest of what grades it), hashed into the run so
    a resume or a report notices a changed problem or gold."""

    def digest(*parts: object) -> str:
        return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:16]

    tests_text = ""
    if problem.tests_file is not None:
        try:
            tests_text = Path(problem.tests_file).read_text(encoding="utf-8", errors="replace")
        except OSError:
            tests_text = "(unreadable)"
    asked = digest(problem.problem, problem.mode, problem.starter_code)
    gold = digest(problem.expected, [(t.input, t.output, t.functional) for t in problem.tests], problem.fn_name,
                  tests_text)  # fmt: skip
    return asked, gold


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
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Create the run's manifest, or check that `--resume` continues the same protocol."""
    digests = {p.id: problem_digests(p) for p in problems}
    manifest: dict[str, Any] = {"benchmark": target.name, "kind": target.kind, "source": source, **model,
                "settings": settings.to_json(), "budgets": budgets, "problems": len(problems),
                "digests": {pid: {"asked": a, "gold": g} for pid, (a, g) in digests.items()},
                "created": time.strftime("%Y-%m-%dT%H:%M:%S"), "vibe": __version__, **(extra or {})}  # fmt: skip
    if folder.exists():
        old = check_resume(folder, target, settings, problems, source, resume=resume)
        if old.get("model") != manifest["model"]:
            raise UsageError(f"--resume: this run differs from the one in {folder.path} in model "
                             f"({old.get('model')} there, {manifest['model']} now)")  # fmt: skip
        manifest["created"] = old.get("created", manifest["created"])
        manifest["digests"] = {**(old.get("digests") or {}), **manifest["digests"]}  # a --limit keeps the rest
        manifest["problems"] = max(len(manifest["digests"]), int(old.get("problems", 0)))  # never a --limit's
        manifest["settings"]["k"] = max(int(old["settings"]["k"]), settings.k)
        manifest["budgets"] = old["budgets"] + [b for b in budgets if b not in old["budgets"]]
        folder.repair()
    folder.write_manifest(manifest)
    return manifest


def check_output(path: Path, *, resume: bool) -> None:
    """The run folder's state, before any model loads: not a file, not someone else's folder."""
    if path.is_file():
        raise UsageError(f"-o {path} is a file: give a folder for the run")
    folder = RunFolder(path)
    if folder.exists():
        if not resume:
            raise UsageError(f"{path} already has a run: add --resume to continue it, or choose another -o")
        folder.manifest()  # a manifest that does not read is refused here
    elif path.is_dir() and any(path.iterdir()):
        kind = "holds runs of several benchmarks" if any(RunFolder(p).exists() for p in path.iterdir()) else (
            "is not empty and holds no vibe eval run")  # fmt: skip
        raise UsageError(f"-o {path} {kind}: give an empty or new folder (or the run's own folder)")
    elif resume and not path.exists():
        raise UsageError(f"--resume: {path} holds no run to continue")


def check_parent(path: Path, names: list[str]) -> None:
    """`-o DIR` of several benchmarks, before any model loads: DIR may hold only their run folders
    (each checked by `check_output`) and other vibe eval runs, never files of the user's."""
    if not path.is_dir():
        return
    strangers = sorted(p.name for p in path.iterdir() if p.name not in names and not RunFolder(p).exists())
    if strangers:
        shown = ", ".join(strangers[:3]) + (f" and {len(strangers) - 3} more" if len(strangers) > 3 else "")
        raise UsageError(f"-o {path} holds what is not a vibe eval run ({shown}): give an empty or new folder "
                         "for several benchmarks")  # fmt: skip


def check_resume(
    folder: RunFolder, target: Target, settings: EvalSettings, problems: list[EvalProblem], source: dict[str, Any],
    *, resume: bool,
) -> dict[str, Any]:  # fmt: skip
    """Refuse, before any model loads, a resume that would mix two protocols or two problem sets;
    a changed gold is allowed: its grades are redone (`grade_run` compares the digests)."""
    if not resume:
        raise UsageError(f"{folder.path} already has a run: add --resume to continue it, or choose another -o")
    old = folder.manifest()
    mine = settings.to_json()

    def was(key: str, before: Any, now: Any) -> str:
        return f"{key} (was {_value(before)}, now {_value(now)})"

    differ = [was(key, old["settings"][key], mine[key]) for key in _PROTOCOL_KEYS
              if old["settings"].get(key, mine[key]) != mine[key]]  # fmt: skip
    if old.get("benchmark") != target.name:
        differ.append(was("benchmark", old.get("benchmark"), target.name))
    if old["source"].get("revision") not in (None, source.get("revision")):
        differ.append(was("dataset revision", old["source"].get("revision"), source.get("revision")))
    for key in ("choices", "origin"):
        if key in old["source"] and old["source"].get(key) != source.get(key):
            differ.append(was(key, old["source"].get(key), source.get(key)))
    if differ:
        raise UsageError(f"--resume: this run differs from the one in {folder.path} in {', '.join(differ)}")
    changed = changed_problems(old, problems, "asked")
    if changed:
        raise UsageError(f"--resume: the text of {_shown(changed)} changed since the run in {folder.path}; "
                         "its samples answer the old text: start a new run (another -o)")  # fmt: skip
    return old


def _value(value: Any) -> str:
    """A setting as a resume's refusal shows it: the protocol's own value when unset."""
    if value is None:
        return "unset (the protocol's)"
    text = json.dumps(value) if isinstance(value, dict | list | str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _shown(ids: list[str]) -> str:
    return ", ".join(ids[:3]) + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")


def changed_problems(manifest: dict[str, Any], problems: list[EvalProblem], part: str) -> list[str]:
    """The problems whose text (`asked`) or gold (`gold`) differs from what the run recorded."""
    before = manifest.get("digests") or {}
    index = 0 if part == "asked" else 1
    return [p.id for p in problems if p.id in before and before[p.id][part] != problem_digests(p)[index]]


def gold_warning(folder: RunFolder, problems: list[EvalProblem]) -> str | None:
    """The line a resume or a report prints when golds changed since the run (they are regraded)."""
    changed = changed_problems(folder.manifest(), problems, "gold")
    if not changed:
        return None
    return (f"{folder.path}: the gold of {len(changed)} problems ({_shown(changed)}) changed since the run; "
            "they are graded against the current one")  # fmt: skip


def reported_problems(folder: RunFolder, problems: list[EvalProblem]) -> list[EvalProblem]:
    """The problems `vibe eval report` scores: those of the file now that the run was asked (all of
    them for a run without digests); a problem whose text changed is refused, as a resume refuses it."""
    manifest = folder.manifest()
    changed = changed_problems(manifest, problems, "asked")
    if changed:
        raise UsageError(f"{folder.path}: the text of {_shown(changed)} changed since the run; its samples "
                         "answer the old text: restore the problem file to report this run")  # fmt: skip
    before = manifest.get("digests")
    return [p for p in problems if p.id in before] if before else problems


def held(folder: RunFolder, problems: list[EvalProblem], budgets: list[int | None]) -> str:
    """How many samples the run really holds per problem and budget: `2`, or `1-2` after an interrupted run."""
    counts = {(p.id, b): 0 for p in problems for b in budgets}
    for sample in folder.samples():
        key = (str(sample["problem"]), sample.get("budget"))
        if key in counts:
            counts[key] += 1
    low, high = min(counts.values(), default=0), max(counts.values(), default=0)
    return str(low) if low == high else f"{low}-{high}"


def missing_jobs(folder: RunFolder, problems: list[EvalProblem], k: int, budget: int | None) -> list[Job]:
    done = {str(s["id"]) for s in folder.samples()}
    return [Job(p, j, budget) for p in problems for j in range(k) if sample_id(p.id, j, budget) not in done]


def grade_run(
    folder: RunFolder, problems: list[EvalProblem], templates: dict[str, PromptTemplate], grader: str,
    pool: Any, on_progress: Callable[[int, int], None] | None = None, *, k: int | None = None,
) -> None:  # fmt: skip
    """Grade every sample not yet graded against its problem's current gold (a grade made against
    another gold is redone), then vote on every problem that has all k samples."""
    manifest, by_id = folder.manifest(), {p.id: p for p in problems}
    k = k or int(manifest["settings"]["k"])
    formats = {name: t.answer_format for name, t in templates.items()}
    gold = {p.id: problem_digests(p)[1] for p in problems}
    grades = folder.grades()
    samples = [s for s in folder.samples() if str(s["problem"]) in by_id]

    def current(sample: dict[str, Any]) -> bool:
        mark = grades.get(f"{sample['id']}@{grader}")
        return mark is not None and mark.get("gold", gold[str(sample["problem"])]) == gold[str(sample["problem"])]

    todo = [s for s in samples if not current(s)]
    done = 0
    with folder.appending("grades") as writer:

        def record(grade: dict[str, Any]) -> None:
            nonlocal done
            grade["gold"] = gold[str(grade["problem"])]
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


def summaries(
    folder: RunFolder, grader: str, *, k: int | None = None, problems: list[EvalProblem] | None = None
) -> list[dict[str, Any]]:
    """One summary per budget of the run at `k` samples (the run's k unless asked) over `problems`
    (those asked now, or still in the file; all in the folder when they cannot be read), the card's
    numbers beside them for a known checkpoint."""
    manifest = folder.manifest()
    samples, grades = folder.samples(), folder.grades()
    card = card_for(str(manifest["model"]), str(manifest["benchmark"]))
    ids = None if problems is None else [p.id for p in problems]
    rows = [summarize(manifest, samples, grades, grader=grader, budget=budget, k=k, problem_ids=ids,
                      card=card.to_json() if card else None) for budget in manifest["budgets"]]  # fmt: skip
    protocol = manifest.get("protocol") or {}
    for row in rows:
        row["protocol"] = protocol.get("name")
        row["overrides"] = protocol.get("overrides", [])
        row["choices"] = manifest["source"].get("choices")
        row["samples_in_run"] = int(manifest["settings"]["k"])
    return rows
