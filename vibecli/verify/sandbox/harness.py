"""Assert tests against a solution, with the verdict out of the solution's reach.

Runs inside the sandbox, in the process that `boot.py` starts for a tests job, after it has
dropped every privilege. It uses the standard library only (the sandbox sees no vibe install).

Two processes, so that nothing the solution does can make a test pass:
- the *worker*, forked before the tests are even read, loads the solution and answers calls;
- the *harness* (this process, made non-dumpable so that the worker can neither read its memory
  nor reach its descriptors through /proc) runs the tests. Every name the solution defines is a
  proxy here: a call goes to the worker, and what comes back is rebuilt from plain built-in
  values (a restricted unpickler that can make no object of any class) and checked to be plain
  again. An object with an always-true `__eq__` never reaches a comparison.

A test passes only when the harness writes `passed` on the verdict descriptor, after the test
has returned. The worker has closed that descriptor before it loads the solution, and the exit
status, stdout and stderr decide nothing. `SystemExit`, `KeyboardInterrupt`, `os._exit` or a
non-plain value from the solution fail the test even when the tests catch the exception.

The same module holds the length-prefixed framing that vibe, `boot.py` and the harness share.
"""

from __future__ import annotations

import builtins
import ctypes
import io
import json
import os
import pickle
import signal
import struct
import sys
import types
from typing import Any

MAX_MESSAGE = 256 << 20
PR_SET_DUMPABLE = 4
PLAIN_SCALARS = (int, float, complex, str, bytes, bool, type(None))
PLAIN_CONTAINERS = (list, tuple, dict, set, frozenset)
ABORTS = ("SystemExit", "KeyboardInterrupt", "GeneratorExit")
STEERING = ("StopIteration", "StopAsyncIteration")
KINDS = ("failed", "loaded", "raised", "object", "value", "not_plain", "callable")


# --- framing -------------------------------------------------------------------------------------


def write_message(fd: int, payload: bytes) -> None:
    data = struct.pack(">Q", len(payload)) + payload
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_exactly(fd: int, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError("the other end closed the channel")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_message(fd: int) -> bytes:
    (size,) = struct.unpack(">Q", _read_exactly(fd, 8))
    if size > MAX_MESSAGE:
        raise ValueError(f"a message of {size} bytes is over the limit")
    return _read_exactly(fd, size)


# --- plain values --------------------------------------------------------------------------------


class _PlainUnpickler(pickle.Unpickler):
    """Builds only what pickle's own opcodes make (numbers, strings, bytes, containers): no class
    is ever looked up, so no code of the sender's choosing can run here."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("builtins", "complex"):
            return complex
        raise pickle.UnpicklingError(f"{module}.{name} is not a plain value")


def plain_loads(data: bytes) -> Any:
    value = _PlainUnpickler(io.BytesIO(data)).load()
    problem = non_plain(value)
    if problem is not None:
        raise pickle.UnpicklingError(f"{problem} is not a plain value")
    return value


def non_plain(value: Any) -> str | None:
    """The type name of the first part of `value` that is not a plain built-in value, if any."""
    seen: set[int] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind in PLAIN_SCALARS:
            continue
        if kind not in PLAIN_CONTAINERS:
            return kind.__name__
        if id(item) in seen:
            continue
        seen.add(id(item))
        stack.extend(item.items() if kind is dict else item)
    return None


# --- the worker: the solution's process ----------------------------------------------------------


def _describe(error: BaseException) -> tuple[str, str]:
    return type(error).__name__, str(error)[:300]


def _serve(requests: int, replies: int, source: str) -> None:
    """Load the solution as `__main__`, then answer calls until the harness hangs up."""

    def reply(*message: Any) -> None:
        write_message(replies, pickle.dumps(message, protocol=5))

    module = types.ModuleType("__main__")
    module.__file__ = "main.py"
    sys.modules["__main__"] = module
    try:
        exec(compile(source, "main.py", "exec"), module.__dict__)
    except BaseException as error:  # anything the solution raises is its failure
        reply("failed", *_describe(error))
        os._exit(1)
    names = sorted(
        name
        for name, value in vars(module).items()
        if not name.startswith("__") and callable(value) and not isinstance(value, types.ModuleType)
    )
    reply("loaded", names)
    objects: dict[int, Any] = {}

    def keep(value: Any) -> int:
        objects[len(objects)] = value  # an object of the solution's: the tests get a handle to it
        return len(objects) - 1

    while True:
        try:
            kind, target, attribute, args, kwargs = plain_loads(read_message(requests))
        except EOFError:
            os._exit(0)
        try:
            if kind == "attribute":
                value = getattr(objects[target], attribute)
                if callable(value):
                    reply("callable")
                elif non_plain(value) is None:
                    reply("value", value, (), -1)
                else:
                    reply("object", keep(value))
                continue
            function = getattr(objects[target], attribute) if kind == "method" else vars(module)[target]
            value = function(*args, **kwargs)
        except BaseException as error:
            reply("raised", *_describe(error))
            continue
        if kind == "call" and isinstance(function, type):
            reply("object", keep(value))
        elif non_plain((value, args)) is None:
            # The arguments as the call left them, and which one it returned, so that in-place
            # changes and identity reach the tests as they would in one process.
            same = next((index for index, arg in enumerate(args) if arg is value), -1)
            reply("value", value, args, same)
        else:
            reply("not_plain", non_plain((value, args)))


# --- the harness side ----------------------------------------------------------------------------


class SolutionAborted(BaseException):
    """The solution exited, was interrupted, died or broke the protocol: the test fails whatever
    the tests do with it (a BaseException, so `except Exception` in a test does not swallow it)."""


class SolutionError(Exception):
    """An exception of the solution's own type, which the harness does not recreate."""


class Worker:
    def __init__(self, source: str, closing: tuple[int, ...]) -> None:
        requests_r, self._requests = os.pipe()
        self._replies, replies_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            for fd in (*closing, self._requests, self._replies):
                os.close(fd)
            _serve(requests_r, replies_w, source)
            os._exit(0)
        os.close(requests_r)
        os.close(replies_w)
        self.aborted: str | None = None
        reply = self._receive()
        if reply[0] != "loaded":
            raise SolutionAborted(f"the solution failed while loading: {reply[1]}: {reply[2]}".rstrip(": "))
        self.names: list[str] = list(reply[1])

    def _receive(self) -> tuple[Any, ...]:
        try:
            reply = plain_loads(read_message(self._replies))
        except EOFError:
            self.aborted = "the solution's process ended"
        except Exception as error:  # whatever it sent, it is not an answer
            self.aborted = f"the solution sent something that is not a plain value ({error})"
        else:
            if isinstance(reply, tuple) and reply and reply[0] in KINDS:
                return reply
            self.aborted = "the solution broke the harness's protocol"
        raise SolutionAborted(self.aborted)

    def call(self, kind: str, target: Any, attribute: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if self.aborted:
            raise SolutionAborted(self.aborted)
        for value in (args, kwargs):
            if non_plain(value) is not None:
                raise TypeError(f"only plain values can be passed to the solution, not {non_plain(value)}")
        try:
            write_message(self._requests, pickle.dumps((kind, target, attribute, args, kwargs), protocol=5))
        except OSError:
            self.aborted = "the solution's process ended"
            raise SolutionAborted(self.aborted) from None
        reply = self._receive()
        if reply[0] == "value":
            _write_back(args, reply[2])
            return args[reply[3]] if 0 <= reply[3] < len(args) else reply[1]
        if reply[0] == "callable":
            return lambda *a, **k: self.call("method", target, attribute, a, k)
        if reply[0] == "object":
            return RemoteObject(self, reply[1])
        if reply[0] == "not_plain":
            self.aborted = f"the solution returned a value of type {reply[1]}, not a plain value"
            raise SolutionAborted(self.aborted)
        name, message = str(reply[1]), str(reply[2])
        if name in ABORTS:
            self.aborted = f"{name} in the solution" + (f": {message}" if message else "")
            raise SolutionAborted(self.aborted)
        builtin = getattr(builtins, name, None)
        # StopIteration would end a map() or a generator in the tests as if it were exhausted.
        if isinstance(builtin, type) and issubclass(builtin, Exception) and name not in STEERING:
            raise builtin(message)  # the tests may expect a ValueError, say
        raise SolutionError(f"{name}: {message}")

    def stop(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except OSError:
            pass


def _write_back(originals: tuple[Any, ...], after: Any) -> None:
    """Give the tests' own lists, dicts and sets the contents the solution left in its copies."""
    if not isinstance(after, tuple) or len(after) != len(originals):
        raise SolutionAborted("the solution broke the harness's protocol")
    for original, new in zip(originals, after, strict=True):
        if type(original) is list and type(new) is list:
            original[:] = new
        elif type(original) in (dict, set) and type(new) is type(original):
            original.clear()
            original.update(new)


class RemoteObject:
    """An instance of one of the solution's classes, living in the worker."""

    def __init__(self, worker: Worker, handle: int) -> None:
        self._worker, self._handle = worker, handle

    def __getattr__(self, name: str) -> Any:
        """The attribute as the worker has it: a plain value, a method, another object, or
        AttributeError."""
        return self._worker.call("attribute", self._handle, name, (), {})


def _proxy(worker: Worker, name: str) -> Any:
    def call(*args: Any, **kwargs: Any) -> Any:
        return worker.call("call", name, "", args, kwargs)

    call.__name__ = call.__qualname__ = name
    return call


def _verdict(error: BaseException | None, worker: Worker | None) -> dict[str, str]:
    if error is None and worker is not None and worker.aborted is None:
        return {"verdict": "passed"}
    if isinstance(error, AssertionError) and (worker is None or worker.aborted is None):
        return {"verdict": "wrong_answer", "detail": "an assertion failed"}
    if worker is not None and worker.aborted:
        return {"verdict": "runtime_error", "detail": worker.aborted[:200]}
    if isinstance(error, MemoryError):
        return {"verdict": "memory_limit", "detail": "MemoryError"}
    assert error is not None
    name, message = _describe(error)
    return {"verdict": "runtime_error", "detail": f"{name}: {message}"[:200] if message else name}


def run(payload_fd: int, verdict_fd: int, source: str) -> None:
    """Fork the worker, then read the tests, run them and write the verdict."""
    ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    worker: Worker | None = None
    error: BaseException | None = None
    try:
        worker = Worker(source, closing=(payload_fd, verdict_fd))
        job = json.loads(read_message(payload_fd))
        namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
        # A solution's `abs` or `sorted` must not stand in for the one the tests mean.
        namespace.update({name: _proxy(worker, name) for name in worker.names
                          if not hasattr(builtins, name) or name == job.get("entry")})  # fmt: skip
        exec(compile(job["tests"], "tests.py", "exec"), namespace)
        if job.get("check_with"):
            namespace["check"](_proxy(worker, job["check_with"]))
    except BaseException as raised:  # every way a test can end is a verdict
        error = raised
    try:
        write_message(verdict_fd, json.dumps(_verdict(error, worker)).encode())
    finally:
        if worker is not None:
            worker.stop()
        os._exit(0)
