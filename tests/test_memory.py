"""A worker's memory is bounded by bytes: a per-document cap and batches bounded by input
bytes (``--max-doc-mb``), checked under a real address-space limit."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, SEEDS
from zhclean.core.params import RunParams
from zhclean.core.record import Document, SourceRef
from zhclean.core.step import Pipeline
from zhclean.readers.files import list_sources
from zhclean.run.pipeline import build_pipeline

MIB = 1 << 20
# The address-space limit of the test: about 450 MB more than the measured peak RSS with
# a document at the cap (VmSize runs ~300 MB above RSS: shared libraries, thread stacks).
# 1.2 GB was enough before near-duplicate detection; its library (rensa) maps its
# allocator's first 32 MiB segment in every worker that signs documents (README, Memory).
RLIMIT_AS_BYTES = 1250 * MIB
NEAR_CAP = 8_000_000  # bytes: a document just under the default cap of 8 MiB


def _prose_file(path: Path, size: int) -> None:
    paragraphs = [
        p
        for seed in sorted(SEEDS.glob("*.txt"))
        for p in seed.read_text(encoding="utf-8").split("\n")
        if len(p) > 80
    ]
    block = "\n".join(f"{p}（第{i}段）" for i, p in enumerate(paragraphs)).encode("utf-8")
    data = b"\xe6\xa0\x87\xe9\xa2\x98\n" + block * (size // len(block) + 1)  # "标题\n" + prose
    path.write_bytes(data[:size].decode("utf-8", "ignore").encode("utf-8"))


def test_batches_are_bounded_by_input_bytes():
    params = RunParams(max_doc_mb=1)
    assert build_pipeline(params, tokenize=False, validate=False).batch_bytes == MIB
    sizes = [300_000, 300_000, 300_000, 300_000, 5 * MIB, 10, 900_000, 200_000]
    docs = [Document.from_ref(SourceRef(f"/x/{i}", f"{i}.txt", n)) for i, n in enumerate(sizes)]
    batches = list(Pipeline([], batch_docs=500, batch_bytes=MIB).batches(docs))
    assert [[d.ref.size for d in b] for b in batches] == [
        [300_000, 300_000, 300_000],  # a fourth would take the batch over 1 MiB
        [300_000],
        [5 * MIB],  # larger than a batch: alone (it is quarantined unread anyway)
        [10, 900_000],
        [200_000],
    ]


def test_a_file_over_the_cap_is_quarantined_unread(tmp_path):
    (tmp_path / "big.txt").write_bytes(b"x" * (2 * MIB))
    (ref,) = list_sources(tmp_path)
    doc = Document.from_ref(ref)
    params = RunParams(input_dir=str(tmp_path), max_doc_mb=1)
    build_pipeline(params, tokenize=False, validate=False).step("read").run([doc])
    assert (doc.rejection.stage, doc.rejection.check) == ("read", "too_large")
    assert doc.rejection.reason == (
        "file is 2,097,152 bytes, over the 1 MB per-document limit (--max-doc-mb) that bounds "
        "a worker's memory; not read"
    )
    assert doc.raw_text == "" and doc.raw_bytes == 0


_CHILD = """
import json, resource, sys
limit = int(sys.argv[3])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from zhclean.core.params import RunParams
from zhclean.run import run_local
report = run_local(RunParams(input_dir=sys.argv[1], output_dir=sys.argv[2],
                             max_quarantine_fraction=0.5, workers=1))
print(json.dumps({"status": report["status"], "counts": report["counts"],
                  "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}))
"""


@pytest.mark.slow
def test_a_run_completes_under_an_address_space_limit(tmp_path):
    """A 50 MB file, a document just under the cap and normal documents, in one process
    limited to 1.25 GB of address space: the big file is quarantined unread, the rest is
    published. (Before the cap, the 50 MB file was read and the run died of MemoryError.)"""
    import pyarrow.dataset as ds

    inp = tmp_path / "in"
    inp.mkdir()
    _prose_file(inp / "big_50mb.txt", 50_000_000)
    _prose_file(inp / "near_cap.txt", NEAR_CAP)
    for seed in SEEDS.glob("*.txt"):
        shutil.copy(seed, inp / seed.name)
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(inp), str(out), str(RLIMIT_AS_BYTES)],
        capture_output=True, text=True, cwd=REPO, timeout=1200,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["status"] == "published", result
    quarantine = ds.dataset(out / "quarantine", format="parquet").to_table().to_pylist()
    assert [(q["source"], q["stage"], q["check"]) for q in quarantine] == [
        ("big_50mb.txt", "read", "too_large")
    ]
    assert "per-document limit (--max-doc-mb)" in quarantine[0]["reason"]
    assert quarantine[0]["size_bytes"] > 49_000_000
    published = ds.dataset(out / "documents", format="parquet").to_table(columns=["source"])
    assert sorted(published.column("source").to_pylist()) == sorted(
        ["near_cap.txt", *(p.name for p in SEEDS.glob("*.txt"))]
    )
    assert RunParams().max_doc_bytes > NEAR_CAP
    print("peak RSS of the run under RLIMIT_AS:", result["maxrss_mb"], "MB")
    assert result["maxrss_mb"] < RLIMIT_AS_BYTES / MIB
