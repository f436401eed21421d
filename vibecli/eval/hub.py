"""Benchmark data from the Hugging Face Hub, through `huggingface_hub` and its cache.

The files land in the Hub cache (`HF_HOME`, `HF_HUB_CACHE`), so a second run, or one with
`HF_HUB_OFFLINE=1`, reads them from there; `HF_ENDPOINT` points the client at a mirror and
`HF_TOKEN` opens gated datasets.
"""

from __future__ import annotations

import os
from pathlib import Path

from vibecli.errors import EngineError
from vibecli.eval.registry import Benchmark


def _has_token() -> bool:
    from huggingface_hub import get_token

    return bool(os.environ.get("HF_TOKEN") or get_token())


def _error(benchmark: Benchmark, exc: Exception) -> EngineError:
    from huggingface_hub import errors

    name, repo = benchmark.name, benchmark.repo
    if isinstance(exc, errors.GatedRepoError) or (benchmark.gated and "401" in str(exc)):
        return EngineError(f"{name} is a gated dataset: accept its terms at {benchmark.url}, then set HF_TOKEN")
    if isinstance(exc, errors.RepositoryNotFoundError):
        return EngineError(f"no dataset '{repo}' on the Hub (a private or gated one needs HF_TOKEN)")
    if isinstance(exc, errors.RevisionNotFoundError):
        return EngineError(f"{repo} has no revision {benchmark.revision} (override it with --dataset-revision)")
    if isinstance(exc, errors.OfflineModeIsEnabled | errors.LocalEntryNotFoundError):
        return EngineError(f"{name} is not in the Hub cache and HF_HUB_OFFLINE is set: run once online first")
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return EngineError(f"cannot download {name} ({repo}): {first} (offline? HF_ENDPOINT may point to a mirror)")


def download(benchmark: Benchmark, revision: str | None = None) -> tuple[Path, str]:
    """The local snapshot of `benchmark`'s files and the commit it is at.

    Args:
        revision: overrides the registry's pin (a commit, a branch or a tag).
    """
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise EngineError("vibe eval downloads with huggingface_hub: pip install huggingface_hub") from None
    wanted = revision or benchmark.revision or "main"
    try:
        if benchmark.gated and not _has_token():
            try:  # a cached copy needs no token
                path = snapshot_download(benchmark.repo, repo_type="dataset", revision=wanted,
                                         allow_patterns=list(benchmark.files), local_files_only=True)  # fmt: skip
            except Exception:
                raise EngineError(
                    f"{benchmark.name} is a gated dataset and HF_TOKEN is not set: accept its terms at "
                    f"{benchmark.url}, then export HF_TOKEN=<your token>"
                ) from None
        else:
            path = snapshot_download(benchmark.repo, repo_type="dataset", revision=wanted,
                                     allow_patterns=list(benchmark.files))  # fmt: skip
    except (KeyboardInterrupt, EngineError):
        raise
    except Exception as exc:  # the hub client's errors, its HTTP library's, and OSError
        raise _error(benchmark, exc) from None
    local = Path(path)
    return local, local.name  # the cache's snapshot folder is named by the commit
