"""Start-up cost of `vibe --help` (and of `import vibecli`) against a bare interpreter, side by side, as a ratio.

It first checks that `import vibecli`, with its public names looked up, imports none of the heavy
libraries (torch, transformers, SymPy, …), and stops with an error when one is.

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

HEAVY = ("torch", "transformers", "exllamav2", "sympy", "latex2sympy2_extended", "prompt_toolkit", "openai")
IMPORT_API = "import vibecli, vibecli.rewards; [getattr(vibecli, name) for name in vibecli.__all__]"
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "import vibecli": [sys.executable, "-c", "import vibecli"],
    "import vibecli (+ public names)": [sys.executable, "-c", IMPORT_API],
    "python -m vibecli --help": [sys.executable, "-m", "vibecli", "--help"],
    "vibe --help": [shutil.which("vibe") or "vibe", "--help"],
    "vibe --version": [shutil.which("vibe") or "vibe", "--version"],
    "vibe solve --help": [shutil.which("vibe") or "vibe", "solve", "--help"],
}


def once(argv: list[str], cwd: str | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, cwd=cwd)
    return time.perf_counter() - start


def check_import_is_light() -> None:
    """`import vibecli` must stay light: the API's names load their modules on first use."""
    probe = f"{IMPORT_API}\nimport sys; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout.strip()
    if loaded != "[]":
        sys.exit(f"import vibecli imported heavy modules: {loaded}")
    print("import vibecli: no heavy module imported")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=31)
    parser.add_argument("--before", help="a directory holding another version's vibecli/ package")
    args = parser.parse_args()
    check_import_is_light()
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
