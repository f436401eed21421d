"""Options shared by `solve`, `batch` and `repl`, declared once so they read the same everywhere."""

from __future__ import annotations

from typing import Annotated

import typer

from vibecli.cli.completion import (
    complete_backend,
    complete_cache,
    complete_device,
    complete_mode,
    complete_model,
    complete_switch,
    complete_think,
)

Model = Annotated[
    str | None,
    typer.Option("--model", "-m", autocompletion=complete_model, help="Model directory, registered name, or 'demo'."),
]
Backend = Annotated[
    str | None, typer.Option("--backend", autocompletion=complete_backend, help="auto, transformers, exl2 or openai.")
]
BaseUrl = Annotated[
    list[str] | None,
    typer.Option("--base-url", help="OpenAI-compatible server, up to /v1 (--backend openai); repeat for several."),
]
ApiKey = Annotated[str | None, typer.Option("--api-key", help="Key for --base-url servers (or VIBE_API_KEY).")]
Device = Annotated[
    str | None, typer.Option("--device", autocompletion=complete_device, help="auto, cpu, cuda or mps (transformers).")
]
Mode = Annotated[
    str | None,
    typer.Option("--mode", autocompletion=complete_mode, help="auto, math, code, stem, logic, or a template of yours."),
]
Temperature = Annotated[float | None, typer.Option("--temperature", "-t", help="0 is greedy. Default: the mode's.")]
TopP = Annotated[float | None, typer.Option("--top-p", help="Default: the mode's (0.95).")]
MaxTokens = Annotated[int | None, typer.Option("--max-tokens", help="New-token cap, thinking plus answer. [40960]")]
Think = Annotated[
    str | None,
    typer.Option("--think", autocompletion=complete_think, help="show, collapse or hide the thinking. [collapse]"),
]
ThinkBudget = Annotated[
    int | None, typer.Option("--think-budget", help="Force the answer after N thinking tokens (0: no thinking).")
]
LoopGuard = Annotated[
    str | None,
    typer.Option(
        "--loop-guard", autocompletion=complete_switch, help="on or off: force the answer when the thinking loops. [on]"
    ),
]
Ctx = Annotated[
    int | None, typer.Option("--ctx", help="exl2: context length in tokens. [the model's, capped to fit --max-tokens]")
]
Cache = Annotated[
    str | None,
    typer.Option("--cache", autocompletion=complete_cache, help="exl2: KV cache fp16, q8, q6 or q4. [fp16]"),
]
TopK = Annotated[int | None, typer.Option("--top-k", help="0 is off (the default).")]
Seed = Annotated[int | None, typer.Option("--seed", help="Seed for reproducible sampling.")]
BudgetMessage = Annotated[
    str | None, typer.Option("--budget-message", help="Text appended to the thinking when it is cut short.")
]
