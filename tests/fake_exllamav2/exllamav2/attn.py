"""Fake `exllamav2.attn`: flash-attn detection as attn.py does it at import.

Like the real module it imports flash-attn unless EXLLAMA_NO_FLASH_ATTN is set, and catches only
ModuleNotFoundError and NameError: a flash-attn built for another torch (ImportError "undefined
symbol") makes `import exllamav2` fail.
"""

import os

has_flash_attn = False
has_flash_attn_with_paged = False

if "EXLLAMA_NO_FLASH_ATTN" not in os.environ:
    try:
        import flash_attn

        version = [int(t) for t in flash_attn.__version__.split(".") if t.isdigit()]
        if [2, 2, 1] <= version < [2, 5, 7]:
            has_flash_attn = True
        if version >= [2, 5, 7]:
            import flash_attn_2_cuda  # noqa: F401  # the compiled half, where an ABI mismatch shows

            has_flash_attn = has_flash_attn_with_paged = True
    except ModuleNotFoundError:
        pass
    except NameError:
        pass


def assert_paged_attn() -> None:
    assert has_flash_attn_with_paged, "Paged attention required Flash Attention 2.5.7 or later"
