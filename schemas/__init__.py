"""The published contract, re-exported from :mod:`zhclean.contract` (where it lives).

This folder is not installed: it holds the generated, language-neutral contract
(``<dataset>.json``) for readers that do not run Python, and this module for scripts run
from the repository root. Regenerate both with ``python -m zhclean.contract``.
"""

from zhclean.contract import (
    ARROW_SCHEMAS,
    DATASETS,
    MODELS,
    SCHEMA_VERSIONS,
    DocumentsModel,
    QuarantineModel,
    SentencesModel,
)

__all__ = [
    "ARROW_SCHEMAS",
    "DATASETS",
    "MODELS",
    "SCHEMA_VERSIONS",
    "DocumentsModel",
    "QuarantineModel",
    "SentencesModel",
]
