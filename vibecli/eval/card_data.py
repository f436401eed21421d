"""`--source card`: the problem files the card's authors published with their eval scripts
(github.com/WeiboAI/VibeThinker, eval/math/data), at a pinned commit and checked by SHA-256.

Each file is a verl-style parquet: `prompt` is the chat (a Python literal of a list of messages)
holding the whole user message, suffix included; `reward_model` holds the `ground_truth`. The
message is sent as it is (a template of `$problem` alone), so the model sees the card's bytes,
GPQA's options in the card's order with them. Published for aime24, aime25, hmmt25 and
gpqa-diamond; MATH-500 and LiveCodeBench come from the Hub (WeiboAI ran those from there).

Files are cached under vibe's data folder; `VIBE_CARD_DATA_URL` points at a mirror of
raw.githubusercontent.com (the path after it is `WeiboAI/VibeThinker/COMMIT/eval/math/data/FILE`).
"""

from __future__ import annotations

import ast
import hashlib
import os
import urllib.request
from pathlib import Path
from typing import Any

from vibecli.errors import EngineError, UsageError
from vibecli.eval.datasets import EvalProblem
from vibecli.paths import data_dir
from vibecli.prompting.templates import PromptTemplate

REPO = "WeiboAI/VibeThinker"
COMMIT = "c32cafff5fdf90dd612f69d6d6431f6d9e89126d"  # the last commit that changed eval/math/data
FOLDER = "eval/math/data"
DEFAULT_URL = "https://raw.githubusercontent.com"
# benchmark: (file, sha256)
FILES: dict[str, tuple[str, str]] = {
    "aime24": ("aime.parquet", "49b5e04d6868c4a3b9f5875db7c4dc43a04bc1e4c2b2d1106042f73c06ebc0f3"),
    "aime25": ("aime25.parquet", "652e8cc7e5cad994e0132a12c6752e43206de24f8db48d55cc0f25410bbcf2c7"),
    "hmmt25": ("hmmt25.parquet", "d9aa4787220e78c645017e2d75901e07802702b91879b2e46bc33e4ad8711c56"),
    "gpqa-diamond": ("gpqa.parquet", "a896f79c3b6afb5ec230809d1c81b1c066e25df9b2214328e1799a1c729f5ffd"),
}
VERBATIM = {
    kind: PromptTemplate(
        name=f"card-{kind}",
        description="The card's own prompt, sent as it is.",
        template="$problem",
        answer_format="choice" if kind == "choice" else "boxed",
        source="vibecli.eval.card_data",
    )
    for kind in ("math", "choice")
}


def require(benchmark: str) -> tuple[str, str]:
    if benchmark not in FILES:
        published = ", ".join(FILES)
        raise UsageError(f"--source card: the card's authors published no file for {benchmark} (only {published}); "
                         "use --source hub")  # fmt: skip
    return FILES[benchmark]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch(benchmark: str) -> Path:
    """The checked local copy of `benchmark`'s card file, downloaded once."""
    name, digest = require(benchmark)
    local = data_dir() / "card-data" / COMMIT[:12] / name
    if local.is_file() and _sha256(local) == digest:
        return local
    base = os.environ.get("VIBE_CARD_DATA_URL", DEFAULT_URL).rstrip("/")
    url = f"{base}/{REPO}/{COMMIT}/{FOLDER}/{name}"
    local.parent.mkdir(parents=True, exist_ok=True)
    partial = local.with_suffix(".part")
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            partial.write_bytes(response.read())
    except OSError as exc:
        raise EngineError(
            f"cannot download {name} of {REPO} ({url}): {exc} (VIBE_CARD_DATA_URL sets a mirror)"
        ) from None
    if _sha256(partial) != digest:
        partial.unlink(missing_ok=True)
        raise EngineError(f"{name} from {url} is not the card's file (its SHA-256 differs from {digest[:12]}…)")
    partial.replace(local)
    return local


def _literal(value: Any) -> Any:
    """verl stores dicts and lists as their Python text; read as literals only, never run."""
    return ast.literal_eval(value) if isinstance(value, str) else value


def card_problems(benchmark: str, path: Path, kind: str) -> list[EvalProblem]:
    import pyarrow.parquet as pq

    problems = []
    try:
        for index, row in enumerate(pq.read_table(path).to_pylist()):
            messages = _literal(row["prompt"])
            text = str(messages[-1]["content"])
            gold = str(_literal(row["reward_model"])["ground_truth"]).strip()
            info = _literal(row.get("extra_info") or "{}")
            identifier = str(info.get("problem_idx", info.get("index", index)))
            problems.append(EvalProblem(identifier, text, gold, f"card-{'choice' if kind == 'choice' else 'math'}"))
    except (KeyError, ValueError, SyntaxError, TypeError, IndexError) as exc:
        raise EngineError(f"{benchmark}: {path.name} does not have the card files' layout ({exc})") from None
    return problems
