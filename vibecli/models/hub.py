"""`vibe models pull`: a Hugging Face repository into vibe's models directory.

Downloads go through `huggingface_hub`, which brings progress bars (stderr), resuming of
partial files, `HF_TOKEN` for private or gated repositories and `HF_ENDPOINT` for mirrors.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from vibecli.errors import EngineError, UsageError
from vibecli.models.store import dir_name, models_dir

# Weights, configs and tokenizers; not the .bin/.pt/.gguf duplicates many repositories also carry.
ALLOW_PATTERNS = ["*.json", "*.safetensors", "*.txt", "*.jinja", "*.model", "*.tiktoken", "tokenizer*"]
REPO_PATTERN = re.compile(r"^[\w.-]+/[\w.-]+$")
SOURCE_FILE = ".vibe-source.json"


def _hub_error(repo: str, exc: Exception) -> EngineError:
    from huggingface_hub import errors

    if isinstance(exc, errors.GatedRepoError):
        return EngineError(f"{repo} is gated: accept its terms on the Hub, then set HF_TOKEN")
    if isinstance(exc, errors.RepositoryNotFoundError):
        return EngineError(f"no model '{repo}' on the Hub (check the name; a private one needs HF_TOKEN)")
    if isinstance(exc, errors.RevisionNotFoundError):
        return EngineError(f"{repo} has no such revision")
    if isinstance(exc, errors.OfflineModeIsEnabled):
        return EngineError(
            "HF_HUB_OFFLINE is set: vibe cannot download (unset it, or copy the model and use --model DIR)"
        )
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return EngineError(f"cannot download {repo}: {first} (offline? HF_ENDPOINT may point to a mirror)")


def pull(repo: str, revision: str | None = None) -> Path:
    """Download `repo` (at `revision`) into the models directory; resumes an earlier partial pull."""
    if not REPO_PATTERN.match(repo):
        raise UsageError(f"'{repo}' is not a Hub repository name (owner/name, e.g. WeiboAI/VibeThinker-1.5B)")
    try:
        from huggingface_hub import HfApi, snapshot_download
    except ImportError:
        raise EngineError("downloading needs huggingface_hub: pip install huggingface_hub") from None
    target = models_dir() / dir_name(repo)
    try:
        info = HfApi().model_info(repo, revision=revision)
        snapshot_download(repo, revision=info.sha, local_dir=target, allow_patterns=ALLOW_PATTERNS)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # the hub client's errors, its HTTP library's, and OSError
        raise _hub_error(repo, exc) from None
    (target / SOURCE_FILE).write_text(json.dumps({"repo": repo, "revision": info.sha}) + "\n", encoding="utf-8")
    return target
