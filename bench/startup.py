"""Start-up cost of `vibe --help` against a bare interpreter, side by side, as a ratio.

The commands take turns within each round, so a burst of load elsewhere on the machine
hits them alike; the load average before and after is printed, to say how quiet it was.

    python bench/startup.py [--runs 31] [--before DIR]

`--before DIR` adds `vibe --help` from another checkout's `vibecli/` (e.g. from
`git archive <commit> vibecli prompts | tar -x -C DIR`), for a before/after in the same run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "python -m vibecli --help": [sys.executable, "-m", "vibecli", "--help"],
    "vibe --help": [shutil.which("vibe") or "vibe", "--help"],
    "vibe --version": [shutil.which("vibe") or "vibe", "--version"],
    "vibe solve --help": [shutil.which("vibe") or "vibe", "solve", "--help"],
}


def once(argv: list[str], cwd: str | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, cwd=cwd)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=31)
    parser.add_argument("--before", help="a directory holding another version's vibecli/ package")
    args = parser.parse_args()
    commands = {label: (argv, None) for label, argv in COMMANDS.items()}
    if args.before:  # run from there: `-m` imports from the working directory first
        commands["before: python -m vibecli --help"] = ([sys.executable, "-m", "vibecli", "--help"], args.before)
    for argv, cwd in commands.values():
        once(argv, cwd)  # warm the file cache and the bytecode
    load_before = os.getloadavg()
    times: dict[str, list[float]] = {label: [] for label in commands}
    for _ in range(args.runs):
        for label, (argv, cwd) in commands.items():
            times[label].append(once(argv, cwd))
    load_after = os.getloadavg()
    base = statistics.median(times["python -c pass"])
    print(f"{'command':36} {'median ms':>10} {'min ms':>8} {'ratio':>7}")
    for label, samples in times.items():
        median = statistics.median(samples)
        print(f"{label:36} {median * 1000:10.1f} {min(samples) * 1000:8.1f} {median / base:7.1f}")
    print(f"runs: {args.runs} each, interleaved · load average (1 min) before {load_before[0]:.2f}, "
          f"after {load_after[0]:.2f} · {os.cpu_count()} CPUs")  # fmt: skip


if __name__ == "__main__":
    main()
