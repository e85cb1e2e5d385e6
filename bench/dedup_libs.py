"""Which MinHash library signs Chinese text: speed, memory, determinism, estimation error.

Candidates (all pinned in the measurement's environment, see the README):
rensa (R-MinHash and C-MinHash, Rust), datasketch (NumPy, SHA-1 by default; with
xxhash as its hash too), gaoya (Rust, shingles the text itself).

Texts: ``--text FILE`` (one document per line, e.g. a local corpus that may not be copied
into the repository), else the repository's own (seeds, dev gold, class gold). Accuracy:
each text against an edited copy of itself (1-40% of its characters replaced by other
characters of the corpus), exact Jaccard of the character shingle sets against each
library's estimate. Determinism: the signatures of the same texts in two fresh processes
(different PYTHONHASHSEED) must be equal.

    .venv/bin/python bench/dedup_libs.py [--text FILE] [--shingle 3] [--perm 128]

rensa is the project's; the others are not its dependencies. Install them to compare
(a library that is not installed is skipped):

    .venv/bin/pip install datasketch==2.0.0 gaoya==0.2.2 xxhash==4.1.0
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from zhclean.dedup.minhash import canonical, jaccard, shingles  # noqa: E402


def repository_texts() -> list[str]:
    out = []
    for path in sorted((REPO / "seeds").glob("*.txt")):
        out.append(path.read_text(encoding="utf-8"))
    for path in sorted((REPO / "evals" / "data").rglob("*.gold.txt")):
        out.append(path.read_text(encoding="utf-8"))
    return [t for t in out if len(canonical(t)) >= 50]


def load_texts(path: str | None) -> list[str]:
    if path is None:
        return repository_texts()
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [t for t in lines if len(canonical(t)) >= 50]


# -- the candidates: texts -> (n, perm) signature matrix ---------------------------------


def sign_rensa_r(sets, perm, seed=20):
    import rensa

    return np.asarray(
        rensa.RMinHash.digest_matrix_from_token_sets(sets, num_perm=perm, seed=seed).to_rows(),
        np.uint32,
    )


def sign_rensa_c(sets, perm, seed=20):
    import rensa

    return np.asarray(rensa.CMinHash.digests_from_token_sets(sets, num_perm=perm, seed=seed))


def sign_datasketch(sets, perm, seed=1):
    from datasketch import MinHash

    encoded = [[s.encode("utf-8") for s in set_] for set_ in sets]
    return np.stack([m.hashvalues for m in MinHash.bulk(encoded, num_perm=perm, seed=seed)])


def sign_datasketch_xx(sets, perm, seed=1):
    import xxhash
    from datasketch import MinHash

    encoded = [[s.encode("utf-8") for s in set_] for set_ in sets]
    return np.stack(
        [
            m.hashvalues
            for m in MinHash.bulk(
                encoded, num_perm=perm, seed=seed, hashfunc=xxhash.xxh32_intdigest
            )
        ]
    )


def sign_gaoya(texts, perm, k):
    from gaoya.gaoya import minhash as m

    index = m.MinHash32StringIntIndexVec(0.5, perm, 1, None, "char", False, (k, k))
    return np.asarray([index.tokenize_and_minhash(canonical(t)) for t in texts], np.uint64)


def sign_rensa_codes(texts, perm, k):
    """What zhclean does: exact shingle codes built with NumPy, rensa's flat-buffer API."""
    from zhclean.dedup.minhash import MinHashConfig, signatures

    return signatures(texts, MinHashConfig(shingle=k, num_perm=perm, bands=1, rows=1))


LIBS = {
    "rensa-R (zhclean: NumPy shingle codes)": None,
    "rensa-R": sign_rensa_r,
    "rensa-C": sign_rensa_c,
    "datasketch": sign_datasketch,
    "datasketch+xxh32": sign_datasketch_xx,
    "gaoya": None,  # shingles the text itself
}


def sign(lib: str, texts: list[str], perm: int, k: int) -> np.ndarray:
    if lib == "gaoya":
        return sign_gaoya(texts, perm, k)
    if lib.startswith("rensa-R (zhclean"):
        return sign_rensa_codes(texts, perm, k)
    return LIBS[lib]([shingles(t, k) for t in texts], perm)


def edit(text: str, share: float, rng: random.Random, alphabet: str) -> str:
    chars = list(canonical(text))
    for i in rng.sample(range(len(chars)), max(1, int(share * len(chars)))):
        chars[i] = rng.choice(alphabet)
    return "".join(chars)


def determinism_digest(lib: str, texts: list[str], perm: int, k: int) -> str:
    return hashlib.sha256(sign(lib, texts, perm, k).astype(np.uint64).tobytes()).hexdigest()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--text", help="one document per line (default: the repository's texts)")
    ap.add_argument("--shingle", type=int, default=3)
    ap.add_argument("--perm", type=int, default=128)
    ap.add_argument("--libs", nargs="*", default=list(LIBS))
    ap.add_argument("--digest", help=argparse.SUPPRESS)  # child: print one library's digest
    args = ap.parse_args(argv)
    texts = load_texts(args.text)
    if args.digest:
        print(determinism_digest(args.digest, texts[:200], args.perm, args.shingle))
        return
    chars = sum(len(t) for t in texts)
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    print(
        f"{len(texts)} texts, {chars} characters, {mb:.2f} MB; shingle {args.shingle}, {args.perm} perms"
    )
    rng = random.Random(7)
    alphabet = "".join(sorted(set("".join(canonical(t) for t in texts[:200]))))
    shares = (0.01, 0.02, 0.05, 0.1, 0.2, 0.4)
    pairs = [(t, edit(t, rng.choice(shares), rng, alphabet)) for t in texts[:600]]
    exact = np.array(
        [jaccard(shingles(a, args.shingle), shingles(b, args.shingle)) for a, b in pairs]
    )
    rows = []
    for lib in args.libs:
        t0 = time.process_time()
        try:
            sigs = sign(lib, texts, args.perm, args.shingle)
        except ImportError as err:
            print(json.dumps({"library": lib, "skipped": str(err)}))
            continue
        seconds = time.process_time() - t0
        left = sign(lib, [a for a, _ in pairs], args.perm, args.shingle)
        right = sign(lib, [b for _, b in pairs], args.perm, args.shingle)
        est = np.mean(left == right, axis=1)
        err = est - exact
        digests = {
            subprocess.run(
                [sys.executable, __file__, "--digest", lib, "--perm", str(args.perm),
                 "--shingle", str(args.shingle), *(["--text", args.text] if args.text else [])],
                capture_output=True, text=True, check=True,
                env={**os.environ, "PYTHONHASHSEED": str(seed)},
            ).stdout.strip()
            for seed in (1, 2)
        }  # fmt: skip
        rows.append(
            {
                "library": lib,
                "cpu_s": round(seconds, 3),
                "ms_per_mb": round(1000 * seconds / mb, 1),
                "bytes_per_signature": int(sigs.dtype.itemsize * args.perm),
                "mae": round(float(np.abs(err).mean()), 4),
                "bias": round(float(err.mean()), 4),
                "max_abs_err": round(float(np.abs(err).max()), 4),
                "share_err_over_0.1": round(float((np.abs(err) > 0.1).mean()), 4),
                "deterministic": len(digests) == 1,
            }
        )
        print(json.dumps(rows[-1]))


if __name__ == "__main__":
    main()
