"""Start-up cost of `vibe --help` against a bare interpreter, as a ratio."""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def timed(argv: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    baseline = timed([sys.executable, "-c", "pass"], args.runs)
    print(f"{'command':28} {'median ms':>10} {'min ms':>8} {'ratio':>7}")
    base = statistics.median(baseline)
    print(f"{'python -c pass':28} {base * 1000:10.1f} {min(baseline) * 1000:8.1f} {1.0:7.1f}")
    for argv in (["--help"], ["--version"], ["solve", "--help"]):
        times = timed([sys.executable, "-m", "vibecli", *argv], args.runs)
        median = statistics.median(times)
        label = "vibe " + " ".join(argv)
        print(f"{label:28} {median * 1000:10.1f} {min(times) * 1000:8.1f} {median / base:7.1f}")


if __name__ == "__main__":
    main()
