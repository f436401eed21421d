"""Getting ExLlamaV2 imported safely: a CUDA check first, its kernel build announced once,
its prints kept off our stdout, and every failure turned into one line.

`import exllamav2` compiles (or loads) its CUDA extension: minutes the first time, and an
assortment of exceptions on machines without CUDA. Nothing here imports it at module level.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from vibecli.errors import EngineError

EXTENSION = "exllamav2_ext"


def torch_extensions_dir() -> Path:
    """Where torch's JIT builds land (`TORCH_EXTENSIONS_DIR`, else ~/.cache/torch_extensions/pyXY_cuZZ)."""
    if os.environ.get("TORCH_EXTENSIONS_DIR"):
        return Path(os.environ["TORCH_EXTENSIONS_DIR"])
    import torch

    cuda = (torch.version.cuda or "").replace(".", "")
    tag = f"py{sys.version_info.major}{sys.version_info.minor}_{f'cu{cuda}' if cuda else 'cpu'}"
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "torch_extensions" / tag


def extension_built() -> bool:
    """Whether exllamav2's CUDA extension exists already: a prebuilt wheel, or an earlier JIT build."""
    if importlib.util.find_spec(EXTENSION) is not None:
        return True
    build = torch_extensions_dir() / EXTENSION
    return any(build.glob(f"{EXTENSION}*.so")) or any(build.glob(f"{EXTENSION}*.pyd"))


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send everything written to stdout, by Python or by child processes (nvcc, ninja), to stderr."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _from_flash_attn(exc: BaseException) -> bool:
    """exllamav2 imports flash-attn at import time and lets an ImportError other than "not found" through."""
    where = [str(exc), getattr(exc, "name", None) or "", getattr(exc, "path", None) or ""]
    return isinstance(exc, ImportError) and any("flash_attn" in part for part in where)


def _explain(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if _from_flash_attn(exc):
        return (f"flash-attn is installed but does not load ({text}); reinstall flash-attn for this torch, "
                "or run with EXLLAMA_NO_FLASH_ATTN=1 to use exl2 without it (one job at a time)")  # fmt: skip
    if "CUDA_HOME" in text or "nvcc" in text:
        return f"exllamav2 needs the CUDA toolkit (nvcc) to build its kernels: {text}"
    if "Error building extension" in text:
        return f"building exllamav2's CUDA extension failed; the build log is in {torch_extensions_dir() / EXTENSION}"
    if "undefined symbol" in text:
        return f"exllamav2's compiled extension does not match this torch (reinstall exllamav2 for it): {text}"
    if isinstance(exc, ImportError) and "exllamav2" in text:
        return "exllamav2 is not installed: pip install 'vibecli[exl2]'"
    return f"cannot import exllamav2 ({type(exc).__name__}: {text})"


def import_exllamav2(notice: Callable[[str], None] | None = None) -> Any:
    """The `exllamav2` module, or one clear EngineError; says so once when kernels must be compiled."""
    if "exllamav2" in sys.modules:  # imported (and built) already in this process
        return sys.modules["exllamav2"]
    if importlib.util.find_spec("exllamav2") is None:
        raise EngineError("the exl2 backend needs exllamav2: pip install 'vibecli[exl2]'")
    try:
        import torch
    except ImportError:
        raise EngineError("the exl2 backend needs PyTorch with CUDA: pip install torch (a CUDA build)") from None
    if not torch.cuda.is_available():
        build = f"torch {torch.__version__}" + ("" if torch.version.cuda else " (a CPU-only build)")
        raise EngineError(f"the exl2 backend needs an NVIDIA GPU with CUDA, and {build} sees none; "
                          "use --backend transformers")  # fmt: skip
    say = notice or (lambda line: print(line, file=sys.stderr, flush=True))
    if not extension_built():
        say("vibe: first use of exl2 compiles ExLlamaV2's CUDA kernels; this takes several minutes, once.")
    try:
        with stdout_to_stderr():
            import exllamav2
    except Exception as exc:  # the import raises OSError, IndexError, RuntimeError, ImportError…
        raise EngineError(_explain(exc)) from None
    return exllamav2


@contextlib.contextmanager
def loading_progress(description: str) -> Iterator[Callable[[int, int], None]]:
    """A `callback(done, total)` that drives a progress bar on stderr (quiet when stderr is piped)."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn

    console = Console(stderr=True)
    if not console.is_terminal:
        yield lambda done, total: None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  console=console, transient=True) as progress:  # fmt: skip
        task = progress.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update
