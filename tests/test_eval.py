"""`vibe eval` end to end with the demo model: a local set recounted from its results, resume,
a budget sweep with its plot, and registered benchmarks from a fake Hub, then offline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from fake_hub import FakeHub
from fake_hub_datasets import build_datasets
from typer.testing import CliRunner

from vibecli.batch.report import pass_at_k
from vibecli.cli.app import app
from vibecli.verify.compare import check_equal

runner = CliRunner()
pytestmark = pytest.mark.slow

SET = [("What is 48 + 37?", "85"), ("Compute 12 * 3.", "36"), ("What is 905 - 387?", "518"),
       ("What is 7 + 5?", "12")]  # fmt: skip


def problem_file(path: Path) -> Path:
    path.write_text("".join(json.dumps({"id": f"q{i}", "question": q, "answer": a}) + "\n"
                            for i, (q, a) in enumerate(SET)))  # fmt: skip
    return path


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def recount(samples: list[dict[str, object]], k: int) -> dict[str, float]:
    """pass@1, pass@k and cons@k from the samples file alone, with an independent extraction."""
    gold = {f"q{i}": a for i, (_, a) in enumerate(SET)}
    per: dict[str, list[tuple[str | None, bool]]] = {}
    for s in sorted(samples, key=lambda s: int(s["sample"])):  # type: ignore[arg-type]
        text = str(s["response"])
        answer = text.rsplit("\\boxed{", 1)[1].split("}")[0] if "</think>" in text and "\\boxed{" in text else None
        ok = answer is not None and check_equal(gold[str(s["problem"])], answer).equal is True
        per.setdefault(str(s["problem"]), []).append((answer, ok))
    pass1 = sum(sum(ok for _, ok in v) / len(v) for v in per.values()) / len(per)
    passk = sum(pass_at_k(len(v), sum(ok for _, ok in v), k) for v in per.values()) / len(per)
    cons = []
    for v in per.values():
        votes = Counter(a for a, _ in v if a is not None)
        top = max(votes.values(), default=0)
        winner = next((a for a, _ in v if a is not None and votes[a] == top), None)  # ties: the first sample
        cons.append(any(a == winner and ok for a, ok in v))
    return {"pass@1": pass1, "pass@k": passk, "cons@k": sum(cons) / len(cons)}


def test_a_local_set_matches_a_recount_and_resume_generates_nothing(tmp_path: Path) -> None:
    problems, out, summary = problem_file(tmp_path / "set.jsonl"), tmp_path / "run", tmp_path / "s.json"
    args = ["eval", str(problems), "--model", "demo", "-k", "4", "-o", str(out), "--summary-json", str(summary)]
    first = runner.invoke(app, [*args, "--max-tokens", "300"])
    assert first.exit_code == 0, first.stderr
    samples = lines(out / "samples.jsonl")
    assert len(samples) == 16 and {s["seed"] for s in samples} == {0, 1, 2, 3}
    [row] = json.loads(summary.read_text())
    assert {"benchmark", "model", "k", "problems", "pass@1", "pass@1_stderr", "pass@k", "cons@k",
            "mean_response_tokens", "cutoff_ratio", "loop_ratio", "budget", "card"} <= set(row)  # fmt: skip
    counted = recount(samples, 4)
    assert (row["k"], row["problems"], row["card"]) == (4, 4, None)
    for key in ("pass@1", "pass@k", "cons@k"):
        assert row[key] == pytest.approx(counted[key]), key
    assert row["mean_response_tokens"] == pytest.approx(sum(int(s["tokens"]) for s in samples) / 16)  # type: ignore[call-overload]
    assert "pass@1" in first.stdout and "demo" not in first.stderr.split("\n")[-1]
    refused = runner.invoke(app, [*args, "--max-tokens", "300"])
    assert refused.exit_code == 2 and "--resume" in refused.stderr
    resumed = runner.invoke(app, [*args, "--max-tokens", "300", "--resume"])
    assert resumed.exit_code == 0, resumed.stderr
    assert (out / "samples.jsonl").read_text().count("\n") == 16  # nothing new was generated
    assert json.loads(summary.read_text()) == [row]
    changed = runner.invoke(app, [*args, "--max-tokens", "299", "--resume"])
    assert changed.exit_code == 2 and "max_tokens" in changed.stderr


def test_a_budget_sweep_reports_each_budget_and_plots(tmp_path: Path) -> None:
    problems, out = problem_file(tmp_path / "set.jsonl"), tmp_path / "sweep"
    plot, summary = tmp_path / "budget.svg", tmp_path / "s.json"
    result = runner.invoke(app, ["eval", str(problems), "--model", "demo", "-k", "2", "-t", "0", "--max-tokens", "300",
                                 "--think-budget", "0,8,off", "-o", str(out), "--plot", str(plot),
                                 "--summary-json", str(summary)])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    rows = json.loads(summary.read_text())
    assert [r["budget"] for r in rows] == [0, 8, None]
    by_budget = {r["budget"]: r for r in rows}
    samples = lines(out / "samples.jsonl")
    forced = [s for s in samples if s["budget"] == 0]
    assert forced and all(s["finish_reason"] == "budget" and "</think>" in str(s["response"]) for s in forced)
    assert by_budget[0]["mean_response_tokens"] < by_budget[None]["mean_response_tokens"]
    assert by_budget[None]["pass@1"] == 1.0
    assert plot.read_text().lstrip().startswith("<?xml") and "budget" in plot.read_text()
    report = runner.invoke(app, ["eval", "report", str(out), "--grader", "card"])
    assert report.exit_code == 0 and "card" in report.stdout


def vibe(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A real process: huggingface_hub reads HF_ENDPOINT and HF_HUB_OFFLINE when first imported."""
    return subprocess.run([sys.executable, "-m", "vibecli", *args], capture_output=True, text=True, env=env,
                          timeout=300)  # fmt: skip


def test_registered_benchmarks_from_the_hub_then_offline_from_its_cache(tmp_path: Path) -> None:
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf")}
    env.pop("HF_HUB_OFFLINE", None)
    env.pop("HF_TOKEN", None)
    with FakeHub(build_datasets(tmp_path / "repos")) as hub:
        env["HF_ENDPOINT"] = hub.url
        online = vibe("eval", "aime25", "--model", "demo", "-k", "2", "--limit", "3", "--max-tokens", "300", "-o",
                      str(tmp_path / "a"),
                      "--summary-json", str(tmp_path / "a.json"), env=env)  # fmt: skip
        assert online.returncode == 0, online.stderr
        assert any("/api/datasets/yentinglin/aime_2025/" in r for r in hub.requests)
        gated = vibe("eval", "gpqa-diamond", "--model", "demo", env=env)
        assert gated.returncode == 3 and "HF_TOKEN" in gated.stderr and "Traceback" not in gated.stderr
        code = vibe("eval", "livecodebench", "--model", "demo", "-k", "1", "--max-tokens", "20", "-o",
                    str(tmp_path / "lcb"), "--summary-json", str(tmp_path / "lcb.json"), env=env)  # fmt: skip
        assert code.returncode == 0, code.stderr
    [row] = json.loads((tmp_path / "a.json").read_text())
    assert (row["benchmark"], row["problems"], row["k"]) == ("aime25", 3, 2) and row["pass@1"] > 0.5
    manifest = json.loads((tmp_path / "a" / "run.json").read_text())
    assert manifest["source"]["repo"] == "yentinglin/aime_2025" and len(manifest["source"]["revision"]) == 40
    [lcb] = json.loads((tmp_path / "lcb.json").read_text())
    assert (lcb["benchmark"], lcb["problems"], lcb["pass@1"], lcb["cons@k"]) == ("livecodebench-v6", 2, 0.0, None)
    offline = {**env, "HF_HUB_OFFLINE": "1", "HF_ENDPOINT": "http://127.0.0.1:9"}  # the hub is gone
    again = vibe("eval", "aime25", "--model", "demo", "-k", "1", "--limit", "1", "--max-tokens", "300", "-o",
                 str(tmp_path / "b"),
                 env=offline)  # fmt: skip
    assert again.returncode == 0, again.stderr
    report = vibe("eval", "report", str(tmp_path / "a"), "--grader", "card", env=offline)
    assert report.returncode == 0 and "aime25" in report.stdout
    missing = vibe("eval", "hmmt25", "--model", "demo", env=offline)
    assert missing.returncode == 3 and "HF_HUB_OFFLINE" in missing.stderr


def test_each_registered_benchmark_runs_the_cards_problem_set(tmp_path: Path) -> None:
    """Card-sized stand-ins in the real layouts, with the rows a wrong selection would take: every
    benchmark picks the card's count, records its protocol, grader and GPQA's order."""
    from fake_hub_datasets import CARD_COUNTS, build_card_sized, lcb_row

    env = {**os.environ, "HF_HOME": str(tmp_path / "hf"), "HF_TOKEN": "hf_fake"}
    env.pop("HF_HUB_OFFLINE", None)
    repos = build_card_sized(tmp_path / "repos")
    runs = tmp_path / "runs"
    with FakeHub(repos) as hub:
        env["HF_ENDPOINT"] = hub.url
        # One `vibe eval` for every benchmark (a folder each under -o): each is selected, counted and
        # recorded on its own, as a run of it alone is, without starting a process per benchmark.
        run = vibe("eval", *CARD_COUNTS, "--model", "demo", "-k", "1", "--limit", "1", "--max-tokens", "20", "-o",
                   str(runs), env=env)  # fmt: skip
        assert run.returncode == 0, run.stderr
        assert "warning" not in run.stderr, run.stderr
        for name, count in CARD_COUNTS.items():
            manifest = json.loads((runs / name / "run.json").read_text())
            assert manifest["source"]["problems_in_set"] == count, name
            assert (manifest["protocol"]["name"], manifest["grader"]) == ("vibethinker-1.5b", "card"), name
            assert manifest["benchmark"] == name
        gpqa = json.loads((runs / "gpqa-diamond" / "run.json").read_text())
        assert gpqa["source"]["choices"] == "card"
        assert json.loads((runs / "livecodebench-v5" / "run.json").read_text())["source"]["release"] == "release_v5"
    # One problem too many (a row of release_v5's window added to test5): the count is checked.
    lcb = repos["livecodebench/code_generation_lite"] / "test5.jsonl"
    lcb.write_text(lcb.read_text() + json.dumps(lcb_row("extra", "2024-12-30")) + "\n")
    with FakeHub(repos) as hub:
        env = {**env, "HF_HOME": str(tmp_path / "hf2"), "HF_ENDPOINT": hub.url}
        run = vibe("eval", "livecodebench-v5", "--model", "demo", "-k", "1", "--limit", "1", "--max-tokens", "20",
                   "-o", str(tmp_path / "extra"), env=env)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "280 problems where the card ran 279" in run.stderr
