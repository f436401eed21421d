"""`vibe mcp --model demo` over stdio, through the MCP SDK's own client: tools and their schemas,
solve with progress, the checkers, tool errors, prompts, the model resource, a clean stdout."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp_client import Progress, Session, mcp_session
from mcp_types import TextContent

TOOLS = {"solve", "verify_math", "check_equation", "check_ode", "verify_code"}


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    stderr = tmp_path_factory.mktemp("mcp") / "stderr.log"
    with mcp_session("--model", "demo", "--preload", "-t", "0", stderr=stderr) as connected:
        yield connected
    assert not connected.stray, f"stdout carried non-protocol lines: {connected.stray}"


def _text(result: object) -> str:
    content = result.content  # type: ignore[attr-defined]
    assert len(content) == 1 and isinstance(content[0], TextContent)
    return str(content[0].text)


@pytest.mark.slow
def test_tools_are_listed_with_input_and_output_schemas(session: Session) -> None:
    tools = {tool.name: tool for tool in session.portal.call(session.client.list_tools).tools}
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert tool.description and len(tool.description) > 80, tool.name
        assert tool.input_schema["type"] == "object" and tool.output_schema is not None, tool.name
        for name, prop in tool.input_schema["properties"].items():
            assert prop.get("description"), f"{tool.name}.{name} has no description"
    solve = tools["solve"]
    assert solve.input_schema["required"] == ["problem"]
    options = {"mode", "think_budget", "max_tokens", "samples", "expected", "include_thinking"}
    assert options <= set(solve.input_schema["properties"])
    assert "ctx" not in solve.input_schema["properties"]
    samples = solve.input_schema["properties"]["samples"]
    assert (samples["type"], samples["minimum"], samples["maximum"], samples["default"]) == ("integer", 1, 64, 1)
    assert "majority" in samples["description"] and "vote" in solve.description
    returned = {"final_answer", "answer", "finish_reason", "tokens", "vote", "samples", "verification"}
    assert returned <= set(solve.output_schema["properties"])
    assert solve.annotations is not None and solve.annotations.read_only_hint
    assert set(tools["verify_math"].input_schema["required"]) == {"pred", "gold"}


@pytest.mark.slow
def test_solve_answers_85_with_progress_notifications(session: Session) -> None:
    progress: list[Progress] = []
    result = session.call("solve", {"problem": "What is 48 + 37?"}, progress)
    assert not result.is_error, _text(result)
    out = result.structured_content
    assert out is not None
    assert out["final_answer"] == "85" and out["finish_reason"] == "stop" and out["mode"] == "math"
    assert out["model"] == "demo" and out["thinking"] is None and out["verification"] is None
    assert out["tokens"]["thinking"] > 0 and out["tokens"]["answer"] > 0
    assert json.loads(_text(result)) == out  # the same result as text, for clients without structured content
    # Thinking tokens so far against the budget (here the token cap), rising, then the answer.
    values = [value for value, _, _ in progress]
    assert values == sorted(set(values)) and values[0] > 0, progress
    assert progress[0][1] == 40960 and "thinking" in str(progress[0][2])
    generated = out["tokens"]["thinking"] + out["tokens"]["answer"]
    assert "answering" in str(progress[-1][2]) and progress[-1][0] <= generated
    assert "solve · math · stop" in session.log()


@pytest.mark.slow
def test_solve_options_thinking_budget_and_expected(session: Session) -> None:
    result = session.call(
        "solve",
        {"problem": "What is 48 + 37?", "include_thinking": True, "expected": "85", "think_budget": 1000},
    )
    out = result.structured_content
    assert out is not None and not result.is_error
    assert "48+37" in out["thinking"]
    assert out["verification"]["verdict"] == "equal" and out["verification"]["equal"] is True
    wrong = session.call("solve", {"problem": "What is 48 + 37?", "expected": "86"}).structured_content
    assert wrong is not None and wrong["verification"]["verdict"] == "not_equal"
    forced = session.call("solve", {"problem": "What is 48 + 37?", "think_budget": 0}).structured_content
    assert forced is not None and forced["finish_reason"] == "budget" and forced["tokens"]["thinking"] == 0


@pytest.mark.slow
def test_solve_with_samples_votes_on_the_answer(session: Session) -> None:
    progress: list[Progress] = []
    result = session.call("solve", {"problem": "What is 48 + 37?", "samples": 3, "expected": "85"}, progress)
    assert not result.is_error, _text(result)
    out = result.structured_content
    assert out is not None and json.loads(_text(result)) == out
    assert out["final_answer"] == "85" and out["verification"]["verdict"] == "equal"
    vote = out["vote"]
    assert (vote["answer"], vote["size"], vote["k"], vote["winner"]) == ("85", 3, 3, 0)
    assert vote["clusters"] == [{"answer": "85", "samples": [0, 1, 2]}] and vote["tally"] == "85 ×3"
    assert [(s["index"], s["seed"], s["final_answer"]) for s in out["samples"]] == [(0, 0, "85"), (1, 1, "85"),
                                                                                    (2, 2, "85")]  # fmt: skip
    winner = out["samples"][0]
    assert out["tokens"]["thinking"] == winner["thinking_tokens"] > 0 and out["tokens"]["prompt"] > 0
    assert out["tokens"]["thinking"] + out["tokens"]["answer"] == winner["tokens"]
    # The samples' tokens summed against 3 times the token cap, rising to the last sample done.
    values = [value for value, _, _ in progress]
    assert values == sorted(set(values)) and values[0] > 0, progress
    assert {total for _, total, _ in progress} == {3 * 40960}
    assert progress[-1][0] == sum(s["tokens"] for s in out["samples"]) and "3 done" in str(progress[-1][2])
    assert "solve · math · 3 samples · 85 ×3" in session.log()


@pytest.mark.slow
def test_samples_with_forced_answers_and_thinking(session: Session) -> None:
    """A budget of 0 forces every sample's answer in a second round through the scheduler."""
    result = session.call("solve", {"problem": "What is 48 + 37?", "samples": 2, "think_budget": 0,
                                    "include_thinking": True, "expected": "85"})  # fmt: skip
    out = result.structured_content
    assert out is not None and not result.is_error, _text(result)
    assert [s["finish_reason"] for s in out["samples"]] == ["budget", "budget"]
    assert [s["thinking_tokens"] for s in out["samples"]] == [0, 0]
    final = out["final_answer"]
    assert final is not None and out["finish_reason"] == "budget" and out["vote"]["size"] == 2  # -t 0: one answer
    assert out["thinking"] is not None and out["verification"]["pred"] == final
    assert out["verification"]["verdict"] == ("equal" if final == "85" else "not_equal")
    single = session.call("solve", {"problem": "What is 48 + 37?", "samples": 1}).structured_content
    assert single is not None and single["final_answer"] == "85"
    assert single["vote"] is None and single["samples"] is None  # one sample: a plain solve


@pytest.mark.slow
def test_verify_math_verdicts(session: Session) -> None:
    equal = session.call("verify_math", {"pred": "0.5", "gold": "1/2"})
    assert not equal.is_error and equal.structured_content is not None
    assert equal.structured_content["verdict"] == "equal" and equal.structured_content["equal"] is True
    different = session.call("verify_math", {"pred": "The answer is \\boxed{\\frac{1}{3}}", "gold": "0.5"})
    assert different.structured_content is not None
    assert different.structured_content["verdict"] == "not_equal" and different.structured_content["equal"] is False
    unparsable = session.call("verify_math", {"pred": "\\frac{", "gold": "1"}).structured_content
    assert unparsable is not None and unparsable["verdict"] == "undecided" and unparsable["equal"] is None


@pytest.mark.slow
def test_substitution_checks(session: Session) -> None:
    roots = session.call("check_equation", {"equation": "x^2 - 5x + 6 = 0", "solution": "x = 2, x = 3"})
    assert roots.structured_content is not None and roots.structured_content["verdict"] == "correct"
    missing = session.call("check_equation", {"equation": "x^2 - 5x + 6 = 0", "solution": "x = 2"})
    assert missing.structured_content is not None and missing.structured_content["verdict"] == "incorrect"
    ode = session.call("check_ode", {"ode": "y'' + y = 0", "solution": "y = C1 sin(x)"})
    assert ode.structured_content is not None and ode.structured_content["correct"] is False
    ivp = session.call(
        "check_ode", {"ode": "y' = y", "solution": "y = 2 e^x", "initial_conditions": "y(0) = 2"}
    ).structured_content
    assert ivp is not None and ivp["verdict"] == "correct", ivp


@pytest.mark.slow
def test_verify_code_gives_per_test_verdicts(session: Session) -> None:
    response = "Here it is:\n```python\nn = int(input())\nprint(n * 2)\n```"
    cases = [{"input": "2\n", "output": "4\n"}, {"input": "3\n", "output": "7\n"}, {"input": "x\n", "output": "0\n"}]
    io = session.call("verify_code", {"code": response, "tests": cases}).structured_content
    assert io is not None and io["verdict"] == "failed" and (io["passed"], io["total"]) == (1, 3)
    assert [t["verdict"] for t in io["tests"]] == ["passed", "wrong_answer", "runtime_error"]
    asserts = "def check(candidate):\n    assert candidate(2, 3) == 5\n"
    ok = session.call("verify_code", {"code": "def add(a, b):\n    return a + b\n", "tests": asserts})
    assert ok.structured_content is not None and ok.structured_content["verdict"] == "passed"
    slow = session.call("verify_code", {"code": "while True: pass", "tests": [{"input": "", "output": ""}],
                                        "timeout_s": 1})  # fmt: skip
    assert slow.structured_content is not None and slow.structured_content["tests"][0]["verdict"] == "time_limit"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("tool", "arguments", "message"),
    [
        ("solve", {}, "missing required argument 'problem'"),
        ("solve", {"problem": "1+1?", "think_budget": -1}, "invalid argument 'think_budget'"),
        ("solve", {"problem": "1+1?", "mode": "algebra"}, "unknown mode 'algebra' (available: auto, code,"),
        ("solve", {"problem": "   "}, "the problem is empty"),
        ("solve", {"problem": "1+1?", "max_tokens": 10**6}, "above this server's limit of 40960"),
        ("solve", {"problem": "1+1?", "samples": 0}, "invalid argument 'samples': input should be greater than or"),
        ("solve", {"problem": "1+1?", "samples": 1000}, "invalid argument 'samples': input should be less than or"),
        ("solve", {"problem": "1+1?", "samples": "many"}, "invalid argument 'samples': input should be a valid int"),
        ("verify_math", {"pred": 5, "gold": "5"}, "invalid argument 'pred': input should be a valid string"),
        ("verify_code", {"code": "print(1)", "tests": [{"input": ""}]}, "missing required argument 'tests[0].output'"),
        ("verify_code", {"code": "print(1)", "tests": []}, "'tests' must be an assert script or 1 to 200"),
        ("check_equation", {"equation": "x = 1", "solution": "1", "domain": "p-adic"}, "invalid argument 'domain'"),
        ("no_such_tool", {}, "Unknown tool: no_such_tool"),
    ],
)
def test_a_bad_call_is_a_one_sentence_tool_error_and_the_next_call_works(
    session: Session, tool: str, arguments: dict[str, object], message: str
) -> None:
    result = session.call(tool, arguments)
    assert result.is_error
    text = _text(result)
    assert message in text and "\n" not in text and "Traceback" not in text, text
    after = session.call("verify_math", {"pred": "2", "gold": "2"})
    assert not after.is_error and after.structured_content is not None and after.structured_content["equal"] is True


@pytest.mark.slow
def test_prompts_are_the_templates(session: Session) -> None:
    prompts = {p.name: p for p in session.portal.call(session.client.list_prompts).prompts}
    assert {"math", "code", "stem", "logic"} <= set(prompts)
    assert [a.name for a in prompts["math"].arguments or []] == ["problem"]
    assert [a.name for a in prompts["code"].arguments or []] == ["problem", "starter_code"]
    math = session.portal.call(session.client.get_prompt, "math", {"problem": "What is 1 + 1?"})
    message = math.messages[0]
    assert message.role == "user" and isinstance(message.content, TextContent)
    assert message.content.text.startswith("What is 1 + 1? Let's think step by step")
    code = session.portal.call(session.client.get_prompt, "code", {"problem": "Add.", "starter_code": "def f():"})
    assert isinstance(code.messages[0].content, TextContent) and "def f():" in code.messages[0].content.text


@pytest.mark.slow
def test_the_model_resource_describes_the_loaded_model(session: Session) -> None:
    listed = session.portal.call(session.client.list_resources).resources
    assert [str(r.uri) for r in listed] == ["vibe://model"]
    info = session.resource("vibe://model")
    assert info["name"] == "demo" and info["loaded"] is True and info["backend"] == "transformers"
    assert info["max_tokens"] == 40960 and info["running"] == 0 and info["queued"] == 0


def test_user_templates_become_prompts_and_modes(tmp_path: Path) -> None:
    """A template in the user's prompts folder is offered like the bundled ones (no model loaded)."""
    import os

    prompts = Path(os.environ["XDG_CONFIG_HOME"]) / "vibe" / "prompts"
    prompts.mkdir(parents=True)
    (prompts / "proof.yaml").write_text(
        "name: proof\ndescription: Proofs.\nsystem: Be rigorous.\ntemplate: 'Prove: $problem'\nanswer_format: text\n"
    )
    with mcp_session("--model", "demo", stderr=tmp_path / "stderr.log") as session:
        names = [p.name for p in session.portal.call(session.client.list_prompts).prompts]
        assert "proof" in names
        proof = session.portal.call(session.client.get_prompt, "proof", {"problem": "2 is prime"})
        content = proof.messages[0].content
        assert isinstance(content, TextContent) and content.text == "Be rigorous.\n\nProve: 2 is prime"
        tools = session.portal.call(session.client.list_tools).tools
        mode = next(t for t in tools if t.name == "solve").input_schema["properties"]["mode"]
        assert "proof" in mode["description"]
        info = session.resource("vibe://model")
        assert info["loaded"] is False and info["name"] == "demo"
        assert {"path", "format", "max_tokens", "concurrency", "default_mode"} <= set(info)  # as the README says
        assert "running" not in info and "device" not in info  # known once the model loads
        assert not session.stray


def test_reasons_count_in_english() -> None:
    from vibecli.mcp.checks import plural_reason

    assert plural_reason("all 1 real solution(s), each checked") == "all 1 real solution, each checked"
    assert plural_reason("all 3 complex solution(s)") == "all 3 complex solutions"
    assert plural_reason("a general solution: satisfies it, 1 independent constants") == (
        "a general solution: satisfies it, 1 independent constant"
    )
    assert plural_reason("has 1 constants for an order-2 ODE") == "has 1 constant for an order-2 ODE"
    assert plural_reason("2 independent constants") == "2 independent constants"
