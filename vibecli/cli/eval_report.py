"""`vibe eval report DIR` and the outputs every eval writes: the report table with what stands
behind each number, `--summary-json` and `--plot`, their paths checked before anything runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vibecli.errors import EngineError, UsageError
from vibecli.ui.console import Terminal, error_line, make_terminal

if TYPE_CHECKING:
    from vibecli.eval.store import RunFolder


def write_outputs(terminal: Terminal, rows: list[dict[str, Any]], summary_json: Path | None, plot: Path | None) -> None:
    from vibecli.eval.report import report_lines
    from vibecli.ui.eval_view import plot_budgets, print_report

    print_report(terminal.out, rows)
    for line in report_lines(rows):
        terminal.out.print(line, style="muted", markup=False, highlight=False, soft_wrap=True)
    if summary_json is not None:
        try:
            summary_json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
        except OSError as exc:  # checked before the run; the disk can still fill or vanish
            raise UsageError(f"cannot write --summary-json {summary_json}: {exc.strerror or exc}") from None
    if plot is not None:
        try:
            plot_budgets(rows, plot)
        except OSError as exc:  # probed before the run; the disk can still fill or vanish
            raise UsageError(f"cannot write --plot {plot}: {exc.strerror or exc}") from None
        terminal.err.print(f"plot: {plot}", style="muted", markup=False)


def _output_file(path: Path | None, flag: str, suffixes: tuple[str, ...]) -> None:
    """An output file checked before anything runs: its extension, not a folder, and a folder for it
    that exists or can be made (made now, as --plot's always was)."""
    import os
    import tempfile

    if path is None:
        return
    if path.suffix.lower() not in suffixes:
        raise UsageError(f"{flag} takes a {' or '.join(suffixes)} file (got '{path.name}')")
    if path.is_dir():
        raise UsageError(f"{flag} {path} is a directory: give a file path")
    if path.exists() and not os.access(path, os.W_OK):
        raise UsageError(f"{flag} {path} is not writable")
    parent = path.parent
    existing = next((p for p in (parent, *parent.parents) if p.exists()), Path("."))
    if not existing.is_dir():
        raise UsageError(f"{flag} {path}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"{flag} {path}: the folder {existing} is not writable")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        # os.access says yes to root and on some mounts (/proc): only a file made there proves it
        handle, probe = tempfile.mkstemp(prefix=".vibe-probe-", dir=parent)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise UsageError(f"{flag} {path}: cannot write in {parent} ({exc.strerror or exc})") from None


def check_files(summary_json: Path | None, plot: Path | None) -> None:
    import importlib.util

    _output_file(summary_json, "--summary-json", (".json",))
    _output_file(plot, "--plot", (".png", ".svg", ".pdf"))
    if plot is not None and importlib.util.find_spec("matplotlib") is None:
        raise UsageError("--plot needs matplotlib: pip install 'vibecli[eval]'")


def _problems_of(folder: RunFolder, templates: dict[str, Any]) -> list[Any] | None:
    """A finished or partial run's problems, from its recorded source (the Hub cache or its file)."""
    from vibecli.eval.datasets import benchmark_problems
    from vibecli.eval.evaluate import Target, load_target
    from vibecli.eval.hub import download
    from vibecli.eval.registry import find_benchmark, windowed

    manifest = folder.manifest()
    source = manifest["source"]
    try:
        if source.get("origin") == "card":
            return load_target(Target(manifest["benchmark"], benchmark=find_benchmark(manifest["benchmark"])),
                               templates, mode="auto", origin="card")[0]  # fmt: skip
        if "file" in source:
            target = Target(manifest["benchmark"], file=Path(source["file"]))
            return load_target(target, templates, mode=source.get("mode", "auto"))[0]
        registered = find_benchmark(manifest["benchmark"])
        if registered is None:
            return None
        window = source.get("window") or [None, None]
        benchmark = windowed(registered, window[0], window[1]) if "release" not in source else registered
        local, _ = download(benchmark, source.get("revision"))
        choices = str(source.get("choices", "card"))
        seed = int(choices.rsplit(" ", 1)[1]) if choices.startswith("shuffled") else 0
        return benchmark_problems(benchmark, local, choices="shuffled" if seed or choices != "card" else "card",
                                  seed=seed)  # fmt: skip
    except (EngineError, UsageError):
        return None


def report(directory: Path, grader: str | None, k: int | None, summary_json: Path | None, plot: Path | None) -> None:
    from vibecli.eval.evaluate import eval_templates, gold_warning, grade_run, reported_problems, summaries
    from vibecli.eval.store import find_runs
    from vibecli.prompting.templates import load_templates
    from vibecli.verify.math import math_pool

    terminal = make_terminal()
    runs = find_runs(directory)
    if not runs:
        raise UsageError(f"{directory} holds no vibe eval run (no run.json)")
    check_files(summary_json, plot)
    templates = eval_templates(load_templates())
    rows: list[dict[str, Any]] = []
    # every run's problems checked before anything is graded: a changed text refuses the report
    loaded = [(folder, _problems_of(folder, templates)) for folder in runs]
    checked = [(folder, None if found is None else reported_problems(folder, found)) for folder, found in loaded]
    with math_pool(workers=1) as pool:
        for folder, problems in checked:
            manifest = folder.manifest()
            chosen = grader or str(manifest.get("grader", "vibe"))
            if problems is None:
                error_line(terminal, f"{folder.path}: its problems cannot be read; reporting what is graded")
            else:
                warning = gold_warning(folder, problems)
                if warning:
                    terminal.err.print(f"vibe: warning: {warning}", style="warning", markup=False)
                grade_run(folder, problems, templates, chosen, pool, k=k)
            rows += summaries(folder, chosen, k=k, problems=problems)
    write_outputs(terminal, rows, summary_json, plot)


REPORT_HELP = """Usage: vibe eval report DIR [--grader vibe|card] [-k N] [--summary-json FILE] [--plot FILE]

  Print the report of a run in DIR (or of the runs in its subfolders), finished or not. Samples
  not graded yet, or graded against a gold that has since changed, are graded first.

Options:
  --grader TEXT        vibe or card. [the grader the run used]
  -k, --samples N      Report at N samples per problem. [the run's]
  --summary-json FILE  Write the summaries here (.json).
  --plot FILE          Draw accuracy and tokens per budget (.png/.svg/.pdf).

Exit codes: 0 reported · 2 usage error · 3 data or environment error.
"""
