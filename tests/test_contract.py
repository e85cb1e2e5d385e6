"""The contract: pandera models are the truth; Arrow schemas, versions and docs follow."""

from __future__ import annotations

import pyarrow.parquet as pq

from zhclean.contract.__main__ import generated
from zhclean.contract.arrow import ARROW_SCHEMAS
from zhclean.contract.introspect import arrow_mismatches, fingerprint
from zhclean.contract.versions import CONTRACT_FINGERPRINTS, SCHEMA_VERSIONS
from zhclean.writers.parquet import ParquetPartWriter


def test_arrow_schemas_agree_with_pandera_models():
    for name in ARROW_SCHEMAS:
        assert arrow_mismatches(name) == [], name


def test_contract_change_requires_version_bump():
    for name in ARROW_SCHEMAS:
        assert fingerprint(name) == CONTRACT_FINGERPRINTS[name], (
            f"the {name} contract changed: bump SCHEMA_VERSIONS[{name!r}] "
            f"(now {SCHEMA_VERSIONS[name]}) and record fingerprint {fingerprint(name)}"
        )


def test_generated_contract_files_are_up_to_date():
    for path, text in generated().items():
        assert path.exists() and path.read_text(encoding="utf-8") == text, (
            f"{path} is stale: run `python -m zhclean.contract`"
        )


def test_top_level_schemas_reexports_the_package_contract():
    import schemas
    from zhclean import contract

    assert schemas.MODELS is contract.MODELS and schemas.ARROW_SCHEMAS is contract.ARROW_SCHEMAS


def test_parquet_files_carry_the_schema_version(tmp_path):
    for name, schema in ARROW_SCHEMAS.items():
        writer = ParquetPartWriter(tmp_path / f"{name}.parquet", schema)
        writer.write_table(schema.empty_table())
        assert writer.close() is None  # no rows, no file
        pq.write_table(schema.empty_table(), tmp_path / f"{name}.parquet")
        meta = pq.read_schema(tmp_path / f"{name}.parquet").metadata
        assert meta[b"zhclean.schema_version"] == str(SCHEMA_VERSIONS[name]).encode()
        assert meta[b"zhclean.dataset"] == name.encode()
