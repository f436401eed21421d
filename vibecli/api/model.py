"""`vibecli.load` and `Model`: a loaded model that solves, streams, samples and batches."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from vibecli.api import _arguments, _solving
from vibecli.api._solving import SamplesResult, SolveEvent, SolveResult
from vibecli.errors import UsageError
from vibecli.verify.code_check import Tests
from vibecli.verify.code_tests import ReadTests, read_tests

if TYPE_CHECKING:
    from vibecli.config import Config
    from vibecli.engine.backend import Backend
    from vibecli.engine.types import ModelInfo
    from vibecli.prompting.templates import Templates


class Model:
    """A loaded model. Use it in a `with` block (or call `close()`) to free the engine.

    Calls on one `Model` run one at a time: it is not for sharing across threads."""

    def __init__(self, engine: Backend, config: Config, templates: Templates) -> None:
        self._engine: Backend | None = engine
        self._config = config
        self._templates = templates
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def _turn(self) -> Iterator[Backend]:
        """The engine, for one call at a time: a second call meanwhile is an error, not a deadlock."""
        engine = self._live()
        if not self._lock.acquire(blocking=False):
            raise UsageError("this model is busy with another call (finish or close that stream first)")
        try:
            yield engine
        finally:
            self._lock.release()

    @property
    def info(self) -> ModelInfo:
        """What was loaded: name, path, backend, context length."""
        return self._live().info

    def __enter__(self) -> Model:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Free the engine; later calls raise `UsageError`. Closing twice is harmless."""
        engine, self._engine = self._engine, None
        if engine is not None:
            engine.close()

    def _live(self) -> Backend:
        if self._engine is None:
            raise UsageError("this model is closed")
        return self._engine

    def _settings(self, **given: Any) -> Config:
        config = _solving.settings(self._config, **given)
        _known_mode(given.get("mode"), self._templates)
        return config

    def stream(
        self, problem: str, *, mode: str | None = None, max_tokens: int | None = None,
        think_budget: int | None = None, temperature: float | None = None, top_p: float | None = None,
        seed: int | None = None, expected: str | None = None, tests: Tests | None = None,
        starter_code: str | None = None, cancel: threading.Event | None = None,
    ) -> Iterator[SolveEvent]:  # fmt: skip
        """`ThinkingDelta`s and `AnswerDelta`s as the model writes (a `Notice` first when
        `max_tokens` had to be capped), then the `SolveResult`. Setting `cancel` stops generating."""
        config = self._settings(mode=mode, max_tokens=max_tokens, think_budget=think_budget, temperature=temperature,
                                top_p=top_p, seed=seed)  # fmt: skip
        text, gold = _problem(problem), _expected(expected)
        tests_file = _tests(tests)
        with self._turn() as engine:
            yield from _solving.solve_events(engine, config, self._templates, text, expected=gold, tests=tests_file,
                                             starter_code=starter_code, cancel=cancel)  # fmt: skip

    def solve(
        self, problem: str, *, mode: str | None = None, max_tokens: int | None = None,
        think_budget: int | None = None, temperature: float | None = None, top_p: float | None = None,
        seed: int | None = None, expected: str | None = None, tests: Tests | None = None,
        starter_code: str | None = None,
    ) -> SolveResult:  # fmt: skip
        """Solve one problem. With `expected` (a gold answer) or `tests`, `result.check` holds the
        verdict. `tests` is a tests file (a `Path`, or a string naming an existing file, as `vibe
        solve --tests`), or anything `verify_code` reads: a string that names no file is assert source."""
        events = self.stream(problem, mode=mode, max_tokens=max_tokens, think_budget=think_budget,
                             temperature=temperature, top_p=top_p, seed=seed, expected=expected, tests=tests,
                             starter_code=starter_code)  # fmt: skip
        for event in events:
            if isinstance(event, SolveResult):
                return event
        raise AssertionError("the solve stream ended without a result")  # solve_stream always ends with one

    def samples(
        self, problem: str, k: int, *, mode: str | None = None, max_tokens: int | None = None,
        think_budget: int | None = None, temperature: float | None = None, top_p: float | None = None,
        seed: int | None = None, expected: str | None = None, tests: Tests | None = None,
    ) -> SamplesResult:  # fmt: skip
        """K samples in one batch (seeds SEED, SEED+1, …); the majority answer by math equivalence
        wins (in code mode with `tests`, the first sample that passes them)."""
        _arguments.count("k", k)
        config = self._settings(mode=mode, max_tokens=max_tokens, think_budget=think_budget, temperature=temperature,
                                top_p=top_p, seed=seed)  # fmt: skip
        text, gold, tests_file = _problem(problem), _expected(expected), _tests(tests)
        with self._turn() as engine:
            return _solving.samples_result(engine, config, self._templates, text, k, expected=gold,
                                           tests=tests_file)  # fmt: skip

    def batch(
        self, problems: Iterable[str], *, concurrency: int = 8, expected: Sequence[str | None] | None = None,
        mode: str | None = None, max_tokens: int | None = None, think_budget: int | None = None,
        temperature: float | None = None, top_p: float | None = None, seed: int | None = None,
    ) -> Iterator[tuple[int, SolveResult]]:  # fmt: skip
        """`(index, SolveResult)` for each problem as it finishes (not in order), up to `concurrency`
        at once through the continuous batch, under the same thinking controls as `solve` (a row
        cut by its budget gets its answer forced in the batch). `expected[i]` checks problem i."""
        texts = [_problem(p) for p in _arguments.problems(problems)]
        if expected is not None:
            expected = [_expected(gold) for gold in _arguments.problems(expected)]
            if len(expected) != len(texts):
                raise UsageError(f"expected has {len(expected)} answers for {len(texts)} problems")
        _arguments.count("concurrency", concurrency)
        config = self._settings(mode=mode, max_tokens=max_tokens, think_budget=think_budget, temperature=temperature,
                                top_p=top_p, seed=seed)  # fmt: skip
        with self._turn() as engine:
            yield from _solving.batch_results(engine, config, self._templates, texts, expected=expected,
                                              concurrency=concurrency)  # fmt: skip


def _expected(expected: object) -> str | None:
    return None if expected is None else _arguments.answer("expected", expected)


def _known_mode(mode: object, templates: Templates) -> None:
    if mode is not None and mode != "auto" and mode not in templates and mode not in templates.invalid:
        raise UsageError(f"mode must be auto or one of {', '.join(sorted(templates))}, not {mode!r}")


def _problem(problem: object) -> str:
    if not isinstance(problem, str) or not problem.strip():
        raise UsageError("the problem must be a non-empty string")
    return problem.strip()


TESTS_SUFFIXES = (".py", ".jsonl", ".json", ".yaml", ".yml")


def _tests(tests: object) -> ReadTests | None:
    """`tests` read up front: a `Path` or a string naming an existing file is that tests file; any
    other string is assert source (or JSON text of cases), as `verify_code` reads it; lists and
    mappings are cases. Tests that hold no test are a `UsageError` before anything is generated."""
    if tests is None:
        return None
    if isinstance(tests, Path) and not tests.is_file():
        raise UsageError(f"tests file {tests} does not exist")
    if isinstance(tests, str) and "\n" not in tests.strip() and len(tests) < 4096:
        if Path(tests.strip()).is_file():
            tests = Path(tests.strip())
        elif tests.strip().endswith(TESTS_SUFFIXES):
            raise UsageError(f"tests file {tests.strip()} does not exist")
    if isinstance(tests, bool | int | float | bytes):
        raise UsageError(f"tests must be a tests file, assert source or cases, not {type(tests).__name__}")
    return read_tests(tests)


def load(
    model: str | None = "demo", *, backend: str | None = None, device: str | None = None, ctx: int | None = None,
    cache: str | None = None, base_url: str | None = None, api_key: str | None = None, mode: str | None = None,
    max_tokens: int | None = None, think_budget: int | None = None, temperature: float | None = None,
    top_p: float | None = None, seed: int | None = None,
) -> Model:  # fmt: skip
    """Load `model` (a name from `vibe models`, a directory, or `demo`; None: the configured one).

    Settings layer as on the command line: the config file, then `VIBE_*` variables, then these
    arguments; each call's own arguments go on top. Raises `vibecli.VibeError` subclasses
    (`UsageError`, `EngineError`) with one-line messages."""
    from vibecli.prompting.templates import load_templates

    config = _solving.settings(model=model, backend=backend, device=device, ctx=ctx, cache=cache, base_url=base_url,
                               api_key=api_key, mode=mode, max_tokens=max_tokens, think_budget=think_budget,
                               temperature=temperature, top_p=top_p, seed=seed)  # fmt: skip
    templates = load_templates()
    _known_mode(mode, templates)
    return Model(_solving.load_engine(config), config, templates)
