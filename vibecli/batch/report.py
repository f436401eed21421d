"""Accuracy report over a results file: counts, pass@1, unbiased pass@k, maj@k, tokens, time."""

from __future__ import annotations

from collections import Counter
from math import comb
from typing import Any


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased estimator of Chen et al. (2021): 1 - C(n-c, k) / C(n, k)."""
    if k > n:
        raise ValueError("k must be at most n")
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


def _wall_seconds(records: list[dict[str, Any]]) -> float:
    """Each run's wall time (its last line's `elapsed_s`), added over the runs in the file."""
    last: dict[str, float] = {}
    for record in records:
        timings = record.get("timings") or {}
        run = str(timings.get("run", ""))
        last[run] = max(last.get(run, 0.0), float(timings.get("elapsed_s", timings.get("total_s", 0.0))))
    return sum(last.values())


def summarize(records: list[dict[str, Any]], *, wall_s: float | None = None) -> dict[str, Any]:
    """The summary of result lines (as `vibe batch` writes them)."""
    count = len(records)
    graded = [r for r in records if r.get("correct") is not None]
    samples = max((int(r.get("n_samples", 1)) for r in records), default=1)
    pass1 = [r.get("n_correct", int(bool(r["correct"]))) / r.get("n_samples", 1) for r in graded]
    pass_k = [pass_at_k(int(r.get("n_samples", 1)), int(r.get("n_correct", int(bool(r["correct"])))), samples)
              for r in graded if int(r.get("n_samples", 1)) >= samples]  # fmt: skip
    thinking = [r["tokens"]["thinking"] for r in records if isinstance(r.get("tokens"), dict)]
    generated = sum(int(r.get("generated_tokens", 0)) for r in records)
    seconds = wall_s if wall_s is not None else _wall_seconds(records)
    correct = sum(1 for r in graded if r["correct"])
    return {
        "count": count,
        "answered": sum(1 for r in records if r.get("final_answer") is not None),
        "graded": len(graded),
        "correct": correct,
        "accuracy": correct / len(graded) if graded else None,
        "samples": samples,
        "pass@1": sum(pass1) / len(pass1) if pass1 else None,
        f"pass@{samples}": sum(pass_k) / len(pass_k) if pass_k else None,
        f"maj@{samples}": correct / len(graded) if graded else None,
        "mean_thinking_tokens": sum(thinking) / len(thinking) if thinking else None,
        "finish_reasons": dict(Counter(str(r.get("finish_reason")) for r in records)),
        "total_s": round(seconds, 3),
        "tokens_per_s": round(generated / seconds, 2) if seconds > 0 else None,
    }
