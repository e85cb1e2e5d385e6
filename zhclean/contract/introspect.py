"""Contract introspection: Arrow-vs-pandera agreement, fingerprints and the generated docs."""

from __future__ import annotations

import hashlib
import json

import pyarrow as pa

from zhclean.contract.arrow import ARROW_SCHEMAS
from zhclean.contract.models import MODELS
from zhclean.contract.versions import SCHEMA_VERSIONS

# pandera dtype (as printed) -> predicate on the Arrow type it may be written as.
_COMPATIBLE = {
    "string[pyarrow]": lambda t: pa.types.is_string(t) or pa.types.is_large_string(t),
    "str": lambda t: pa.types.is_string(t) or pa.types.is_large_string(t),
    "Int32": pa.types.is_int32,
    "Int64": pa.types.is_int64,
    "float64": pa.types.is_float64,
    "datetime64[ns]": lambda t: pa.types.is_timestamp(t) and t.tz is None,
    "datetime64[us, UTC]": lambda t: pa.types.is_timestamp(t) and t.tz == "UTC",
    "object": lambda t: pa.types.is_list(t) or pa.types.is_large_list(t),
}


def contract_columns(name: str) -> list[dict]:
    """Columns of a dataset as the pandera model defines them."""
    schema = MODELS[name].to_schema()
    columns = []
    for col_name, col in schema.columns.items():
        columns.append(
            {
                "name": col_name,
                "dtype": str(col.dtype),
                "nullable": bool(col.nullable),
                "unique": bool(col.unique),
                "checks": sorted(c.name for c in col.checks),
                "description": col.description or "",
            }
        )
    return columns


def dataset_checks(name: str) -> list[str]:
    schema = MODELS[name].to_schema()
    checks = sorted(c.name for c in schema.checks)
    if schema.unique:
        checks.append("unique(" + ", ".join(schema.unique) + ")")
    return checks


def arrow_mismatches(name: str) -> list[str]:
    """Every way the Arrow schema of ``name`` disagrees with its pandera model."""
    arrow = ARROW_SCHEMAS[name]
    columns = contract_columns(name)
    problems = []
    if [c["name"] for c in columns] != arrow.names:
        problems.append(
            f"{name}: column order/names differ: pandera {[c['name'] for c in columns]} vs arrow {arrow.names}"
        )
    for col in columns:
        if col["name"] not in arrow.names:
            continue
        field = arrow.field(col["name"])
        if field.nullable != col["nullable"]:
            problems.append(
                f"{name}.{col['name']}: nullable pandera={col['nullable']} arrow={field.nullable}"
            )
        ok = _COMPATIBLE.get(col["dtype"])
        if ok is None or not ok(field.type):
            problems.append(
                f"{name}.{col['name']}: pandera {col['dtype']} cannot be written as arrow {field.type}"
            )
    return problems


def fingerprint(name: str) -> str:
    """Hash of everything a reader relies on: columns, types, nullability, checks."""
    payload = {
        "columns": contract_columns(name),
        "dataset_checks": dataset_checks(name),
        "arrow": [(f.name, str(f.type), f.nullable) for f in ARROW_SCHEMAS[name]],
    }
    for col in payload["columns"]:
        col.pop("description")
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def render_markdown() -> str:
    """The contract documentation (docs/contract.md), generated from the models."""
    out = [
        "# Data contract",
        "",
        "Generated from the pandera models in `zhclean/contract/models.py` by",
        "`python -m zhclean.contract`.",
        "Do not edit by hand: `tests/test_contract.py` fails when this file is stale.",
        "",
    ]
    for name, model in MODELS.items():
        arrow = ARROW_SCHEMAS[name]
        out += [
            f"## `{name}` (schema version {SCHEMA_VERSIONS[name]})",
            "",
            (model.__doc__ or "").strip(),
            "",
            "| column | arrow type | nullable | unique | checks | meaning |",
            "|---|---|---|---|---|---|",
        ]
        for col in contract_columns(name):
            checks = ", ".join(f"`{c}`" for c in col["checks"]) or "—"
            out.append(
                f"| `{col['name']}` | `{arrow.field(col['name']).type}` | {'yes' if col['nullable'] else 'no'} "
                f"| {'yes' if col['unique'] else 'no'} | {checks} | {col['description'].replace('|', '/')} |"
            )
        table_checks = ", ".join(f"`{c}`" for c in dataset_checks(name)) or "—"
        out += ["", f"Table checks: {table_checks}", ""]
    return "\n".join(out).rstrip() + "\n"


def json_schema(name: str) -> str:
    """The contract of one dataset as JSON, for readers that do not run Python (Spark jobs,
    schema registries): columns with Arrow and pandera types, nullability, checks, version."""
    arrow = ARROW_SCHEMAS[name]
    payload = {
        "dataset": name,
        "schema_version": SCHEMA_VERSIONS[name],
        "fingerprint": fingerprint(name),
        "columns": [
            {**col, "arrow_type": str(arrow.field(col["name"]).type)}
            for col in contract_columns(name)
        ],
        "table_checks": dataset_checks(name),
    }
    return json.dumps(payload, ensure_ascii=False, indent=1) + "\n"
