"""Schema versions of the published datasets.

A contract change (a column added, removed, retyped, made nullable, or a check changed)
must bump the dataset's version here and record the new fingerprint; the contract test
fails until both are done, so a changed contract never ships under an old version.
"""

SCHEMA_VERSIONS = {
    "documents": 3,  # 2: extraction, removed_share, confidence; 3: punctuation, punct_restored
    "sentences": 1,
    "quarantine": 2,  # 2: size_bytes instead of the verbatim raw_text
}

# sha256 of the contract (see zhclean.contract.introspect.fingerprint), per dataset and version.
CONTRACT_FINGERPRINTS = {
    "documents": "9a5c88c7742beaec98106e74efcb6e337d21979bbc682f9e4521569ce5f835a4",
    "sentences": "6b0f0c3d0917af92dcafd110a626e063ff8fd659508d5bedf75ccff3e05d8780",
    "quarantine": "a5a275970083cd841346ccc60ff99cf62494d43d1b76291f6e3dcecad19caf26",
}
