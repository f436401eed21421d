"""vibecli.verify_math / verify_math_many / verify_code: verdicts, order, time limits, dead
workers, threads and forks."""

from __future__ import annotations

import json
import os
import random
import threading
import time
from pathlib import Path

import pytest
from procfs import processes

import vibecli
from vibecli.errors import UsageError
from vibecli.verify.compare import check_equal


def hostile_check(gold: str, pred: str) -> object:
    """A stand-in checker (run in the workers): `sleep:S` stalls S seconds, `die` kills its worker."""
    if pred.startswith("sleep:"):
        time.sleep(float(pred.split(":", 1)[1]))
        return check_equal(gold, gold)
    if pred == "die":
        os._exit(7)
    return check_equal(gold, pred)


@pytest.fixture
def hostile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("vibecli.verify.math.CHECK", f"{__name__}:hostile_check")


def _variants(n: int, seed: int) -> list[tuple[str, str, bool]]:
    """(gold, pred, equal?) in several spellings: fractions, decimals, boxed, sums, wrong by one."""
    rng = random.Random(seed)
    cases = []
    for _ in range(n):
        a, b = rng.randint(1, 99), rng.randint(2, 9)
        value = a / b
        spelled = rng.choice([f"\\frac{{{a}}}{{{b}}}", f"{a}/{b}", f"\\boxed{{\\frac{{{a}}}{{{b}}}}}"])
        if rng.random() < 0.5:
            cases.append((spelled, f"{a}/{b}", True))
        elif a % b == 0:
            cases.append((spelled, str(a // b), True))
        else:
            cases.append((spelled, f"{value + 1:.6f}", False))
    return cases


def test_verify_math_verdicts_and_json() -> None:
    equal = vibecli.verify_math("\\frac{1}{2}", "0.5")
    assert (equal.verdict, equal.equal) == ("equal", True) and equal.reason
    unequal = vibecli.verify_math("3", "\\boxed{4}")
    assert (unequal.verdict, unequal.equal) == ("not_equal", False)
    undecided = vibecli.verify_math("x^2", "__import__('os').system('true')")
    assert undecided.verdict == "undecided" and undecided.equal is None
    assert equal.to_json() == {"verdict": "equal", "equal": True, "reason": equal.reason, "gold": equal.gold,
                               "pred": equal.pred}  # fmt: skip
    assert isinstance(equal, vibecli.MathVerdict)
    json.dumps([v.to_json() for v in (equal, unequal, undecided)])


def test_verify_math_reads_whole_responses() -> None:
    response = "<think>48 + 37 is 85</think>\nSo the answer is \\boxed{85}."
    assert vibecli.verify_math("85", response).equal is True
    assert vibecli.verify_math("86", response).equal is False


@pytest.mark.parametrize("seed", [1, 2])
def test_verify_math_many_keeps_the_order(seed: int) -> None:
    cases = _variants(40, seed)
    verdicts = vibecli.verify_math_many([(g, p) for g, p, _ in cases], workers=2, timeout=10)
    assert [v.equal for v in verdicts] == [want for _, _, want in cases]
    assert vibecli.verify_math_many([]) == []


def test_a_slow_answer_costs_its_timeout_and_the_pool_goes_on(hostile: None) -> None:
    started = time.monotonic()
    verdicts = vibecli.verify_math_many([("1", "1"), ("2", "sleep:120"), ("3", "3.0"), ("4", "5")], workers=2,
                                        timeout=1.0)  # fmt: skip
    assert time.monotonic() - started < 60  # far below the 120 s the answer asked for
    assert [v.verdict for v in verdicts] == ["equal", "undecided", "equal", "not_equal"]
    assert "timed out" in verdicts[1].reason
    # the timeout is the call's own: the next call's longer one lets the same kind of answer finish
    assert vibecli.verify_math("2", "sleep:1.5", timeout=20).verdict == "equal"


def test_a_worker_that_dies_costs_one_verdict(hostile: None) -> None:
    pairs = [("1", "1"), ("2", "die"), ("3", "3"), ("4", "die"), ("5", "6"), ("7", "7")]
    verdicts = vibecli.verify_math_many(pairs, workers=2)
    assert [v.verdict for v in verdicts] == ["equal", "undecided", "equal", "undecided", "not_equal", "equal"]
    assert "worker died" in verdicts[1].reason
    assert vibecli.verify_math("1/2", "0.5").equal is True


def test_threads_get_their_own_verdicts() -> None:
    results: dict[int, list[bool | None]] = {}
    cases = {seed: _variants(12, seed) for seed in range(4)}

    def work(seed: int) -> None:
        results[seed] = [v.equal for v in vibecli.verify_math_many([(g, p) for g, p, _ in cases[seed]], workers=1)]

    threads = [threading.Thread(target=work, args=(seed,)) for seed in cases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert results == {seed: [want for _, _, want in cases[seed]] for seed in cases}


def test_a_forked_child_checks_on_its_own_and_the_parent_goes_on() -> None:
    assert vibecli.verify_math("2", "2.0").equal is True  # the parent's pool exists now
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: the parent's workers are not its to use
        try:
            verdicts = vibecli.verify_math_many([("1/3", "2/6"), ("5", "6")], workers=1)
            os.write(write, json.dumps([v.equal for v in verdicts]).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child = json.loads(pipe.read() or "null")
    os.waitpid(pid, 0)
    assert child == [True, False]
    assert [v.equal for v in vibecli.verify_math_many([("3", "3"), ("3", "4")], workers=1)] == [True, False]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: vibecli.verify_math(3, "3"), "gold must be a string"),  # type: ignore[arg-type]
        (lambda: vibecli.verify_math("3", None), "pred must be a string"),  # type: ignore[arg-type]
        (lambda: vibecli.verify_math("3", "3", timeout=0), "timeout must be a positive"),
        (lambda: vibecli.verify_math_many([("1", "1")], workers=0), "workers must be a positive"),
        (lambda: vibecli.verify_math_many([("1", "1")], timeout=float("nan")), "timeout must be a positive"),
        (lambda: vibecli.verify_code("print(1)", [{"input": "1"}]), "needs 'input' and 'output'"),
        (lambda: vibecli.verify_code("print(1)", []), "no test in them"),
        (lambda: vibecli.verify_code("print(1)", Path("/nonexistent/tests.jsonl")), "does not exist"),
        (lambda: vibecli.verify_code("print(1)", [{"input": "", "output": "1"}], memory=-1), "memory must be"),
    ],
)
def test_bad_arguments_are_usage_errors(call: object, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        call()  # type: ignore[operator]
    assert issubclass(UsageError, vibecli.VibeError)


def test_verify_code_asserts_cases_files_and_responses(tmp_path: Path) -> None:
    add = "def add(a, b):\n    return a + b\n"
    passed = vibecli.verify_code(add, "assert add(2, 3) == 5\n")
    assert (passed.passed, passed.total, passed.ok) == (1, 1, True)
    wrong = vibecli.verify_code("def add(a, b):\n    return a - b\n", "assert add(2, 3) == 5\n")
    assert not wrong.ok and wrong.tests[0].verdict == "wrong_answer"
    program = "a, b = map(int, input().split())\nprint(a + b)\n"
    cases = [{"input": "2 3", "output": "5"}, {"input": "1 1", "output": "3"}]
    checked = vibecli.verify_code(program, cases)
    assert [t.verdict for t in checked.tests] == ["passed", "wrong_answer"]
    record = checked.to_json()
    assert record["passed"] == 1 and record["total"] == 2 and record["isolation"]["method"] != "none"
    jsonl = tmp_path / "tests.jsonl"
    jsonl.write_text("".join(json.dumps(c) + "\n" for c in cases))
    assert vibecli.verify_code(program, jsonl).passed == 1
    response = f"<think>sum them</think>\n```python\n{program}```\n"
    assert vibecli.verify_code(response, cases[:1]).ok
    looping = vibecli.verify_code("while True:\n    pass\n", cases[:1], timeout=1)
    assert looping.tests[0].verdict == "time_limit"
    assert isinstance(looping, vibecli.CodeVerdict)


def test_the_cli_prints_the_api_records(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from vibecli.cli.app import app

    solution, tests = tmp_path / "s.py", tmp_path / "t.jsonl"
    solution.write_text("print(int(input()) * 2)\n")
    tests.write_text('{"input": "2", "output": "4"}\n{"input": "3", "output": "7"}\n')
    out = CliRunner().invoke(app, ["verify", "code", str(solution), "--tests", str(tests), "--json"])
    assert json.loads(out.stdout) == vibecli.verify_code(solution.read_text(), tests).to_json() | {
        "tests": json.loads(out.stdout)["tests"]  # the seconds differ from run to run
    }
    assert [t["verdict"] for t in json.loads(out.stdout)["tests"]] == ["passed", "wrong_answer"]
    out = CliRunner().invoke(app, ["verify", "math", "0.5", "--expected", "1/2", "--json"])
    assert json.loads(out.stdout) == vibecli.verify_math("1/2", "0.5").to_json()


def test_a_thread_keeps_at_most_two_pools() -> None:
    from vibecli.api import checking

    def alive() -> int:
        return sum(len(pool._workers) for pool in checking._pools.pools.values())

    vibecli.verify_math("1", "1")
    for workers in (3, 2, 3):
        assert vibecli.verify_math_many([("1", "1"), ("2", "3")], workers=workers)[0].equal is True
        assert sorted(checking._pools.pools) == sorted({1, workers})
        assert alive() == 1 + workers


def test_a_threads_workers_end_with_it() -> None:
    from vibecli.api import checking

    pids: list[int] = []

    def work() -> None:
        vibecli.verify_math_many([("1", "1")], workers=2)
        pids.extend(w.pid for pool in checking._pools.pools.values() for w in pool._workers)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert len(pids) == 2

    def present(pid: int) -> bool:  # running, or a zombie nobody reaped
        return Path(f"/proc/{pid}").exists()

    deadline = time.monotonic() + 30
    while any(present(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(present(pid) for pid in pids)  # ended and reaped: no zombies left behind


def test_many_threads_leave_no_zombies() -> None:
    def work(_: int) -> None:
        vibecli.verify_math_many([("1", "1")] * 4, workers=2)

    for _ in range(2):
        threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    deadline = time.monotonic() + 30
    while zombies() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert zombies() == []


def zombies() -> list[int]:
    return [pid for pid, fields in processes().items() if int(fields[1]) == os.getpid() and fields[0] == "Z"]


def test_a_pool_closed_by_many_threads_at_once_closes_each_pipe_once() -> None:
    # A server's shutdown and the lane that owns a pool can close it together: a second close of
    # the same pipe raised EBADF (found under load in test_mcp_lifetime), or could close another
    # file that had taken the descriptor's number.
    from vibecli.verify.worker import WorkerPool

    for _ in range(10):
        pool = WorkerPool(workers=2, timeout_s=5)
        start = threading.Barrier(6)
        errors: list[BaseException] = []

        def close(
            pool: WorkerPool = pool, start: threading.Barrier = start, errors: list[BaseException] = errors
        ) -> None:
            start.wait()
            try:
                pool.close()
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=close) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
