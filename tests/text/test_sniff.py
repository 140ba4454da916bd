"""Tiny inputs at the edges of the UTF-16/32 and binary sniffers."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cleaner.text.sniff import sniff_binary, sniff_utf16_32


def test_a_lone_nul_byte_is_binary_not_utf16() -> None:
    assert sniff_utf16_32(b"\x00") is None
    assert sniff_binary(b"\x00") == "1 NUL bytes in the first 1"


def test_one_utf16_code_unit_is_read_as_utf16() -> None:
    assert sniff_utf16_32("A".encode("utf-16-le")) == "utf-16-le"
    assert sniff_binary("A".encode("utf-16-le")) is None


@given(st.binary(min_size=1, max_size=1))
def test_no_single_byte_is_read_as_utf16(raw: bytes) -> None:
    assert sniff_utf16_32(raw) is None
