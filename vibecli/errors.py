"""Exit codes and the errors that map onto them.

Every failure a user can cause or meet ends as one line on stderr and one of these codes,
never a traceback.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The documented exit statuses of every `vibe` command."""

    OK = 0
    NO_ANSWER = 1  # solve: the model answered but no final answer could be extracted
    USAGE = 2  # bad flags, bad input files, invalid config
    ENVIRONMENT = 3  # model missing or unloadable, backend not installed
    CHECK_FAILED = 4  # solve: the final answer failed --expected or --tests
    INTERRUPTED = 130  # Ctrl-C
    BROKEN_PIPE = 141  # 128 + SIGPIPE: the reader of stdout or stderr went away (`vibe … | head -1`)


EXIT_CODES_HELP = (
    "Exit codes: 0 success · 1 no final answer (solve) or not equal (verify) · 2 usage error · "
    "3 model or environment error · 4 the answer failed --expected or --tests (solve) · 130 interrupted · "
    "141 the output pipe closed (| head). "
    "Each command's --help lists its own."
)


class VibeError(Exception):
    """An error meant for the user: its message is printed as one line."""

    exit_code = ExitCode.ENVIRONMENT


class UsageError(VibeError):
    """The user asked for something malformed (flags, input, config)."""

    exit_code = ExitCode.USAGE


class ConfigError(UsageError):
    """The config file or a VIBE_* variable is invalid."""


class EngineError(VibeError):
    """A model or backend could not be found, loaded or run."""

    exit_code = ExitCode.ENVIRONMENT
