"""The MCP server: tools (solve and the checkers), the prompt templates as prompts, and the
model's info as a resource, declared on the official SDK's `MCPServer`.

Every failure a caller can cause comes back as a tool error (`isError`) with one sentence; the
server keeps serving.
"""

# No `from __future__ import annotations` here: the SDK reads the tools' signatures at runtime,
# and their descriptions close over values known only when the server is built.

import inspect
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal, TypeVar

import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.server.mcpserver.prompts.base import Message, Prompt, PromptArgument, UserMessage
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, CallToolResult, GetPromptResult, InputRequiredResult, ToolAnnotations
from pydantic import Field, ValidationError

from vibecli import __version__
from vibecli.errors import VibeError
from vibecli.mcp.checks import Checkers
from vibecli.mcp.engine import SharedEngine
from vibecli.mcp.schemas import CodeVerdict, MathVerdict, SolveOutput, StdioCase, SubstitutionVerdict
from vibecli.mcp.solving import Progress, generate, plan_solve, sample_and_vote, samples_output, solve_output
from vibecli.prompting.templates import PromptTemplate
from vibecli.reasoning.samples import SamplesResult
from vibecli.reasoning.solve import SolveResult
from vibecli.serve.scheduler import QueueFull

T = TypeVar("T")
MODEL_URI = "vibe://model"
MAX_TESTS = 200
MAX_SAMPLES = 64
INSTRUCTIONS = """\
A small local reasoning model (VibeThinker) and exact checkers. `solve` hands a self-contained math, \
competitive-programming, STEM or logic problem to the model, which thinks step by step before \
answering: strong at verifiable reasoning, weak at world knowledge. `verify_math`, `check_equation`, \
`check_ode` and `verify_code` check answers exactly (SymPy, substitution, a code sandbox), whoever wrote them."""
MODEL_INFO = (
    "The model behind `solve`: whether it is loaded yet, the server's token limit (max_tokens), concurrency and "
    "default mode, and its name. Before it loads: the path and format of a local model (or the remote servers). "
    "Once loaded: also backend, device, dtype, format, context length, notes, and the solve calls running and queued."
)
SOLVER = ToolAnnotations(read_only_hint=True, open_world_hint=False)
CHECKER = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)

# What a model choosing tools reads about each argument.
PROBLEM = "The whole problem, self-contained: the model sees nothing else."
THINK_BUDGET = "Stop thinking after this many tokens and force the answer (0: no thinking). Default: the server's."
SAMPLES = (
    f"Solve this many times (1 to {MAX_SAMPLES}) with different seeds, together in one batch, and return the "
    "majority answer, answers compared mathematically, with the vote. Costs that many times the tokens; 5 to 16 "
    "makes hard math answers more reliable. Default 1: one solve, no vote."
)
EXPECTED = "A reference answer: the final answer is checked against it (math)."
INCLUDE_THINKING = "Also return the thinking trace (often thousands of tokens)."
PRED = "The answer to check; a whole response works (its final answer is taken)."
EQUATION = "An equation, or a system separated by ';': 'x^2 - 5x + 6 = 0', 'x + y = 3; x - y = 1'. Plain or LaTeX."
CLAIMED = "The claimed solutions: 'x = 2, x = 3', '2, 3', 'x=1, y=2; x=2, y=1', or 'no solution'."
ODE = "The differential equation in y(x): \"y'' + y = 0\", 'dy/dx = 2x', plain or LaTeX."
ODE_SOLUTION = "The claimed solution: 'y = C1 sin(x) + C2 cos(x)'."
INITIAL_CONDITIONS = 'Initial conditions to check too: "y(0)=1, y\'(0)=0".'
CODE = "A Python program, or a whole response (its last ```python block is taken)."
TESTS = (
    "stdin/stdout cases [{input, output}, ...], or a Python script of asserts run after the code "
    "(HumanEval style: a check(candidate) function is called with the code's function)."
)
ENTRY_POINT = "The function an assert script's check() receives (default: the only one)."
FLOAT_TOLERANCE = "Accept stdout numbers within this relative tolerance."


class VibeMCPServer(MCPServer[Any]):
    """`MCPServer` whose tool errors are one sentence: the most specific bad argument, or vibe's own message."""

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        try:
            return await super().call_tool(name, arguments, context)
        except UnexpectedToolError as exc:
            if isinstance(exc.__cause__, VibeError):
                raise ToolError(f"Error executing tool {name}: {exc.__cause__}") from None
            raise
        except ToolError as exc:
            if isinstance(exc.__cause__, ValidationError):
                raise ToolError(f"Error executing tool {name}: {argument_problem(exc.__cause__)}") from None
            raise

    async def get_prompt(
        self, name: str, arguments: dict[str, Any] | None = None, context: Context[Any, Any] | None = None
    ) -> GetPromptResult | InputRequiredResult:
        """The prompt; an unknown name or a missing argument is JSON-RPC's invalid params, in one line."""
        prompts = {prompt.name: prompt for prompt in await self.list_prompts()}
        prompt = prompts.get(name)
        if prompt is None:
            raise MCPError(INVALID_PARAMS, f"unknown prompt '{name}' (available: {', '.join(sorted(prompts))})")
        missing = [a.name for a in prompt.arguments or [] if a.required and a.name not in (arguments or {})]
        if missing:
            raise MCPError(INVALID_PARAMS, f"prompt '{name}' needs the argument '{missing[0]}'")
        return await super().get_prompt(name, arguments, context)


def argument_problem(error: ValidationError) -> str:
    """The most specific problem of a rejected call, named by its path (`tests[0].output`)."""
    problems = error.errors()
    branches = {problem["type"] for problem in problems if len(problem["loc"]) == 2 and problem["loc"][0] == "tests"}
    if {"list_type", "string_type"} <= branches:  # neither a list nor a script: not "should be a valid list"
        return "invalid argument 'tests': give a list of {input, output} cases or an assert script as a string"
    first = max(problems, key=lambda problem: len(problem["loc"]))  # in a union, the branch that got furthest
    path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" if part.isidentifier() else ""
                   for part in first["loc"]).lstrip(".") or "arguments"  # fmt: skip
    if first["type"] == "missing":
        text = f"missing required argument '{path}'"
    else:
        text = f"invalid argument '{path}': {first['msg'][:1].lower()}{first['msg'][1:]}"
    others = sorted({str(problem["loc"][0]) for problem in problems if problem["loc"]} - {str(first["loc"][0])})
    return text + (f" (and {', '.join(repr(name) for name in others)})" if others else "")


def stderr_log(line: str) -> None:
    print(f"vibe mcp: {line}", file=sys.stderr, flush=True)


class _OneLine(logging.Filter):
    """A logged exception as its last line: a client's mistake must not print a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            message = f"{message}: {type(record.exc_info[1]).__name__}: {record.exc_info[1]}"
        record.msg, record.args = " ".join(message.split()), None
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


def one_line_logs() -> None:
    """The SDK's log records as one plain line each on stderr (it sets up Rich, with tracebacks)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("vibe mcp: %(name)s: %(message)s"))
    handler.addFilter(_OneLine())
    root = logging.getLogger()
    root.handlers = [handler]


def _dedented(function: T) -> T:
    """The docstring, which the SDK sends as the tool's description, without its indentation."""
    function.__doc__ = inspect.cleandoc(function.__doc__ or "")
    return function


def create_server(
    engine: SharedEngine,
    checkers: Checkers,
    templates: dict[str, PromptTemplate],
    *,
    log: Callable[[str], None] | None = stderr_log,
) -> VibeMCPServer:
    """The server for `engine`; the caller closes `engine` and `checkers` when it stops."""
    server = VibeMCPServer(
        "vibe", title="vibe: VibeThinker solver and checkers", version=__version__, instructions=INSTRUCTIONS,
        log_level="WARNING",
    )  # fmt: skip
    _add_solve(server, engine, checkers, templates, log or (lambda line: None))
    _add_checkers(server, checkers)
    for template in templates.values():
        server.add_prompt(_prompt(template))

    @server.resource(MODEL_URI, name="model", title="The model behind solve", mime_type="application/json",
                     description=MODEL_INFO)  # fmt: skip
    def model_info() -> str:
        return json.dumps(engine.describe(), indent=2)

    return server


def _add_solve(
    server: VibeMCPServer,
    engine: SharedEngine,
    checkers: Checkers,
    templates: dict[str, PromptTemplate],
    log: Callable[[str], None],
) -> None:
    config = engine.config
    mode_help = f"Prompt template: {', '.join(['auto', *sorted(templates)])}. Default: the server's ({config.mode})."
    max_tokens_help = f"Cap on new tokens, thinking plus answer (at most {config.max_tokens}, the default)."

    def finished(result: SolveResult) -> None:
        log(
            f"solve · {result.mode} · {result.finish_reason} · {result.thinking_tokens} thinking + "
            f"{result.answer_tokens} answer tokens · {result.total_s:.2f}s"
        )

    def finished_samples(result: SamplesResult) -> None:
        outcome = "cancelled" if result.cancelled else result.tally()
        tokens = sum(sample.tokens for sample in result.samples)
        log(f"solve · {result.mode} · {len(result.samples)} samples · {outcome} · {tokens} tokens · "
            f"{result.total_s:.2f}s")  # fmt: skip

    async def verify(expected: str | None, final_answer: str | None) -> MathVerdict | None:
        if expected is None:
            return None
        if final_answer is None:
            return MathVerdict(verdict="undecided", equal=None, reason="no final answer to check", gold=expected,
                               pred="")  # fmt: skip
        return await checkers.math(expected, final_answer)

    @server.tool(title="Solve a reasoning problem", annotations=SOLVER)
    @_dedented
    async def solve(
        problem: Annotated[str, Field(description=PROBLEM)],
        ctx: Context[Any, Any],
        mode: Annotated[str | None, Field(description=mode_help)] = None,
        think_budget: Annotated[int | None, Field(ge=0, description=THINK_BUDGET)] = None,
        max_tokens: Annotated[int | None, Field(ge=1, description=max_tokens_help)] = None,
        samples: Annotated[int, Field(ge=1, le=MAX_SAMPLES, description=SAMPLES)] = 1,
        expected: Annotated[str | None, Field(description=EXPECTED)] = None,
        include_thinking: Annotated[bool, Field(description=INCLUDE_THINKING)] = False,
    ) -> SolveOutput:
        """Solve a self-contained math, competitive-programming, STEM or logic problem with VibeThinker,
        a small reasoning model that thinks step by step, then answers. Strong at competition math and
        algorithms, weak at world knowledge. Returns the extracted final answer (the \\boxed{} content in
        math, the program in code mode), the answer text, why generation stopped, and token counts;
        with `samples`, the majority answer of several tries and the vote; with `expected`, a verdict
        too. Sends progress while thinking; takes seconds to minutes."""
        plan = plan_solve(config, templates, problem, mode=mode, think_budget=think_budget, max_tokens=max_tokens)
        if samples > engine.max_queue:
            raise ToolError(
                f"samples {samples} is above this server's queue limit of {engine.max_queue}; ask for fewer"
            )

        async def report(progress: Progress) -> None:
            await ctx.report_progress(progress.progress, progress.total, progress.message)

        if not engine.loaded:
            await ctx.report_progress(0, None, "loading the model")
        backend = await anyio.to_thread.run_sync(engine.load)
        if samples == 1:
            result = await _unless_busy(generate(backend, plan, report, finished))
            if result.finish_reason == "error":
                raise ToolError(f"generation failed: {result.error}")
            verification = await verify(expected, result.final_answer)
            return solve_output(result, include_thinking=include_thinking, verification=verification)
        voted, prompt_tokens = await _unless_busy(
            sample_and_vote(backend, plan, samples, same=checkers.same, report=report, on_finish=finished_samples)
        )
        if all(sample.finish_reason == "error" for sample in voted.samples):
            raise ToolError("generation failed for every sample")
        verification = await verify(expected, voted.final_answer)
        return samples_output(voted, prompt_tokens=prompt_tokens, include_thinking=include_thinking,
                              verification=verification)  # fmt: skip


async def _unless_busy(work: Awaitable[T]) -> T:
    try:
        return await work
    except QueueFull as exc:
        raise ToolError(f"the server is busy ({exc}); retry shortly") from None


def _add_checkers(server: VibeMCPServer, checkers: Checkers) -> None:
    @server.tool(title="Check a math answer", annotations=CHECKER)
    @_dedented
    async def verify_math(
        pred: Annotated[str, Field(description=PRED)],
        gold: Annotated[str, Field(description="The reference answer.")],
    ) -> MathVerdict:
        """Is a math answer equal to the reference? Compared mathematically, not as text: integers,
        fractions, decimals, percentages, LaTeX, expressions, sets, intervals, tuples, matrices and
        equations ("0.5" equals "1/2" and "\\frac{1}{2}"). Returns verdict equal, not_equal, or
        undecided (unparsable, or timed out) with the reason."""
        return await checkers.math(gold, pred)

    @server.tool(title="Check solutions of an equation", annotations=CHECKER)
    @_dedented
    async def check_equation(
        equation: Annotated[str, Field(description=EQUATION)],
        solution: Annotated[str, Field(description=CLAIMED)],
        domain: Annotated[Literal["real", "complex"], Field(description="Where solutions are sought.")] = "real",
    ) -> SubstitutionVerdict:
        """Do the claimed solutions solve the equation or system? Each is substituted back, and where
        the full solution set can be computed, a missing or extra solution makes it incorrect.
        Returns verdict correct, incorrect, or undecided with the reason."""
        return await checkers.equation(equation, solution, domain)

    @server.tool(title="Check a solution of an ODE", annotations=CHECKER)
    @_dedented
    async def check_ode(
        ode: Annotated[str, Field(description=ODE)],
        solution: Annotated[str, Field(description=ODE_SOLUTION)],
        initial_conditions: Annotated[str | None, Field(description=INITIAL_CONDITIONS)] = None,
    ) -> SubstitutionVerdict:
        """Does the claimed solution satisfy the ODE? A general solution needs as many independent
        constants (C1, C2, ...) as the order; initial conditions are checked when given. Returns
        verdict correct, incorrect, or undecided with the reason."""
        return await checkers.ode(ode, solution, initial_conditions)

    @server.tool(title="Run code against tests in a sandbox", annotations=CHECKER)
    @_dedented
    async def verify_code(
        code: Annotated[str, Field(description=CODE)],
        tests: Annotated[list[StdioCase] | str, Field(description=TESTS)],
        entry_point: Annotated[str | None, Field(description=ENTRY_POINT)] = None,
        timeout_s: Annotated[float, Field(gt=0, le=60, description="Seconds per test, wall and CPU.")] = 6.0,
        float_tolerance: Annotated[float | None, Field(ge=0, description=FLOAT_TOLERANCE)] = None,
    ) -> CodeVerdict:
        """Run a Python program against tests in a sandbox (no network, limited CPU, memory, processes
        and files). Returns each test's verdict (passed, wrong_answer, runtime_error, time_limit,
        memory_limit) with details, and passed when all pass."""
        if not (tests.strip() if isinstance(tests, str) else 0 < len(tests) <= MAX_TESTS):
            raise ToolError(f"'tests' must be an assert script or 1 to {MAX_TESTS} stdin/stdout cases")
        return await checkers.code(
            code, tests, entry_point=entry_point, timeout_s=timeout_s, float_tolerance=float_tolerance
        )


def _prompt(template: PromptTemplate) -> Prompt:
    """The template as an MCP prompt: the user message `vibe solve` sends for a problem."""
    arguments = [PromptArgument(name="problem", description="The problem to solve.", required=True)]
    if template.starter_template:
        arguments.append(PromptArgument(name="starter_code", description="Starter code the solution must complete."))

    def render(problem: str, starter_code: str | None = None) -> list[Message]:
        text = template.render(problem, starter_code=starter_code)
        # MCP prompts have no system role: a template's system text leads the user message.
        return [UserMessage(f"{template.system}\n\n{text}" if template.system else text)]

    return Prompt(name=template.name, title=None, description=template.description, arguments=arguments, fn=render,
                  context_kwarg=None)  # fmt: skip
