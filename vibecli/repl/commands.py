"""Slash commands: each takes the session and its argument text and returns a `Reply`."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vibecli.config import MAX_SAMPLES, THINK_CHOICES
from vibecli.engine.types import ModelInfo
from vibecli.errors import UsageError
from vibecli.repl.session import ReplSession


@dataclass(frozen=True)
class Reply:
    text: str
    style: str = "muted"
    exit: bool = False


@dataclass(frozen=True)
class Context:
    """What commands may read besides the session."""

    info: ModelInfo
    modes: tuple[str, ...]
    samples: Callable[[str, int], str] | None = None  # solve a problem K times and vote; returns the tally


Handler = Callable[[ReplSession, str, Context], Reply]


def _plain(value: float) -> str:
    """A bound as people write it: 10,000,000, not 1e+07."""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


def _number(text: str, name: str, low: float, high: float) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{name} takes a number") from None
    if not low <= value <= high:
        raise UsageError(f"{name} must be between {_plain(low)} and {_plain(high)}")
    return value


def _mode(session: ReplSession, arg: str, ctx: Context) -> Reply:
    if not arg:
        return Reply(f"mode: {session.settings.mode} (available: auto, {', '.join(ctx.modes)})")
    if arg not in ("auto", *ctx.modes):
        raise UsageError(f"unknown mode '{arg}' (available: auto, {', '.join(ctx.modes)})")
    session.settings.mode = arg
    return Reply(f"mode: {arg}")


def _temp(session: ReplSession, arg: str, ctx: Context) -> Reply:
    session.settings.temperature = None if arg in ("", "default") else _number(arg, "/temp", 0, 5)
    return Reply(
        f"temperature: {session.settings.temperature if session.settings.temperature is not None else 'mode default'}"
    )


def _top_p(session: ReplSession, arg: str, ctx: Context) -> Reply:
    session.settings.top_p = None if arg in ("", "default") else _number(arg, "/top-p", 0.01, 1)
    return Reply(f"top-p: {session.settings.top_p if session.settings.top_p is not None else 'mode default'}")


def _max_tokens(session: ReplSession, arg: str, ctx: Context) -> Reply:
    if arg:
        session.settings.max_tokens = int(_number(arg, "/max-tokens", 1, 10**7))
    return Reply(f"max tokens: {session.settings.max_tokens:,}")


def _budget(session: ReplSession, arg: str, ctx: Context) -> Reply:
    if arg in ("off", "none"):
        session.settings.budget = None
    elif arg:
        session.settings.budget = int(_number(arg, "/budget", 0, 10**7))
    budget = session.settings.budget
    return Reply(f"thinking budget: {'off' if budget is None else f'{budget:,} tokens'}")


def _think(session: ReplSession, arg: str, ctx: Context) -> Reply:
    if arg not in THINK_CHOICES:
        raise UsageError(f"/think takes {' | '.join(THINK_CHOICES)}")
    session.settings.think = arg
    return Reply(f"thinking display: {arg}")


def _trace(session: ReplSession, arg: str, ctx: Context) -> Reply:
    if session.last is None:
        return Reply("no answer yet", "warning")
    return Reply(session.last.thinking.strip() or "(no thinking)", "thinking")


def _verify(session: ReplSession, arg: str, ctx: Context) -> Reply:
    from vibecli.verify.math import check_math

    if not arg:
        raise UsageError("/verify takes the expected answer: /verify 42")
    if session.last is None or session.last.final_answer is None:
        return Reply("no final answer to check", "warning")
    verdict = check_math(arg, session.last.final_answer)
    style = {"equal": "answer", "not_equal": "error"}.get(verdict.verdict, "warning")
    return Reply(f"{verdict.verdict.replace('_', ' ')}: {verdict.reason}", style)


def _samples(session: ReplSession, arg: str, ctx: Context) -> Reply:
    count, _, problem = arg.partition(" ")
    k = int(_number(count, "/samples", 1, MAX_SAMPLES)) if count else 0
    problem = problem.strip() or (session.last.problem if session.last else "")
    if not k or not problem or ctx.samples is None:
        raise UsageError("/samples K [PROBLEM]: K samples of the problem (default: the last one), majority vote")
    return Reply(ctx.samples(problem, k), "answer")


def _save(session: ReplSession, arg: str, ctx: Context) -> Reply:
    if not arg:
        raise UsageError("/save takes a file name")
    session.save(Path(arg).expanduser())
    return Reply(f"saved {len(session.turns)} turn(s) to {arg}")


def _load(session: ReplSession, arg: str, ctx: Context) -> Reply:
    if not arg:
        raise UsageError("/load takes a file name")
    loaded = ReplSession.load(Path(arg).expanduser())
    session.settings, session.turns, session.latest = loaded.settings, loaded.turns, None
    return Reply(f"loaded {len(session.turns)} turn(s) from {arg}")


def _clear(session: ReplSession, arg: str, ctx: Context) -> Reply:
    session.clear()
    return Reply("conversation cleared")


def _stats(session: ReplSession, arg: str, ctx: Context) -> Reply:
    if session.last is None:
        return Reply("no answer yet", "warning")
    r = session.last.result
    tokens, timings = r["tokens"], r["timings"]
    samples = f"{len(r['samples'])} samples · " if isinstance(r.get("samples"), list) else ""  # a /samples vote
    return Reply(
        f"{samples}prompt {tokens['prompt']:,} · thinking {tokens['thinking']:,} · "
        f"answer {tokens['answer']:,} tokens · "
        f"ttft {timings['ttft_s']:.2f}s · {timings['tokens_per_s']:.1f} tok/s · total {timings['total_s']:.2f}s · "
        f"finish {r['finish_reason']}"
    )


def _model(session: ReplSession, arg: str, ctx: Context) -> Reply:
    i = ctx.info
    return Reply(
        f"{i.name}: {i.path} · {i.backend} on {i.device} ({i.dtype}, {i.format}); restart with --model to switch"
    )


def _help(session: ReplSession, arg: str, ctx: Context) -> Reply:
    lines = [f"/{name:<11} {usage:<26} {text}" for name, (_, usage, text) in COMMANDS.items()]
    keys = (
        'Enter sends · Alt-Enter (or Esc Enter) adds a line · """ starts and ends a long paste · '
        "Ctrl-X Ctrl-E or Ctrl-G opens $EDITOR · Ctrl-C cancels an answer (wraps up with a budget) · Ctrl-D exits"
    )
    return Reply("\n".join([*lines, "", keys]))


def _exit(session: ReplSession, arg: str, ctx: Context) -> Reply:
    return Reply("", exit=True)


COMMANDS: dict[str, tuple[Handler, str, str]] = {
    "mode": (_mode, "[auto|math|code|…]", "show or set the mode"),
    "temp": (_temp, "[X|default]", "sampling temperature (0 is greedy)"),
    "top-p": (_top_p, "[X|default]", "nucleus sampling threshold"),
    "max-tokens": (_max_tokens, "[N]", "cap on new tokens per answer"),
    "budget": (_budget, "[N|off]", "thinking budget; Ctrl-C then wraps up"),
    "think": (_think, "show|collapse|hide", "how the thinking is shown"),
    "trace": (_trace, "", "the full thinking of the last answer"),
    "verify": (_verify, "GOLD", "check the last answer against GOLD"),
    "samples": (_samples, "K [PROBLEM]", "K samples of the last problem (or PROBLEM), majority vote"),
    "save": (_save, "FILE", "save the session as JSON"),
    "load": (_load, "FILE", "load a saved session"),
    "clear": (_clear, "", "start a new conversation"),
    "stats": (_stats, "", "tokens, timings and speed of the last answer"),
    "model": (_model, "", "the loaded model"),
    "help": (_help, "", "this list"),
    "exit": (_exit, "", "leave (or Ctrl-D)"),
}

# Values each command's argument completes to (modes are added at run time).
ARGUMENT_VALUES: dict[str, tuple[str, ...]] = {"think": THINK_CHOICES, "budget": ("off",), "temp": ("default",),
                                               "top-p": ("default",)}  # fmt: skip


def dispatch(session: ReplSession, line: str, ctx: Context) -> Reply:
    """Run one slash command; an unknown one suggests the closest."""
    name, _, arg = line.strip().lstrip("/").partition(" ")
    entry = COMMANDS.get(name)
    if entry is None:
        close = difflib.get_close_matches(name, list(COMMANDS), n=1)
        hint = f"; did you mean /{close[0]}?" if close else "; /help lists them"
        return Reply(f"unknown command /{name}{hint}", "warning")
    try:
        return entry[0](session, arg.strip(), ctx)
    except UsageError as exc:
        return Reply(str(exc), "warning")
