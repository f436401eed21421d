"""Processes as Linux's /proc shows them, for the tests that check nothing vibe starts outlives it."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


def stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after "pid (comm)": state, ppid, pgrp, …, starttime at [19];
    None once the process is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def processes() -> dict[int, list[str]]:
    """Every process's stat fields, by pid."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := stat(int(entry.name))) is not None:
            found[int(entry.name)] = fields
    return found


def descendants(root: int) -> set[int]:
    """The processes below `root`, not `root` itself."""
    children: dict[int, list[int]] = {}
    for pid, fields in processes().items():
        children.setdefault(int(fields[1]), []).append(pid)
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def process_tree(root: int) -> set[int]:
    """`root` and its descendants."""
    return {root, *descendants(root)}


def running(pids: Iterable[int]) -> set[int]:
    """Those of `pids` still running (a zombie waiting for init to reap it has ended)."""
    return {pid for pid in pids if (fields := stat(pid)) is not None and fields[0] != "Z"}


def group(pgid: int) -> list[int]:
    """Live (not zombie) processes of process group `pgid`."""
    return [pid for pid, fields in processes().items() if int(fields[2]) == pgid and fields[0] != "Z"]
