"""What every command shares: turning errors into one line and an exit code."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, ParamSpec, TypeVar

import typer

from vibecli.errors import ExitCode, UsageError, VibeError
from vibecli.ui.console import Terminal, error_line, make_terminal

if TYPE_CHECKING:
    from vibecli.config import Config
    from vibecli.engine.backend import Backend
    from vibecli.prompting.templates import PromptTemplate, Templates

P = ParamSpec("P")
R = TypeVar("R")


def handle_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Print a `VibeError` as one line and exit with its code; Ctrl-C exits 130."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except VibeError as exc:
            error_line(make_terminal(), str(exc))
            raise typer.Exit(int(exc.exit_code)) from None
        except KeyboardInterrupt:
            error_line(make_terminal(), "interrupted")
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None

    return wrapper


def read_text_file(path: Path, what: str) -> str:
    """A user's input file, or one clear usage error."""
    if path.is_dir():
        raise UsageError(f"{what} {path} is a directory; give a file")
    try:
        return path.read_text(encoding="utf-8-sig")  # a BOM is not part of the text
    except FileNotFoundError:
        raise UsageError(f"{what} {path} does not exist") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"cannot read {what} {path}: {not_utf8(exc)}") from None
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror or exc}") from None


def not_utf8(exc: UnicodeDecodeError) -> str:
    """A decoding error in the user's words: which byte, where (Python's codec wording says neither plainly)."""
    return f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})"


def check_tests_file(path: Path) -> None:
    """A `--tests` file, read and parsed before any model loads: exists, UTF-8, valid cases."""
    if path.is_dir():
        raise UsageError(f"tests file {path} is a directory; give a file")
    read_text_file(path, "tests file")
    from vibecli.verify.code_tests import read_tests

    read_tests(path)  # as the check will read it: a file with no test in it is refused here


def writable_file(path: Path, what: str) -> Path:
    """An output file the command may create or append to, checked before any model loads."""
    if path.is_dir():
        raise UsageError(f"{what} {path} is a directory; give a file path")
    parent = path.expanduser().parent
    if not parent.is_dir():
        raise UsageError(f"cannot write {what} {path}: the directory {parent} does not exist")
    return path


def pick_template(mode: str, problem: str, templates: Templates, terminal: Terminal) -> PromptTemplate:
    """The template for `mode` (`auto` routes); an invalid template file is an error only here, when used."""
    from vibecli.prompting.routing import route
    from vibecli.reasoning.solve import select_template

    templates.require(route(problem) if mode == "auto" else mode)
    template = select_template(mode, problem, templates)
    warn_invalid_templates(terminal, templates)  # after any error about the mode: that one line is the news
    return template


def check_mode(mode: str, templates: Templates) -> None:
    """A mode that names no template is a usage error, found before any model loads."""
    if mode == "auto" or mode in templates or mode in templates.invalid:
        templates.require(mode)
        return
    raise UsageError(f"unknown mode '{mode}' (available: auto, {', '.join(sorted(templates))})")


def warn_invalid_templates(terminal: Terminal, templates: Templates) -> None:
    for line in templates.warnings():
        terminal.err.print(f"vibe: warning: {line}", style="warning", markup=False, highlight=False)


def check_engine_settings(config: Config) -> None:
    """Settings that are wrong whatever the model: usage errors, found before anything loads."""
    if config.backend == "openai" and not config.base_url:
        raise UsageError("--backend openai needs --base-url URL (up to /v1, e.g. http://localhost:8000/v1), "
                         "or VIBE_BASE_URL, or base_url: in the config")  # fmt: skip


def load_engine(config: Config, terminal: Terminal) -> Backend:
    """Resolve the model, pick its backend and load it, with a spinner on a terminal."""
    from vibecli.engine.backend import LoadOptions, choose_backend, load_backend
    from vibecli.engine.resolve import resolve_model

    check_engine_settings(config)
    if config.backend == "openai":
        return _connect_remote(config, terminal)
    resolved = resolve_model(config)
    if resolved.notice:
        terminal.err.print(resolved.notice, style="warning", soft_wrap=True)
    spec = choose_backend(config.backend, resolved.format)
    options = LoadOptions(path=resolved.path, name=resolved.name, format=resolved.format, device=config.device,
                          context=config.ctx, cache=config.cache, max_new_tokens=config.max_tokens,
                          compile=config.compile)  # fmt: skip
    return _with_spinner(terminal, f"loading {resolved.name} ({spec.name})…", lambda: load_backend(spec, options))


def _connect_remote(config: Config, terminal: Terminal) -> Backend:
    from vibecli.engine.openai_backend import RemoteOptions, connect

    options = RemoteOptions(servers=config.base_url, api_key=config.api_key, model=config.model)
    where = ", ".join(s.url for s in config.base_url) or "the server"
    return _with_spinner(terminal, f"connecting to {where}…", lambda: connect(options))


def _with_spinner(terminal: Terminal, message: str, work: Callable[[], Backend]) -> Backend:
    """Run `work` under a spinner when stderr is a terminal."""
    if not terminal.err_is_tty:
        return work()
    with terminal.err.status(message):
        return work()
