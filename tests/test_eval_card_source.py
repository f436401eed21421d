"""`--source card`: the card authors' own files (verl-style parquet), fetched at the pinned commit
from a mirror, checked by SHA-256, and sent to the model as they are."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_hub_datasets import _parquet
from typer.testing import CliRunner

from vibecli.cli.app import app
from vibecli.eval import card_data

runner = CliRunner()
pytestmark = pytest.mark.slow

SUFFIX = " Let's think step by step and output the final answer within \\boxed{}."


def verl_rows(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    """The layout of WeiboAI's eval/math/data/*.parquet: Python-literal text of the chat and reward."""
    return [{"data_source": "", "prompt": repr([{"content": q + SUFFIX, "role": "user"}]), "ability": "math",
             "reward_model": repr({"ground_truth": a, "style": "rule"}),
             "extra_info": repr({"index": i, "split": "test"})} for i, (q, a) in enumerate(pairs)]  # fmt: skip


@pytest.fixture
def mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, list[str]]]:
    root = tmp_path / "mirror"
    folder = root / card_data.REPO / card_data.COMMIT / card_data.FOLDER
    _parquet(folder / "aime25.parquet", verl_rows([("What is 48 + 37?", "85"), ("Compute 12 * 3.", "36")]))
    digest = hashlib.sha256((folder / "aime25.parquet").read_bytes()).hexdigest()
    # The stand-in is not WeiboAI's file, so the pinned checksum is the stand-in's here.
    monkeypatch.setitem(card_data.FILES, "aime25", ("aime25.parquet", digest))
    requests: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

        def log_message(self, format: str, *args: object) -> None:
            requests.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("VIBE_CARD_DATA_URL", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    try:
        yield folder, requests
    finally:
        server.shutdown()


def test_the_cards_own_file_is_fetched_checked_and_sent_as_it_is(
    tmp_path: Path, mirror: tuple[Path, list[str]]
) -> None:
    folder, requests = mirror
    out = tmp_path / "run"
    result = runner.invoke(app, ["eval", "aime25", "--source", "card", "--model", "demo", "-k", "1",
                                 "--max-tokens", "300", "-o", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert any(card_data.COMMIT in r and r.endswith("/aime25.parquet") for r in requests)
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["source"]["origin"] == "card" and manifest["source"]["revision"] == card_data.COMMIT
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 2
    problems = card_data.card_problems("aime25", folder / "aime25.parquet", "math")
    assert problems[0].problem == "What is 48 + 37?" + SUFFIX and problems[0].mode == "card-math"
    assert [p.expected for p in problems] == ["85", "36"]
    # A file that is not the pinned one is refused, and nothing is run with it.
    (folder / "aime25.parquet").write_bytes(b"PAR1 not the card's file")
    for cached in (tmp_path / "data").rglob("aime25.parquet"):
        cached.unlink()
    bad = runner.invoke(app, ["eval", "aime25", "--source", "card", "--model", "demo", "-o", str(tmp_path / "b")])
    assert bad.exit_code == 3 and "SHA-256" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_card_source_only_where_the_authors_published_files() -> None:
    cases = [
        ["math500", "--source", "card"],
        ["livecodebench-v6", "--source", "card"],
        ["gpqa-diamond", "--source", "card", "--choices", "shuffled"],
        ["aime25", "--source", "github"],
    ]
    for args in cases:
        result = runner.invoke(app, ["eval", *args, "--model", "demo"])
        assert result.exit_code == 2 and "--source" in result.stderr, (args, result.stderr)
