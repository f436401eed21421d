"""Self-consistency: cluster sampled answers by mathematical equivalence, the largest wins.

Identical strings share a cluster without asking SymPy; others are compared with vibe's math
checker. Ties go to the cluster whose first answer came from the lowest sample index, which
is deterministic because samples use fixed seeds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Vote:
    answer: str | None
    size: int
    clusters: tuple[tuple[int, ...], ...]  # sample indexes, largest cluster first


def vote(answers: list[str | None], same: Callable[[str, str], bool]) -> Vote:
    """Cluster `answers` (None is no answer and never votes) and pick the winner."""
    clusters: list[list[int]] = []
    for index, answer in enumerate(answers):
        if answer is None:
            continue
        for cluster in clusters:
            representative = answers[cluster[0]]
            assert representative is not None
            if answer == representative or same(representative, answer):
                cluster.append(index)
                break
        else:
            clusters.append([index])
    if not clusters:
        return Vote(None, 0, ())
    ranked = sorted(clusters, key=lambda c: (-len(c), c[0]))
    return Vote(answers[ranked[0][0]], len(ranked[0]), tuple(tuple(c) for c in ranked))
