"""The numbers of a run, per benchmark and thinking budget.

- pass@1: each problem's share of correct samples, averaged over problems, with its standard
  error over problems (sample standard deviation / √problems);
- pass@k: the unbiased estimator of Chen et al. (2021), per problem, averaged;
- cons@k: the majority answer (clustered by math equivalence) graded, averaged over problems;
- mean response tokens, the share cut off at `--max-tokens` (`length`), the share whose answer
  the loop guard forced (`loop`), tokens per second and wall time.
An unfinished run is reported over what it has: pass@1 over problems with a graded sample,
pass@k and cons@k over problems with all k.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from vibecli.batch.report import pass_at_k
from vibecli.eval.grading import vote_id


def mean_and_stderr(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, None
    variance = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
    return mean, math.sqrt(variance / len(values))


def card_consensus(marks: list[dict[str, Any]]) -> float:
    """cons@k as rllm scores it: the answers' normalised strings vote, and a tie among the most
    common ones gives each its share (the fraction of tied answers that are right)."""
    from vibecli.eval.card_grader import normalize

    groups: dict[str, list[bool]] = defaultdict(list)
    for mark in marks:
        if mark.get("answer"):
            groups[normalize(str(mark["answer"]))].append(bool(mark["correct"]))
    if not groups:
        return 0.0
    top = max(len(v) for v in groups.values())
    tied = [v for v in groups.values() if len(v) == top]
    return sum(1.0 for v in tied if v[0]) / len(tied)


def wall_seconds(samples: list[dict[str, Any]]) -> float:
    """Each run's wall time (its last sample's `elapsed_s`), added over the runs."""
    last: dict[str, float] = {}
    for sample in samples:
        run = str(sample.get("run", ""))
        last[run] = max(last.get(run, 0.0), float(sample.get("elapsed_s", 0.0)))
    return sum(last.values())


def summarize(
    manifest: dict[str, Any], samples: list[dict[str, Any]], grades: dict[str, dict[str, Any]],
    *, grader: str, budget: int | None, card: dict[str, Any] | None = None, k: int | None = None,
    problem_ids: list[str] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The summary of one benchmark at one budget (the `--summary-json` schema, one object), over
    the first `k` samples of each of `problem_ids` (the run's k unless asked; every problem in
    the folder without ids). Samples of other problems (a `--limit`, a problem since deleted from
    its file) are counted apart as left out, never mixed in."""
    k = k or int(manifest["settings"]["k"])
    kind = manifest.get("kind", "math")
    at_budget = [s for s in samples if s.get("budget") == budget]
    asked = set(problem_ids) if problem_ids is not None else {str(s["problem"]) for s in at_budget}
    left_out = {str(s["problem"]) for s in at_budget} - asked
    mine = [s for s in at_budget if int(s["sample"]) < k and str(s["problem"]) in asked]
    by_problem: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for sample in mine:
        by_problem[str(sample["problem"])].append(sample)
    per_problem, pass_k, cons, ungraded = [], [], [], set()
    for problem_id, items in by_problem.items():
        marks = [grades.get(f"{s['id']}@{grader}") for s in items]
        if any(m is not None and m.get("verdict") == "ungraded" for m in marks):
            ungraded.add(problem_id)
            continue
        known = [bool(m["correct"]) for m in marks if m is not None]
        if not known:
            continue
        per_problem.append(sum(known) / len(known))
        if len(known) >= k:
            pass_k.append(pass_at_k(len(known), sum(known), k))
            chosen = grades.get(vote_id(problem_id, budget, k))
            if kind != "code" and grader == "card":
                cons.append(card_consensus([m for m in marks if m is not None]))
            elif kind != "code" and chosen is not None:
                winner = chosen["clusters"][0][0] if chosen["clusters"] else None
                mark = grades.get(f"{problem_id}#{winner}#{'off' if budget is None else budget}@{grader}")
                cons.append(1.0 if mark is not None and mark["correct"] else 0.0)
    pass1, stderr = mean_and_stderr(per_problem)
    count = len(asked) if problem_ids is not None else int(manifest["problems"])
    counts = [len(v) for v in by_problem.values()]
    tokens = [int(s["tokens"]) for s in mine]
    wall = wall_seconds(mine)
    reasons = [s.get("finish_reason") for s in mine]
    return {
        "benchmark": manifest["benchmark"],
        "model": manifest["model"],
        "k": k,
        "problems": count,
        "problems_graded": len(per_problem),
        "problems_complete": len(pass_k),
        "problems_ungraded": len(ungraded),
        "samples": len(mine),
        "problems_left_out": len(left_out),
        "samples_asked": count * k,
        "samples_per_problem": [min(counts), max(counts)] if counts else [0, 0],
        "pass@1": pass1,
        "pass@1_stderr": stderr,
        "pass@k": sum(pass_k) / len(pass_k) if pass_k else None,
        "cons@k": sum(cons) / len(cons) if cons else None,
        "mean_response_tokens": sum(tokens) / len(tokens) if tokens else None,
        "cutoff_ratio": reasons.count("length") / len(reasons) if reasons else None,
        "loop_ratio": reasons.count("loop") / len(reasons) if reasons else None,
        "budget": budget,
        "grader": grader,
        "tokens_per_s": round(sum(tokens) / wall, 2) if wall > 0 else None,
        "wall_s": round(wall, 2),
        "card": card,
    }
