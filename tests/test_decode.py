"""Decoding real text from every encoding we meet, and refusing what is not text."""

from __future__ import annotations

import codecs

import pytest

from tests.conftest import seed_text
from zhclean.readers.decode import DecodeError, decode_bytes

SIMPLIFIED = seed_text("004")[:3000]
TRADITIONAL = seed_text("001")[:3000].replace("\xa0", " ")  # Big5 has no NBSP


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (SIMPLIFIED.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + SIMPLIFIED.encode("utf-8"), "utf-8-bom"),
        (SIMPLIFIED.encode("gb18030"), "gb18030"),
        (SIMPLIFIED.encode("gbk"), "gb18030"),
        (TRADITIONAL.encode("big5", errors="ignore"), "big5"),
        (codecs.BOM_UTF16_LE + SIMPLIFIED.encode("utf-16-le"), "utf-16-le-bom"),
        (codecs.BOM_UTF16_BE + TRADITIONAL.encode("utf-16-be"), "utf-16-be-bom"),
    ],
)
def test_decodes(data, encoding):
    decoded = decode_bytes(data)
    assert decoded.encoding == encoding
    assert decoded.text[:50] in (SIMPLIFIED + TRADITIONAL)


def test_big5_is_not_mistaken_for_gbk():
    data = TRADITIONAL.encode("big5", errors="ignore")
    data.decode("gb18030")  # it *does* decode as GBK: the guess must not stop there
    assert "國家民委" in decode_bytes(data).text


def test_a_few_invalid_utf8_bytes_are_repaired_and_counted():
    head = SIMPLIFIED[:1000].encode("utf-8")
    damaged = head + b"\xff\xfe" + SIMPLIFIED[1000:].encode("utf-8")
    decoded = decode_bytes(damaged)
    assert decoded.encoding == "utf-8"
    assert decoded.invalid_bytes == 2 and decoded.first_invalid_offset == len(head)


@pytest.mark.parametrize(
    ("data", "check"),
    [
        (b"", "empty_file"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "binary_file"),
        (b"%PDF-1.4\n" + bytes(200), "binary_file"),
        (b"text\x00with\x00nul" * 30, "binary_file"),
        (bytes(range(128, 256)) * 40, "undecodable"),
    ],
)
def test_not_text_is_refused_with_a_reason(data, check):
    with pytest.raises(DecodeError) as err:
        decode_bytes(data)
    assert err.value.check == check
    assert str(err.value)
