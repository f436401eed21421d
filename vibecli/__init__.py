"""vibecli: make small reasoning models useful on your own machine.

The public API (`load`, `Model`, `verify_math`, `verify_math_many`, `verify_code`, the result
types) is imported on first use, so `import vibecli` stays light: no torch, transformers or
SymPy until a model is loaded or an answer checked. Reward functions: `vibecli.rewards`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_PUBLIC = {
    "load": "vibecli.api.model",
    "Model": "vibecli.api.model",
    "verify_math": "vibecli.api.checking",
    "verify_math_many": "vibecli.api.checking",
    "verify_code": "vibecli.api.checking",
    "MathVerdict": "vibecli.api.checking",
    "CodeVerdict": "vibecli.api.checking",
    "SolveResult": "vibecli.api._solving",
    "SamplesResult": "vibecli.api._solving",
    "ThinkingDelta": "vibecli.api._solving",
    "AnswerDelta": "vibecli.api._solving",
    "Notice": "vibecli.api._solving",
    "VibeError": "vibecli.errors",
}

__all__ = ["__version__", *_PUBLIC]

if TYPE_CHECKING:  # the names, for type checkers and editors; at run time __getattr__ imports them
    from vibecli.api import (
        AnswerDelta as AnswerDelta,
    )
    from vibecli.api import (
        CodeVerdict as CodeVerdict,
    )
    from vibecli.api import (
        MathVerdict as MathVerdict,
    )
    from vibecli.api import (
        Model as Model,
    )
    from vibecli.api import (
        Notice as Notice,
    )
    from vibecli.api import (
        SamplesResult as SamplesResult,
    )
    from vibecli.api import (
        SolveResult as SolveResult,
    )
    from vibecli.api import (
        ThinkingDelta as ThinkingDelta,
    )
    from vibecli.api import (
        VibeError as VibeError,
    )
    from vibecli.api import (
        load as load,
    )
    from vibecli.api import (
        verify_code as verify_code,
    )
    from vibecli.api import (
        verify_math as verify_math,
    )
    from vibecli.api import (
        verify_math_many as verify_math_many,
    )


def __getattr__(name: str) -> Any:
    """PEP 562: a public name's module is imported when the name is first used."""
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'vibecli' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC})
