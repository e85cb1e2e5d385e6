"""Schema versions of the published datasets.

A contract change (a column added, removed, retyped, made nullable, or a check changed)
must bump the dataset's version here and record the new fingerprint; the contract test
fails until both are done, so a changed contract never ships under an old version.
"""

SCHEMA_VERSIONS = {
    "documents": 1,
    "sentences": 1,
    "quarantine": 1,
}

# sha256 of the contract (see schemas.contract.fingerprint), per dataset and version.
CONTRACT_FINGERPRINTS: dict[str, str] = {}
