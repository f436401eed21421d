"""`POST /v1/verify`: vibe's verifier over HTTP.

`{"gold": "1/2", "pred": "0.5"}` checks math equivalence (`pred` may be a whole response; its
final answer is taken). `{"code": "...", "tests": [{"input": "...", "output": "..."}]}` or
`{"code": "...", "tests": "assert f(1) == 2"}` runs the code in the sandbox.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from vibecli.errors import UsageError
from vibecli.serve.protocol import ApiError
from vibecli.verify.worker import WorkerPool

MAX_TESTS = 200


class Verifier:
    """Keeps one warm math worker between requests; code runs in a fresh sandbox each time."""

    def __init__(self, *, timeout_s: float = 10.0) -> None:
        self.timeout_s = timeout_s  # per code test; math comparisons keep the checker's own limit
        self._pool: WorkerPool | None = None
        self._lock = threading.Lock()  # the worker pool serves one caller at a time

    def math(self, gold: str, pred: str) -> dict[str, Any]:
        from vibecli.verify.math import check_many, math_pool

        with self._lock:
            if self._pool is None:
                self._pool = math_pool()
            verdict = next(check_many(self._pool, [(gold, pred)]))
        return {"kind": "math", **verdict.to_json()}

    def code(self, code: str, tests: list[dict[str, str]] | str, entry_point: str | None) -> dict[str, Any]:
        from vibecli.verify.code import IOCase, run_assert_tests, run_io_tests, solution_source
        from vibecli.verify.sandbox import Limits, SandboxFailure, SandboxUnavailable

        source, limits = solution_source(code), Limits(wall_s=self.timeout_s, cpu_s=self.timeout_s)
        try:
            if isinstance(tests, str):
                results = run_assert_tests(source, tests, limits=limits, entry_point=entry_point)
            else:
                results = run_io_tests(source, [IOCase(t["input"], t["output"]) for t in tests], limits=limits)
        except UsageError as exc:
            raise ApiError(400, str(exc), param="tests") from None
        except SandboxUnavailable as exc:  # this machine cannot isolate code: say how to fix it
            raise ApiError(503, str(exc), kind="sandbox_unavailable") from None
        except (SandboxFailure, OSError) as exc:  # the machine failed, not the code: never a 500
            raise ApiError(503, f"the code sandbox failed on this server: {exc}", kind="sandbox_unavailable") from None
        passed = sum(r.verdict == "passed" for r in results)
        return {
            "kind": "code",
            "verdict": "passed" if passed == len(results) else "failed",
            "passed": passed,
            "total": len(results),
            "tests": [{"index": r.index, "verdict": r.verdict, "seconds": round(r.seconds, 3), "detail": r.detail}
                      for r in results],
        }  # fmt: skip

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None


def _string(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise ApiError(400, f"'{name}' must be a string", param=name)
    return value


def _tests(value: Any) -> list[dict[str, str]] | str:
    if isinstance(value, str):
        return value
    if not isinstance(value, list) or not value or len(value) > MAX_TESTS:
        raise ApiError(400, f"'tests' must be assert code or a list of 1 to {MAX_TESTS} {{input, output}} cases",
                       param="tests")  # fmt: skip
    for index, case in enumerate(value):
        if not isinstance(case, dict) or not all(isinstance(case.get(k), str) for k in ("input", "output")):
            raise ApiError(400, f"'tests[{index}]' must have string 'input' and 'output'", param=f"tests[{index}]")
    return value


async def verify_body(body: Any, verifier: Verifier) -> dict[str, Any]:
    """Check a `/v1/verify` body and run the verdict off the event loop."""
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    if "code" in body:
        code, tests = _string(body, "code"), _tests(body.get("tests"))
        entry = body.get("entry_point")
        if entry is not None and not isinstance(entry, str):
            raise ApiError(400, "'entry_point' must be a string", param="entry_point")
        return await asyncio.to_thread(verifier.code, code, tests, entry)
    if "gold" in body or "pred" in body:
        return await asyncio.to_thread(verifier.math, _string(body, "gold"), _string(body, "pred"))
    raise ApiError(400, "give {gold, pred} for math, or {code, tests} for code")
