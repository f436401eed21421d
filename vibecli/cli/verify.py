"""`vibe verify`: check answers. Math equivalence, equations and ODEs by substitution, code in a sandbox."""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from typer._click.exceptions import BadOptionUsage
from typer.core import TyperCommand

from vibecli.cli.common import check_tests_file, handle_errors, read_text_file
from vibecli.errors import ExitCode, UsageError, VibeError
from vibecli.ui.console import error_line, make_terminal
from vibecli.ui.verify_view import json_line, verdict_line

app = typer.Typer(help="Check answers: math equivalence, equations, ODEs, code against tests.", no_args_is_help=True)


class SandboxError(VibeError):
    """The sandbox itself could not run (exit 3)."""


_VERDICT_EXIT = {"equal": ExitCode.OK, "not_equal": ExitCode.NO_ANSWER, "undecided": ExitCode.ENVIRONMENT}


class DashValues(TyperCommand):
    """Lets answers begin with a dash: `vibe verify math -5 --expected -5`.

    A token that starts with one dash and is not one of the command's short options is a
    value, not an option; tokens that start with `--` stay options, so a mistyped flag is
    still reported.
    """

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        options = [p for p in self.params if p.param_type_name == "option"]
        names = {name for p in options for name in (*p.opts, *p.secondary_opts)} | {"--help", "-h"}
        valued = {name for p in options if not getattr(p, "is_flag", False) for name in p.opts}
        front: list[str] = []
        values: list[str] = []
        tokens = iter(args)
        for token in tokens:
            if token == "--":
                values.extend(tokens)
                break
            if token.split("=", 1)[0] in names or token.startswith("--"):
                front.append(token)
                following = next(tokens, None) if token in valued else None
                if token in valued and following in (None, "--") and not ctx.resilient_parsing:
                    raise BadOptionUsage(token, f"option '{token}' requires an argument", ctx=ctx)
                if following is not None:
                    front.append(following)  # an option's value, dash or not: `--expected -5`
            else:
                values.append(token)
        return super().parse_args(ctx, [*front, "--", *values] if values else front)


def _read_stdin(what: str) -> str:
    try:
        return sys.stdin.read()
    except UnicodeDecodeError:
        raise UsageError(f"{what} on stdin is not UTF-8 text") from None


def _positive(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise UsageError(f"{name} must be a positive number, not {value:g}")


def _read_cases(text: str, name: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """JSONL records with `gold` and `pred`; malformed lines are reported and skipped."""
    terminal = make_terminal()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict) or not {"gold", "pred"} <= set(record):
                raise ValueError("needs 'gold' and 'pred'")
            yield number, record
        except ValueError as exc:
            error_line(terminal, f"{name} line {number}: skipped ({exc})")


@app.command("math", cls=DashValues)
@handle_errors
def math_command(
    pred: Annotated[str | None, typer.Argument(help="The answer, or a full response; '-' reads stdin.")] = None,
    expected: Annotated[str | None, typer.Option("--expected", "-e", help="The gold answer.")] = None,
    cases: Annotated[
        str | None, typer.Option("--cases", help="JSONL file of {gold, pred} records ('-' for stdin).")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON.")] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds allowed per comparison.")] = 5.0,
    workers: Annotated[int, typer.Option("--workers", help="Worker processes for --cases.")] = min(
        4, os.cpu_count() or 1
    ),
) -> None:
    """Is PRED mathematically equal to the expected answer? PRED and the expected answer may be
    whole responses or worked solutions: the answer each commits to is compared.

    Exit codes: 0 equal · 1 not equal · 3 undecided (unparsable, or timed out) · 2 usage error.
    With --cases, one JSON line per case (`equal`: true, false or null) and exit 0.
    """
    from vibecli.verify.math import check_many, math_pool

    _positive("--timeout", timeout)
    _positive("--workers", workers)
    terminal = make_terminal()
    if cases is not None:
        if pred is not None or expected is not None:
            raise UsageError("--cases takes no PRED or --expected")
        text = _read_stdin("--cases") if cases == "-" else read_text_file(Path(cases), "cases file")
        records = list(_read_cases(text, cases))
        if not records:
            raise UsageError(f"no cases in {cases}: each line needs a JSON object with 'gold' and 'pred'")
        with math_pool(workers=workers, timeout_s=timeout) as pool:
            pairs = [(str(r["gold"]), str(r["pred"])) for _, r in records]
            for (_, record), verdict in zip(records, check_many(pool, pairs), strict=True):
                json_line(
                    terminal, {**record, "equal": verdict.equal, "verdict": verdict.verdict, "reason": verdict.reason}
                )
        return
    if expected is None:
        raise UsageError("give the gold answer with --expected (or use --cases FILE)")
    if pred is None or pred == "-":
        pred = _read_stdin("PRED")
    with math_pool(timeout_s=timeout) as pool:
        verdict = next(check_many(pool, [(expected, pred)]))
    if json_output:
        json_line(terminal, verdict.to_json())
    else:
        verdict_line(terminal, verdict.verdict.replace("_", " "), verdict.reason)
    raise typer.Exit(int(_VERDICT_EXIT[verdict.verdict]))


def _substitution_check(path: str, args: tuple[str | None, ...], timeout: float, json_output: bool) -> None:
    """Run one substitution check in a worker and report it: correct, incorrect or undecided."""
    from vibecli.verify.math import as_verdict
    from vibecli.verify.worker import WorkerPool

    _positive("--timeout", timeout)
    with WorkerPool(timeout_s=timeout, warm=("sympy", "vibecli.verify.substitution")) as pool:
        verdict = as_verdict(pool.call(path, *args))
    shown = {"equal": "correct", "not_equal": "incorrect", "undecided": "undecided"}[verdict.verdict]
    terminal = make_terminal()
    if json_output:
        json_line(terminal, {"verdict": shown, "correct": verdict.equal, "reason": verdict.reason})
    else:
        verdict_line(terminal, shown, verdict.reason)
    raise typer.Exit(int(_VERDICT_EXIT[verdict.verdict]))


@app.command("equation", cls=DashValues)
@handle_errors
def equation_command(
    equation: Annotated[str, typer.Argument(help="Equation(s): 'x^2 - 5x + 6 = 0', or 'x + y = 3; x - y = 1'.")],
    solution: Annotated[str, typer.Argument(help="Claimed solutions: 'x = 2, x = 3', '2, 3', 'x=1, y=2; x=2, y=1'.")],
    domain: Annotated[str, typer.Option("--domain", help="real or complex solutions.")] = "real",
    json_output: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON.")] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds allowed.")] = 20.0,
) -> None:
    """Do the claimed solutions solve the equation: each by substitution, and all of them?

    Exit codes: 0 correct · 1 incorrect · 3 undecided · 2 usage error.
    """
    if domain not in ("real", "complex"):
        raise UsageError("--domain must be real or complex")
    _substitution_check(
        "vibecli.verify.substitution:check_equation", (equation, solution, domain), timeout, json_output
    )


@app.command("ode", cls=DashValues)
@handle_errors
def ode_command(
    ode: Annotated[str, typer.Argument(help="The ODE: \"y'' + y = 0\", 'dy/dx = 2x', LaTeX or plain.")],
    solution: Annotated[str, typer.Argument(help="Claimed solution: 'y = C1 sin(x) + C2 cos(x)'.")],
    ic: Annotated[str | None, typer.Option("--ic", help='Initial conditions: "y(0)=1, y\'(0)=0".')] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON.")] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds allowed.")] = 20.0,
) -> None:
    """Does the claimed solution satisfy the ODE? A general one needs as many independent
    constants (C1, C2, …) as the order; --ic checks initial conditions too.

    Exit codes: 0 correct · 1 incorrect · 3 undecided · 2 usage error.
    """
    _substitution_check("vibecli.verify.substitution:check_ode", (ode, solution, ic), timeout, json_output)


@app.command("code")
@handle_errors
def code_command(
    solution: Annotated[
        str, typer.Argument(help="A Python solution or a model response with a code block (a file, or '-' for stdin).")
    ],
    tests: Annotated[Path, typer.Option("--tests", help="stdin/stdout cases (.jsonl/.yaml) or a Python assert file.")],
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds per test (wall and CPU).")] = 6.0,
    memory: Annotated[int, typer.Option("--memory", help="Memory limit in MB, for the whole check.")] = 1024,
    float_tol: Annotated[
        float | None, typer.Option("--float-tol", help="Accept numbers within this relative tolerance.")
    ] = None,
    entry_point: Annotated[
        str | None, typer.Option("--entry-point", help="Function passed to check() in an assert file.")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
    no_sandbox: Annotated[
        bool, typer.Option("--no-sandbox", help="Run the code even where no isolation can be made (unsafe).")
    ] = False,
) -> None:
    """Run a solution against tests in a sandbox (read-only filesystem, private /tmp, no network,
    limited CPU, memory, processes, files). With bubblewrap, or else the kernel's namespaces; where
    neither works, code is not run unless --no-sandbox is given.

    Exit codes: 0 every test passed · 1 a test failed · 2 usage error · 3 could not run.
    """
    from vibecli.verify.code_check import Tests, check_code

    _positive("--timeout", timeout)
    _positive("--memory", memory)
    text = _read_stdin("the solution") if solution == "-" else read_text_file(Path(solution), "solution")
    check_tests_file(tests)  # exists, UTF-8, valid cases: one line before anything runs
    cases: Tests = read_text_file(tests, "tests file") if tests.suffix == ".py" else tests
    terminal = make_terminal()
    try:
        checked = check_code(text, cases, timeout_s=timeout, memory_mb=memory, float_tolerance=float_tol,
                             entry_point=entry_point, require_isolation=not no_sandbox)  # fmt: skip
    except OSError as exc:
        raise SandboxError(f"could not run the sandbox: {exc}") from None
    how, results, passed = checked.isolation, checked.tests, checked.passed
    if json_output:
        json_line(terminal, checked.to_json())
    else:
        for r in results:
            verdict_line(terminal, r.verdict.replace("_", " "), f"test {r.index} ({r.seconds:.2f}s) {r.detail}".strip())
        terminal.out.print(f"{passed}/{len(results)} passed")
    unsandboxed = "the code ran without isolation: " if how.method == "none" else ""
    for note in how.notes:
        terminal.err.print(f"sandbox: {unsandboxed}{note}", style="warning", markup=False, soft_wrap=True)
    raise typer.Exit(int(ExitCode.OK if passed == len(results) else ExitCode.NO_ANSWER))
