"""Reading inputs: every file becomes a document or a rejection with a reason."""

from __future__ import annotations

import multiprocessing
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.badinput import PROSE, build_bad_corpus
from tests.conftest import seed_text
from zhclean.core.params import RunParams
from zhclean.core.record import Document, SourceRef
from zhclean.readers.files import FileReader, list_sources
from zhclean.run.pipeline import build_pipeline


def read_document(ref: SourceRef) -> Document:
    """One source through the read step alone."""
    doc = Document.from_ref(ref)
    FileReader().run([doc])
    return doc


def test_bad_corpus_is_fully_accounted_for(tmp_path):
    expected = build_bad_corpus(tmp_path / "in")
    refs = list_sources(tmp_path / "in")
    assert {r.source for r in refs} == set(expected)
    pipeline = build_pipeline(
        RunParams(input_dir=str(tmp_path / "in")), tokenize=False, validate=False
    )
    docs = pipeline(Document.from_ref(ref) for ref in refs)
    outcomes = {}
    for doc in docs:
        outcomes[doc.source] = (
            f"{doc.rejection.stage}.{doc.rejection.check}" if doc.rejected else "published"
        )
        if doc.rejected:
            assert doc.rejection.reason
    assert outcomes == expected
    assert pipeline.step("read").stats.docs_in == len(expected)


def test_damaged_utf8_is_repaired_and_recorded(tmp_path):
    build_bad_corpus(tmp_path / "in", with_seeds=False)
    (ref,) = [r for r in list_sources(tmp_path / "in") if r.source == "damaged_utf8.txt"]
    doc = read_document(ref)
    assert doc.encoding == "utf-8"
    offset = len(seed_text("004")[:200].encode("utf-8"))
    assert doc.removed[0] == (
        "read.invalid_utf8",
        f"3 invalid byte sequence(s) replaced; first at byte {offset}",
    )


def test_legacy_encodings_are_detected(tmp_path):
    build_bad_corpus(tmp_path / "in", with_seeds=False)
    refs = {r.source: r for r in list_sources(tmp_path / "in")}
    assert read_document(refs["gb18030.txt"]).encoding == "gb18030"
    assert read_document(refs["big5.txt"]).encoding == "big5"
    assert read_document(refs["utf16.txt"]).encoding == "utf-16-le-bom"


def _read_as_nobody(path: str, queue) -> None:
    os.setgid(65534)
    os.setuid(65534)
    doc = read_document(SourceRef(path, "unreadable.txt", 0))
    queue.put((doc.rejection.check, doc.rejection.reason) if doc.rejected else None)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch to an unprivileged user")
def test_permission_denied_is_a_clear_rejection(tmp_path):
    os.chmod(tmp_path, 0o755)
    target = tmp_path / "unreadable.txt"
    target.write_text("内容", encoding="utf-8")
    target.chmod(0)
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_read_as_nobody, args=(str(target), queue))
    proc.start()
    proc.join(60)
    assert queue.get(timeout=5) == ("unreadable", "cannot read file: Permission denied")


def test_source_ids_are_relative_posix_paths(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "文档 1.txt").write_text("内容。", encoding="utf-8")
    (tmp_path / ".hidden.txt").write_text("x", encoding="utf-8")
    (ref,) = list_sources(tmp_path)
    assert ref.source == "a/b/文档 1.txt" and ref.group == "a/b"


def test_nothing_outside_the_input_folder_is_read_unless_asked(tmp_path):
    build_bad_corpus(tmp_path / "in", with_seeds=False)
    refs = {r.source: r for r in list_sources(tmp_path / "in")}
    root = str(tmp_path / "in")
    for name in ("creds.txt", "linked_folder", "zero.txt"):
        doc = Document.from_ref(refs[name])
        FileReader(root).run([doc])
        assert (doc.rejection.check, doc.raw_text) == ("outside_input_root", "")
        assert "outside the input folder" in doc.rejection.reason
    # --follow-symlinks: the link is followed, and the device still refused (without hanging)
    followed = {
        name: Document.from_ref(refs[name]) for name in ("creds.txt", "linked_folder", "zero.txt")
    }
    FileReader(root, follow_symlinks=True).run(list(followed.values()))
    assert not followed["creds.txt"].rejected and "FAKE" in followed["creds.txt"].raw_text
    assert followed["linked_folder"].rejection.reason == (
        "linked_folder is a folder (linked folders are not walked into), not a regular file"
    )
    assert (
        followed["zero.txt"].rejection.reason
        == "zero.txt is a character device, not a regular file"
    )


def test_a_fifo_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "p.txt")
    (ref,) = list_sources(tmp_path)
    doc = read_document(ref)  # opening a FIFO for reading would wait for a writer forever
    assert (doc.rejection.check, doc.rejection.reason) == (
        "not_a_regular_file",
        "p.txt is a FIFO (named pipe), not a regular file",
    )


def test_a_name_that_is_not_utf8_gets_a_stable_lossless_source(tmp_path):
    raw = b"\xff\xe6\x96\xb0.txt"
    (tmp_path / os.fsdecode(raw)).write_text(PROSE, encoding="utf-8")
    (ref,) = list_sources(tmp_path)
    assert ref.source == "\\xff新.txt"
    assert ref.source.encode("utf-8")  # valid UTF-8, unlike the name itself
    assert ref.source.encode().decode("unicode_escape").encode("latin-1").startswith(b"\xff")
    doc = read_document(ref)
    assert not doc.rejected and doc.doc_id == read_document(list_sources(tmp_path)[0]).doc_id


def test_names_that_escaping_would_confuse_get_distinct_lossless_ids(tmp_path):
    """Issue 17: a file literally named ``\\xff.txt`` and one named with the byte 0xff
    both got the id ``\\xff.txt``; the run stopped with a traceback and no report."""
    from zhclean.readers.files import source_name_bytes
    from zhclean.run import run_local

    inp = tmp_path / "in"
    inp.mkdir()
    names = [b"\\xff.txt", b"\xff.txt", b"a\\b.txt", b"\\\\.txt"]
    for i, name in enumerate(names):
        (inp / os.fsdecode(name)).write_text(f"{PROSE}\n第{i}篇。", encoding="utf-8")
    refs = list_sources(inp)
    assert sorted(r.source for r in refs) == sorted(
        ["\\\\xff.txt", "\\xff.txt", "a\\\\b.txt", "\\\\\\\\.txt"]
    )
    assert {source_name_bytes(r.source) for r in refs} == set(names)
    report = run_local(RunParams(input_dir=str(inp), output_dir=str(tmp_path / "out")))
    assert report["status"] == "published" and report["counts"]["published"] == 4


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=8), min_size=1, max_size=6))
def test_source_ids_are_one_to_one_and_give_back_the_name(parts):
    from zhclean.readers.files import source_id, source_name_bytes

    names = {b"/".join(p.replace(b"/", b"_").replace(b"\0", b"_") for p in parts)}
    names.add(names.copy().pop().replace(b"\\", b"\\\\"))
    ids = {source_id(os.fsdecode(name)): name for name in names}
    assert len(ids) == len(names)  # one to one
    for source, name in ids.items():
        source.encode("utf-8")  # valid UTF-8
        assert source_name_bytes(source) == name


def test_a_dangling_link_is_quarantined_not_missing(tmp_path):
    """Issue 17: a link to nothing was counted as a source deleted during the run."""
    os.symlink("nothing_there.txt", tmp_path / "dangling.txt")
    (ref,) = list_sources(tmp_path)
    doc = read_document(ref)
    assert (doc.rejection.check, doc.rejection.reason) == (
        "dangling_symlink",
        "dangling.txt is a symbolic link to 'nothing_there.txt', which does not exist",
    )
    from zhclean.run import run_local

    out = tmp_path.parent / f"{tmp_path.name}-out"
    report = run_local(RunParams(input_dir=str(tmp_path), output_dir=str(out),
                                 max_quarantine_fraction=1.0))  # fmt: skip
    counts = report["counts"]
    assert (counts["quarantined"], counts["missing"]) == (1, 0)
