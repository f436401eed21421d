"""Red team: wrong solutions written to fake a pass or to get out, in both sandbox modes.

Every attack is a *wrong* solution (`add` returns a - b; the stdin/stdout program does not
double its input) that tries something. Each run asserts two things:
- it never passes;
- the attack was contained: its own check (nothing written, nothing connected, nothing
  reached), and no process of the sandbox left running afterwards (read from /proc).

Limits are small (3 s, 256 MB, 32 processes, 16 MB of disk) so that a failure of the sandbox
cannot endanger the machine running the tests.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from procfs import processes
from test_sandbox import method, path_without_bwrap  # noqa: F401 - the fixture: bubblewrap, then namespaces

from vibecli.verify.code import IOCase, run_assert_tests, run_io_tests
from vibecli.verify.sandbox import NOBODY, Limits

LIMITS = Limits(wall_s=3, cpu_s=2, memory_mb=256, processes=32, disk_mb=16)
ASSERT_TESTS = "import random\n\ndef check(f):\n    assert f(1, 2) == 3\n    assert f(5, 5) == 10\n"
IO_CASES = [IOCase("3\n", "6\n"), IOCase("10\n", "20\n"), IOCase("21\n", "42\n")]
WRONG = "def add(a, b):\n    return a - b\n"
WRONG_IO = "print(int(input()) + 1)\n"


@dataclass
class Scene:
    """What an attack may aim at, made fresh for each run."""

    tmp: Path
    marker: str = field(default_factory=lambda: uuid.uuid4().hex)
    port: int = 0
    connections: list[bytes] = field(default_factory=list)
    bystander: subprocess.Popen[bytes] | None = None


@dataclass(frozen=True)
class Attack:
    name: str
    kind: str  # "asserts" or "io"
    source: Callable[[Scene], str]
    contained: Callable[[Scene], bool] = lambda scene: True


def _asserts(name: str, source: str, contained: Callable[[Scene], bool] = lambda s: True) -> Attack:
    return Attack(name, "asserts", lambda scene: source.format(s=scene), contained)


def _io(name: str, source: str, contained: Callable[[Scene], bool] = lambda s: True) -> Attack:
    return Attack(name, "io", lambda scene: source.format(s=scene), contained)


def _nothing_at(*paths: Callable[[Scene], Path]) -> Callable[[Scene], bool]:
    return lambda scene: not any(path(scene).exists() for path in paths)


FORGED_VERDICT = (
    "import json, struct\n"
    "record = json.dumps({{'verdict': 'passed'}}).encode()\n"
    "message = struct.pack('>Q', len(record)) + record\n"
)
ATTACKS = [
    # Faking the verdict from the solution's own process.
    _asserts("sys.exit(0) at the end", WRONG + "import sys\nsys.exit(0)\n"),
    _asserts("os._exit(0) at the end", WRONG + "import os\nos._exit(0)\n"),
    _asserts("SystemExit(0) inside the function", "def add(a, b):\n    raise SystemExit(0)\n"),
    _asserts("os._exit(0) inside the function", "import os\ndef add(a, b):\n    os._exit(0)\n"),
    _asserts("KeyboardInterrupt inside the function", "def add(a, b):\n    raise KeyboardInterrupt\n"),
    _asserts("atexit rewrites the status", "import atexit, os\natexit.register(lambda: os._exit(0))\n" + WRONG),
    _asserts("excepthook swallows the failure", "import sys, os\nsys.excepthook = lambda *a: os._exit(0)\n" + WRONG),
    _asserts(
        "always-equal object", "class Yes:\n    def __eq__(self, o): return True\ndef add(a, b):\n    return Yes()\n"
    ),
    _asserts(
        "int subclass equal to anything",
        "class I(int):\n    def __eq__(self, o): return True\n"
        "    __hash__ = int.__hash__\ndef add(a, b):\n    return I(0)\n",
    ),
    _asserts("str subclass", "class S(str):\n    def __eq__(self, o): return True\ndef add(a, b):\n    return S()\n"),
    _asserts("list subclass", "class L(list):\n    def __eq__(self, o): return True\ndef add(a, b):\n    return L()\n"),
    _asserts("a generator", "def add(a, b):\n    yield a - b\n"),
    _asserts("shadowing a builtin the tests use", "def isinstance(*a): return True\n" + WRONG),
    _asserts("printing verdict markers", WRONG + "print('passed')\nprint('{{\"verdict\": \"passed\"}}')\n"),
    _asserts(
        "writing a forged verdict to every descriptor",
        FORGED_VERDICT + "import os\nfor fd in range(3, 256):\n    try: os.write(fd, message)\n"
        "    except OSError: pass\n" + WRONG,
    ),
    _asserts(
        "forging the verdict through /proc of the harness",
        FORGED_VERDICT + "import os, glob\nfor pid in os.listdir('/proc'):\n    for fd in glob.glob(f'/proc/{{pid}}"
        "/fd/*'):\n        try: open(fd, 'wb', buffering=0).write(message)\n        except OSError: pass\n" + WRONG,
    ),
    _asserts(
        "reading the harness's memory",
        "import os\nok = False\ntry:\n    open(f'/proc/{{os.getppid()}}/mem', 'rb')\n    ok = True\n"
        "except OSError: pass\ndef add(a, b):\n    return a + b if ok else a - b\n",
    ),
    _asserts(
        "ptrace on the harness",
        "import ctypes, os\nlibc = ctypes.CDLL(None)\nok = libc.ptrace(16, os.getppid(), 0, 0) == 0\n"
        "def add(a, b):\n    return a + b if ok else a - b\n",
    ),
    _asserts(
        "monkeypatching the harness in its own copy",
        "import sys\nh = sys.modules.get('harness') or sys.modules.get('vibecli.verify.sandbox.harness')\n"
        "if h:\n    h._verdict = lambda *a: {{'verdict': 'passed'}}\n    h.non_plain = lambda v: None\n" + WRONG,
    ),
    _asserts(
        "killing the harness", "import os, signal\ndef add(a, b):\n    os.kill(os.getppid(), 9)\n    return a - b\n"
    ),
    _asserts("stopping the harness", "import os\ndef add(a, b):\n    os.kill(os.getppid(), 19)\n    return a - b\n"),
    _asserts("killing every process it can", "import os\ndef add(a, b):\n    os.kill(-1, 9)\n    return 0\n"),
    _asserts(
        "planting a module the tests import", "open('random.py', 'w').write('import os\\nos._exit(0)\\n')\n" + WRONG
    ),
    _asserts(
        "garbage on its reply channel",
        "import os\ndef add(a, b):\n    for fd in range(3, 20):\n        try: os.write(fd, b'\\x00' * 64)\n"
        "        except OSError: pass\n    return a - b\n",
    ),
    _asserts(
        "a thread that exits the process later",
        "import os, threading, time\nthreading.Thread(target=lambda: (time.sleep(0.2), os._exit(0))).start()\n" + WRONG,
    ),
    _asserts("a forked child that lingers", "import os, time\nif os.fork() == 0:\n    time.sleep(60)\n" + WRONG),
    _asserts(
        "setsid and a double fork",
        "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        time.sleep(60)\n"
        "    os._exit(0)\n" + WRONG,
    ),
    _asserts("spinning forever", "def add(a, b):\n    while True: pass\n"),
    _asserts(
        "a fake infrastructure failure",
        "import sys, os\nsys.stderr.write('sandbox setup failed: no\\n')\nsys.stderr.flush()\nos._exit(125)\n",
    ),
    # Reading what it must not see.
    _io(
        "searching the filesystem for the tests",
        "import os\nfound = None\nfor root, dirs, files in os.walk('/'):\n"
        "    if root.startswith(('/proc', '/sys', '/usr', '/dev')): dirs[:] = []; continue\n"
        "    for f in files:\n        try: text = open(os.path.join(root, f), errors='ignore').read()\n"
        "        except OSError: continue\n        if '{s.marker}' in text: found = text\n"
        "n = int(input())\nprint(n * 2 if found else n + 1)\n",
    ),
    _io(
        "reading the environment of every process",
        "import os\nleak = ''\nfor pid in os.listdir('/proc'):\n"
        "    try: leak += open(f'/proc/{{pid}}/environ').read()\n"
        "    except OSError: pass\nleak += str(os.environ)\nn = int(input())\n"
        "print(n * 2 if '{s.marker}' in leak else n + 1)\n",
    ),
    _io(
        "looking for the test runner's process",
        "import os\nseen = ''\nfor pid in os.listdir('/proc'):\n"
        "    try: seen += open(f'/proc/{{pid}}/cmdline').read()\n"
        "    except OSError: pass\nn = int(input())\nprint(n * 2 if 'pytest' in seen else n + 1)\n",
    ),
    _io(
        "reading /etc/shadow",
        "try: open('/etc/shadow').read(); ok = True\nexcept OSError: ok = False\n"
        "n = int(input())\nprint(n * 2 if ok else n + 1)\n",
    ),
    _io(
        "reading the user's home",
        "import os\ntry: ok = any('{s.marker}' in name for name in os.listdir(os.path.expanduser('~root')))\n"
        "except OSError: ok = False\nn = int(input())\nprint(n * 2 if ok else n + 1)\n",
    ),
    # Reaching out.
    _io(
        "TCP to a listener on the host",
        "import socket\ntry:\n    socket.create_connection(('127.0.0.1', {s.port}), timeout=1).sendall(b'{s.marker}')\n"
        "except OSError: pass\nprint(int(input()) + 1)\n",
        lambda s: not s.connections,
    ),
    _io(
        "DNS",
        "import socket\ntry: socket.getaddrinfo('example.com', 80); ok = True\nexcept OSError: ok = False\n"
        "n = int(input())\nprint(n * 2 if ok else n + 1)\n",
    ),
    _io(
        "signals to a process outside",
        "import os, signal\nfor sig in (signal.SIGKILL, signal.SIGTERM):\n    try: os.kill({s.bystander.pid}, sig)\n"
        "    except OSError: pass\nprint(int(input()) + 1)\n",
        lambda s: s.bystander is not None and s.bystander.poll() is None,
    ),
    _io(
        "ptrace on a process outside",
        "import ctypes\nctypes.CDLL(None).ptrace(16, {s.bystander.pid}, 0, 0)\nprint(int(input()) + 1)\n",
        lambda s: s.bystander is not None and s.bystander.poll() is None,
    ),
    # Writing where it must not.
    _io(
        "writing outside its directory",
        "for p in ('{s.tmp}/pwned', '/usr/pwned-{s.marker}', '/etc/pwned-{s.marker}', '/pwned-{s.marker}',"
        " '/proc/sys/kernel/pwned', '/dev/pwned-{s.marker}', '/sys/pwned'):\n    try: open(p, 'w').write('x')\n"
        "    except OSError: pass\nprint(int(input()) + 1)\n",
        _nothing_at(
            lambda s: s.tmp / "pwned",
            lambda s: Path(f"/usr/pwned-{s.marker}"),
            lambda s: Path(f"/etc/pwned-{s.marker}"),
            lambda s: Path(f"/pwned-{s.marker}"),
        ),
    ),
    _io(
        "undoing its mounts",
        "import ctypes\nlibc = ctypes.CDLL(None)\nfor t in (b'/tmp', b'/usr', b'/proc'):\n"
        "    libc.umount2(t, 2)\nlibc.mount(None, b'/', None, 32 | 4096, None)\n"
        "open('/usr/pwned-{s.marker}', 'w') if False else None\nprint(int(input()) + 1)\n",
    ),
    _io(
        "a user namespace to regain capabilities",
        "import ctypes, os\nlibc = ctypes.CDLL(None)\nif libc.unshare(0x10000000 | 0x00020000) == 0:\n"
        "    libc.umount2(b'/usr', 2)\n    try: open('/usr/pwned-{s.marker}', 'w')\n    except OSError: pass\n"
        "print(int(input()) + 1)\n",
        _nothing_at(lambda s: Path(f"/usr/pwned-{s.marker}")),
    ),
    # Exhausting the machine.
    _io("fork bomb", "import os\nwhile True:\n    try: os.fork()\n    except OSError: pass\n"),
    _io("memory bomb", "x = bytearray(10**10)\n"),
    _io(
        "memory spread over processes",
        "import os, time\nchildren = []\nfor _ in range(8):\n    pid = os.fork()\n    if pid == 0:\n"
        "        x = b'\\x01' * (100 << 20)\n        time.sleep(3)\n        os._exit(0)\n    children.append(pid)\n"
        "time.sleep(1.5)\nprint('alive', sum(os.waitpid(c, os.WNOHANG) == (0, 0) for c in children), flush=True)\n",
    ),
    _io(
        "disk bomb",
        "import os\nn = 0\ntry:\n    with open('/tmp/work/fill', 'wb') as f:\n        while True:\n"
        "            f.write(b'x' * (1 << 20)); f.flush(); n += 1\nexcept OSError: pass\n"
        "for i in range(64):\n    try: open(f'/tmp/f{{i}}', 'wb').write(b'x' * (1 << 20)); n += 1\n"
        "    except OSError: break\nprint('MB', n)\n",
    ),
    _io("stdout flood", "import sys\nwhile True: sys.stdout.write('x' * 65536)\n"),
    _io(
        "sleeping past the limit after setsid",
        "import os, time\nos.setsid()\nif os.fork() == 0:\n    time.sleep(60)\ntime.sleep(60)\n",
    ),
    _io(
        "a daemon that outlives the program",
        "import os, time, ctypes\nif os.fork() == 0:\n    ctypes.CDLL(None).prctl(1, 0)\n    os.setsid()\n"
        "    if os.fork() == 0:\n        time.sleep(60)\n    os._exit(0)\nprint(int(input()) + 1)\n",
    ),
    _io(
        "burning CPU in threads",
        "import threading\nfor _ in range(4):\n"
        "    threading.Thread(target=lambda: [0 for _ in iter(int, 1)]).start()\n",
    ),
]


@pytest.fixture
def scene(tmp_path: Path) -> Iterator[Scene]:
    made = Scene(tmp_path)
    (tmp_path / "tests.jsonl").write_text(f'{{"input": "3", "output": "6", "note": "{made.marker}"}}\n')
    secret_in_home = Path.home() / f".vibe-redteam-{made.marker}"
    secret_in_home.write_text(made.marker)
    os.environ["VIBE_REDTEAM_SECRET"] = made.marker  # in vibe's environment, and so in /proc/self/environ
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.05)  # how long the teardown waits for the accepting thread
    made.port = listener.getsockname()[1]
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
                made.connections.append(connection.recv(100))
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    made.bystander = subprocess.Popen(["sleep", "60"])
    try:
        yield made
    finally:
        stop.set()
        thread.join()
        listener.close()
        made.bystander.kill()
        made.bystander.wait()
        os.environ.pop("VIBE_REDTEAM_SECRET", None)
        secret_in_home.unlink()


def _sandbox_processes() -> list[int]:
    """Live processes of this test process's sandboxes: in one of its per-check cgroups where
    cgroups are used (so that another test run's sandboxes do not count), else of the sandbox's
    user (as root the program runs as nobody)."""
    from vibecli.verify.sandbox import cgroups

    mine = f"/vibe-sandbox-{os.getpid()}-"
    found = []
    for pid, fields in processes().items():
        try:
            if cgroups.available():
                ours = mine in Path(f"/proc/{pid}/cgroup").read_text()
            else:
                ours = Path(f"/proc/{pid}").stat().st_uid == NOBODY
        except OSError:
            continue
        if ours and fields[0] != "Z":
            found.append(pid)
    return found


def _nothing_left(grace_s: float = 5.0) -> bool:
    deadline = time.monotonic() + grace_s
    while _sandbox_processes():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_the_attack_is_contained_and_never_passes(attack: Attack, method: str, scene: Scene) -> None:  # noqa: F811
    source = attack.source(scene)
    started = time.monotonic()
    if attack.kind == "asserts":
        results = run_assert_tests(source, ASSERT_TESTS, limits=LIMITS, entry_point="add")
    else:
        # One case: each case is a sandbox of its own running the same attack, so two more would repeat
        # it, at up to the 3 s limit each (a correct solution's cases are run in full below).
        results = run_io_tests(source, IO_CASES[:1], limits=LIMITS)
    elapsed = time.monotonic() - started
    assert not all(r.verdict == "passed" for r in results), f"{attack.name} passed: {results}"
    assert attack.contained(scene), f"{attack.name} got out"
    assert elapsed < len(results) * (LIMITS.wall_s + 2), f"{attack.name} held the check for {elapsed:.1f}s"
    if os.geteuid() == 0:
        assert _nothing_left(), f"{attack.name} left processes running: {_sandbox_processes()}"
    assert not _groups_left(), f"{attack.name} left its cgroup behind"


def _groups_left() -> list[Path]:
    """This test process's per-check cgroups still on disk."""
    from vibecli.verify.sandbox import cgroups

    if not cgroups.available():
        return []
    return [path for directory in set(cgroups._own_directories().values())
            for path in directory.glob(f"vibe-sandbox-{os.getpid()}-*")]  # fmt: skip


def test_there_are_at_least_forty_attacks() -> None:
    assert len(ATTACKS) >= 40


def test_memory_is_bounded_per_check_not_per_process(method: str) -> None:  # noqa: F811
    spread = next(a for a in ATTACKS if a.name == "memory spread over processes")
    result = run_io_tests(spread.source(Scene(Path("/nonexistent"))), [IOCase("", "")], limits=LIMITS)[0]
    from vibecli.verify.sandbox import run_python

    run = run_python(spread.source(Scene(Path("/nonexistent"))), limits=LIMITS)
    alive = int(run.stdout.split()[-1]) if run.stdout.startswith("alive") else 0
    assert alive * 100 <= LIMITS.memory_mb, run.stdout  # 100 MB each, held at the same time
    assert result.verdict != "passed"


def test_disk_is_bounded_per_check(method: str) -> None:  # noqa: F811
    from vibecli.verify.sandbox import run_python

    bomb = next(a for a in ATTACKS if a.name == "disk bomb")
    run = run_python(bomb.source(Scene(Path("/nonexistent"))), limits=LIMITS)
    written = int(run.stdout.split()[-1]) if run.stdout.startswith("MB") else 0
    assert written <= LIMITS.disk_mb, run.stdout


def test_time_limit_holds_for_escaped_processes(method: str) -> None:  # noqa: F811
    from vibecli.verify.sandbox import run_python

    escape = next(a for a in ATTACKS if a.name == "sleeping past the limit after setsid")
    run = run_python(escape.source(Scene(Path("/nonexistent"))), limits=LIMITS)
    assert run.status == "time_limit"
    assert run.wall_s < LIMITS.wall_s + 1, f"the verdict waited {run.wall_s:.1f}s for a {LIMITS.wall_s}s limit"


def test_the_attacks_are_real_without_a_sandbox(scene: Scene, monkeypatch: pytest.MonkeyPatch) -> None:
    """The control: with no isolation (--no-sandbox), the same attacks do get out, so the checks
    above can fail."""
    from test_sandbox import path_without

    from vibecli.verify.sandbox import isolation

    monkeypatch.setenv("PATH", path_without(scene.tmp, ("bwrap", "unshare")))
    isolation.cache_clear()
    try:
        unsafe = Limits(wall_s=3, cpu_s=2, memory_mb=256, processes=32, require_isolation=False)
        chosen = {a.name: a for a in ATTACKS}
        for name in ("TCP to a listener on the host", "writing outside its directory"):
            run_io_tests(chosen[name].source(scene), IO_CASES[:1], limits=unsafe)
            assert not chosen[name].contained(scene), f"{name} is no attack: it did nothing even unsandboxed"
        leak = run_io_tests(chosen["reading the user's home"].source(scene), IO_CASES, limits=unsafe)
        assert all(r.verdict == "passed" for r in leak)
    finally:
        isolation.cache_clear()


# The other side: no correct solution is failed by the harness.
CORRECT_IO = "n = int(input())\nprint(n * 2)\n"
FAIR = [
    ("io", "import sys\nsys.stderr.write('debug ' * 40000)\n" + CORRECT_IO),  # 240 KB of stderr
    ("io", "import sys\nprint('MemoryError: only a word', file=sys.stderr)\n" + CORRECT_IO),
    ("io", "import os, sys\nos.write(2, b'Traceback\\nMemoryError\\n')\n" + CORRECT_IO),
    ("asserts", "print('x' * (2 << 20))\ndef add(a, b):\n    return a + b\n"),  # 2 MB of stdout
    ("asserts", "import sys\nsys.stderr.write('MemoryError\\n' * 30000)\ndef add(a, b):\n    return a + b\n"),
    ("asserts", "class Solution:\n    pass\ndef add(a, b):\n    return sum([a, b])\n"),
]


@pytest.mark.parametrize(("kind", "source"), FAIR, ids=[f"{k}-{i}" for i, (k, _) in enumerate(FAIR)])
def test_a_correct_solution_passes_whatever_it_prints(kind: str, source: str, method: str) -> None:  # noqa: F811
    if kind == "asserts":
        results = run_assert_tests(source, ASSERT_TESTS, limits=LIMITS, entry_point="add")
    else:
        results = run_io_tests(source, IO_CASES, limits=LIMITS)
    assert all(r.verdict == "passed" for r in results), results


# Output without end, where the program's own output is not its verdict (assert tests) and where
# it is (stdin/stdout): each is the program's failure, never the machine's (found by a stranger:
# the assert case raised SandboxFailure).
ENDLESS_OUTPUT = [
    ("asserts in the solution", "def add(a, b):\n    while True:\n        print('x' * 1000)\n"),
    ("asserts at import", "while True:\n    print('y' * 5000, flush=True)\ndef add(a, b):\n    return a + b\n"),
    ("asserts on stderr", "import sys\ndef add(a, b):\n    while True:\n        sys.stderr.write('z' * 4096)\n"),
    ("io", "while True:\n    print('x' * 1000)\n"),
]


@pytest.mark.parametrize(("name", "source"), ENDLESS_OUTPUT, ids=[n for n, _ in ENDLESS_OUTPUT])
def test_endless_output_is_the_programs_failure(name: str, source: str, method: str) -> None:  # noqa: F811
    limits = dataclasses.replace(LIMITS, wall_s=2.0)
    if name == "io":
        results = run_io_tests(source, IO_CASES[:1], limits=limits)
        assert [(r.verdict, r.detail) for r in results] == [("runtime_error", "output limit exceeded")]
    else:
        results = run_assert_tests(source, ASSERT_TESTS, limits=limits, entry_point="add")
        assert [r.verdict for r in results] == ["time_limit"], results


def test_a_kill_is_not_called_a_time_limit(method: str) -> None:  # noqa: F811
    from vibecli.verify.sandbox import run_python

    run = run_python("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n", limits=LIMITS)
    assert (run.status, run.detail) == ("runtime_error", "killed by signal 9")


def test_assert_tests_can_expect_an_exception_and_use_instances(method: str) -> None:  # noqa: F811
    source = (
        "class Counter:\n    def __init__(self):\n        self.n = 0\n"
        "    def bump(self):\n        self.n += 1\n        return self.n\n"
        "def root(x):\n    if x < 0:\n        raise ValueError('negative')\n    return x ** 0.5\n"
    )
    tests = (
        "c = Counter()\nassert c.bump() == 1 and c.bump() == 2\nassert root(4) == 2.0\n"
        "try:\n    root(-1)\n    raise AssertionError\nexcept ValueError:\n    pass\n"
    )
    assert run_assert_tests(source, tests, limits=LIMITS)[0].verdict == "passed"


def test_cancelling_a_check_kills_its_sandbox_and_starts_no_more_tests(method: str) -> None:  # noqa: F811
    from vibecli.verify.sandbox import CheckCancelled

    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    slow = "import time\ntime.sleep(60)\n"
    started = time.monotonic()
    with pytest.raises(CheckCancelled):
        run_io_tests(slow, IO_CASES * 5, limits=Limits(wall_s=30, cpu_s=30), cancel=cancel)
    assert time.monotonic() - started < 2.5
    if os.geteuid() == 0:
        assert _nothing_left(grace_s=2.0), "a cancelled check left its sandbox running"


# The proxies behave as one process would: attributes, in-place changes, identity, steering exceptions.
ONE_PROCESS = [
    ("class Account:\n    def __init__(self):\n        self.active = False\n", "assert Account().active\n",
     None, False),
    ("class Account:\n    pass\n", "assert Account().is_open\n", None, False),
    ("class P:\n    def __init__(self):\n        self.x = 1\n    def get(self):\n        return self.x\n",
     "p = P()\nassert p.x == 1 and p.get() == 1 and not hasattr(p, 'y')\n", None, True),
    ("def sorted_copy(a):\n    a.sort()\n    return a\n",
     "def check(f):\n    a = [3, 1, 2]\n    b = f(a)\n    assert b == [1, 2, 3] and b is not a and a == [3, 1, 2]\n",
     "sorted_copy", False),
    ("def sort_in_place(a):\n    a.sort()\n", "def check(f):\n    a = [3, 1, 2]\n    f(a)\n    assert a == [1, 2, 3]\n",
     "sort_in_place", True),
    ("def add(a, b):\n    raise StopIteration\n",
     "def check(f):\n    assert all(map(lambda c: f(c[0], c[1]) == c[2], [(1, 2, 3)]))\n", "add", False),
    ("def pow(a, b):\n    return 0\n", "assert pow(2, 3) == 8\n", None, False),
    ("def abs(x):\n    return 0\n" + WRONG, "def check(f):\n    assert abs(f(1, 2) - 3) < 1e-9\n", "add", False),
]  # fmt: skip


@pytest.mark.parametrize(("source", "tests", "entry", "passes"), ONE_PROCESS, ids=range(len(ONE_PROCESS)))
def test_the_tests_see_the_solution_as_one_process_would(
    source: str,
    tests: str,
    entry: str | None,
    passes: bool,
    method: str,  # noqa: F811
) -> None:
    result = run_assert_tests(source, tests, limits=LIMITS, entry_point=entry)[0]
    assert (result.verdict == "passed") is passes, result
