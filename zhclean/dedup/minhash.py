"""MinHash signatures and LSH band keys of a document's clean text.

What is compared is ``documents.text`` (the Simplified body after boilerplate removal),
reduced to its letters, digits and ideographs: two sites' furniture, line breaks, spaces
and punctuation neither hide a reprint nor make one. The set of its character
``shingle``-grams is summarized by a MinHash signature (rensa's R-MinHash, a Rust
library: no hashing is written here), and the signature is cut into ``bands`` of
``rows`` values; a band's key is its values folded into 64 bits. Two documents are
candidates when one band key is equal, and copies when their estimated Jaccard
similarity reaches ``threshold``.

The parameters are chosen from measurements (README, "Near-duplicates"). A signature
depends on all of them and on the library's algorithm version: the index records
:meth:`MinHashConfig.key`, and signatures made under another key are never compared.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

# Everything that is not a letter, a digit or an ideograph: spaces, line breaks,
# punctuation, symbols. ``\w`` also keeps "_", which no reprint changes.
_NOT_WORD = re.compile(r"[\W_]+")
# Code points take 21 bits: three of them make one exact 63-bit shingle code.
_BITS = np.uint64(21)
MAX_CODED_SHINGLE = 3
# The value of every slot of an empty set's signature.
EMPTY = np.uint32(0xFFFFFFFF)
# Codes handed to rensa in one call: larger inputs take another path in it that maps
# about 100 MB more; a longer document is signed in pieces (see _digest).
MAX_CALL_CODES = 32_768


@cache
def load_library():
    """rensa, imported on first use (``--dedup off`` never loads it). It allocates with
    mimalloc, which reserves 1 GiB of address space up front, and may spread work over a
    thread pool with a heap per thread. A worker is one process per core already and runs
    under memory bounds (ulimit -v, RLIMIT_AS: tests/test_memory.py runs a whole run under
    1.2 GB of address space): one thread and small arenas keep signing within them."""
    os.environ.setdefault("MIMALLOC_ARENA_RESERVE", "16MiB")
    os.environ.setdefault("RAYON_NUM_THREADS", "1")
    import rensa

    return rensa


@dataclass(frozen=True)
class MinHashConfig:
    """How documents are signed and compared (defaults: the measured choice)."""

    shingle: int = 3
    num_perm: int = 128
    bands: int = 32
    rows: int = 4
    threshold: float = 0.5
    seed: int = 20

    def __post_init__(self) -> None:
        if self.bands * self.rows > self.num_perm:
            raise ValueError("bands x rows must not exceed num_perm")
        if self.shingle < 1 or self.bands < 1 or self.rows < 1:
            raise ValueError("shingle, bands and rows must be positive")

    @property
    def key(self) -> str:
        """What a signature depends on: signatures of different keys never meet."""
        return (
            f"rensa-r{load_library().RMinHash.ALGORITHM_VERSION}/char{self.shingle}/"
            f"p{self.num_perm}/s{self.seed}/b{self.bands}x{self.rows}"
        )


DEFAULT_CONFIG = MinHashConfig()


def canonical(text: str) -> str:
    """The letters, digits and ideographs of ``text``, lower-cased, nothing between them."""
    return _NOT_WORD.sub("", text).lower()


def shingles(text: str, k: int) -> list[str]:
    """The character ``k``-grams of the canonical text (repeats do not matter to MinHash).

    A text shorter than ``k`` is one shingle; an empty one has none (it gets no signature).
    """
    s = canonical(text)
    if len(s) <= k:
        return [s] if s else []
    return [s[i : i + k] for i in range(len(s) - k + 1)]


def shingle_codes(text: str, k: int) -> np.ndarray:
    """The shingles of :func:`shingles` as uint64 codes, each the exact ``k`` code points
    (21 bits each, so ``k`` <= 3): rensa hashes these codes with its seeded permutations,
    and building them with NumPy costs a third of building Python strings."""
    if not 1 <= k <= MAX_CODED_SHINGLE:
        raise ValueError(f"coded shingles hold at most {MAX_CODED_SHINGLE} characters")
    points = np.frombuffer(canonical(text).encode("utf-32-le"), "<u4").astype(np.uint64)
    n = len(points) - k + 1
    if n <= 0:  # shorter than k: one shingle, or none for an empty text
        n, k = (1, len(points)) if len(points) else (0, 0)
    codes = points[:n].copy()
    for j in range(1, k):
        codes <<= _BITS
        codes |= points[j : j + n]
    return codes


def signatures(texts: Iterable[str], config: MinHashConfig = DEFAULT_CONFIG) -> np.ndarray:
    """One row of ``num_perm`` uint32 values per text. A text with no shingle gets the
    empty signature (every value 2**32-1, see :func:`signed`); no band of it is indexed.
    """
    texts = list(texts)
    if config.shingle > MAX_CODED_SHINGLE:  # longer shingles (the anchors' 5-grams): strings
        sets = [shingles(t, config.shingle) for t in texts]
        sigs = np.full((len(sets), config.num_perm), EMPTY, np.uint32)
        rows = [i for i, s in enumerate(sets) if s]
        if rows:
            matrix = load_library().RMinHash.digest_matrix_from_token_sets(
                [sets[i] for i in rows], num_perm=config.num_perm, seed=config.seed
            )
            sigs[rows] = np.asarray(matrix.to_rows(), np.uint32)
        return sigs
    return _digest([shingle_codes(t, config.shingle) for t in texts], config)


def _digest(codes: list[np.ndarray], config: MinHashConfig) -> np.ndarray:
    """Signatures of shingle codes, at most MAX_CALL_CODES codes per call to rensa. A
    longer document is signed in pieces: the signature of a union is the slot-wise
    minimum of the pieces' signatures (``tests/test_dedup.py`` checks it on real text)."""
    rensa = load_library()
    sigs = np.full((len(codes), config.num_perm), EMPTY, np.uint32)
    rows: list[int] = []
    pieces: list[np.ndarray] = []
    size = 0

    def flush() -> None:
        nonlocal rows, pieces, size
        if not pieces:
            return
        offsets = np.zeros(len(pieces) + 1, np.uint64)
        np.cumsum([len(p) for p in pieces], out=offsets[1:])
        matrix = rensa.RMinHash.digest_matrix_from_flat_token_hashes(
            np.concatenate(pieces), offsets, num_perm=config.num_perm, seed=config.seed
        )
        np.minimum.at(sigs, rows, np.asarray(matrix.to_rows(), np.uint32))
        rows, pieces, size = [], [], 0

    for i, doc in enumerate(codes):
        for start in range(0, len(doc), MAX_CALL_CODES):
            piece = doc[start : start + MAX_CALL_CODES]
            if size + len(piece) > MAX_CALL_CODES:
                flush()
            rows.append(i)
            pieces.append(piece)
            size += len(piece)
    flush()
    return sigs


def signed(sigs: np.ndarray) -> np.ndarray:
    """Which rows are real signatures (a text with at least one shingle)."""
    return (sigs != EMPTY).any(axis=1)


def band_keys(sigs: np.ndarray, config: MinHashConfig = DEFAULT_CONFIG) -> np.ndarray:
    """``(n, bands)`` int64 keys: each band's ``rows`` values folded into 64 bits.

    The values are already the library's hashes, uniform and independent, so pairs of
    them are joined into 64-bit words and the words XORed: equal bands give equal keys,
    and unequal bands collide with probability 2**-64 (a collision only adds a candidate,
    which the similarity check then rejects). Keys of different bands are never compared.
    """
    n = sigs.shape[0]
    width = config.rows + config.rows % 2
    used = np.zeros((n, config.bands, width), np.uint64)
    used[:, :, : config.rows] = sigs[:, : config.bands * config.rows].reshape(
        n, config.bands, config.rows
    )
    words = (used[:, :, 0::2] << np.uint64(32)) | used[:, :, 1::2]
    return np.bitwise_xor.reduce(words, axis=2).view(np.int64)


def similarity(a: np.ndarray, b: np.ndarray) -> float | np.ndarray:
    """Estimated Jaccard similarity: the share of equal signature values (``b`` may be a
    matrix of signatures, then one value per row)."""
    return np.mean(a == b, axis=-1)


def jaccard(a: Sequence[str], b: Sequence[str]) -> float:
    """Exact Jaccard similarity of two shingle lists (for measurements and tests)."""
    sa, sb = set(a), set(b)
    if not sa and not sb:
        return 1.0
    return len(sa & sb) / len(sa | sb)
