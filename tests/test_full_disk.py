"""A full disk under the output: the run fails with a report, published data stays
readable and unchanged, nothing half-written is visible, and the next run recovers.

Needs a small filesystem that can really fill up: a tmpfs mounted by the test (as root).
Where that is not possible the test is skipped and says why.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess

import pandas as pd
import pytest

from tests.conftest import SEEDS
from tests.flowutil import published_rows, read, run_flow

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.slow]


def _incompressible_corpus(root, n_docs: int):
    """Distinct prose-shaped documents of random common characters: Parquet cannot
    squeeze them the way it squeezes copies of the seeds."""
    chars = sorted(
        {
            c
            for p in SEEDS.glob("*.txt")
            for c in p.read_text(encoding="utf-8")
            if "\u4e00" <= c <= "\u9fff"
        }
    )
    rng = random.Random(7)
    root.mkdir(parents=True)
    for i in range(n_docs):
        paragraphs = [
            "".join("".join(rng.choices(chars, k=rng.randint(15, 40))) + "。" for _ in range(8))
            for _ in range(10)
        ]
        (root / f"doc{i:04d}.txt").write_text("\n".join(paragraphs), encoding="utf-8")
    return root


@pytest.fixture
def small_disk(tmp_path):
    """A 1.5 MB tmpfs; yields its mount point and a function that enlarges it."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root and mount(8); run as root to test a full disk")
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1536k", "tmpfs", str(mount_point)],
                          capture_output=True, text=True)  # fmt: skip
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")

    def grow(size: str) -> None:
        subprocess.run(["mount", "-o", f"remount,size={size}", str(mount_point)], check=True)

    try:
        yield mount_point, grow
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_a_full_disk_fails_the_run_and_loses_nothing(small_disk, tmp_path):
    disk, grow = small_disk
    out = disk / "out"
    assert run_flow(SEEDS, out).is_completed()  # fits: about 0.3 MB
    before = published_rows(out)

    big = _incompressible_corpus(tmp_path / "big", 200)  # several times what the disk holds
    state = run_flow(big, out, full_refresh=True)
    assert state.is_failed()
    assert "No space left on device" in (state.message or "")

    # what was published is still there, whole, and every dataset reads as before
    assert published_rows(out) == before
    for name in ("documents", "sentences", "quarantine"):
        pd.read_parquet(out / name)
    visible = [p for p in out.rglob("*") if p.is_file() and not p.name.startswith(".")]
    assert all(p.suffix in (".parquet", ".json", ".lock") for p in visible), visible

    grow("64m")  # space again: the next run cleans up and publishes the whole input
    again = run_flow(big, out, full_refresh=True)
    assert again.is_completed(), again.message
    assert read(out, "documents").num_rows == 200
    assert not [p for p in out.rglob("*") if ".tmp" in p.name]
