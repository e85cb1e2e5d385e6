"""Turn bytes into text: UTF-8 first, then BOMs, GB18030/GBK, Big5 and UTF-16.

Chinese web dumps arrive in every legacy encoding. A wrong guess silently produces
mojibake that still "decodes", so each candidate decoding is scored by how much of it is
common CJK text, and a file that no encoding explains is reported, not guessed.
"""

from __future__ import annotations

import codecs
import contextlib
from dataclasses import dataclass
from functools import lru_cache

from zhclean.core.chars import is_han

# Magic numbers of binary formats that turn up in crawls next to text files.
_SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": "PNG image",
    b"\xff\xd8\xff": "JPEG image",
    b"GIF87a": "GIF image",
    b"GIF89a": "GIF image",
    b"%PDF-": "PDF document",
    b"PK\x03\x04": "ZIP archive",
    b"\x1f\x8b": "gzip archive",
    b"\x7fELF": "ELF executable",
    b"BZh": "bzip2 archive",
    b"\xfd7zXZ\x00": "xz archive",
}

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# A UTF-8 file may carry a few damaged bytes; beyond this share it is not UTF-8.
MAX_INVALID_UTF8_SHARE = 0.002
# A legacy decoding must be at least this much "plausible text" to be believed.
MIN_PLAUSIBILITY = 0.85


class DecodeError(ValueError):
    """The bytes are not text in any supported encoding. ``check`` names the failure."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(message)
        self.check = check


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str
    encoding: str
    invalid_bytes: int = 0
    first_invalid_offset: int | None = None


@lru_cache(maxsize=1)
def _common_hanzi() -> frozenset[str]:
    """Han characters in common use: GB2312 (levels 1 and 2) plus Big5's frequent set."""
    chars: set[str] = set()
    for hi in range(0xB0, 0xF8):
        for lo in range(0xA1, 0xFF):
            with contextlib.suppress(UnicodeDecodeError):
                chars.add(bytes((hi, lo)).decode("gb2312"))
    for hi in range(0xA4, 0xC7):
        for lo in list(range(0x40, 0x7F)) + list(range(0xA1, 0xFF)):
            with contextlib.suppress(UnicodeDecodeError):
                chars.add(bytes((hi, lo)).decode("big5"))
    return frozenset(chars)


def plausibility(text: str) -> float:
    """Share of characters that look like real text (common Han, ASCII, usual punctuation).

    Mojibake from a wrong legacy decoding is dominated by rare ideographs and symbols,
    so this separates a right guess from a wrong one.
    """
    if not text:
        return 0.0
    common = _common_hanzi()
    good = 0
    for ch in text:
        if ch.isascii():
            good += ch.isprintable() or ch in "\n\r\t"
        elif ch in common:
            good += 1
        elif not is_han(ch) and (ch.isprintable() or ch.isspace()):
            # punctuation, kana, Latin-1 letters: plausible but not conclusive
            good += 0.5
    return good / len(text)


def _sniff_binary(data: bytes) -> str | None:
    for magic, kind in _SIGNATURES.items():
        if data.startswith(magic):
            return kind
    return None


def _decode_utf8(data: bytes) -> Decoded | None:
    try:
        return Decoded(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError as err:
        first = err.start
    text = data.decode("utf-8", errors="replace")
    # errors="replace" emits one U+FFFD per invalid sequence; count them.
    invalid = text.count("\ufffd") - data.decode("utf-8", errors="ignore").count("\ufffd")
    if invalid <= max(1, len(data) * MAX_INVALID_UTF8_SHARE):
        return Decoded(text, "utf-8", invalid_bytes=invalid, first_invalid_offset=first)
    return None


def _looks_like_utf16(data: bytes) -> str | None:
    sample = data[:4096]
    if len(sample) < 4:
        return None
    even_nuls = sample[0::2].count(0) / len(sample[0::2])
    odd_nuls = sample[1::2].count(0) / len(sample[1::2])
    if odd_nuls > 0.3 and even_nuls < 0.05:
        return "utf-16-le"
    if even_nuls > 0.3 and odd_nuls < 0.05:
        return "utf-16-be"
    return None


def decode_bytes(data: bytes) -> Decoded:
    """Decode ``data`` or raise :class:`DecodeError` saying why it is not text."""
    if not data:
        raise DecodeError("empty_file", "empty file (0 bytes)")
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return Decoded(data[len(bom) :].decode(encoding), encoding + "-bom")
            except UnicodeDecodeError as err:
                raise DecodeError(
                    "undecodable",
                    f"starts with a {encoding} BOM but is not valid {encoding}: {err}",
                ) from err
    kind = _sniff_binary(data)
    if kind:
        raise DecodeError("binary_file", f"binary file ({kind} signature), not text")

    decoded = _decode_utf8(data)
    if decoded is not None:
        if "\x00" in decoded.text:
            raise DecodeError("binary_file", "binary file (contains NUL bytes), not text")
        return decoded

    utf16 = _looks_like_utf16(data)
    candidates = [utf16] if utf16 else []
    candidates += ["gb18030", "big5"]
    best: Decoded | None = None
    best_score = 0.0
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        score = plausibility(text[:20000])
        if score > best_score:
            best, best_score = Decoded(text, encoding), score
    if best is not None and best_score >= MIN_PLAUSIBILITY and "\x00" not in best.text:
        return best
    if b"\x00" in data[:4096]:
        raise DecodeError("binary_file", "binary file (contains NUL bytes), not text")
    tried = ", ".join(["utf-8", *candidates])
    raise DecodeError(
        "undecodable",
        f"not text in any supported encoding (tried {tried}; best plausibility {best_score:.2f})",
    )
