"""Schema versions of the published datasets.

A contract change (a column added, removed, retyped, made nullable, or a check changed)
must bump the dataset's version here and record the new fingerprint; the contract test
fails until both are done, so a changed contract never ships under an old version.
"""

SCHEMA_VERSIONS = {
    "documents": 4,  # 2: extraction, removed_share, confidence; 3: duplicate_of, dup_similarity;
    # 4: punctuation, punct_restored
    "sentences": 1,
    "quarantine": 2,  # 2: size_bytes instead of the verbatim raw_text
    "duplicates": 1,
}

# sha256 of the contract (see zhclean.contract.introspect.fingerprint), per dataset and version.
CONTRACT_FINGERPRINTS = {
    "documents": "4a994d623720f191518aee7e69dba9305d48aeea43af8ebeacaed808ef0903a6",
    "sentences": "6b0f0c3d0917af92dcafd110a626e063ff8fd659508d5bedf75ccff3e05d8780",
    "quarantine": "a5a275970083cd841346ccc60ff99cf62494d43d1b76291f6e3dcecad19caf26",
    "duplicates": "ffa19fd9f7a308c300702446da08d1381161eda0bf9415546f36f67314a3eca2",
}
