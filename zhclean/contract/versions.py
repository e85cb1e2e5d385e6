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

# sha256 of the contract (see zhclean.contract.introspect.fingerprint), per dataset and version.
CONTRACT_FINGERPRINTS = {
    "documents": "5951bdf0113295651ee075f885a08e54023004184fc094af60c2fed6039edd15",
    "sentences": "6b0f0c3d0917af92dcafd110a626e063ff8fd659508d5bedf75ccff3e05d8780",
    "quarantine": "03e9ee513d06c07c91e7e840c48247f61e228f704fd6a92eab71bb061ea2561f",
}
