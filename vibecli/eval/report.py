"""The lines under the report table: what stands behind each number (protocol, grader, choice
order, samples actually made, problems without a gold), so a row is never read beside the card
on the wrong terms."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def report_lines(rows: list[dict[str, Any]]) -> Iterator[str]:
    for row in rows:
        if row.get("budget") is not None and any(r is not row and r["benchmark"] == row["benchmark"] for r in rows):
            continue  # one line per benchmark is enough; the budgets share the protocol
        parts = [f"protocol {row.get('protocol') or 'unrecorded'}", f"grader {row['grader']}"]
        if row.get("choices"):
            parts.append(f"choices {row['choices']}")
        overrides = row.get("overrides") or []
        if overrides:
            parts.append("replaced: " + ", ".join(f"{o['key']} {o['value']} ({o['from']})" for o in overrides))
        low, high = row.get("samples_per_problem") or (0, 0)
        per = f"{low}" if low == high else f"{low}-{high}"
        parts.append(f"samples {row['samples']} of {row.get('samples_asked', '?')} ({per} per problem, k {row['k']})")
        if row.get("problems_left_out"):
            parts.append(f"{row['problems_left_out']} problems of the run left out (not asked now, or no longer in "
                         "the file)")  # fmt: skip
        if row.get("problems_ungraded"):
            parts.append(f"{row['problems_ungraded']} problems ungraded (no gold), counted apart")
        yield f"{row['benchmark']}: " + " · ".join(parts)
        card = row.get("card")
        if card and row["grader"] != "card":
            yield (f"{row['benchmark']}: the card's numbers come from rllm's grader (--grader card); this row used "
                   f"--grader {row['grader']}, a different grader")  # fmt: skip
