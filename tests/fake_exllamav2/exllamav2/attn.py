"""Fake `exllamav2.attn`: whether paged attention (flash-attn >= 2.5.7) is available."""

has_flash_attn = False
has_flash_attn_with_paged = False


def assert_paged_attn() -> None:
    assert has_flash_attn_with_paged, "Paged attention required Flash Attention 2.5.7 or later"
