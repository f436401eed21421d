"""`vibe mcp --model demo` through a second client library, fastmcp's Client (its own protocol
code, not the SDK's): tools with schema-checked results, progress, errors, prompts, the resource."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp_client import server_env

fastmcp = pytest.importorskip("fastmcp", reason="fastmcp's client is a dev dependency")


async def _drive(log: Path) -> dict[str, Any]:
    from fastmcp import Client
    from fastmcp.client.transports import StdioTransport
    from fastmcp.exceptions import ToolError

    transport = StdioTransport(sys.executable, ["-m", "vibecli", "mcp", "--model", "demo", "-t", "0"],
                               env=server_env(), log_file=log)  # fmt: skip
    progress: list[float] = []

    async def record(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    async with Client(transport, timeout=120) as client:
        tools = {tool.name: tool for tool in await client.list_tools()}
        solved = await client.call_tool("solve", {"problem": "What is 48 + 37?"}, progress_handler=record)
        equal = await client.call_tool("verify_math", {"pred": "0.5", "gold": "1/2"})
        ode = await client.call_tool("check_ode", {"ode": "y' = y", "solution": "y = C1 e^x"})
        with pytest.raises(ToolError) as bad:
            await client.call_tool("verify_math", {"pred": "0.5"})
        prompt = await client.get_prompt("math", {"problem": "What is 1 + 1?"})
        model = await client.read_resource("vibe://model")
    return {"tools": tools, "solved": solved, "equal": equal, "ode": ode, "bad": str(bad.value), "prompt": prompt,
            "model": model, "progress": progress}  # fmt: skip


@pytest.mark.slow
def test_fastmcp_client_drives_every_kind_of_call(tmp_path: Path) -> None:
    got = anyio.run(_drive, tmp_path / "stderr.log")
    assert set(got["tools"]) == {"solve", "verify_math", "check_equation", "check_ode", "verify_code"}
    description = got["tools"]["verify_code"].description
    assert not any(line.startswith(" ") for line in description.splitlines()), description  # dedented
    assert got["solved"].structured_content["final_answer"] == "85" and got["progress"]
    assert got["equal"].structured_content["verdict"] == "equal"
    assert got["ode"].structured_content["reason"].endswith("1 independent constant")
    assert "missing required argument 'gold'" in got["bad"]
    assert got["prompt"].messages[0].content.text.startswith("What is 1 + 1?")
    info = json.loads(got["model"][0].text)
    assert info["name"] == "demo" and info["loaded"] is True
    assert "Traceback" not in (tmp_path / "stderr.log").read_text()
