"""What is in quarantine now: the log's current view, on a disk and on object storage;
and a run that published nothing says what it would have published."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cluster import AWS_ENV, moto_s3
from tests.conftest import SEEDS, copy_tree
from tests.flowutil import zhclean_cli
from zhclean.core.params import RunParams
from zhclean.run import render_markdown, run_local, summary_lines
from zhclean.run.datasets import current_quarantine, open_dataset

PNG = b"\x89PNG\r\n\x1a\n\x00" + bytes(range(256)) * 4
BAD = {  # five inputs that each end in quarantine, and the check that puts them there
    "bad/image1.png": (PNG, "read.binary_file"),
    "bad/image2.png": (PNG + b"2", "read.binary_file"),
    "bad/empty.txt": (b"", "read.empty_file"),
    "bad/whitespace.txt": (b" \n\t\n  \n", "normalize.empty_text"),
    "bad/emoji.txt": ("😀😀🎉\n👍 ❤️ ✨✨\n".encode(), "normalize.no_words"),
}


def _view(root: str) -> dict[str, tuple[str, str]]:
    """source -> (check, run_id) of the current view."""
    rows = open_dataset(root, "quarantine", current=True).to_table().to_pylist()
    assert [r["source"] for r in rows] == sorted({r["source"] for r in rows})  # one per source
    assert rows == current_quarantine(root).to_pylist()
    return {r["source"]: (f"{r['stage']}.{r['check']}", r["run_id"]) for r in rows}


def _scenario(inp: str, out: str, put: Callable[[str, bytes], None], delete: Callable[[str], None]):
    for seed in sorted(SEEDS.glob("*.txt")):
        put(seed.name, seed.read_bytes())
    for name, (data, _) in BAD.items():
        put(name, data)

    def run(**extra) -> dict:
        return run_local(RunParams(input_dir=inp, output_dir=out, workers=1, **extra))

    blocked = run()  # 5 of 10 quarantined: blocked by the gate
    assert blocked["status"] == "blocked_by_gate"
    assert _view(out) == {n: (check, blocked["run_id"]) for n, (_, check) in BAD.items()}
    c = blocked["counts"]
    assert (c["published"], c["would_have_published"], c["quarantined"]) == (0, 5, 5)

    again = run(max_quarantine_fraction=0.6)  # the re-run: 10 rows in the log for 5 files
    assert again["status"] == "published" and again["counts"]["published"] == 5
    assert open_dataset(out, "quarantine").count_rows() == 10
    assert _view(out) == {n: (check, again["run_id"]) for n, (_, check) in BAD.items()}

    put("bad/emoji.txt", next(SEEDS.glob("002_*.txt")).read_bytes())  # fixed: published
    fixed = run(max_quarantine_fraction=0.6)
    assert (fixed["counts"]["changed"], fixed["counts"]["published"]) == (1, 1)
    now = {n: (check, again["run_id"]) for n, (_, check) in BAD.items() if n != "bad/emoji.txt"}
    assert _view(out) == now

    delete("bad/empty.txt")  # gone from the input: nothing of it is left to look at
    gone = run(max_quarantine_fraction=0.6)
    assert gone["status"] == "nothing_to_do" and gone["quarantine_gone"] == ["bad/empty.txt"]
    assert _view(out) == {n: v for n, v in now.items() if n != "bad/empty.txt"}

    put("bad/empty.txt", b"")  # back, unchanged: skipped, and in quarantine again
    back = run(max_quarantine_fraction=0.6)
    assert back["status"] == "nothing_to_do" and back["quarantine_gone"] == []
    assert _view(out) == now
    assert open_dataset(out, "quarantine").count_rows() == 10  # the log itself is unchanged
    return blocked


def test_current_view_on_a_local_output(tmp_path):
    inp, out = tmp_path / "in", tmp_path / "out"

    def put(name: str, data: bytes) -> None:
        (inp / name).parent.mkdir(parents=True, exist_ok=True)
        (inp / name).write_bytes(data)

    blocked = _scenario(str(inp), str(out), put, lambda name: (inp / name).unlink())

    # a blocked run's report: nothing was published, 5 documents would have been
    text = render_markdown(blocked)
    assert "would have published 5 documents (nothing was published: blocked_by_gate)" in text
    assert not re.search(r"(^|[-=] )published \d", text, re.M), text
    assert "written 0" in summary_lines(blocked)[1]

    # the command
    proc = zhclean_cli("quarantine", "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    head, *lines = proc.stdout.splitlines()
    assert head.startswith(f"4 sources in quarantine now under {out} (10 rows in the log")
    assert [line.split()[:2] for line in lines] == [
        ["bad/empty.txt", "read.empty_file"], ["bad/image1.png", "read.binary_file"],
        ["bad/image2.png", "read.binary_file"], ["bad/whitespace.txt", "normalize.empty_text"],
    ]  # fmt: skip
    as_json = zhclean_cli("quarantine", "--output", str(out), "--json")
    rows = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [r["source"] for r in rows] == [line.split()[0] for line in lines]
    missing = zhclean_cli("quarantine", "--output", str(tmp_path / "nothing"))
    assert missing.returncode == 1 and missing.stderr.startswith("zhclean: nothing has been")


@pytest.fixture
def s3(tmp_path):
    import boto3

    from zhclean.core.location import _remote_fs

    saved = {k: os.environ.get(k) for k in (*AWS_ENV, "AWS_ENDPOINT_URL")}
    with moto_s3(tmp_path / "moto.log") as url:
        os.environ.update(AWS_ENV, AWS_ENDPOINT_URL=url)
        # zhclean keeps one filesystem per scheme and process, bound to the endpoint it
        # was made with: another test's moto server (gone now) may have made it
        _remote_fs.cache_clear()
        try:
            boto3.client("s3").create_bucket(Bucket="zhclean-quarantine")
            yield "s3://zhclean-quarantine"
        finally:
            _remote_fs.cache_clear()
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


@pytest.mark.cluster
@pytest.mark.slow
def test_current_view_on_object_storage(s3):
    import fsspec

    fs = fsspec.filesystem("s3", skip_instance_cache=True, use_listings_cache=False)
    inp, out = f"{s3}/in", f"{s3}/out"
    _scenario(
        inp, out, lambda name, data: fs.pipe_file(f"{inp}/{name}", data),
        lambda name: fs.rm(f"{inp}/{name}"),
    )  # fmt: skip


@pytest.mark.usefixtures("prefect_harness")
def test_a_blocked_run_says_what_it_would_have_published(tmp_path, harness_api):
    """The log and the report of a blocked run never say it published anything."""
    inp = copy_tree(SEEDS, tmp_path / "in")
    for name, (data, _) in BAD.items():
        (inp / Path(name).name).write_bytes(data)
    out = tmp_path / "out"
    proc = zhclean_cli("run", "--input", str(inp), "--output", str(out), "--workers", "1",
                       env={"PREFECT_API_URL": harness_api})  # fmt: skip
    assert proc.returncode == 3, proc.stdout + proc.stderr
    said = proc.stdout + proc.stderr
    assert "shard 1/1 done: 10 docs (5 passed, 5 quarantined)" in said
    assert not re.search(r"\d+ published|published \d+", said), said
    report = zhclean_cli("report", "--output", str(out)).stdout
    assert "- would have published 5 documents (nothing was published: blocked_by_gate)" in report
    assert "accounting: inputs 10 = would have published 5 + quarantined 5" in report
