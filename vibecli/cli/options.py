"""Options shared by `solve`, `batch`, `repl` and `mcp`, declared once so they read the same everywhere:
every option that shapes a solve (sampling, `--max-tokens`, `--mode`, `--seed` and the thinking controls)."""

from __future__ import annotations

import re
from difflib import get_close_matches
from typing import Annotated

import typer
from typer._click.core import Context  # Typer's own copy of Click (vendored since typer 0.26)
from typer._click.exceptions import BadOptionUsage, NoSuchOption
from typer.core import TyperCommand, TyperOption

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


_OPTION_LIKE = re.compile(r"-[A-Za-z][A-Za-z-]*$")  # `-o`, `-out`; not `-5`, `-x+3` or `-2x`


class FreeTextCommand(TyperCommand):
    """A command whose positional words are free text: `vibe solve What is 48 + 37` and
    `vibe solve -5 + 3 = ?` work unquoted.

    Click would read `-5` or `-x` as unknown options. Here every word that is not one of the
    command's options (or an option's value) is moved behind `--`, in order, so Click takes it
    as text; an unknown `--long-option` is still an error, since it is most likely a typo, and so
    is a word like `-o` right after one of the command's options (`--json -o out.txt`).
    """

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        takes_value: dict[str, bool] = {}
        for param in self.get_params(ctx):
            if isinstance(param, TyperOption):
                for name in (*param.opts, *param.secondary_opts):
                    takes_value[name] = not (param.is_flag or param.count)
        options: list[str] = []
        words: list[str] = []
        rest = iter(args)
        after_option = False  # the previous word was one of the command's options (or its value)
        for word in rest:
            name = word.split("=", 1)[0]
            follows_option, after_option = after_option, False
            if word == "--":
                words.extend(rest)
            elif name in takes_value:
                after_option = True
                options.append(word)
                value = next(rest, None) if takes_value[name] and "=" not in word else None
                missing = value is None or value == "--"
                if takes_value[name] and "=" not in word and missing and not ctx.resilient_parsing:
                    raise BadOptionUsage(name, f"option '{name}' requires an argument", ctx=ctx)
                if value is not None:
                    options.append(value)  # taken as is, so `--seed -1` reaches the check as -1
            elif len(word) > 2 and word[:2] in takes_value and takes_value[word[:2]] and not word.startswith("--"):
                after_option = True
                options.append(word)  # a short option with its value attached: -t0.6
            elif follows_option and _OPTION_LIKE.match(word) and not ctx.resilient_parsing:
                # Among the options (`--json -o out.txt`), `-o` is a mistyped option, not problem text.
                raise NoSuchOption(word, message=f"no such option: {word} (put problem text that starts "
                                                 "with a dash after --)", ctx=ctx)  # fmt: skip
            elif word.startswith("--") and len(word) > 2:
                close = get_close_matches(name, [n for n in takes_value if n.startswith("--")], n=1)
                hint = f" (did you mean {close[0]}?)" if close else " (put problem text that starts with -- after --)"
                raise NoSuchOption(name, message=f"no such option: {name}{hint}", ctx=ctx)
            else:
                words.append(word)
        return super().parse_args(ctx, [*options, "--", *words] if words else options)
