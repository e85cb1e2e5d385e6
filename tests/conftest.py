"""Shared fixtures: real inputs (seeds, dev pages), generated bad inputs, one Prefect harness."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from zhclean.flows.runtime import apply_prefect_defaults

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
DATA = Path(__file__).resolve().parent / "data"
# The 34 dev pages (MIT, see evals/data/webtext-dev/LICENSE) are vendored in the repo.
WEBTEXT_DEV = Path(os.environ.get("ZHCLEAN_WEBTEXT_DEV", REPO / "evals" / "data" / "webtext-dev"))

apply_prefect_defaults()


def seed_text(prefix: str) -> str:
    return next(SEEDS.glob(f"{prefix}_*.txt")).read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def webtext_dev() -> Path:
    assert (WEBTEXT_DEV / "meta.gold.jsonl").exists(), f"webtext-dev pages missing at {WEBTEXT_DEV}"
    return WEBTEXT_DEV


@pytest.fixture(scope="session")
def webtext_pages(webtext_dev: Path) -> dict[str, dict]:
    """page id -> {raw, gold, date, author}."""
    meta = {}
    for line in (webtext_dev / "meta.gold.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        meta[row["page"]] = row
    return {
        page: {
            "raw": (webtext_dev / f"{page}.txt").read_text(encoding="utf-8"),
            "gold": (webtext_dev / f"{page}.gold.txt").read_text(encoding="utf-8"),
            "date": row["date"],
            "author": row["author"],
        }
        for page, row in meta.items()
    }


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory):
    """One Prefect test server for the whole session (starting one costs 10-30 s)."""
    from prefect.testing.utilities import prefect_test_harness

    home = tmp_path_factory.mktemp("prefect-home")
    os.environ["PREFECT_HOME"] = str(home)
    with prefect_test_harness(server_startup_timeout=300):
        yield


def copy_tree(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """One moto S3 server on loopback for the session (tests/cluster.py)."""
    from tests.cluster import s3_environment

    with s3_environment(tmp_path_factory.mktemp("moto") / "moto.log") as url:
        yield url


@pytest.fixture(scope="session")
def harness_api(prefect_harness) -> str:
    """The harness server's URL, for subprocesses that should not start their own API."""
    from prefect.settings import PREFECT_API_URL

    return str(PREFECT_API_URL.value())


@pytest.fixture(scope="session")
def many_docs(tmp_path_factory) -> Path:
    """270 small real documents (two prose paragraphs of the seeds each): more than one
    validation batch in a single shard."""
    from zhclean.cleaners.quality import line_features
    from zhclean.normalizers.text import normalize_text

    paragraphs = [
        p
        for seed in sorted(SEEDS.glob("*.txt"))
        for p in normalize_text(seed.read_text(encoding="utf-8")).split("\n")
        if line_features(p).is_good and len(p) < 2000
    ]
    root = tmp_path_factory.mktemp("many")
    for i in range(270):
        first, second = paragraphs[i % len(paragraphs)], paragraphs[(i * 7 + 3) % len(paragraphs)]
        (root / f"doc_{i:04d}.txt").write_text(f"{first}\n{second}", encoding="utf-8")
    return root
