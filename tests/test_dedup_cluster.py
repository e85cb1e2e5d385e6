"""Near-duplicates on object storage (moto's S3 server) with the shards on a Dask cluster.

The index must travel with the version on S3 (the pointer lists it) and the reduce must
find the signatures the Dask workers staged there: a run links copies, an incremental run
adds one to the same representative, a changed representative hands its role over in the
same commit, and drop mode publishes only representatives.
"""

from __future__ import annotations

import json
from dataclasses import replace

import fsspec
import pytest

from tests.cluster import create_bucket, dask_cluster, worker_env
from tests.conftest import SEEDS, copy_tree
from tests.flowutil import read, run_flow

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.cluster, pytest.mark.slow]
BUCKET = "zhclean-dedup"
SEED = "000_19a07147e699225f.txt"


@pytest.fixture(scope="module")
def s3(s3_server):
    """The session's moto S3 endpoint (zhclean's and s3fs's clients keep the endpoint
    they were made with: one server for every module), with this module's bucket."""
    create_bucket(BUCKET)
    return s3_server


def _links(root: str) -> dict[str, tuple[str, str | None]]:
    rows = read(root, "documents").select(["source", "doc_id", "duplicate_of"]).to_pylist()
    return {r["source"]: (r["doc_id"], r["duplicate_of"]) for r in rows}


def test_dedup_on_s3_with_dask_workers(s3, tmp_path):
    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    inp, out = f"s3://{BUCKET}/in", f"s3://{BUCKET}/out"
    seed = (SEEDS / SEED).read_text(encoding="utf-8")
    for path in SEEDS.glob("*.txt"):
        fs.pipe_file(f"{inp}/{path.name}", path.read_bytes())
    fs.pipe_file(f"{inp}/site-b/{SEED}", seed.replace("委", "会", 2).encode())  # a reprint
    envs = [worker_env(tmp_path / f"home{i}") for i in range(2)]
    with dask_cluster(tmp_path / "dask", envs) as cluster:
        first = run_flow(inp, out, dask_address=cluster.address)
        assert first.is_completed(), first.message
        links = _links(out)
        pair = [SEED, f"site-b/{SEED}"]
        first_copy, other = sorted(pair, key=lambda src: links[src][0])  # ties: smaller doc_id
        rep = links[first_copy][0]
        assert links[first_copy][1] is None and links[other][1] == rep
        pointer = json.loads(fs.cat_file(f"{out}/_current.json"))
        assert pointer["datasets"]["_dedup"], "the index is part of the published version"

        # a third copy, incremental: linked to the same representative, nothing else moves
        fs.pipe_file(f"{inp}/site-c/{SEED}", seed.replace("委", "会", 3).encode())
        second = run_flow(inp, out, dask_address=cluster.address).result()
        assert second["dedup"]["new_copies"] == 1
        after = _links(out)
        assert after[f"site-c/{SEED}"][1] == rep
        assert {s: after[s] for s in links} == links

        # the representative's source changes: the next copy takes the role, same commit
        rep_text = fs.cat_file(f"{inp}/{first_copy}").decode()
        fs.pipe_file(f"{inp}/{first_copy}", (rep_text + "\n后来补充的一段说明。").encode())
        third = run_flow(inp, out, dask_address=cluster.address).result()
        assert third["dedup"]["handovers"] == 1
        after = _links(out)
        heir = links[other][0]  # published before site-c's copy
        assert after[other][1] is None
        assert after[f"site-c/{SEED}"][1] == heir and after[first_copy][1] == heir

        # drop mode (a full refresh: the mode changes): only representatives published
        dropped = run_flow(
            inp, out, dask_address=cluster.address, dedup="drop", full_refresh=True
        ).result()
        assert dropped["counts"]["duplicates"] == 2 and dropped["accounting"]["balanced"]
        published = _links(out)
        assert len(published) == 5 and all(dup is None for _, dup in published.values())
        dups = read(out, "duplicates").to_pylist()
        assert {d["source"] for d in dups} == {first_copy, f"site-c/{SEED}"}
        assert {d["duplicate_of"] for d in dups} == {heir}


def test_a_version_abandoned_on_s3_keeps_the_published_index(s3, tmp_path):
    """A version that fails its dataset checks is abandoned: the reduce deletes what it
    wrote. On object storage the index parts it carried are the published version's own
    objects (nothing is copied there); deleting them too left the pointer naming files
    that no longer exist, and every later run stopped at a damaged output."""
    from zhclean.core.params import RunParams
    from zhclean.run.context import make_run_id
    from zhclean.run.dedup_publish import Reduce
    from zhclean.run.local import run_local
    from zhclean.run.store import open_store

    inp = copy_tree(SEEDS, tmp_path / "in")
    (inp / "site-b").mkdir()
    seed = (SEEDS / SEED).read_text(encoding="utf-8")
    (inp / "site-b" / SEED).write_text(seed.replace("委", "会", 2), encoding="utf-8")
    out = f"s3://{BUCKET}/abandoned"
    params = RunParams(input_dir=str(inp), output_dir=out, workers=1)
    assert run_local(params)["status"] == "published"
    store = open_store(out)
    base = store.current_manifest()
    assert base.files["_dedup"]

    # the next version's reduce (nothing new: every index part is carried), abandoned
    # as publish_run abandons it when a dataset check fails
    run_id = make_run_id()
    reduce = Reduce(store, run_id, params, base)
    staged, outcomes = reduce.before_snapshot({}, [], [])
    manifest = store.build_snapshot(run_id, staged, outcomes, False, **reduce.snapshot_extras())
    reduce.after_snapshot(manifest)
    assert manifest.files["_dedup"] == base.files["_dedup"]  # referred to where they are
    reduce.abandon()

    fs = fsspec.filesystem("s3", skip_instance_cache=True, use_listings_cache=False)
    pointer = json.loads(fs.cat_file(f"{out}/_current.json"))
    for names in pointer["datasets"].values():
        for name in names:
            assert fs.exists(f"{out}/{name}"), name
    assert run_local(params)["status"] == "nothing_to_do"


def test_cleanup_on_s3_keeps_the_index_parts_the_pointer_refers_to(s3, tmp_path):
    """On object storage an index part is carried by reference from version to version:
    the current pointer may name a part in the folder of a run whose version is no
    longer kept. The cleanup of later runs deletes that folder's other files (its
    manifest) but never a part the pointer names."""
    from zhclean.core.params import RunParams
    from zhclean.run.local import run_local
    from zhclean.run.store import KEEP_SNAPSHOTS, open_store

    inp = copy_tree(SEEDS, tmp_path / "in")
    seed = (SEEDS / SEED).read_text(encoding="utf-8")
    (inp / "site-b").mkdir()
    (inp / "site-b" / SEED).write_text(seed.replace("委", "会", 2), encoding="utf-8")
    out = f"s3://{BUCKET}/kept-index"
    params = RunParams(input_dir=str(inp), output_dir=out, workers=1)
    assert run_local(params)["status"] == "published"
    store = open_store(out)
    first = store.current_manifest()
    (first_part,) = first.files["_dedup"]
    # more runs than versions kept, each adding a reprint: the first part's entries do
    # not change, so every version refers to it where it is
    for i in range(KEEP_SNAPSHOTS + 1):
        site = inp / f"site-r{i}"
        site.mkdir()
        (site / SEED).write_text(seed.replace("委", "会", 3 + i), encoding="utf-8")
        report = run_local(params)
        assert report["status"] == "published" and report["dedup"]["new_copies"] == 1

    fs = fsspec.filesystem("s3", skip_instance_cache=True, use_listings_cache=False)
    pointer = json.loads(fs.cat_file(f"{out}/_current.json"))
    assert first_part in pointer["datasets"]["_dedup"]
    assert not fs.exists(f"{out}/_snapshots/{first.snapshot_id}/_manifest.json")  # cleaned
    for names in pointer["datasets"].values():
        for name in names:
            assert fs.exists(f"{out}/{name}"), name
    assert run_local(params)["status"] == "nothing_to_do"


def test_an_output_whose_index_part_is_lost_is_named_and_a_full_refresh_rebuilds_it(s3, tmp_path):
    """An index part of the current version gone (damage by hand, or by a zhclean before
    the fence): a run names it; ``--full-refresh`` rebuilds the output, index included,
    instead of failing on the part it does not need."""
    from zhclean.core.params import RunParams
    from zhclean.run.errors import UsageError
    from zhclean.run.local import run_local

    inp = copy_tree(SEEDS, tmp_path / "in")
    seed = (SEEDS / SEED).read_text(encoding="utf-8")
    (inp / "site-b").mkdir()
    (inp / "site-b" / SEED).write_text(seed.replace("委", "会", 2), encoding="utf-8")
    out = f"s3://{BUCKET}/lost-index"
    params = RunParams(input_dir=str(inp), output_dir=out, workers=1)
    assert run_local(params)["status"] == "published"
    fs = fsspec.filesystem("s3", skip_instance_cache=True, use_listings_cache=False)
    (lost,) = json.loads(fs.cat_file(f"{out}/_current.json"))["datasets"]["_dedup"]
    fs.rm(f"{out}/{lost}")

    with pytest.raises(UsageError, match="--full-refresh") as err:
        run_local(params)
    assert lost in str(err.value)

    report = run_local(replace(params, full_refresh=True))
    assert report["status"] == "published" and report["dedup"]["new_copies"] == 1
    pointer = json.loads(fs.cat_file(f"{out}/_current.json"))
    assert pointer["datasets"]["_dedup"]
    for names in pointer["datasets"].values():
        for name in names:
            assert fs.exists(f"{out}/{name}"), name
    assert sum(dup is not None for _, dup in _links(out).values()) == 1
    assert run_local(params)["status"] == "nothing_to_do"
